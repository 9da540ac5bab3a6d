"""Where exports come from: one file, a folder of them, or the zip a phone or website produced.

A folder or zip may hold many exports (a Messenger inbox, several WhatsApp chats): each is
detected and imported, and the results are merged. Files of one unit (the `message_N.json` of a
Messenger thread) are read together. Chatistics exports are whole-account dumps, so a folder may
hold only one of them: two would import every message twice.

Whatever an importer returns passes one last check here: a message whose time is no time (inf,
NaN, beyond the year 9999) is skipped and counted as `bad timestamp`, so no later stage sorts
or prints it. Names from the export in errors are plain text, and lists of them are cut short.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from operator import attrgetter
from pathlib import Path

from chatclone.data.importers._time import FIRST, LAST
from chatclone.data.importers._zip import CANDIDATE_SUFFIXES, chat_members, extract, open_zip
from chatclone.data.importers.base import Importer, ImportReport, ImportResult
from chatclone.data.importers.overlap import merge_overlaps
from chatclone.data.importers.registry import (
    builtin_importer,
    detect,
    importers,
    resolve_format,
)
from chatclone.data.plain import plain, summarise
from chatclone.data.records import Conversation, gc_paused
from chatclone.errors import ChatcloneError

_timestamp = attrgetter("timestamp")


def load_path(path: Path, forced: Importer | None = None) -> ImportResult:
    if not path.exists():
        raise ChatcloneError(
            f"{path}: no such file or folder. Give a chat export file (e.g. a Chatistics "
            "JSON export), a folder holding one, or 'sample' for the bundled demo data."
        )
    if path.is_dir():
        return load_folder(path, forced)
    if path.suffix.lower() == ".zip":
        return load_zip(path, forced)
    if path.stat().st_size == 0:
        raise ChatcloneError(f"{plain(path)}: the file is empty. Export the chat again.")
    importer = forced or detect(path)
    if importer is None:
        raise ChatcloneError(not_recognised(path))
    return read(importer, path)


def read(importer: Importer, path: Path) -> ImportResult:
    """`importer.load(path)`, checked; a file that cannot be read is one error, not a traceback."""
    try:
        return checked(importer.load(path))
    except OSError as e:  # permissions, a file removed meanwhile, a disk error
        raise ChatcloneError(
            f"{plain(e.filename or path)}: cannot be read ({plain(e.strerror or e)}); check that "
            "it is there and that you may read it"
        ) from None


def checked(result: ImportResult) -> ImportResult:
    """`result` without the messages whose time is no time, each counted in its file's report."""
    for i, conv in enumerate(result.conversations):
        if _all_valid(list(map(_timestamp, conv.messages))):
            continue
        kept = tuple(
            m for m in conv.messages if m.timestamp is None or FIRST <= m.timestamp <= LAST
        )
        for m in conv.messages:
            if m.timestamp is not None and not FIRST <= m.timestamp <= LAST:
                report = _report_of(result.reports, m.source)
                report.skip("bad timestamp")
                report.imported -= 1
        result.conversations[i] = _with_messages(conv, kept)
    return result


def _all_valid(times: list) -> bool:
    """Whether every time is None or within FIRST..LAST. The usual list (no None) is checked
    in C: a NaN or inf makes the sum not finite; min and max give the range."""
    try:
        if not times or math.isfinite(sum(times)) and FIRST <= min(times) and max(times) <= LAST:
            return True
    except TypeError:  # None among them (a format without times for some messages)
        times = [t for t in times if t is not None]
    return all(FIRST <= t <= LAST for t in times)  # False for NaN


def _report_of(reports: list[ImportReport], source: str) -> ImportReport:
    """The report of the file a message came from (`source` starts with its path)."""
    return max(
        reports, key=lambda r: len(r.path) if source.startswith(r.path) else -1, default=None
    ) or ImportReport(path="", format="")


def _with_messages(conv: Conversation, messages: tuple) -> Conversation:
    return dataclasses.replace(conv, messages=messages)


def not_recognised(path: Path) -> str:
    tried = "; ".join(
        f"{i.name} ({i.description})" for i in importers().values() if i.name != "chatterbot"
    )
    return (
        f"{plain(path)}: not a chat export chatclone knows. Tried: {tried}. "
        "Pass --format to force one."
    )


def _listing(folder: Path, files: list[Path]) -> str:
    return summarise(p.relative_to(folder) for p in files) or "no files"


class NoChatExport(ChatcloneError):
    """A folder or zip that holds no chat export: inside a folder, such a zip is reported, not
    an error (a folder of exports may well hold a zip of photos)."""


