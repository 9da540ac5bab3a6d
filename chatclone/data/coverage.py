"""The coverage report: what was read, what was imported, and what was skipped and why.

Per file: format, lines or records read, messages imported, skipped by reason, the first lines
that could not be parsed. Per conversation: participants, messages, sessions, dates, the
persona's share and an estimate of tokens (characters / 4, the usual rule of thumb for English
BPE vocabularies; the real count depends on the model's tokenizer).

Titles, names and paths come from the export: they are printed as plain text (`plain`, and
`rich.text.Text` rather than markup), so `[bold]` or an escape sequence in a chat name shows as
written instead of failing or restyling the report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import IO, Any

from chatclone.data.importers import ImportResult
from chatclone.data.importers._time import FIRST, LAST
from chatclone.data.people import Owners
from chatclone.data.plain import plain
from chatclone.data.records import Conversation
from chatclone.data.select import SHORT_WORDS, persona_turn_words
from chatclone.data.sessions import count_sessions

CHARS_PER_TOKEN = 4
MAX_ROWS = 40


def _day(ts: float | None) -> str | None:
    if ts is None or not FIRST <= ts <= LAST:  # NaN too: importers drop these, this is a guard
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d")


def file_rows(result: ImportResult) -> list[dict[str, Any]]:
    return [
        {
            "path": r.path,
            "format": r.format,
            "read": r.read,
            "imported": r.imported,
            "continuation_lines": r.continuation,
            "skipped": dict(r.skipped),
            "unparsable": [{"line": n, "text": raw} for n, raw in r.unparsable],
            "decisions": dict(r.decisions),
        }
        for r in result.reports
    ]


def conversation_row(
    conv: Conversation, known: bool, gap_hours: float, min_words: int = 0
) -> dict[str, Any]:
    """`known`: whether the conversation's `outgoing` flags say who the persona is. The persona's
    turns (as training makes them), the very short ones and those under `min_words` words."""
    times = [m.timestamp for m in conv.messages if m.timestamp is not None]
    persona = sum(1 for m in conv.messages if m.outgoing) if known else None
    chars = sum(len(m.text) for m in conv.messages)
    lengths = persona_turn_words(conv, gap_hours) if persona else []
    return {
        "id": conv.id,
        "title": conv.title,
        "platform": conv.platform,
        "participants": list(conv.participants),
        "group": len(conv.participants) > 2,
        "messages": len(conv.messages),
        "sessions": count_sessions(conv, gap_hours),
        "first": _day(min(times)) if times else None,
        "last": _day(max(times)) if times else None,
        "persona_share": round(persona / len(conv.messages), 3)
        if persona is not None and conv.messages
        else None,
        "tokens": chars // CHARS_PER_TOKEN,
        "persona_turns": len(lengths) if known else None,
        "short_persona_turns": sum(n <= SHORT_WORDS for n in lengths) if known else None,
        "below_min_words": sum(n < min_words for n in lengths) if known else None,
    }


def coverage(
    result: ImportResult,
    conversations: list[Conversation],
    owners: Owners | None,
    gap_hours: float,
    removed: Counter | None = None,
    persona: bool = False,
    min_words: int = 0,
) -> dict[str, Any]:
    """`conversations` as prepared (their `outgoing` marks the persona); `persona`: one was named;
    `min_words`: the --min-words whose effect is counted."""
    files = file_rows(result)
    convs = [
        conversation_row(
            c, persona or (owners is not None and c.id in owners.names), gap_hours, min_words
        )
        for c in conversations
    ]
    skipped = sum((r.skipped for r in result.reports), Counter())
    return {
        "files": files,
        "conversations": convs,
        "owner": {
            "how": owners.how if owners else "",
            "candidates": owners.candidates if owners else [],
            # A dataset of many people (chitchat): who could be cloned, most active first.
            "people": [vars(p) for p in owners.people] if owners else [],
        },
        "filtered": dict(removed or {}),
        "session_gap_hours": gap_hours,
        "totals": {
            "files": len(files),
            "read": sum(f["read"] for f in files),
            "imported": sum(f["imported"] for f in files),
            "continuation_lines": sum(f["continuation_lines"] for f in files),
            "skipped": dict(skipped),
            "conversations": len(convs),
            "messages": sum(c["messages"] for c in convs),
            "sessions": sum(c["sessions"] for c in convs),
            "tokens": sum(c["tokens"] for c in convs),
            "persona_turns": sum(c["persona_turns"] or 0 for c in convs),
            "short_persona_turns": sum(c["short_persona_turns"] or 0 for c in convs),
            "min_words": min_words,
            "below_min_words": sum(c["below_min_words"] or 0 for c in convs),
        },
    }


def short_turns_line(totals: dict[str, Any]) -> str:
    """How many of the persona's turns are very short, and what --min-words does about them."""
    turns, short = totals["persona_turns"], totals["short_persona_turns"]
    if not turns:
        return ""
    line = (
        f"Persona turns: {turns}, {short} ({short / turns:.0%}) very short (at most "
        f"{SHORT_WORDS} words, like 'Yes.' or 'Uh-huh.')"
    )
    n, below = totals["min_words"], totals["below_min_words"]
    if n:
        return line + f"; --min-words {n} leaves {below} ({below / turns:.0%}) out of training."
    if short:
        return line + f"; train --min-words {SHORT_WORDS + 1} would leave them out."
    return line + "."


