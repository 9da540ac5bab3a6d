"""The rows of a CSV/TSV file, with a stray quote caught instead of swallowing the rest.

An opening quote that is never closed makes the `csv` module read every following line into
one field: the file would import up to that row and silently lose the rest. So a row whose
quoted field runs to the end of the file, or over several lines that look like rows of their
own, or past the field size limit, stops the import with the line of the quote and the fix.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from chatclone.data.importers._common import iter_lines
from chatclone.data.importers.limits import FILE
from chatclone.errors import ChatcloneError

# A quoted field spanning this many lines that parse as whole rows is a quote never closed.
ROW_LIKE_LINES = 3
FIX = (
    'fix: double the quote inside the text ("") or remove it, or quote the whole field, '
    "then import again"
)


class _Lines:
    """Feeds the reader one line at a time and keeps the lines of the current row."""

    def __init__(self, path: Path) -> None:
        self.lines = iter_lines(path)
        self.row: list[str] = []

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        _, line = next(self.lines)
        self.row.append(line)
        return line + "\n"


def csv_rows(path: Path, delimiter: str) -> Iterator[tuple[int, dict | None, str]]:
    """(first line of the row, {column: value} or None when the number of values is not the
    header's, raw text) for every data row."""
    lines = _Lines(path)
    reader = csv.reader(lines, delimiter=delimiter)
    start = 1
    # A message may be as long as any other value (the file limit), not just csv's 128 Ki
    # characters; the limit is the module's, so it is put back afterwards.
    default = csv.field_size_limit(min(FILE.value(), 2**31 - 1))
    try:
        columns = next(reader, [])
        if len(lines.row) > 1:
            _check_span(path, 1, lines.row, 0, delimiter)
        start, lines.row = reader.line_num + 1, []
        for values in reader:
            if len(lines.row) > 1:
                _check_span(path, start, lines.row, len(columns), delimiter)
            ok = len(values) == len(columns)
            yield start, dict(zip(columns, values)) if ok else None, delimiter.join(values)
            start, lines.row = reader.line_num + 1, []
    except csv.Error as e:
        if "field larger than field limit" in str(e):
            raise FILE.exceeded(f"{path}, line {start}: one field") from None
        raise ChatcloneError(
            f"{path}, line {reader.line_num}: broken CSV ({e}); fix the line or export again"
        ) from None
    finally:
        csv.field_size_limit(default)


def _check_span(path: Path, start: int, lines: list[str], ncols: int, delimiter: str) -> None:
    """A row over several lines: an error if its quote never closes, or closes only after
    lines that look like rows of their own (a stray quote swallowed them)."""
    text = "\n".join(lines) + "\n"
    try:
        list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as e:
        if "unexpected end of data" in str(e):
            raise ChatcloneError(
                f"{path}, line {start}: an opening quote is never closed: the field that starts "
                f"there runs to the end of the file and would swallow {len(lines) - 1} more "
                f"line(s); {FIX}"
            ) from None
    row_like = sum(_is_row(line, ncols, delimiter) for line in lines[1:])
    if ncols > 1 and row_like >= ROW_LIKE_LINES:
        raise ChatcloneError(
            f"{path}, line {start}: an opening quote is never closed: the field that starts "
            f"there runs over {len(lines) - 1} more line(s), {row_like} of which look like rows "
            f"of their own, up to a quote on line {start + len(lines) - 1}; {FIX}"
        )


def _is_row(line: str, ncols: int, delimiter: str) -> bool:
    try:
        return len(next(csv.reader([line], delimiter=delimiter), [])) == ncols
    except csv.Error:
        return False
