"""Where exports come from: one file, a folder of them, or the zip a phone or website produced.

A folder or zip may hold many exports (a Messenger inbox, several WhatsApp chats): each is
detected and imported, and the results are merged. Files of one unit (the `message_N.json` of a
Messenger thread) are read together. Chatistics exports are whole-account dumps, so a folder may
hold only one of them: two would import every message twice.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from chatclone.data.importers.base import Importer, ImportResult
from chatclone.data.importers.registry import SAMPLE_NAMES, detect, importers, resolve_format
from chatclone.data.records import gc_paused
from chatclone.errors import ChatcloneError

CANDIDATE_SUFFIXES = (".txt", ".json", ".csv", ".tsv", ".jsonl", ".ndjson")
MAX_LISTED = 20


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
        raise ChatcloneError(f"{path}: the file is empty. Export the chat again.")
    if forced is not None:
        return forced.load(path)
    importer = detect(path)
    if importer is None:
        raise ChatcloneError(not_recognised(path))
    return importer.load(path)


def not_recognised(path: Path) -> str:
    tried = "; ".join(
        f"{i.name} ({i.description})" for i in importers().values() if i.name != "chatterbot"
    )
    return f"{path}: not a chat export chatclone knows. Tried: {tried}. Pass --format to force one."


def _listing(folder: Path, files: list[Path]) -> str:
    names = [str(p.relative_to(folder)) for p in files[:MAX_LISTED]]
    more = f" and {len(files) - MAX_LISTED} more" if len(files) > MAX_LISTED else ""
    return (", ".join(names) + more) if names else "no files"


def load_folder(
    folder: Path, forced: Importer | None = None, shown: str | None = None
) -> ImportResult:
    shown = shown or str(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    if forced is not None:
        matches = [
            (p, forced) for p in files if p.suffix.lower() in CANDIDATE_SUFFIXES and forced.sniff(p)
        ]
        matches = matches or [(p, forced) for p in files if p.suffix.lower() in CANDIDATE_SUFFIXES]
    else:
        matches = [(p, imp) for p in files if p.stat().st_size and (imp := detect(p)) is not None]
    recognised = ", ".join(f"{p.relative_to(folder)} ({imp.name})" for p, imp in matches)
    chatistics = [m for m in matches if m[1].name == "chatistics"]
    if not matches or len(chatistics) > 1:
        what = f"{len(matches)} chat exports ({recognised})" if matches else "no chat export"
        raise ChatcloneError(
            f"{shown}: expected a folder holding chat exports (at most one Chatistics export), "
            f"found {what}. Files there: {_listing(folder, files)}. Pass the export file itself."
        )
    merged, seen = ImportResult([], []), set()
    for path, importer in matches:
        unit = importer.unit(path) if hasattr(importer, "unit") else path
        if (importer.name, unit) in seen:
            continue
        seen.add((importer.name, unit))
        result = importer.load(path)
        merged.conversations += result.conversations
        merged.reports += result.reports
    return merged


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = []
    for info in archive.infolist():
        name = PurePosixPath(info.filename)
        if info.is_dir() or name.is_absolute() or ".." in name.parts:
            continue  # never write outside the temporary folder
        if name.suffix.lower() in CANDIDATE_SUFFIXES and not name.name.startswith("."):
            members.append(info)
    return members


def load_zip(path: Path, forced: Importer | None = None) -> ImportResult:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ChatcloneError(
            f"{path}: not a readable zip file ({e}); is the download complete?"
        ) from None
    with archive, tempfile.TemporaryDirectory(prefix="chatclone-zip-") as tmp:
        # The folder is named like the zip: iOS puts `_chat.txt` in `WhatsApp Chat - <name>.zip`.
        root = Path(tmp) / path.stem
        members = _safe_members(archive)
        try:
            for info in members:
                target = root / info.filename
                target.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
            raise ChatcloneError(f"{path}: the zip is damaged ({e}); download it again") from None
        if not members:
            names = ", ".join(i.filename for i in archive.infolist()[:MAX_LISTED]) or "nothing"
            raise ChatcloneError(
                f"{path}: no chat in this zip (no .txt, .json or .csv file). It holds: {names}."
            )
        try:
            result = load_folder(root, forced, shown=str(path))
        except ChatcloneError as e:
            raise ChatcloneError(str(e).replace(str(root), f"{path}!")) from None
        for report in result.reports:
            report.path = report.path.replace(str(root), f"{path}!")
        return result


def load_data(spec: str | Path, format: str | None = None) -> ImportResult:
    """Load conversations from a file, a folder or zip of exports, or a built-in sample name."""
    regs = importers()
    text = str(spec)
    if text in SAMPLE_NAMES or text.startswith("chatterbot:"):
        return regs["chatterbot"].load(Path(text))
    with gc_paused():
        return load_path(Path(spec).expanduser(), resolve_format(format))


def load_all(specs: list[str | Path], format: str | None = None) -> ImportResult:
    """Several exports at once (e.g. a Telegram file and a Facebook folder), merged."""
    merged = ImportResult([], [])
    for spec in specs:
        result = load_data(spec, format)
        merged.conversations += result.conversations
        merged.reports += result.reports
    return merged
