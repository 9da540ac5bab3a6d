"""Message ids: the same message twice (overlapping exports pasted together) is imported once."""

from __future__ import annotations

from typing import Any

from chatclone.data.importers.base import ImportReport


def repeated(mid: Any, seen: set, report: ImportReport) -> bool:
    """True (and counted as `duplicate`) if this message id was seen before; a message without
    an id is always kept."""
    if not isinstance(mid, (str, int)):
        return False
    if mid in seen:
        report.skip("duplicate")
        return True
    seen.add(mid)
    return False
