"""The `chatclone` command: one subcommand per stage, in pipeline order, each a thin shell over
the library (`chatclone.load_chats`, `train`, `evaluate`, `load_engine`, `export`).

Heavy modules (torch, transformers) are imported inside the handlers, so `--help` is instant.
Every `ChatcloneError` becomes one `Error: ...` line and exit status 1.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
import warnings
from typing import Callable

from chatclone.cli import chat, data, evaluate, export, runs, serve, train
from chatclone.errors import ChatcloneError

Handler = Callable[[argparse.Namespace], int]

# Pipeline order: what `chatclone --help` lists, and the order a user meets the commands in.
STAGES = (data, train, runs, evaluate, chat, serve, export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatclone",
        description="Turn your chat logs into a local language model that talks like you. "
        "The pipeline: inspect/import -> train -> eval/report -> chat/reply/serve "
        "-> export.",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"chatclone {importlib.metadata.version('chatclone')}",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, help: str, aliases: tuple[str, ...] = ()):
        p = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        p.set_defaults(handler=handler)
        return p

    for stage in STAGES:
        stage.register(command)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # chatclone's own warnings (e.g. a torn metrics line) are one plain line, like errors.
    warnings.formatwarning = lambda message, *_args, **_kw: f"Warning: {message}\n"
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        ns.argv = argv  # `train --resume` tells the options given from the saved ones
        return ns.handler(ns)
    except ChatcloneError as e:
        from chatclone.data.plain import plain

        # Errors can quote names from an export: never let them drive the terminal.
        print(f"Error: {plain(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