def load_folder(
    folder: Path, forced: Importer | None = None, shown: str | None = None, in_zip: bool = False
) -> ImportResult:
    shown = shown or str(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    # Zips are read like a zip given alone (iOS WhatsApp: one zip per chat); in a zip, the
    # zips it holds are read too, and no deeper (`in_zip`).
    zips = [p for p in files if p.suffix.lower() == ".zip"]
    plain_files = [p for p in files if p.suffix.lower() != ".zip"]
    if forced is not None:
        matches = [
            (p, forced)
            for p in plain_files
            if p.suffix.lower() in CANDIDATE_SUFFIXES and forced.sniff(p)
        ]
        matches = matches or [
            (p, forced) for p in plain_files if p.suffix.lower() in CANDIDATE_SUFFIXES
        ]
    else:
        matches = [
            (p, imp) for p in plain_files if p.stat().st_size and (imp := detect(p)) is not None
        ]
    recognised = summarise(f"{p.relative_to(folder)} ({imp.name})" for p, imp in matches)
    chatistics = [m for m in matches if m[1].name == "chatistics"]
    if (not matches and not zips) or len(chatistics) > 1:
        what = f"{len(matches)} chat exports ({recognised})" if matches else "no chat export"
        error = NoChatExport if not matches else ChatcloneError
        raise error(
            f"{plain(shown)}: expected a folder holding chat exports (at most one Chatistics "
            f"export), found {what}. Files there: {_listing(folder, files)}. Pass the export "
            "file itself."
        )
    merged, seen = ImportResult([], []), set()
    for path, importer in matches:
        unit = importer.unit(path) if hasattr(importer, "unit") else path
        if (importer.name, unit) in seen:
            continue
        seen.add((importer.name, unit))
        result = read(importer, path)
        merged.conversations += result.conversations
        merged.reports += result.reports
    for path in zips:
        result = _zip_in_folder(path, forced, in_zip)
        merged.conversations += result.conversations
        merged.reports += result.reports
    why = [r.decisions["why"] for r in merged.reports if "why" in r.decisions]
    if not matches and len(why) == len(zips):  # no export at all, only zips without one
        more = f" (and {len(why) - 3} more zips like these)" if len(why) > 3 else ""
        raise NoChatExport(
            f"{plain(shown)}: no chat export in this folder or in its zips. {' '.join(why[:3])}{more}"
        )
    others = _others(folder, plain_files, {p for p, _ in matches})
    if others is not None:
        merged.reports.append(others)
    return merge_overlaps(merged)  # one chat exported twice: its overlap once


def _others(folder: Path, files: list[Path], matched: set[Path]) -> ImportReport | None:
    """One report for the text files of a folder that were not read as chats (an export's
    metadata such as `users.json`, notes, a format chatclone does not know), so that every
    file that could have held a chat is accounted for; media files are not counted."""
    left = [p for p in files if p not in matched and p.suffix.lower() in CANDIDATE_SUFFIXES]
    if not left:
        return None
    report = ImportReport(path=str(folder), format="other files", read=len(left))
    for path in left:
        report.skip("not a chat file" if path.stat().st_size else "empty")
    report.decisions["files"] = _listing(folder, left)
    return report


def _zip_in_folder(path: Path, forced: Importer | None, nested: bool) -> ImportResult:
    try:
        return load_zip(path, forced, nested)
    except NoChatExport as e:
        report = _left_out(str(path), "zip", "no chat export in this zip")
        report.decisions["why"] = str(e)
        return ImportResult([], [report])


def _left_out(path: str, format: str, reason: str) -> ImportReport:
    """The report of a file read as a whole and left out: one item read, one skipped."""
    report = ImportReport(path=path, format=format, read=1)
    report.skip(reason)
    return report


def load_zip(path: Path, forced: Importer | None = None, nested: bool = False) -> ImportResult:
    """The chats in a zip; a zip in it is read too (`nested`: this zip is one), not deeper."""
    archive = open_zip(path)
    with archive, tempfile.TemporaryDirectory(prefix="chatclone-zip-") as tmp:
        # The folder is named like the zip: iOS puts `_chat.txt` in `WhatsApp Chat - <name>.zip`.
        root = Path(tmp) / path.stem
        members, refused = chat_members(path, archive, zips=not nested)
        extract(path, archive, members, root)
        if not members and refused:
            raise NoChatExport(
                f"{plain(path)}: no chat in this zip can be read safely: {summarise(refused)} "
                f"left in it ({_reasons(refused)}). Fix: extract the zip "
                "yourself, check those files, and pass the extracted folder"
            )
        if not members:
            names = summarise(i.filename for i in archive.infolist()) or "nothing"
            raise NoChatExport(
                f"{plain(path)}: no chat in this zip (no .txt, .json, .csv or .html file). "
                f"It holds: {names}. Give the platform's chat export (or the zip it came in)."
            )
        try:
            result = load_folder(root, forced, shown=str(path), in_zip=True)
        except ChatcloneError as e:
            left = (
                f" Left in the zip: {summarise(refused)} ({_reasons(refused)})." if refused else ""
            )
            raise type(e)(str(e).replace(str(root), f"{path}!") + left) from None
        for report in result.reports:
            report.path = report.path.replace(str(root), f"{path}!")
            for key, value in report.decisions.items():  # a zip's own report names its files
                report.decisions[key] = value.replace(str(root), f"{path}!")
        for name, reason in refused.items():  # left in the zip: counted, never lost silently
            result.reports.append(_left_out(f"{path}!{plain(name)}", "zip", reason))
        return result


def load_data(spec: str | Path, format: str | None = None) -> ImportResult:
    """Load conversations from a file, a folder or zip of exports, or a built-in sample name."""
    regs = importers()
    text = str(spec)
    builtin = builtin_importer(text)
    if builtin:
        return checked(regs[builtin].load(Path(text)))
    with gc_paused():
        return load_path(Path(spec).expanduser(), resolve_format(format))


def load_all(specs: list[str | Path], format: str | None = None) -> ImportResult:
    """Several exports at once (e.g. a Telegram file and a Facebook folder), merged."""
    merged = ImportResult([], [])
    for spec in specs:
        result = load_data(spec, format)
        merged.conversations += result.conversations
        merged.reports += result.reports
    return merge_overlaps(merged)


def _reasons(refused: dict[str, str]) -> str:
    return ", ".join(sorted(set(refused.values())))
