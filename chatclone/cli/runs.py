"""`chatclone runs`: the runs in `--runs-dir`, one line each (status, base model, steps, size
on disk, date); the run folder is read by `rundir.list_runs`. `chatclone delete`: a run folder
and what the cache holds of it (its tokenised chats and private record), after a question."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from chatclone.config import RunOptions
from chatclone.errors import ChatcloneError
from chatclone.options import Group, Options, opt
from chatclone.rundir import UNFINISHED, RunDir, RunSummary, folder_size, list_runs
from chatclone.training.log import human_size


class RunsConfig(Options):
    """`chatclone runs`: only `--runs-dir` (it lists every run, so no `--run-name`)."""

    groups = {"run": RunOptions}


def format_line(run: RunSummary, widths: tuple[int, int, int] = (0, 0, 0)) -> str:
    """One line of `chatclone runs`: name, status, base model, steps, size, date."""
    steps = "-" if run.steps is None else f"{run.steps}"
    if run.planned and run.status == UNFINISHED:
        steps += f"/{run.planned}"
    texts = (run.name, run.status, run.model or "-")
    name, status, model = (f"{text:<{width}}" for text, width in zip(texts, widths))
    date = dt.datetime.fromtimestamp(run.modified).strftime("%Y-%m-%d %H:%M")
    size = human_size(run.size)
    return f"{name}  {status}  {model}  {steps + ' steps':>11}  {size:>9}  {date}"


def format_runs(runs: list[RunSummary]) -> str:
    """`chatclone runs`: one aligned line per run."""
    columns = [(r.name, r.status, r.model or "-") for r in runs]
    widths = tuple(max((len(row[i]) for row in columns), default=0) for i in range(3))
    return "\n".join(format_line(r, widths) for r in runs)


def cmd_runs(ns: argparse.Namespace) -> int:
    runs_dir = Path(RunsConfig.from_namespace(ns).runs_dir)
    runs = [being_trained(r, runs_dir) for r in list_runs(runs_dir)]
    if runs:
        print(format_runs(runs))
    else:
        print(f"No runs in {runs_dir} yet. Train one with: chatclone train --data EXPORT")
    return 0


def being_trained(run: RunSummary, runs_dir: Path) -> RunSummary:
    """A run whose lock is held says so, and by which process."""
    from chatclone.training import guard

    owner = guard.holder(RunDir(runs_dir / run.name))
    return replace(run, status=f"being trained (pid {owner['pid']})") if owner else run


@dataclass
class DeleteOptions(Group):
    section = "delete"
    yes: bool = opt(False, "delete without asking first")


class DeleteConfig(Options):
    """`chatclone delete`: one run, named by --run-name in --runs-dir."""

    groups = {"run": RunOptions, "delete": DeleteOptions}


def cmd_delete(ns: argparse.Namespace) -> int:
    from chatclone.training import guard, private

    cfg = DeleteConfig.from_namespace(ns)
    run = RunDir.of(cfg).require(model=False)
    owner = guard.holder(run)
    if owner is not None:
        raise guard.held_error(run, owner, "being trained")
    size = human_size(folder_size(run.path))
    if not cfg.yes and not confirm(
        f"Delete run {run.name!r} ({run.path}, {size}) and its cached data?"
    ):
        print("Nothing deleted.")
        return 1
    removed = private.forget(run)
    run.delete()
    print(f"Deleted run {run.name!r} ({size}) and {len(removed)} cached file(s) of it.")
    return 0


def confirm(question: str) -> bool:
    """Ask on the terminal; without one, refuse with the fix (a script passes --yes)."""
    if not sys.stdin.isatty():
        raise ChatcloneError(
            "chatclone delete asks before it deletes, and there is no terminal to ask on. "
            "Pass --yes to delete without asking"
        )
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def register(command: Callable) -> None:
    p = command(
        "runs",
        cmd_runs,
        "list the runs in --runs-dir: status, base model, steps, size on disk, date",
    )
    RunsConfig.add_arguments(p, skip=("run_name",))
    p = command(
        "delete",
        cmd_delete,
        "delete a run: its folder and the tokenised chats and private record the cache holds "
        "of it (asks first unless --yes; refuses a run being trained)",
    )
    DeleteConfig.add_arguments(p)
