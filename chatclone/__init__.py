"""chatclone: turn your chat logs into a local language model that talks like you.

The library the `chatclone` command is a thin shell over, one function per stage:

    import chatclone

    chats = chatclone.load_chats("export.json")           # import: conversations + coverage
    run = chatclone.train(data="export.json", run_name="me", max_steps=100)
    scores = chatclone.evaluate(run_name="me")             # held-out conversations, vs the base
    engine = chatclone.load_engine(run_name="me")          # the one decoder chat and serve use
    print(engine.generate([chatclone.Turn(chatclone.OTHER, "Hi!")]).text)
    chatclone.export(run_name="me", to="gguf")

Options are the command line's, by name (`max_steps=100` is `--max-steps 100`), checked the same
way. Heavy modules (torch, transformers) load only when a function that needs them is called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Dialogue, SpeakerFormat, Turn

__version__ = "0.1.0"
__all__ = [
    "load_chats",
    "train",
    "evaluate",
    "load_engine",
    "export",
    "ChatcloneError",
    "FORMAT",
    "OTHER",
    "PERSONA",
    "Dialogue",
    "SpeakerFormat",
    "Turn",
]


def load_chats(*paths: str | Path, **options: Any):
    """Read chat exports (files, folders, zips, or 'sample') and apply the input options
    (`me`, `persona`, filters, redaction: those of `chatclone import`). Returns the prepared
    conversations (`.conversations`, `outgoing` marking the persona), who is who (`.owners`;
    when it cannot be told, `.owners.candidates`), what was redacted and, per file, what was
    read and skipped (`.reports`)."""
    from chatclone.cli.data import ImportConfig
    from chatclone.data.importers import load_all
    from chatclone.data.prepare import prepare_conversations

    inp = ImportConfig(**options).input
    result = load_all([str(p) for p in paths], inp.format)
    return prepare_conversations(result, inp, strict=False)


def train(**options: Any) -> Path:
    """Fine-tune a model (the options of `chatclone train`); returns the run folder. With
    `resume=True`, the options saved in the run folder are used, those given here on top, as
    `chatclone train --resume` does. Unlike the command, it does not evaluate afterwards: call
    `evaluate` for that."""
    from chatclone.cli.train import train_config
    from chatclone.training.loop import train as run_training

    return run_training(train_config(options))


def evaluate(**options: Any) -> dict:
    """Score a run on its held-out conversations next to its base model (the options of
    `chatclone eval`); writes `<run>/eval.json` and `report.html`, and returns the scores."""
    from chatclone.evaluation.evaluate import evaluate as run_evaluation
    from chatclone.evaluation.options import EvalConfig
    from chatclone.evaluation.report_html import write_report
    from chatclone.rundir import RunDir

    cfg = EvalConfig(**options)
    result = run_evaluation(cfg, progress=False)
    write_report(RunDir.of(cfg))
    return result


def load_engine(**options: Any):
    """The reply engine of a finished run (the options of `chatclone chat`); the sampling
    options given here are what `engine.generate(history)` uses unless it is given others."""
    from chatclone.inference.engine import load_engine as load
    from chatclone.rundir import RunDir
    from chatclone.sampling import ChatConfig

    cfg = ChatConfig(**options)
    engine = load(RunDir.of(cfg), cfg.load, base=cfg.base)
    engine.options = cfg
    return engine


def export(**options: Any) -> Path:
    """Export a run (the options of `chatclone export`); returns the file or folder written."""
    from chatclone.exporting.export import ExportConfig
    from chatclone.exporting.export import export as run_export

    return run_export(ExportConfig(**options))
