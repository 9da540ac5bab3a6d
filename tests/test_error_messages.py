"""Every error a user can see names the fix, not only the diagnosis.

A lint over the source: each `raise ChatcloneError(...)` whose message is written in place
(a string or f-string) must say what to do, i.e. hold one of the verbs our fixes start with.
Messages built by a helper function are checked where that helper writes them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "chatclone"
FIX = re.compile(
    r"\b(pass|use|run|give|delete|install|set|try|check|remove|rename|choose|write|export|add|"
    r"point|free|make|reinstall|download|extract|split|wait|stop|close|keep|lower|start|update|"
    r"fix|save|move|open|see|omit|resume|pick|train|convert|unzip|leave|compare|needs?|name|"
    r"must be)\b",
    re.I,
)


def written_messages():
    for path in sorted(ROOT.rglob("*.py")):
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if not (
                isinstance(node, ast.Raise)
                and isinstance(node.exc, ast.Call)
                and getattr(node.exc.func, "id", "") == "ChatcloneError"
                and node.exc.args
            ):
                continue
            arg = node.exc.args[0]
            parts = [arg] if not isinstance(arg, ast.BinOp) else [arg.left, arg.right]
            if all(isinstance(p, (ast.Constant, ast.JoinedStr, ast.BinOp)) for p in parts):
                # A module constant in the message (FIX, HELP, DAMAGED) holds the fix.
                text = " ".join(
                    s.value if isinstance(s, ast.Constant) else "fix"
                    for s in ast.walk(arg)
                    if (isinstance(s, ast.Constant) and isinstance(s.value, str))
                    or (isinstance(s, ast.Name) and s.id.isupper())
                )
                yield f"{path.relative_to(ROOT.parent)}:{node.lineno}", text


def test_every_written_error_names_the_fix():
    messages = list(written_messages())
    assert len(messages) > 80  # the lint sees the errors at all
    missing = [f"{where}: {text[:100]!r}" for where, text in messages if not FIX.search(text)]
    assert missing == []
