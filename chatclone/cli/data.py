"""`chatclone inspect` (what would be imported, and what could not) and `chatclone import`
(exports -> one redacted JSONL that `train --data` reads). No torch here."""

from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import IO, Callable

from chatclone import atomic
from chatclone.errors import ChatcloneError
from chatclone.inputs import InputOptions
from chatclone.options import Options


class InspectConfig(Options):
    """`chatclone inspect`: nothing is written, so nothing is redacted."""

    groups = {"input": InputOptions}


class ImportConfig(Options):
    """`chatclone import`."""

    groups = {"input": InputOptions}


NO_REDACTION = ("redact", "keep_persona_name")
# import writes messages; --min-words leaves turns out when training (inspect counts them).
TRAINING_ONLY = ("min_words",)


def _common(p: argparse.ArgumentParser, options: type[Options], skip: tuple[str, ...] = ()) -> None:
    p.add_argument(
        "paths",
        nargs="+",
        metavar="EXPORT",
        help="export files, folders or zips (WhatsApp .txt/.zip, Telegram result.json, "
        "Facebook/Instagram folder, Takeout, Discord, CSV/JSONL, ...)",
    )
    p.add_argument("--json", action="store_true", help="print the coverage report as JSON")
    options.add_arguments(p, skip=skip)


def _load(paths: list[str], inp: InputOptions, strict: bool, preview: int = 0):
    from chatclone.data.importers import load_all
    from chatclone.data.prepare import prepare_conversations

    result = load_all(paths, inp.format)
    return result, prepare_conversations(result, inp, strict=strict, preview=preview)


def _report(ns: argparse.Namespace, inp: InputOptions, result, prepared, out: IO[str]) -> dict:
    from chatclone.data.coverage import coverage, render

    cov = coverage(
        result,
        prepared.conversations,
        prepared.owners,
        inp.session_gap_hours,
        prepared.removed,
        persona=bool(inp.persona),
        min_words=inp.min_words,
    )
    if prepared.redactions:
        cov["redacted"] = dict(prepared.redactions)
    if ns.json:
        out.write(json.dumps(cov, indent=1, ensure_ascii=False) + "\n")
    else:
        render(cov, out)
        if prepared.redactions:
            out.write(
                "Redacted: " + ", ".join(f"{k} {v}" for k, v in prepared.redactions.items()) + "\n"
            )
    return cov


def cmd_inspect(ns: argparse.Namespace) -> int:
    # Nothing is written: show the export as it is.
    inp = InspectConfig.from_namespace(ns, redact=False, keep_persona_name=False).input
    result, prepared = _load(ns.paths, inp, strict=False)
    _report(ns, inp, result, prepared, sys.stdout)
    return 0


def cmd_import(ns: argparse.Namespace) -> int:
    from chatclone.data.importers.jsonl import write_jsonl

    if not ns.output and not ns.preview:
        raise ChatcloneError("import needs -o FILE.jsonl (or --preview to only look at a sample)")
    inp = ImportConfig.from_namespace(ns).input
    if ns.output and ns.output != "-":
        check_output(Path(ns.output), ns.paths, ns.force)  # before reading anything
    result, prepared = _load(ns.paths, inp, strict=True, preview=ns.preview or 0)
    if not any(c.messages for c in prepared.conversations):
        raise ChatcloneError(
            f"nothing to import from {', '.join(ns.paths)}: "
            f"{sum(r.read for r in result.reports)} lines/records read, no message kept; "
            "run chatclone inspect on the same files to see what was skipped and why"
        )
    to_stdout = ns.output == "-"
    report_out = sys.stderr if to_stdout else sys.stdout
    if ns.preview:
        _print_preview(prepared.samples, report_out, inp.redact)
    if ns.output:
        if to_stdout:
            written = write_jsonl(prepared.conversations, sys.stdout)
        else:
            buffer = io.StringIO()
            written = write_jsonl(prepared.conversations, buffer)
            atomic.write_text(Path(ns.output), buffer.getvalue())
        report_out.write(f"Wrote {written} messages to {ns.output}\n")
    _report(ns, inp, result, prepared, report_out)
    return 0


def check_output(out: Path, inputs: list[str], force: bool) -> None:
    """Never overwrite an export being read, a folder, or (without --force) any file."""
    if any(out.resolve() == Path(p).resolve() for p in inputs):
        raise ChatcloneError(
            f"-o {out} is one of the exports being imported; write the JSONL to another file, "
            "e.g. -o chats.jsonl"
        )
    if out.is_dir():
        raise ChatcloneError(
            f"-o {out} is a folder; give a file name, e.g. -o {out / 'chats.jsonl'}"
        )
    if out.exists() and not force:
        raise ChatcloneError(
            f"-o {out} already exists; pass --force to replace it, or choose another file"
        )


def _print_preview(samples: list[tuple[str, str]], out: IO[str], redact: bool) -> None:
    if not redact:
        out.write("Preview: redaction is off (--no-redact), messages are written as they are.\n")
        return
    if not samples:
        out.write("Preview: no message contained anything to redact besides sender names.\n")
        return
    out.write(f"Preview of {len(samples)} redacted message(s):\n")
    for before, after in samples:
        out.write(f"  before: {before!r}\n  after:  {after!r}\n")


def register(command: Callable) -> None:
    p = command(
        "inspect",
        cmd_inspect,
        "show what would be imported from chat exports, and what could not be (coverage report)",
    )
    _common(p, InspectConfig, skip=NO_REDACTION)
    p = command(
        "import", cmd_import, "import chat exports into one redacted JSONL file for train --data"
    )
    _common(p, ImportConfig, skip=TRAINING_ONLY)
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FILE",
        help="where to write the JSONL ('-' for standard output)",
    )
    p.add_argument("--force", action="store_true", help="replace the -o file if it exists")
    p.add_argument(
        "--preview",
        type=int,
        nargs="?",
        const=5,
        default=0,
        metavar="N",
        help="show N messages before and after redaction (default 5)",
    )
