"""Terminal chat with a trained run, and one-shot replies.

Reads one message per line, so it works the same typed at a terminal or piped from a file
(a scripted transcript). `h` (or `/history`) prints the conversation so far, `/reset` starts
over, `/quit` (or end of input) leaves.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from chatclone.config import ChatConfig
from chatclone.dialogue import FORMAT, OTHER, PERSONA, Turn, clean_text
from chatclone.errors import ChatcloneError

HELP = "Commands: h or /history shows the conversation, /reset starts over, /quit leaves."


def find_run(cfg: ChatConfig) -> Path:
    run_dir = cfg.run_dir
    if not run_dir.is_dir():
        root = Path(cfg.runs_dir)
        runs = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        listing = f"runs there: {', '.join(runs)}" if runs else f"there are no runs in {root} yet"
        raise ChatcloneError(
            f"no run named {cfg.run_name!r} in {root} ({listing}). Train one with: "
            f"chatclone train --data EXPORT --run-name {cfg.run_name}"
        )
    if not (run_dir / "config.json").is_file():
        raise ChatcloneError(
            f"run {cfg.run_name!r} has no final model yet (training did not finish). Finish it "
            f"with: chatclone train --run-name {cfg.run_name} --resume (and the same options)"
        )
    return run_dir


def load_engine(cfg: ChatConfig):
    import torch

    from chatclone.generate import ReplyEngine, pick_device
    from chatclone.models import load_trained
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    run_dir = find_run(cfg)
    model, tokenizer = load_trained(run_dir, dtype=torch.float32)
    model.to(pick_device(cfg.device))
    return ReplyEngine(model, tokenizer, FORMAT)


def opening_turns(texts: list[str]) -> list[Turn]:
    return [Turn(OTHER if i % 2 == 0 else PERSONA, t) for i, t in enumerate(texts)]


def print_history(history: list[Turn], out: TextIO) -> None:
    out.write(FORMAT.render(history) or "(no history yet)\n")


def reply_once(cfg: ChatConfig, message: str) -> str:
    engine = load_engine(cfg)
    text = clean_text(message)
    if not text:
        raise ChatcloneError("the message is empty; give the text to reply to")
    history = opening_turns(cfg.opening) + [Turn(OTHER, text)]
    return engine.generate(history, cfg).text


def run_chat(cfg: ChatConfig, stdin: TextIO, out: TextIO, engine=None) -> int:
    engine = engine or load_engine(cfg)
    history = opening_turns(cfg.opening)
    interactive = stdin.isatty() and not cfg.quiet
    if not cfg.quiet:
        out.write(f"Chatting with run {cfg.run_name!r}. {HELP}\n")
        print_history(history, out)
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = stdin.readline()
        if not line:
            break
        message = line.strip()
        if not message:
            continue
        if message in ("/quit", "/exit", "q"):
            break
        if message in ("h", "/history"):
            print_history(history, out)
            continue
        if message == "/reset":
            history = opening_turns(cfg.opening)
            if not cfg.quiet:
                out.write("(conversation reset)\n")
            continue
        text = clean_text(message)
        if not text:
            continue
        if not interactive and not cfg.quiet:
            out.write(f"you> {text}\n")
        history.append(Turn(OTHER, text))
        if not cfg.quiet:
            out.write("bot> ")
        reply = engine.generate(history, cfg, on_text=None if cfg.quiet else _writer(out))
        if cfg.quiet:
            out.write(reply.text)
        out.write("\n")
        out.flush()
        history.append(Turn(PERSONA, reply.text))
    return 0


def _writer(out: TextIO):
    def write(piece: str) -> None:
        out.write(piece)
        out.flush()
    return write
