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

from chatclone.config import TrainConfig
from chatclone.data.filters import Filters, apply_filters
from chatclone.data.importers import ImportResult, load_data
from chatclone.data.people import Owners, norm_name, pool_persona, resolve_owners
from chatclone.data.privacy import Redactor, is_handle
from chatclone.data.records import Conversation, Message, gc_paused
from chatclone.data.select import SelectionRules, select_dialogues
from chatclone.errors import ChatcloneError
from chatclone.inputs import InputOptions, parse_day
from chatclone.speaker_format import Dialogue

PUBLIC_PLATFORMS = ("chatterbot", "chitchat")  # published datasets: nothing to redact


@dataclass
class Prepared:
    conversations: list[Conversation]  # `outgoing` marks the persona
    owners: Owners
    removed: Counter = field(default_factory=Counter)
    redactions: Counter = field(default_factory=Counter)
    samples: list[tuple[str, str]] = field(default_factory=list)  # (before, after) for --preview
    reports: list = field(default_factory=list)  # per file: what was read, imported, skipped
    stand_ins: list[str] = field(default_factory=list)  # a few names given to people (not real)


def filters_of(inp: InputOptions) -> Filters:
    return Filters(
        conversations=tuple(inp.conversation),
        participants=tuple(inp.participant),
        since=parse_day(inp.since, "--since"),
        until=parse_day(inp.until, "--until", end=True),
    )


def prepare_conversations(
    result: ImportResult, inp: InputOptions, strict: bool = True, preview: int = 0
) -> Prepared:
    """Filter, decide owner and persona, redact. In the result, `outgoing` marks the persona's
    messages (the owner's unless `--persona` names someone else): what `import -o` writes and
    what training learns. `strict=False` leaves an undecidable owner undecided instead of failing."""
    removed: Counter = Counter()
    convs = apply_filters(result.conversations, filters_of(inp), removed)
    convs, me, chosen, people = pool_persona(convs, inp.me)
    persona = inp.persona
    if persona and not any(
        norm_name(s) == norm_name(persona) for c in convs for s in c.participants
    ):
        names = sorted({s for c in convs for s in c.participants})[:15]
        raise ChatcloneError(
            f"--persona {persona!r}: no such participant. Participants: {', '.join(names)}; "
            "pass one of them"
        )
    # A named persona says whose voice to learn: the owner need not be decidable then.
    owners = resolve_owners(convs, me, strict=strict and not persona)
    owners.how, owners.people = chosen or owners.how, people
    redactor = None
    keep_name = inp.keep_persona_name
    if inp.redact:
        everyone = {s for c in convs for s in c.participants}
        everyone |= {t for c in convs if (t := _unseen_partner(c, owners))}
        keep = _persona_names(convs, owners, persona) if keep_name else set()
        redactor = Redactor(everyone, keep)
    prepared = Prepared([], owners, removed, reports=result.reports)
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
        fakes = [f for real, f in redactor.senders.items() if f != real]
        prepared.stand_ins = sorted(set(fakes))[:3]
    return prepared


def _unseen_partner(conv: Conversation, owners: Owners) -> str | None:
    """The title of a one-to-one chat whose other person never wrote under a name (only the
    owner wrote, or they wrote from a number): the title is that person's name, to hide."""
    own = owners.names.get(conv.id, frozenset())
    others = [p for p in conv.participants if p not in own]
    if not conv.title or conv.title in conv.participants or len(others) > 1:
        return None
    return conv.title if all(is_handle(p) for p in others) else None


def _persona_names(convs: list[Conversation], owners: Owners, persona: str | None) -> set[str]:
    if persona:
        return {s for c in convs for s in c.participants if norm_name(s) == norm_name(persona)}
    return {s for names in owners.names.values() for s in names}


def _rebuild(
    conv: Conversation,
    owners: Owners,
    persona: str | None,
    redactor: Redactor | None,
    samples: list,
    preview: int,
) -> Conversation:
    """One pass over the messages: persona flag, stand-in sender, redacted text."""
    own = owners.names.get(conv.id, frozenset())
    wanted = norm_name(persona) if persona else None
    redact = redactor is not None and not conv.redacted and conv.platform not in PUBLIC_PLATFORMS
    # Per sender, once: (persona flag, name handed on); a conversation has few senders.
    who = {
        s: (
            (norm_name(s) == wanted) if wanted is not None else (s in own),
            redactor.sender(s) if redact else s,
        )
        for s in dict.fromkeys(m.sender for m in conv.messages)
    }
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
    participants = (
        tuple(redactor.sender(p) for p in conv.participants) if redact else conv.participants
    )
    title = _title(conv, redactor) if redact else conv.title
    # Ids often hold a name (WhatsApp: the chat's title): a digest keeps them distinct and stable.
    cid = (
        f"{conv.platform or 'chat'}:{hashlib.sha1(conv.id.encode()).hexdigest()[:12]}"
        if redact
        else conv.id
    )
    return replace(
        conv,
        id=cid,
        messages=tuple(msgs),
        participants=participants,
        title=title,
        redacted=conv.redacted or redact,
    )


def _title(conv: Conversation, redactor: Redactor) -> str:
    # A 1:1 chat is titled with the other person's name: it gets their stand-in like any mention.
    if conv.title in conv.participants:
        return redactor.sender(conv.title)
    return redactor.text(conv.title)


def selection_rules(cfg: TrainConfig) -> SelectionRules:
    return SelectionRules(
        min_messages=cfg.source.effective_min_messages,
        # The named style exists for group chats: it keeps them whatever --two-senders-only says.
        two_senders_only=cfg.two_senders_only and cfg.prompt_style != "named",
        merge_consecutive=cfg.merge_consecutive,
        session_gap_hours=cfg.session_gap_hours,
        min_words=cfg.min_words,
        keep_names=cfg.prompt_style == "named",
    )


def prepare_dialogues(cfg: TrainConfig) -> tuple[list[Dialogue], dict]:
    """Import `--data` and turn it into training dialogues; returns them and a stats dict."""
    result = load_data(cfg.data, cfg.format)
    prepared = prepare_conversations(result, cfg.input)
    dialogues, stats = select_dialogues(prepared.conversations, selection_rules(cfg))
    skipped = sum(sum(r.skipped.values()) for r in result.reports)
    return dialogues, {
        "messages_read": sum(r.read for r in result.reports),
        "messages_skipped_on_import": skipped,
        "skipped_by_reason": dict(sum((r.skipped for r in result.reports), Counter())),
        "owner": prepared.owners.how,
        "sessions": len(dialogues),
        "session_gap_hours": cfg.session_gap_hours,
        "min_words": cfg.min_words,
        "filtered": dict(prepared.removed),
        "redacted": dict(prepared.redactions),
        "redaction": {
            "on": cfg.redact,
            "persona_name_kept": cfg.redact and cfg.keep_persona_name,
            "stand_ins": prepared.stand_ins,
        },
        **stats.to_dict(),
    }
