"""`chatclone chat` (a conversation in the terminal) and `chatclone reply` (one reply)."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from chatclone.sampling import ChatConfig, ReplyConfig


def cmd_chat(ns: argparse.Namespace) -> int:
    from chatclone.inference.repl import run_chat

    return run_chat(ChatConfig.from_namespace(ns), sys.stdin, sys.stdout)


def cmd_reply(ns: argparse.Namespace) -> int:
    from chatclone.inference.repl import reply_once

    print(reply_once(ReplyConfig.from_namespace(ns), ns.message))
    return 0


def register(command: Callable) -> None:
    ChatConfig.add_arguments(
        command("chat", cmd_chat, "chat with a trained run in the terminal", aliases=("interact",))
    )
    p = command("reply", cmd_reply, "print the run's reply to one message")
    p.add_argument("message", help="the message to answer, as the other side")
    ReplyConfig.add_arguments(p)
