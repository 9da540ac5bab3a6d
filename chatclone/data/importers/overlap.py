"""Overlapping exports of one chat (exported in March, again in June) imported together: their
conversations share an id, and the messages of the overlap would be learnt twice.

`merge_overlaps` joins conversations with the same id into one and drops a message of a later
export when an earlier one already held it (same sender, time and text, counted as a multiset so
that "ok" written twice in a minute survives when the other export has it only once). Each drop
is counted as `duplicate` in the report of the file it came from.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from chatclone.data.importers.base import ImportReport, ImportResult
from chatclone.data.records import Conversation, Message, in_time_order


def _key(m: Message) -> tuple:
    return (m.sender, m.timestamp, m.text)


def _report_of(m: Message, reports: list[ImportReport]) -> ImportReport | None:
    """The report of the file a message came from (its source starts with the file's path)."""
    return max(
        (r for r in reports if r.path and m.source.startswith(r.path)),
        key=lambda r: len(r.path),
        default=None,
    )


def merge_overlaps(result: ImportResult) -> ImportResult:
    """The result with conversations of the same id merged and repeated messages removed."""
    groups: dict[str, list[Conversation]] = {}
    for conv in result.conversations:
        groups.setdefault(conv.id, []).append(conv)
    if all(len(g) == 1 for g in groups.values()):
        return result
    merged = []
    for convs in groups.values():
        first, *later = convs
        held = Counter(map(_key, first.messages))
        messages = list(first.messages)
        for conv in later:
            budget = held.copy()  # copies an earlier export already holds: drop that many
            for m in conv.messages:
                key = _key(m)
                if budget[key] > 0:
                    budget[key] -= 1
                    report = _report_of(m, result.reports)
                    if report is not None:
                        report.skip("duplicate")
                        report.imported -= 1
                    continue
                messages.append(m)
            held |= Counter(map(_key, conv.messages))
        people = dict.fromkeys(p for c in convs for p in c.participants)
        merged.append(
            replace(first, messages=in_time_order(tuple(messages)), participants=tuple(people))
            if later
            else first
        )
    return ImportResult(merged, result.reports)
