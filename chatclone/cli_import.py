"""`chatclone inspect` (what would be imported, and what could not) and `chatclone import`
(exports -> one redacted JSONL that `train --data` reads). No torch here."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Callable

from chatclone.args import add_arguments
from chatclone.errors import ChatcloneError
from chatclone.input_options import InputOptions


def _common(p: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    p.add_argument("paths", nargs="+", metavar="EXPORT",
                   help="export files, folders or zips (WhatsApp .txt/.zip, Telegram result.json, "
                        "Facebook/Instagram folder, Takeout, Discord, CSV/JSONL, ...)")
    p.add_argument("--format", default=None, metavar="NAME",
                   help="force an input format instead of detecting it (e.g. whatsapp, "
                        "'table:sender=From,text=Body')")
    p.add_argument("--persona", default=None, metavar="NAME",
                   help="participant whose voice is learned (default: the owner, see --me)")
    p.add_argument("--json", action="store_true", help="print the coverage report as JSON")
    add_arguments(p, InputOptions, skip=skip)


def _load(ns: argparse.Namespace, strict: bool, preview: int = 0):
    from chatclone.importers import load_all
    from chatclone.prepare import prepare_conversations

    result = load_all(ns.paths, ns.format)
    return result, prepare_conversations(result, ns, strict=strict, preview=preview)


def _report(ns: argparse.Namespace, result, prepared, out: IO[str]) -> dict:
    from chatclone.report import coverage, render

    cov = coverage(result, prepared.conversations, prepared.owners, ns.session_gap_hours,
                   prepared.removed, persona=bool(ns.persona))
    if prepared.redactions:
        cov["redacted"] = dict(prepared.redactions)
    if ns.json:
        out.write(json.dumps(cov, indent=1, ensure_ascii=False) + "\n")
    else:
        render(cov, out)
        if prepared.redactions:
            out.write("Redacted: " + ", ".join(f"{k} {v}" for k, v in prepared.redactions.items()) + "\n")
    return cov


def cmd_inspect(ns: argparse.Namespace) -> int:
    ns.redact, ns.keep_persona_name = False, False  # nothing is written: show the export as it is
    result, prepared = _load(ns, strict=False)
    _report(ns, result, prepared, sys.stdout)
    return 0


def cmd_import(ns: argparse.Namespace) -> int:
    from chatclone.importers.jsonl import write_jsonl

    if not ns.output and not ns.preview:
        raise ChatcloneError("import needs -o FILE.jsonl (or --preview to only look at a sample)")
    result, prepared = _load(ns, strict=True, preview=ns.preview or 0)
    if not any(c.messages for c in prepared.conversations):
        raise ChatcloneError(
            f"nothing to import from {', '.join(ns.paths)}: "
            f"{sum(r.read for r in result.reports)} lines/records read, no message kept"
        )
    to_stdout = ns.output == "-"
    report_out = sys.stderr if to_stdout else sys.stdout
    if ns.preview:
        _print_preview(prepared.samples, report_out, ns.redact)
    if ns.output:
        if to_stdout:
            written = write_jsonl(prepared.conversations, sys.stdout)
        else:
            Path(ns.output).parent.mkdir(parents=True, exist_ok=True)
            with open(ns.output, "w", encoding="utf-8") as f:
                written = write_jsonl(prepared.conversations, f)
        report_out.write(f"Wrote {written} messages to {ns.output}\n")
    _report(ns, result, prepared, report_out)
    return 0


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
    p = command("inspect", cmd_inspect, "show what would be imported from chat exports, and "
                "what could not be (coverage report)")
    _common(p, skip=("redact", "keep_persona_name"))
    p = command("import", cmd_import, "import chat exports into one redacted JSONL file for "
                "train --data")
    _common(p)
    p.add_argument("-o", "--output", default=None, metavar="FILE",
                   help="where to write the JSONL ('-' for standard output)")
    p.add_argument("--preview", type=int, nargs="?", const=5, default=0, metavar="N",
                   help="show N messages before and after redaction (default 5)")
