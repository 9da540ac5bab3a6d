"""From exports to training dialogues, in one fixed order:

load -> filters -> owner -> persona -> redaction -> sessions -> `select_dialogues`.

Redaction happens before anything leaves this module, so neither the JSONL written by
`chatclone import` nor the training text ever holds the raw PII. Conversations already redacted
(read back from that JSONL) or public (the bundled sample) are not redacted again.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from chatclone.dialogue import Dialogue, SelectionOptions, select_dialogues
from chatclone.errors import ChatcloneError
from chatclone.importers import ImportResult, load_data
from chatclone.privacy import Redactor
from chatclone.records import Conversation, Message, gc_paused
from chatclone.sessions import (
    DEFAULT_GAP_HOURS, Filters, Owners, norm_name, apply_filters, parse_day, resolve_owners,
)

PUBLIC_PLATFORMS = ("chatterbot",)


@dataclass
class Prepared:
    conversations: list[Conversation]  # `outgoing` marks the persona
    owners: Owners
    removed: Counter = field(default_factory=Counter)
    redactions: Counter = field(default_factory=Counter)
    samples: list[tuple[str, str]] = field(default_factory=list)  # (before, after) for --preview


def _opt(cfg: Any, name: str, default: Any) -> Any:
    value = getattr(cfg, name, default)
    return default if value is None and default is not None else value


def filters_of(cfg: Any) -> Filters:
    return Filters(
        conversations=tuple(_opt(cfg, "conversation", [])), participants=tuple(_opt(cfg, "participant", [])),
        since=parse_day(_opt(cfg, "since", None), "--since"),
        until=parse_day(_opt(cfg, "until", None), "--until", end=True),
    )


def prepare_conversations(result: ImportResult, cfg: Any, strict: bool = True,
                          preview: int = 0) -> Prepared:
    """Filter, decide owner and persona, redact. In the result, `outgoing` marks the persona's
    messages (the owner's unless `--persona` names someone else): what `import -o` writes and
    what training learns. `strict=False` leaves an undecidable owner undecided instead of failing."""
    removed: Counter = Counter()
    convs = apply_filters(result.conversations, filters_of(cfg), removed)
    persona = _opt(cfg, "persona", None)
    if persona and not any(norm_name(s) == norm_name(persona) for c in convs for s in c.participants):
        names = sorted({s for c in convs for s in c.participants})[:15]
        raise ChatcloneError(f"--persona {persona!r}: no such participant. Participants: {', '.join(names)}")
    # A named persona says whose voice to learn: the owner need not be decidable then.
    owners = resolve_owners(convs, _opt(cfg, "me", []), strict=strict and not persona)
    redactor = None
    if _opt(cfg, "redact", True):
        everyone = {s for c in convs for s in c.participants}
        keep = _persona_names(convs, owners, persona) if _opt(cfg, "keep_persona_name", False) else set()
        redactor = Redactor(everyone, keep)
    prepared = Prepared([], owners, removed)
    renamed = {}
    for conv in convs:
        with gc_paused():
            new = _rebuild(conv, owners, persona, redactor, prepared.samples, preview)
        prepared.conversations.append(new)
        if conv.id in owners.names:
            renamed[new.id] = owners.names[conv.id]
    owners.names = renamed  # keyed by the (possibly pseudonymised) ids handed on
    if redactor is not None:
        prepared.redactions = redactor.counts
    return prepared


def _persona_names(convs: list[Conversation], owners: Owners, persona: str | None) -> set[str]:
    if persona:
        return {s for c in convs for s in c.participants if norm_name(s) == norm_name(persona)}
    return {s for names in owners.names.values() for s in names}


def _rebuild(conv: Conversation, owners: Owners, persona: str | None, redactor: Redactor | None,
             samples: list, preview: int) -> Conversation:
    """One pass over the messages: persona flag, stand-in sender, redacted text."""
    own = owners.names.get(conv.id, frozenset())
    wanted = norm_name(persona) if persona else None
    redact = redactor is not None and not conv.redacted and conv.platform not in PUBLIC_PLATFORMS
    # Per sender, once: (persona flag, name handed on); a conversation has few senders.
    who = {s: ((norm_name(s) == wanted) if wanted is not None else (s in own),
               redactor.sender(s) if redact else s)
           for s in dict.fromkeys(m.sender for m in conv.messages)}
    msgs = []
    append = msgs.append
    for m in conv.messages:
        flag, sender = who[m.sender]
        if redact:
            text = redactor.text(m.text)
            if len(samples) < preview and text != m.text:
                samples.append((m.text, text))
            append(Message(sender, text, m.timestamp, flag, m.source))
        elif flag != m.outgoing:
            append(Message(sender, m.text, m.timestamp, flag, m.source))
        else:
            append(m)
    participants = tuple(redactor.sender(p) for p in conv.participants) if redact else conv.participants
    title = _title(conv, redactor) if redact else conv.title
    # Ids often hold a name (WhatsApp: the chat's title): a digest keeps them distinct and stable.
    cid = f"{conv.platform or 'chat'}:{hashlib.sha1(conv.id.encode()).hexdigest()[:12]}" if redact else conv.id
    return replace(conv, id=cid, messages=tuple(msgs), participants=participants, title=title,
                   redacted=conv.redacted or redact)


def _title(conv: Conversation, redactor: Redactor) -> str:
    # A 1:1 chat is titled with the other person's name: it gets their stand-in like any mention.
    if conv.title in conv.participants:
        return redactor.sender(conv.title)
    return redactor.text(conv.title)


def selection_options(cfg: Any, gap_hours: float = 0.0) -> SelectionOptions:
    min_messages = getattr(cfg, "effective_min_messages", None) or _opt(cfg, "min_messages", 11)
    return SelectionOptions(
        min_messages=min_messages, two_senders_only=_opt(cfg, "two_senders_only", True),
        merge_consecutive=_opt(cfg, "merge_consecutive", True), persona=None,
        session_gap_hours=gap_hours,
    )


def prepare_dialogues(cfg: Any) -> tuple[list[Dialogue], dict]:
    """What `train` calls: `cfg` is a `TrainConfig` (any object with its attribute names works;
    missing input options take their defaults). Returns the dialogues and a stats dict."""
    result = load_data(cfg.data, getattr(cfg, "format", None))
    prepared = prepare_conversations(result, cfg)
    gap = _opt(cfg, "session_gap_hours", DEFAULT_GAP_HOURS)
    dialogues, stats = select_dialogues(prepared.conversations, selection_options(cfg, gap))
    skipped = sum(sum(r.skipped.values()) for r in result.reports)
    return dialogues, {
        "messages_read": sum(r.read for r in result.reports),
        "messages_skipped_on_import": skipped,
        "skipped_by_reason": dict(sum((r.skipped for r in result.reports), Counter())),
        "owner": prepared.owners.how,
        "sessions": len(dialogues),
        "session_gap_hours": gap,
        "filtered": dict(prepared.removed),
        "redacted": dict(prepared.redactions),
        **stats.to_dict(),
    }
