"""Privacy: typed placeholders for contact and payment details, stand-ins for people's names.

Applied before anything is written or trained. E-mail addresses, URLs and bare domains, IBANs
(mod-97 checked), card numbers (Luhn checked) and phone numbers (validated with `phonenumbers`)
become `<EMAIL>`, `<URL>`, `<IBAN>`, `<CARD>` and `<PHONE>` (`pii`). Participants' names are
pseudonymised word by word with one global table, so the same person gets the same stand-in in
every conversation and in every mention ("Maya" in a message becomes the first name Maya Cohen's
stand-in has); a name word that is also an ordinary word is replaced only where it is used as
the name (`name_use`).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from typing import Iterable

from chatclone.data import name_use, pii
from chatclone.data.pii import (  # noqa: F401  (the detectors, as other modules use them)
    CARD,
    DATE_LIKE,
    DIGITS,
    EMAIL,
    IBAN,
    PHONE_CANDIDATE,
    REGIONS,
    URL,
    iban_ok,
    is_phone,
    luhn,
)

LETTERS = name_use.LETTERS
FIRST = tuple(
    "Alex Sam Robin Kim Jordan Taylor Morgan Casey Riley Jamie Avery Quinn Charlie Drew Emery "
    "Finley Harper Hayden Jesse Kai Logan Noel Parker Reese Rowan Sage Skyler Toni Dana Eden "
    "Frankie Gray Jody Lee Marley Nico Oakley Peyton Remy Shay".split()
)
LAST = tuple(
    "Park Quinn Reyes Stone Vale West Hart Lane Moss Frost Brook Cole Dale Ford Grant Hale Knox "
    "Lowe Marsh Nash Penn Rhodes Shaw Todd Wade York Bell Cross Dunn Ellis".split()
)
# Words that also name contacts ("My Love", "Mum", "Work") or sites ("abcnews.go.com") but
# identify nobody: replacing them in message text would rewrite ordinary sentences. They are
# never replaced in text; a sender made only of them, or a handle or domain, gets a "Person N"
# stand-in instead.
EVERYDAY = frozenset(
    """
a an the and or but of to in on at by for with from up down out over about as is are was be
i me my mine you your yours he him his she her hers we us our they them their it its this that
go com net org www co uk de fr http https app bot chat group team family friends friend work
office home house love baby babe honey darling sweetie dear boss mum mom mother dad daddy
father sister brother bro sis aunt uncle grandma grandpa nan gran wife husband partner kids
school class news support info admin service help official the best new old big little
dr mr mrs ms mx prof sir jr sr
""".split()
)
# A handle, not a name: an e-mail or @user, a phone number (three digits in a row) or one
# dotted word ("noa.levi", "abcnews.go.com"). "Dr. Yael Katz", "Noa L." and "Dani 2" are names.
_HANDLE = re.compile(r"@|\d{3}|^[^\s.]+(?:\.[^\s.]+)+$")


def is_handle(name: str) -> bool:
    """Whether a sender's name is a handle (an e-mail, @user, phone number, dotted word)."""
    return _HANDLE.search(name) is not None


def _key(token: str) -> str:
    """A name word as the tables keep it: lower case, without the dot `lower()` gives the
    Turkish dotted capital ("İbrahim" -> "ibrahim", as a case-insensitive pattern matches it)."""
    return token.lower().replace("\u0307", "")


