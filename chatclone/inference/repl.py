"""Terminal chat with a trained run, and one-shot replies.

Reads one message per line, so it works the same typed at a terminal or piped from a file
(a scripted transcript). Lines starting with `/` are commands (see HELP): `/history` (or `h`),
`/reset`, `/save FILE`, `/set NAME VALUE` for the sampling options, `/quit` (or end of input).
A conversation draws its replies from one random stream, seeded once with `--seed` (again at
`/reset` and `/set seed`): replies differ from each other, and the same seed repeats the chat.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chatclone import atomic
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.sampling import ChatConfig, ReplyConfig, SamplingOptions
from chatclone.speaker_format import (
    FORMAT,
    NAMED,
    OTHER,
    PERSONA,
    SpeakerFormat,
    Turn,
    clean_text,
)

HELP = (
    "Commands: /history (or h) shows the conversation, /reset starts over, /save FILE "
    "writes the transcript, /set NAME VALUE changes a sampling option (e.g. /set "
    "temperature 0.7; /set alone lists them), /quit leaves."
)


def load_engine(cfg: ReplyConfig):
    from chatclone.inference.engine import load_engine as load

    return load(RunDir.of(cfg), cfg.load, base=cfg.base)


def opening_turns(cfg: ReplyConfig) -> list[Turn]:
    """`--opening`: the other side's turns (said by `--user-name`) alternate with the persona's."""
    return [
        Turn(OTHER, t, user_name(cfg)) if i % 2 == 0 else Turn(PERSONA, t)
        for i, t in enumerate(cfg.opening)
    ]


def user_name(cfg: ReplyConfig) -> str:
    """The name the user's turns carry (shown to the model only in the named style)."""
    return clean_text(cfg.user_name)


def shown_format(engine) -> SpeakerFormat:
    """How /history and /save write the conversation: speaker tags, with the names in a
    named run."""
    fmt = getattr(getattr(engine, "prompt", None), "fmt", FORMAT)
    return NAMED if getattr(fmt, "names", False) else FORMAT


def print_history(history: list[Turn], out: TextIO, fmt: SpeakerFormat = FORMAT) -> None:
    out.write(fmt.render(history) or "(no history yet)\n")


def reply_once(cfg: ReplyConfig, message: str) -> str:
    engine = load_engine(cfg)
    text = clean_text(message)
    if not text:
        raise ChatcloneError("the message is empty; give the text to reply to")
    history = opening_turns(cfg) + [Turn(OTHER, text, user_name(cfg))]
    return engine.generate(history, cfg, generator=engine.generator(cfg.seed)).text


def run_chat(cfg: ChatConfig, stdin: TextIO, out: TextIO, engine=None) -> int:
    engine = engine or load_engine(cfg)
    session = Session(cfg, opening_turns(cfg), engine)
    interactive = stdin.isatty() and not cfg.quiet
    if not cfg.quiet:
        who = "the base model of run" if cfg.base else "run"
        out.write(f"Chatting with {who} {cfg.run_name!r}. {HELP}\n")
        print_history(session.history, out, shown_format(engine))
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
        if message in ("h", "/help") or message.startswith("/"):
            try:
                session.command(message, out)
            except ChatcloneError as e:
                out.write(f"Error: {e}\n")
            out.flush()
            continue
        text = clean_text(message)
        if not text:
            continue
        if not interactive and not cfg.quiet:
            out.write(f"you> {text}\n")
        session.history.append(Turn(OTHER, text, user_name(cfg)))
        if not cfg.quiet:
            out.write("bot> ")
        reply = engine.generate(
            session.history,
            session.cfg,
            on_text=None if cfg.quiet else _writer(out),
            generator=session.generator,
        )
        if cfg.quiet:
            out.write(reply.text)
        out.write("\n")
        out.flush()
        session.history.append(Turn(PERSONA, reply.text))
    return 0


def _writer(out: TextIO):
    def write(piece: str) -> None:
        out.write(piece)
        out.flush()

    return write


# Options `/set` may change during a chat (the rest of ChatConfig is fixed at start).
SETTABLE = (
    "temperature",
    "top_k",
    "top_p",
    "greedy",
    "max_new_tokens",
    "min_new_tokens",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "loop_guard",
    "seed",
    "history_turns",
    "history_tokens",
)


@dataclass
class Session:
    cfg: ChatConfig
    history: list[Turn]
    engine: object = None  # the ReplyEngine: it makes the conversation's random stream
    generator: object = None

    def __post_init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        """A fresh random stream from the seed: the conversation starts over reproducibly."""
        self.generator = self.engine.generator(self.cfg.seed) if self.engine else None

    def command(self, line: str, out: TextIO) -> None:
        name, _, arg = line.partition(" ")
        arg = arg.strip()
        if name in ("h", "/history"):
            print_history(self.history, out, shown_format(self.engine))
        elif name == "/help":
            out.write(HELP + "\n")
        elif name == "/reset":
            self.history = opening_turns(self.cfg)
            self.reseed()
            if not self.cfg.quiet:
                out.write("(conversation reset)\n")
        elif name == "/save":
            out.write(self.save(arg) + "\n")
        elif name == "/set":
            out.write(self.set(arg) + "\n")
        else:
            raise ChatcloneError(f"unknown command {name!r}. {HELP}")

    def save(self, arg: str) -> str:
        if not arg:
            raise ChatcloneError("/save needs a file name, e.g. /save chat.txt")
        path = Path(arg).expanduser()
        try:
            text = shown_format(self.engine).render(self.history)
            atomic.write_text(path, text, make_parents=False)
        except OSError as e:
            raise ChatcloneError(
                f"could not write {path}: {e.strerror}; pick another file"
            ) from None
        return f"(saved {len(self.history)} turns to {path})"

    def set(self, arg: str) -> str:
        if not arg:
            return "  ".join(f"{k}={getattr(self.cfg, k)}" for k in SETTABLE)
        name, _, raw = arg.partition(" ")
        name = name.replace("-", "_")
        if name not in SETTABLE or not raw.strip():
            raise ChatcloneError(f"usage: /set NAME VALUE, NAME one of {', '.join(SETTABLE)}")
        field_type = typing.get_type_hints(SamplingOptions)[name]
        self.cfg = self.cfg.replace(**{name: parse_value(name, raw.strip(), field_type)})
        if name == "seed":
            self.reseed()
        return f"({name} = {getattr(self.cfg, name)})"


def parse_value(name: str, raw: str, field_type) -> object:
    """`raw` as the option's type: bools accept on/off, optional numbers accept 'none'."""
    optional = typing.get_origin(field_type) in (typing.Union, types.UnionType)
    if optional:
        if raw.lower() in ("none", "off"):
            return None
        field_type = next(a for a in typing.get_args(field_type) if a is not type(None))
    if field_type is bool:
        if raw.lower() in ("on", "true", "yes", "1"):
            return True
        if raw.lower() in ("off", "false", "no", "0"):
            return False
    else:
        try:
            return field_type(raw)
        except ValueError:
            pass
    kind = {bool: "on or off", int: "a whole number", float: "a number"}[field_type]
    raise ChatcloneError(f"{name} must be {kind}{' or none' if optional else ''}, not {raw!r}")
