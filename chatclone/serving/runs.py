"""The runs one `chatclone serve` answers for: its own run (`--run-name`, loaded at start, or its
base model with `--base`), and every other complete run of the same `--runs-dir`, which a
request names in `model`.

Other runs are loaded on first use, in the caller's (worker) thread, and kept, at most
`--max-loaded` engines in all counting the default one; the least recently used is dropped
first. Only names that `list_runs` gives for complete runs are ever turned into a path.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from chatclone.inference.engine import ReplyEngine, load_engine
from chatclone.rundir import COMPLETE, RunDir, list_runs
from chatclone.serving.options import ServeConfig
from chatclone.serving.schema import ApiError


class Engines:
    """The default engine and the other runs' engines, loaded on demand, least recent dropped."""

    def __init__(self, default: ReplyEngine, cfg: ServeConfig):
        self.default = cfg.run_name
        self.cfg = cfg
        self.runs_dir = Path(cfg.runs_dir)
        self.max_loaded = cfg.max_loaded
        self.loaded: OrderedDict[str, tuple[ReplyEngine, ServeConfig]] = OrderedDict()
        self.loads: list[str] = []  # every run loaded, in order (reloads after a drop too)
        self.lock = threading.Lock()  # guards `loaded`, `loads` and `loading`
        self.loading: dict[str, threading.Lock] = {}  # one load at a time per run
        self.first = (default, self.options_for(default))

    def names(self) -> list[str]:
        """The model ids this server answers to: its own run first, then the other complete
        runs of its runs folder, by name. Reads the folder: call it off the event loop."""
        runs = [r.name for r in list_runs(self.runs_dir) if r.status == COMPLETE]
        return [self.default, *(name for name in runs if name != self.default)]

    def resolve(self, model: str | None) -> str:
        """The run a request's `model` names (none: the default), or a 404 listing the runs."""
        if not model or model == self.default:
            return self.default
        with self.lock:
            if model in self.loaded:
                return model
        names = self.names()
        if model not in names:
            shown = model if len(model) <= 80 else model[:80] + "..."
            raise ApiError(
                404,
                f"model {shown!r} is not a complete run of this server's runs folder; "
                f"available: {', '.join(names)}",
                "invalid_request_error",
            )
        return model

    def get(self, name: str) -> tuple[ReplyEngine, ServeConfig]:
        """The engine of run `name` (from `resolve`) and the options it replies with; loads it
        if needed (slow: call it on a worker thread)."""
        if name == self.default:
            return self.first
        with self.lock:
            if name in self.loaded:
                self.loaded.move_to_end(name)
                return self.loaded[name]
            gate = self.loading.setdefault(name, threading.Lock())
        with gate:  # a second request for the same run waits for this load, then shares it
            with self.lock:
                if name in self.loaded:
                    self.loaded.move_to_end(name)
                    return self.loaded[name]
                self._trim(self.max_loaded - 2)  # make room first: memory stays bounded
            try:
                engine = load_engine(RunDir(self.runs_dir / name), self.cfg.load)
            except Exception as e:
                raise ApiError(500, f"run {name!r} could not be loaded: {e}", "server_error") from e
            entry = (engine, self.options_for(engine))
            with self.lock:
                self.loaded[name] = entry
                self.loads.append(name)
                self._trim(self.max_loaded - 1)
                self.loading.pop(name, None)
            return entry

    def _trim(self, keep: int) -> None:
        while len(self.loaded) > max(keep, 0):
            self.loaded.popitem(last=False)  # a reply still generating keeps its own reference

    def options_for(self, engine: ReplyEngine) -> ServeConfig:
        """The server's options for this engine: with no --max-new-tokens, the run's own reply
        budget, within what requests may ask for."""
        cfg, budget = self.cfg, getattr(engine, "max_new_tokens", None)
        if cfg.max_new_tokens is not None or budget is None:
            return cfg
        return cfg.replace(max_new_tokens=min(budget, cfg.max_tokens_limit))
