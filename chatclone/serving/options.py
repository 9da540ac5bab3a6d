"""Options of `chatclone serve`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatclone.config import RunOptions
from chatclone.errors import ChatcloneError
from chatclone.options import Group, Options, must, opt
from chatclone.sampling import LoadOptions, SamplingOptions, TargetOptions

LOOPBACK = ("127.0.0.1", "localhost", "::1")
ORIGIN = re.compile(r"https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")
HOST_NAME = re.compile(r"\[?[0-9a-fA-F:.]+\]?|[A-Za-z0-9.-]+")


@dataclass
class ServerOptions(Group):
    section = "server"
    host: str = opt(
        "127.0.0.1", "address to listen on; anything but loopback needs --api-key", metavar="ADDR"
    )
    port: int = opt(8000, "TCP port to listen on")
    api_key: str | None = opt(None, "require 'Authorization: Bearer KEY' on the API", metavar="KEY")
    concurrency: int = opt(1, "replies generated at the same time (on CPU, 1 is fastest overall)")
    queue: int = opt(16, "requests that may wait for a free slot; more get 429")
    queue_timeout: float = opt(30.0, "seconds a request waits for a slot before a 503")
    max_tokens_limit: int = opt(512, "largest max_tokens a request may ask for")
    max_body_bytes: int = opt(256 * 1024, "largest request body in bytes; larger gets 413")
    max_loaded: int = opt(
        2,
        "runs kept loaded at once (this run included) for requests that name another run "
        "of --runs-dir in 'model'; the least recently used is dropped",
        metavar="N",
    )
    allow_origin: list[str] = opt(
        [],
        "let web pages from this origin (e.g. http://localhost:3000) call the API from a "
        "browser; pages the server does not serve itself are refused (403); repeatable",
        metavar="ORIGIN",
        repeatable=True,
    )
    allow_host: list[str] = opt(
        [],
        "also answer requests addressed to this host name (behind a proxy, or a name of this "
        "computer); other names get 421, which stops DNS rebinding ('*': any); repeatable",
        metavar="NAME",
        repeatable=True,
    )
    threads: int | None = opt(
        None,
        "threads per reply (torch or ONNX Runtime) (default: the CPU cores available divided by --concurrency, "
        "at least 1)",
        metavar="N",
    )

    def check(self) -> None:
        if self.api_key is not None and not self.api_key.strip():
            raise ChatcloneError(
                "--api-key is blank: a key of spaces or nothing protects nothing. Pass a key of "
                "visible characters, or leave --api-key out on 127.0.0.1"
            )
        if self.host not in LOOPBACK and not self.api_key:
            raise ChatcloneError(
                f"refusing to listen on {self.host} without --api-key: anyone who can reach it "
                "could use the model. Pass --api-key KEY (clients then send 'Authorization: "
                "Bearer KEY') or keep the default --host 127.0.0.1"
            )
        for name in ("concurrency", "max_tokens_limit", "max_body_bytes", "max_loaded"):
            must(getattr(self, name) >= 1, name, "at least 1", getattr(self, name))
        must(0 < self.port < 65536, "port", "between 1 and 65535", self.port)
        must(self.queue >= 0, "queue", "at least 0", self.queue)
        must(self.queue_timeout > 0, "queue_timeout", "above 0", self.queue_timeout)
        must(self.threads is None or self.threads >= 1, "threads", "at least 1", self.threads)
        for origin in self.allow_origin:
            must(
                ORIGIN.fullmatch(origin) is not None,
                "allow_origin",
                "an origin: scheme://host[:port], no path (e.g. http://localhost:3000)",
                origin,
            )
        for name in self.allow_host:
            must(
                name == "*" or HOST_NAME.fullmatch(name) is not None,
                "allow_host",
                "a host name or address without port (e.g. chat.example.lan), or '*'",
                name,
            )


class ServeConfig(Options):
    """`chatclone serve`: replies come from the same engine and options as `chat`."""

    groups = {
        "run": RunOptions,
        "load": LoadOptions,
        "target": TargetOptions,
        "sampling": SamplingOptions,
        "server": ServerOptions,
    }
