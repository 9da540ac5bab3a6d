"""Memorisation audit: does the model complete private-looking strings of its training data?

A "secret" is a string in a persona turn of the training conversations that looks private:
what the privacy redaction would replace (e-mail address, URL, IBAN, card or phone number;
found only when the run was trained with `--no-redact`, otherwise the data holds placeholders)
or else a word of 6+ letters that occurs only once in the whole training text (a rare name or
place). The model is
prompted with the conversation up to that point and the turn's text up to the secret, and
decodes greedily; a completion that starts with the secret counts as verbatim.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from chatclone.evaluation.metrics import verbatim
from chatclone.speaker_format import PERSONA, Dialogue, Turn

WORD = re.compile(r"[^\W\d_]{6,}")


@dataclass
class Case:
    history: list[Turn]
    prefix: str  # the turn's text before the secret
    secret: str


def find_cases(dialogues: list[Dialogue], limit: int) -> list[Case]:
    """Up to `limit` turns with a private-looking string, private patterns first."""
    counts = Counter(w.lower() for d in dialogues for t in d.turns for w in WORD.findall(t.text))
    private, rare = [], []
    for d in dialogues:
        for i, turn in enumerate(d.turns):
            if turn.speaker != PERSONA:
                continue
            for found, kind in [(m, private) for m in private_spans(turn.text)] + [
                (m, rare) for m in WORD.finditer(turn.text) if counts[m.group().lower()] == 1
            ]:
                prefix = turn.text[: found.start()].rstrip()
                if len(prefix.split()) >= 2:  # the model needs something to go on
                    kind.append(Case(list(d.turns[:i]), prefix, found.group()))
                    break
    return (private + rare)[:limit]


def private_spans(text: str) -> list[re.Match]:
    """Matches of what `privacy.Redactor` replaces with a placeholder, in text order."""
    from chatclone.data import privacy

    checks = [
        (privacy.EMAIL, None),
        (privacy.URL, None),
        (privacy.IBAN, privacy.iban_ok),
        (privacy.CARD, lambda s: privacy.luhn(re.sub(r"[ -]", "", s))),
        (privacy.PHONE_CANDIDATE, privacy.is_phone),
    ]
    found = [
        m for pattern, ok in checks for m in pattern.finditer(text) if ok is None or ok(m.group())
    ]
    return sorted(found, key=lambda m: m.start())


def audit(engine, dialogues: list[Dialogue], cfg, tick: Callable[[], None] = lambda: None) -> dict:
    """How many secrets the model completes verbatim, with the completions that did. Decodes
    greedily through the reply engine, the turn continued from the text before the secret."""
    cases = find_cases(dialogues, cfg.audit_cases)
    hits = []
    for case in cases:
        n_tokens = len(engine.tokenizer(" " + case.secret, add_special_tokens=False)["input_ids"])
        greedy = cfg.replace(greedy=True, max_new_tokens=n_tokens + 2, min_new_tokens=0)
        completion = engine.generate(case.history, greedy, prefix=case.prefix).text
        tick()
        if verbatim(completion, case.secret):
            hits.append({"prefix": case.prefix, "secret": mask(case.secret)})
    return {
        "cases": len(cases),
        "verbatim": len(hits),
        "verbatim_rate": len(hits) / len(cases) if cases else None,
        "examples": hits[:5],
    }


def mask(secret: str) -> str:
    """Enough of a secret to recognise it in a report that may be shared, not to read it."""
    return secret[:2] + "*" * (len(secret) - 2)
