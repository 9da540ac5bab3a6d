"""Privacy: typed placeholders for contact and payment details, stand-ins for people's names.

Applied before anything is written or trained. E-mail addresses, URLs, IBANs (mod-97 checked),
card numbers (Luhn checked) and phone numbers (validated with `phonenumbers`) become `<EMAIL>`,
`<URL>`, `<IBAN>`, `<CARD>` and `<PHONE>`. Participants' names are pseudonymised word by word
with one global table, so the same person gets the same stand-in in every conversation and in
every mention ("Maya" in a message becomes the first name Maya Cohen's stand-in has).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Iterable

import phonenumbers

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"]+[^\s<>\"'.,;:!?)\]]|"
    r"\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|de|uk|fr|es|it|nl|be|ch|at|eu|app|dev|co|me|ly|gl|info)"
    r"/[^\s<>\"]*[^\s<>\"'.,;:!?)\]]",
    re.I,
)
IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ()./-]{5,}\d(?!\w)")
DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$|^\d{1,2}[:.]\d{2}")
DIGITS = re.compile(r"\d")
LETTERS = re.compile(r"[^\W\d_]+")
# Regions whose national formats are tried for numbers written without a country code.
REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")

FIRST = (
    "Alex",
    "Sam",
    "Robin",
    "Kim",
    "Jordan",
    "Taylor",
    "Morgan",
    "Casey",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Charlie",
    "Drew",
    "Emery",
    "Finley",
    "Harper",
    "Hayden",
    "Jesse",
    "Kai",
    "Logan",
    "Noel",
    "Parker",
    "Reese",
    "Rowan",
    "Sage",
    "Skyler",
    "Toni",
    "Dana",
    "Eden",
    "Frankie",
    "Gray",
    "Jody",
    "Lee",
    "Marley",
    "Nico",
    "Oakley",
    "Peyton",
    "Remy",
    "Shay",
)
LAST = (
    "Park",
    "Quinn",
    "Reyes",
    "Stone",
    "Vale",
    "West",
    "Hart",
    "Lane",
    "Moss",
    "Frost",
    "Brook",
    "Cole",
    "Dale",
    "Ford",
    "Grant",
    "Hale",
    "Knox",
    "Lowe",
    "Marsh",
    "Nash",
    "Penn",
    "Rhodes",
    "Shaw",
    "Todd",
    "Wade",
    "York",
    "Bell",
    "Cross",
    "Dunn",
    "Ellis",
)
# Names that are also everyday words: only a capitalised mention is treated as the name.
# Words that also name contacts ("My Love", "Mum", "Work") or sites ("abcnews.go.com") but are
# everyday words: replacing them in message text would rewrite ordinary sentences, and they
# identify nobody. They are never replaced in text; a sender made only of them, or a handle or
# domain, gets a "Person N" stand-in instead.
EVERYDAY = frozenset(
    """