def render(cov: dict[str, Any], out: IO[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=out, width=max(100, Console(file=out).width), highlight=False)

    def say(line: str) -> None:  # a line holding names from the export: never markup
        console.print(Text(plain(line)))

    files = Table(title="Files", title_justify="left")
    for col in ("file", "format", "read", "imported", "skipped (by reason)"):
        files.add_column(col, justify="right" if col in ("read", "imported") else "left")
    for f in cov["files"]:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(f["skipped"].items())) or "-"
        cells = (f["path"], f["format"], str(f["read"]), str(f["imported"]), reasons)
        files.add_row(*(Text(plain(c)) for c in cells))
    console.print(files)
    for f in cov["files"]:
        if f["decisions"]:
            say(f"  {f['path']}: " + "; ".join(f"{k}: {v}" for k, v in f["decisions"].items()))
        for bad in f["unparsable"][:5]:
            say(f"  could not parse {f['path']}, line {bad['line']}: {bad['text']!r}")
    _render_conversations(cov, console, Table)
    t = cov["totals"]
    console.print(
        f"Total: {t['files']} file(s), {t['read']} lines/records read, {t['imported']} messages "
        f"imported, {sum(t['skipped'].values())} skipped, {t['conversations']} conversation(s), "
        f"{t['sessions']} session(s) (gap {cov['session_gap_hours']:g} h), ~{t['tokens']} tokens."
    )
    if short_turns_line(t):
        console.print(short_turns_line(t))
    if cov["owner"]["how"]:
        say(f"Owner: {cov['owner']['how']}.")
    if cov["owner"].get("people"):
        say(
            "Most active people (--me NAME clones another): "
            + ", ".join(
                f"{p['name']} ({p['messages']} messages, {p['conversations']} conversations)"
                for p in cov["owner"]["people"]
            )
        )
    if cov["owner"]["candidates"]:
        say(
            "Owner undecided; candidates: "
            + ", ".join(cov["owner"]["candidates"])
            + ". Pass --me NAME."
        )
    if cov["filtered"]:
        say("Filtered out: " + ", ".join(f"{k} {v}" for k, v in cov["filtered"].items()))


def _render_conversations(cov: dict[str, Any], console: Any, table_cls: Any) -> None:
    from rich.text import Text

    table = table_cls(title="Conversations", title_justify="left")
    for col in (
        "conversation",
        "platform",
        "people",
        "messages",
        "sessions",
        "dates",
        "persona",
        "tokens",
    ):
        table.add_column(
            col, justify="right" if col in ("messages", "sessions", "tokens", "persona") else "left"
        )
    rows = sorted(cov["conversations"], key=lambda c: -c["messages"])
    for c in rows[:MAX_ROWS]:
        people = ", ".join(c["participants"][:3]) + (
            f" +{len(c['participants']) - 3}" if len(c["participants"]) > 3 else ""
        )
        share = "?" if c["persona_share"] is None else f"{c['persona_share']:.0%}"
        cells = (
            c["title"],
            c["platform"],
            people,
            str(c["messages"]),
            str(c["sessions"]),
            f"{c['first'] or '?'} .. {c['last'] or '?'}",
            share,
            str(c["tokens"]),
        )
        table.add_row(*(Text(plain(cell)) for cell in cells))
    console.print(table)
    if len(rows) > MAX_ROWS:
        console.print(
            f"  ... and {len(rows) - MAX_ROWS} smaller conversation(s); --json lists all."
        )
