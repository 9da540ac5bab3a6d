"""The `chatclone` command: one subcommand per stage, each a thin wrapper over the library.

Heavy modules (torch, transformers) are imported inside the handlers, so `--help` is instant.
Every `ChatcloneError` becomes one `Error: ...` line and exit status 1.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from chatclone import __version__
from chatclone.args import add_arguments, from_namespace
from chatclone.config import ChatConfig, TrainConfig
from chatclone.errors import ChatcloneError

Handler = Callable[[argparse.Namespace], int]


def cmd_train(ns: argparse.Namespace) -> int:
    from chatclone.train import train

    train(from_namespace(TrainConfig, ns))
    return 0


def cmd_chat(ns: argparse.Namespace) -> int:
    from chatclone.chat import run_chat

    return run_chat(from_namespace(ChatConfig, ns), sys.stdin, sys.stdout)


def cmd_reply(ns: argparse.Namespace) -> int:
    from chatclone.chat import reply_once

    print(reply_once(from_namespace(ChatConfig, ns), ns.message))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatclone",
        description="Turn your chat logs into a local language model that talks like you.",
    )
    parser.add_argument("--version", action="version", version=f"chatclone {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, handler: Handler, help: str, aliases: tuple[str, ...] = ()):
        p = sub.add_parser(name, help=help, description=help, aliases=list(aliases))
        p.set_defaults(handler=handler)
        return p

    add_arguments(command("train", cmd_train, "fine-tune a model on a chat export"), TrainConfig)
    add_arguments(command("chat", cmd_chat, "chat with a trained run in the terminal",
                          aliases=("interact",)), ChatConfig)
    p = command("reply", cmd_reply, "print the run's reply to one message")
    p.add_argument("message", help="the message to answer, as the other side")
    add_arguments(p, ChatConfig)
    for register in EXTRA_COMMANDS:
        register(command)
    return parser


# Later stages add themselves here: each is `register(command)` in its own module.
EXTRA_COMMANDS: list[Callable] = []

from chatclone.export import register as _register_export  # noqa: E402

EXTRA_COMMANDS.append(_register_export)

from chatclone.evaluate import register as _register_eval  # noqa: E402
from chatclone.html_report import register as _register_report  # noqa: E402

EXTRA_COMMANDS += [_register_eval, _register_report]

from chatclone.cli_import import register as _register_import  # noqa: E402

EXTRA_COMMANDS.append(_register_import)

from chatclone.serve import register as _register_serve  # noqa: E402

EXTRA_COMMANDS.append(_register_serve)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        ns = parser.parse_args(argv)
        return ns.handler(ns)
    except ChatcloneError as e:
        print(f"Error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