a an the and or but of to in on at by for with from up down out over about as is are was be
i me my mine you your yours he him his she her hers we us our they them their it its this that
go com net org www co uk de fr http https app bot chat group team family friends friend work
office home house love baby babe honey darling sweetie dear boss mum mom mother dad daddy
father sister brother bro sis aunt uncle grandma grandpa nan gran wife husband partner kids
school class news support info admin service help official the best new old big little
""".split()
)
_HANDLE = re.compile(r"[.@\d]")

COMMON = frozenset(
    "will may june april august rose lily grace hope joy faith mark bill sunny "
    "summer autumn amber ruby pearl dawn eve art bob jack max ray guy sky rich "
    "frank chase hunter mason page park".split()
)


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "")
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def is_phone(candidate: str) -> bool:
    digits = DIGITS.findall(candidate)
    if not 7 <= len(digits) <= 15 or DATE_LIKE.match(candidate.strip()):
        return False
    text = "+" + candidate.strip()[2:] if candidate.startswith("00") else candidate
    regions = (None,) if text.startswith("+") else REGIONS
    for region in regions:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            continue
        # With a country code the shape alone is convincing; national numbers must be valid.
        if (
            phonenumbers.is_valid_number(number)
            or region is None
            and phonenumbers.is_possible_number(number)
        ):
            return True
    return False


class Redactor:
    """Redacts one text at a time; `counts` says what was replaced, by type."""

    def __init__(self, names: Iterable[str] = (), keep: Iterable[str] = ()) -> None:
        self.counts: Counter = Counter()
        kept = {t.casefold() for name in keep for t in LETTERS.findall(name)}
        self.tokens = self._token_table(sorted(set(names)), kept)
        self.token_keys = frozenset(self.tokens)
        # Few names: substring tests on the casefolded text; many: split the text into words.
        self.few = tuple(self.token_keys) if len(self.token_keys) <= 16 else None
        self.senders: dict[str, str] = {}
        self.kept_names = set(keep)

    @staticmethod
    def _token_table(names: list[str], kept: set[str]) -> dict[str, str]:
        """casefolded real word -> stand-in word; first words take first names, others surnames."""
        real = {t.casefold() for n in names for t in LETTERS.findall(n)}
        pools = (
            [f for f in FIRST if f.casefold() not in real],
            [s for s in LAST if s.casefold() not in real],
        )
        table: dict[str, str] = {}
        used = [0, 0]
        for name in names:
            if _HANDLE.search(name):  # a phone number, handle or domain: not words to hunt
                continue
            for pos, token in enumerate(LETTERS.findall(name)):
                key = token.casefold()
                if key in table or key in kept or len(key) < 2 or key in EVERYDAY:
                    continue
                kind = 0 if pos == 0 else 1
                pool = pools[kind]
                i = used[kind]
                used[kind] += 1
                table[key] = pool[i] if i < len(pool) else f"{('Name', 'Surname')[kind]}{i + 1}"
        return table

    def sender(self, name: str) -> str:
        if name in self.kept_names:
            return name
        fake = self.senders.get(name)
        if fake is None:
            tokens = LETTERS.findall(name)
            if _HANDLE.search(name) or not any(t.casefold() in self.tokens for t in tokens):
                fake = f"Person {len(self.senders) + 1}"
            else:
                fake = " ".join(self.tokens.get(t.casefold(), t) for t in tokens)
            self.senders[name] = fake
        return fake

    def text(self, text: str) -> str:
        # Most messages hold no '@', '.' or digit: in ASCII text one C call rules all three out.
        if not text.isascii() or len(text.encode().translate(None, b"0123456789@.")) != len(text):
            text = self._contacts(text)
        if self.tokens and self._mentions(text):
            text = LETTERS.sub(self._name, text)
        return text

    def _contacts(self, text: str) -> str:
        if "@" in text:
            text = self._sub(EMAIL, text, "<EMAIL>")
        if "." in text and ("/" in text or "www." in text.lower()):  # a URL holds one of them
            text = self._sub(URL, text, "<URL>")
        if DIGITS.search(text) and len(DIGITS.findall(text)) >= 7:
            text = self._sub(IBAN, text, "<IBAN>", iban_ok)
            text = self._sub(
                CARD, text, "<CARD>", lambda s: luhn(s.replace(" ", "").replace("-", ""))
            )
            text = self._sub(PHONE_CANDIDATE, text, "<PHONE>", is_phone)
        return text

    def _mentions(self, text: str) -> bool:
        """Cheap test first: most messages mention nobody, and a substitution callback per word
        costs more than the whole rest of the pipeline."""
        low = text.lower() if text.isascii() else text.casefold()  # the same for ASCII
        if self.few is not None:
            for key in self.few:  # a plain loop: cheaper than any() over a generator
                if key in low:
                    return True
            return False
        return not self.token_keys.isdisjoint(LETTERS.findall(low))

    def _name(self, m: re.Match) -> str:
        word = m.group()
        fake = self.tokens.get(word.casefold())
        if fake is None or (word.casefold() in COMMON and not word[:1].isupper()):
            return word
        self.counts["name"] += 1
        return fake

    def _sub(self, pattern: re.Pattern, text: str, placeholder: str, check=None) -> str:
        def repl(m: re.Match) -> str:
            if check is not None and not check(m.group()):
                return m.group()
            self.counts[placeholder.strip("<>").lower()] += 1
            return placeholder

        return pattern.sub(repl, text)