class Redactor:
    """Redacts one text at a time; `counts` says what was replaced, by type."""

    def __init__(self, names: Iterable[str] = (), keep: Iterable[str] = ()) -> None:
        self.counts: Counter = Counter()
        kept = {_key(t) for name in keep for t in LETTERS.findall(name)}
        names = sorted(set(names))
        self.tokens = self._token_table(names, kept)
        self.token_keys = frozenset(self.tokens)
        # Few names: substring tests on the lower-cased text; many: split the text into words.
        self.few = tuple(self.token_keys) if len(self.token_keys) <= 16 else None
        self.ordinary = frozenset(k for k in self.tokens if name_use.is_ordinary_word(k))
        self.phrases: dict[str, list[tuple[re.Pattern, frozenset[str]]]] = {}
        self.phrase_only: frozenset[str] = frozenset()
        if self.ordinary:
            self._phrases(names)
        self.senders: dict[str, str] = {}
        self.kept_names = set(keep)
        self._present: frozenset[str] = frozenset()  # the name words of the text at hand

    @staticmethod
    def _token_table(names: list[str], kept: set[str]) -> dict[str, str]:
        """lower-cased real word -> stand-in word; first words take first names, others surnames."""
        real = {_key(t) for n in names for t in LETTERS.findall(n)}
        pools = (
            [f for f in FIRST if f.lower() not in real],
            [s for s in LAST if s.lower() not in real],
        )
        table: dict[str, str] = {}
        used = [0, 0]
        for name in names:
            if _HANDLE.search(name):  # a phone number, handle or domain: not words to hunt
                continue
            words = [t for t in LETTERS.findall(name) if _key(t) not in EVERYDAY]  # not "Dr"
            for pos, token in enumerate(words):
                key = _key(token)
                if key in table or key in kept or len(key) < 2:
                    continue
                kind = 0 if pos == 0 else 1
                pool = pools[kind]
                i = used[kind]
                used[kind] += 1
                table[key] = pool[i] if i < len(pool) else f"{('Name', 'Surname')[kind]}{i + 1}"
        return table

    def _phrases(self, names: list[str]) -> None:
        """Which whole names each ordinary name word is part of (with their other words in the
        table), to find it used in them. A display name written as a phrase, ordinary words not
        all capitalised ("Very long username"), is not a person's name: its words count only
        together."""
        in_person_names = set()
        for name in names:
            tokens = LETTERS.findall(name)
            named = [t for t in tokens if _key(t) in self.tokens]
            keys = [_key(t) for t in named]
            if _HANDLE.search(name):
                continue
            phrase = self.ordinary.issuperset(keys) and any(t[:1].islower() for t in named)
            if not phrase or len(tokens) < 2:
                in_person_names.update(keys)
            if len(tokens) < 2 or not self.ordinary.intersection(keys):
                continue
            pattern = name_use.phrase_pattern(tokens, exact=self.ordinary.issuperset(keys))
            for key in self.ordinary.intersection(keys):
                self.phrases.setdefault(key, []).append((pattern, frozenset(keys) - {key}))
        self.phrase_only = frozenset(self.phrases).difference(in_person_names)

    def sender(self, name: str) -> str:
        if name in self.kept_names:
            return name
        fake = self.senders.get(name)
        if fake is None:
            tokens = LETTERS.findall(name)
            if _HANDLE.search(name) or not any(_key(t) in self.tokens for t in tokens):
                fake = f"Person {len(self.senders) + 1}"
            else:  # the name's own shape, its words swapped: "Dani 2" -> "Alex 2"
                fake = LETTERS.sub(lambda m: self.tokens.get(_key(m.group()), m.group()), name)
                fake = " ".join(fake.split())
            taken = set(self.senders.values())
            if fake in taken:  # two people never share a stand-in
                fake = next(
                    f"{fake} ({k})"
                    for k in range(2, len(taken) + 3)
                    if f"{fake} ({k})" not in taken
                )
            self.senders[name] = fake
        return fake

    def text(self, text: str) -> str:
        # Most messages hold no '@', '.' or digit: in ASCII text one C call rules all three out.
        if not text.isascii() or len(text.encode().translate(None, b"0123456789@.")) != len(text):
            text = pii.redact(text, self.counts)
        if self.tokens:
            found = self._mentions(text)
            if found:
                self._present = found
                text = _pattern(found).sub(self._name, text)
        return text

    def _mentions(self, text: str) -> frozenset[str] | None:
        """The name words the text may hold. Cheap test first: most messages mention nobody,
        and a substitution callback per word costs more than the whole rest of the pipeline."""
        low = _key(text)
        if self.few is None:
            return self.token_keys.intersection(LETTERS.findall(low))
        for key in self.few:  # a plain loop: cheaper than any() over a generator
            if key in low:
                return frozenset([k for k in self.few if k in low])
        return None

    def _name(self, m: re.Match) -> str:
        word = m.group()
        key = _key(word)
        if key in self.ordinary and not (
            (key not in self.phrase_only and name_use.used_as_name(m, self.tokens))
            or name_use.in_phrase(m, self.phrases.get(key, ()), self._present)
        ):
            return word
        self.counts["name"] += 1
        return self.tokens[key]


@functools.lru_cache(maxsize=1024)
def _pattern(keys: frozenset[str]) -> re.Pattern:
    """The name words in `keys` as whole words, any letter case."""
    words = "|".join(re.escape(k) for k in sorted(keys, key=len, reverse=True))
    return re.compile(rf"(?<![^\W\d_])(?:{words})(?![^\W\d_])", re.I)
