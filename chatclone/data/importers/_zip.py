"""Taking the chat files out of a zip, safely: within limits, never outside the folder.

The zip's own sizes are checked before anything is written (entry count, each file's size and
how many times it expands, the total), then the copy counts what it really writes, so a zip
whose headers lie stops at the same limits. A name that points outside the folder (`../x`,
`/etc/x`, `C:x`) or repeats an earlier one is never written; it is reported, not lost silently.
An encrypted zip is said to be encrypted, not damaged.
"""

from __future__ import annotations

import lzma
import re
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from chatclone.data.importers import limits
from chatclone.data.plain import plain, summarise
from chatclone.errors import ChatcloneError

CANDIDATE_SUFFIXES = (".txt", ".json", ".csv", ".tsv", ".jsonl", ".ndjson", ".md", ".html", ".htm")
# Below this size a file's expansion ratio says nothing (a tiny file of spaces is no bomb).
RATIO_FROM = 1 << 20
UNREADABLE = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    zlib.error,
    lzma.LZMAError,
)


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (*UNREADABLE, NotImplementedError) as e:
        raise ChatcloneError(
            f"{path}: not a readable zip file ({plain(e)}); is the download complete? "
            "Download it again"
        ) from None


def _unsafe(name: str) -> bool:
    parts = PurePosixPath(name.replace("\\", "/")).parts
    return name.startswith(("/", "\\")) or ".." in parts or bool(re.match(r"[A-Za-z]:", name))


def chat_members(
    path: Path, archive: zipfile.ZipFile, zips: bool = True
) -> tuple[list[zipfile.ZipInfo], dict[str, str]]:
    """The chat files to take out (with `zips`, the zips in it too, read as a folder reads
    them), and {name: why it is left in the zip} for unsafe names and deeper zips."""
    members, refused, seen = [], {}, set()
    for info in archive.infolist():
        name = PurePosixPath(info.filename.replace("\\", "/"))
        suffix = name.suffix.lower()
        if info.is_dir() or (suffix not in CANDIDATE_SUFFIXES and suffix != ".zip"):
            continue
        if name.name.startswith("."):
            continue
        if suffix == ".zip" and not zips:
            refused[info.filename] = "a zip in a zip in a zip: extract the outer ones first"
        elif _unsafe(info.filename):
            refused[info.filename] = "unsafe name (points outside the zip)"
        elif str(name) in seen:
            refused[info.filename] = "duplicate name in the zip"
        else:
            seen.add(str(name))
            members.append(info)
    _check_limits(path, members)
    return members, refused


def _check_limits(path: Path, members: list[zipfile.ZipInfo]) -> None:
    if len(members) > limits.ZIP_ENTRIES.value():
        raise limits.ZIP_ENTRIES.exceeded(f"{path} ({len(members):,} chat files)")
    encrypted = [m.filename for m in members if m.flag_bits & 0x1]
    if encrypted:
        raise ChatcloneError(
            f"{path}: the zip is encrypted (password-protected: {summarise(encrypted)}), and "
            f"chatclone does not read encrypted zips. Fix: extract it yourself (e.g. `unzip` "
            "asks for the password) and pass the extracted folder"
        )
    ratio = limits.ZIP_RATIO.value()
    for m in members:
        where = f"{path}!{plain(m.filename)}"
        if m.file_size > limits.ZIP_ENTRY.value():
            raise limits.ZIP_ENTRY.exceeded(f"{where} ({m.file_size / limits.MB:,.0f} MB)")
        if m.file_size > RATIO_FROM and m.file_size > ratio * max(m.compress_size, 1):
            raise limits.ZIP_RATIO.exceeded(
                f"{where} (expands {m.file_size / max(m.compress_size, 1):,.0f} times, "
                f"to {m.file_size / limits.MB:,.0f} MB)"
            )
    total = sum(m.file_size for m in members)
    if total > limits.UNZIPPED.value():
        raise limits.UNZIPPED.exceeded(f"{path} ({total / limits.MB:,.0f} MB of chat files)")


def extract(
    path: Path, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], root: Path
) -> None:
    """Copies `members` under `root`, counting every byte against the limits."""
    total, budget = 0, limits.UNZIPPED.value()
    base = root.resolve()
    for info in members:
        target = root / info.filename.replace("\\", "/")
        if not target.resolve().is_relative_to(base):  # belt and braces over `_unsafe`
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as dst:
                while chunk := src.read(1 << 20):
                    total += len(chunk)
                    if total > budget:
                        raise limits.UNZIPPED.exceeded(f"{path} (more than its headers say)")
                    dst.write(chunk)
        except NotImplementedError as e:
            raise ChatcloneError(
                f"{path}!{plain(info.filename)}: compressed in a way chatclone cannot read "
                f"({plain(e)}). Fix: extract the zip yourself and pass the extracted folder"
            ) from None
        except RuntimeError as e:  # zipfile's word for "encrypted" when the flag was hidden
            raise ChatcloneError(
                f"{path}!{plain(info.filename)}: cannot be read ({plain(e)}); if the zip is "
                "password-protected, extract it yourself and pass the extracted folder"
            ) from None
        except OSError as e:
            if not e.filename:  # bz2 and friends say "invalid data" as an OSError
                raise _damaged(path, info, e) from None
            raise ChatcloneError(
                f"{path}!{plain(info.filename)}: cannot be taken out of the zip "
                f"({plain(e.strerror or e)}). Fix: extract the zip yourself and pass the folder"
            ) from None
        except UNREADABLE as e:
            raise _damaged(path, info, e) from None


def _damaged(path: Path, info: zipfile.ZipInfo, e: BaseException) -> ChatcloneError:
    return ChatcloneError(
        f"{path}!{plain(info.filename)}: the zip is damaged ({plain(e)}); download it again"
    )
