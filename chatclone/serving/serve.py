"""`chatclone serve`: a run behind an OpenAI-compatible API and a browser chat page.

Safe by default: it binds 127.0.0.1, binding any other address needs `--api-key`, and other
web pages cannot drive it (`serving.guard`). The web app itself lives in
`serving.openai_api`; FastAPI and torch are imported only when serving.
"""

from __future__ import annotations

import errno
import os
import socket

from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.serving.options import ServeConfig


def serve(cfg: ServeConfig) -> None:
    """Load the run and serve it until interrupted."""
    try:
        import uvicorn

        from chatclone.serving.openai_api import create_app
    except ImportError as e:
        raise ChatcloneError(
            f"serving needs the 'serve' extra ({e.name} is missing): pip install 'chatclone[serve]'"
        ) from None
    from chatclone.inference.engine import load_engine

    check_port(cfg.host, cfg.port)  # before loading the model and saying "Serving"
    set_threads(cfg)
    engine = load_engine(RunDir.of(cfg), cfg.load, base=cfg.base)
    # Other complete runs of --runs-dir load when a request names them (serving.runs); with no
    # --max-new-tokens each replies within its own run's budget, capped by --max-tokens-limit.
    app = create_app(engine, cfg)
    where = f"http://{'[' + cfg.host + ']' if ':' in cfg.host else cfg.host}:{cfg.port}"
    who = "the base model of run" if cfg.base else "run"
    print(f"Serving {who} {cfg.run_name!r}: chat page at {where}/ , API at {where}/v1", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")


def cores() -> int:
    """CPU cores this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def set_threads(cfg: ServeConfig) -> int:
    """Give each reply its share of the cores: with torch's default (every core for every
    reply) concurrent replies, and other work on the machine, fight over them and all slow
    down. Says what it chose."""
    import torch

    n = cfg.threads or max(1, cores() // cfg.concurrency)
    torch.set_num_threads(n)
    why = "--threads" if cfg.threads else f"{cores()} CPU cores / --concurrency {cfg.concurrency}"
    print(
        f"Generating with {n} torch thread(s) per reply ({why}; change with --threads N)",
        flush=True,
    )
    return n


BUSY = (errno.EADDRINUSE, 10048)  # 10048: WSAEADDRINUSE on Windows


def check_port(host: str, port: int) -> None:
    """Fail with the fix when `host:port` cannot be listened on: taken, or not allowed."""
    error = _bind_error(host, port)
    if error is None:
        return
    if error.errno in BUSY:
        free = next(
            (p for p in range(port + 1, min(port + 50, 65536)) if not _bind_error(host, p)), None
        )
        raise ChatcloneError(
            f"port {port} on {host} is already in use (another server, or a chatclone serve "
            f"still running); stop it or pass a free port: --port {free or 'N'}"
        )
    if error.errno == errno.EADDRNOTAVAIL:
        raise ChatcloneError(
            f"cannot listen on {host} port {port}: {host} is not an address of this computer; "
            "pass --host 127.0.0.1 (or one of its addresses)"
        )
    fix = "--port 8000" if port < 1024 else "--port N with another port"
    raise ChatcloneError(f"cannot listen on {host} port {port} ({error.strerror}); pass {fix}")


def _bind_error(host: str, port: int) -> OSError | None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        if os.name != "nt":  # as uvicorn binds: a port left in TIME_WAIT counts as free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            return e
    return None
