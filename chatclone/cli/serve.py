"""`chatclone serve`: the run behind an OpenAI-compatible API and a chat page."""

from __future__ import annotations

import argparse
from typing import Callable

from chatclone.serving.options import ServeConfig


def cmd_serve(ns: argparse.Namespace) -> int:
    from chatclone.serving.serve import serve

    serve(ServeConfig.from_namespace(ns))
    return 0


def register(command: Callable) -> None:
    ServeConfig.add_arguments(
        command("serve", cmd_serve, "serve a run: OpenAI-compatible API and a chat page")
    )
