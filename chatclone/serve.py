"""`chatclone serve`: a run behind an OpenAI-compatible API and a browser chat page.

Safe by default: it binds 127.0.0.1, and binding any other address needs `--api-key`. The web
app itself lives in `chatclone.openai_api`; this module holds the options and the command, and
imports neither torch nor FastAPI until the command runs, so `chatclone --help` stays instant.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from chatclone.args import add_arguments, from_namespace, opt
from chatclone.config import ChatConfig
from chatclone.errors import ChatcloneError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class ServeConfig(ChatConfig):
    host: str = opt("127.0.0.1", "address to listen on; anything but loopback needs --api-key",
                    metavar="ADDR")
    port: int = opt(8000, "TCP port to listen on")
    api_key: str | None = opt(None, "require 'Authorization: Bearer KEY' on the API", metavar="KEY")
    concurrency: int = opt(1, "replies generated at the same time (on CPU, 1 is fastest overall)")
    queue: int = opt(16, "requests that may wait for a free slot; more get 429")
    queue_timeout: float = opt(30.0, "seconds a request waits for a slot before a 503")
    max_tokens_limit: int = opt(512, "largest max_tokens a request may ask for")
    max_body_bytes: int = opt(256 * 1024, "largest request body in bytes; larger gets 413")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.host not in LOOPBACK and not self.api_key:
            raise ChatcloneError(
                f"refusing to listen on {self.host} without --api-key: anyone who can reach it "
                "could use the model. Pass --api-key KEY (clients then send 'Authorization: "
                "Bearer KEY') or keep the default --host 127.0.0.1"
            )
        for name in ("concurrency", "max_tokens_limit", "max_body_bytes"):
            if getattr(self, name) < 1:
                raise ChatcloneError(f"--{name.replace('_', '-')} must be at least 1")
        if not 0 < self.port < 65536:
            raise ChatcloneError(f"--port must be between 1 and 65535 (got {self.port})")
        if self.queue < 0 or self.queue_timeout <= 0:
            raise ChatcloneError("--queue must be at least 0 and --queue-timeout above 0")


def serve(cfg: ServeConfig) -> None:
    """Load the run and serve it until interrupted."""
    try:
        import uvicorn

        from chatclone.openai_api import create_app
    except ImportError as e:
        raise ChatcloneError(
            f"serving needs the 'serve' extra ({e.name} is missing): pip install 'chatclone[serve]'"
        ) from None
    from chatclone.chat import load_engine

    engine = load_engine(cfg)
    app = create_app(engine, cfg)
    where = f"http://{'[' + cfg.host + ']' if ':' in cfg.host else cfg.host}:{cfg.port}"
    print(f"Serving run {cfg.run_name!r}: chat page at {where}/ , API at {where}/v1", flush=True)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning")


def cmd_serve(ns: argparse.Namespace) -> int:
    serve(from_namespace(ServeConfig, ns))
    return 0


def register(command) -> None:
    p = command("serve", cmd_serve, "serve a run: OpenAI-compatible API and a chat page")
    add_arguments(p, ServeConfig, skip=("quiet", "opening"))
