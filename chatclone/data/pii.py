"""Structured PII: e-mail addresses, URLs and bare domains, IBANs, card numbers, phone numbers.

Each kind is a candidate pattern plus a check that rules most look-alikes out: IBANs must pass
mod-97 (any letter case), cards Luhn, and phone numbers `phonenumbers`' validation, written the
way their country writes them. Dates with a time ("2023-05-14 18:30"), prices, versions, scores
and numbers after an order or invoice word stay as they are.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Callable

import phonenumbers

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])")
# Top-level domains a bare domain ("example.org", "shop.example.co.uk/path") may end in. Written
# in lower case only: "done.It was" is a missing space after a full stop, not a site; "no" and
# "in" are left out for "ok.no thanks".
TLDS = (
    "com|org|net|edu|gov|info|biz|io|ai|app|dev|xyz|online|shop|site|tv|me|co|ly|gl|uk|de|fr|es|"
    "it|nl|be|ch|at|eu|us|ca|au|nz|ie|pl|se|dk|fi|pt|br|mx|ar|cl|ru|jp|cn|za|cz|gr|tr"
)
_PATH = r"(?:/[^\s<>\"]*[^\s<>\"'.,;:!?)\]])?/?"
URL = re.compile(
    r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"]+[^\s<>\"'.,;:!?)\]]|"
    rf"(?<![\w.@/-])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?-i:{TLDS})(?![\w@-]|\.\w){_PATH}",
    re.I,
)
# Something that could be a bare domain: a letter or digit, a dot, a lower-case letter.
DOMAIN_HINT = re.compile(r"[^\W_]\.[a-z]")
# Printed IBANs come whole or in groups of four, the last group maybe shorter. Only the first
# group may be all letters (a bank code, "NL91 ABNA ..."): "... 1332 fine" ends before "fine".
IBAN = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|"
    r" [A-Z0-9]{4}(?: (?=[A-Z]{0,3}\d)[A-Z0-9]{4}){1,6}(?: \d{1,4})?)\b",
    re.I,
)
CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")
PHONE_CANDIDATE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d ()./-]{5,}\d(?!\w)")
# A date, alone or followed by the hour of a time ("2023-05-14 18" of "2023-05-14 18:30"), or a
# time: the phone candidate stops at the colon, so this is all of the date-time it sees.
DATE_LIKE = re.compile(
    r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:\s+\d{1,2})?$|^\d{1,2}[:.]\d{2}(?![\d.])"
)
# A number right after one of these words (and maybe "no.", "number", "n°") is an order,
# invoice or customer number; "customer service 0800 ..." is still a phone.
ORDER_WORD = re.compile(
    r"(?:order|invoice|tracking|ticket|booking|reference|ref|customer|account|bestellung|"
    r"bestellnummer|bestellnr|auftrag|auftragsnummer|rechnung|rechnungsnummer|kundennummer|"
    r"kundennr|sendungsnummer|commande|facture|dossier|pedido|factura|referencia|seguimiento)"
    r"\W{0,3}(?:(?:no|nr|number|nummer|numéro|número|num|id|code|n°|nº)\W{0,3})?$",
    re.I,
)
# A token mixing letters and digits right before: the number continues a code ("1Z 999 AA1 ...").
CODE_BEFORE = re.compile(r"(?:[A-Za-z]+\d|\d+[A-Za-z])\w*\s$")
DIGITS = re.compile(r"\d")
# Regions whose national formats are tried for numbers written without a country code.
REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "IN", "BR", "AU")
# Indian mobile numbers are written without the trunk prefix their national format shows.
NO_TRUNK_PREFIX_NEEDED = frozenset({"IN"})
MOBILE = phonenumbers.PhoneNumberType.MOBILE
# Fewer digits without a country code are mostly counts and codes ("1800 1800"), rarely phones.
NATIONAL_MIN_DIGITS = 9
# Issuer prefixes of the card networks (Visa 4, Mastercard 2 and 5, Amex 34/37, Discover and
# Maestro 6, JCB and Diners 3): one long number in ten passes Luhn by chance.
CARD_PREFIX = re.compile(r"^(?:4|5[0-5]|2[2-7]|3[4-8]|6)")


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def iban_ok(text: str) -> bool:
    s = text.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s.isalnum():
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def iban_prefix(text: str) -> str | None:
    """The longest run of whole groups that is a valid IBAN: a candidate in groups of four may
    have taken a short word after the number ("... 0130 00 ok")."""
    groups = text.split(" ")
    for end in range(len(groups), 3, -1):
        head = " ".join(groups[:end])
        if iban_ok(head):
            return head
    return text if iban_ok(text) else None


def is_phone(candidate: str) -> bool:
    digits = "".join(DIGITS.findall(candidate))
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
        if region is None:
            if phonenumbers.is_possible_number(number):
                return True
        elif (
            len(digits) >= NATIONAL_MIN_DIGITS
            and phonenumbers.is_valid_number(number)
            and _written_nationally(number, digits, region)
        ):
            return True
    return False


def _written_nationally(number: phonenumbers.PhoneNumber, digits: str, region: str) -> bool:
    """Germans, Britons, the French... write their trunk prefix ("030 ...", "06 ..."): without
    it, "123456789" or "2021 2022 2023" would pass as numbers of some region."""
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    expected = "".join(DIGITS.findall(national))
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region).national_prefix or ""
    return (
        digits in (expected, prefix + expected)  # "1-800-..." in the US
        or region in NO_TRUNK_PREFIX_NEEDED
        and phonenumbers.number_type(number) == MOBILE
        and expected.lstrip("0") == digits.lstrip("0")
    )


def _not_order_number(m: re.Match) -> bool:
    start = m.start()
    return (
        ORDER_WORD.search(m.string, max(0, start - 30), start) is None
        and CODE_BEFORE.search(m.string, max(0, start - 12), start) is None
    )


def _card_ok(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and CARD_PREFIX.match(digits) is not None and luhn(digits)


def redact(text: str, counts: Counter) -> str:
    """`text` with its contact and payment details replaced by placeholders; `counts` gets one
    per replacement, by kind."""
    if "@" in text:
        text = _sub(EMAIL, text, "email", None, counts)
    if "." in text and ("/" in text or "www." in text.lower() or DOMAIN_HINT.search(text)):
        text = _sub(URL, text, "url", None, counts)
    if DIGITS.search(text) and len(DIGITS.findall(text)) >= 7:
        text = IBAN.sub(lambda m: _iban(m, counts), text)
        text = _sub(CARD, text, "card", _card_ok, counts)
        text = _sub(PHONE_CANDIDATE, text, "phone", is_phone, counts, _not_order_number)
    return text


def _iban(m: re.Match, counts: Counter) -> str:
    head = iban_prefix(m.group())
    if head is None:
        return m.group()
    counts["iban"] += 1
    return "<IBAN>" + m.group()[len(head) :]


def _sub(
    pattern: re.Pattern,
    text: str,
    kind: str,
    valid: Callable[[str], bool] | None,
    counts: Counter,
    context: Callable[[re.Match], bool] | None = None,
) -> str:
    """Each match of `pattern` that is `valid` (and whose `context` allows it) replaced by the
    kind's placeholder. A candidate that is not valid as a whole may hold valid ones: a card
    followed by its expiry (`4111 1111 1111 1111 12/25`), two phone numbers side by side
    (`0151 23456789 / 030 1234567`); its pieces are tried (`_pieces`)."""
    placeholder = f"<{kind.upper()}>"

    def repl(m: re.Match) -> str:
        if context is not None and not context(m):
            return m.group()
        if valid is None or valid(m.group()):
            counts[kind] += 1
            return placeholder
        return _pieces(
            m.group(), valid, placeholder, kind, counts, PHONE_STARTS if kind == "phone" else ()
        )

    return pattern.sub(repl, text)


PHONE_STARTS = ("+", "(", "0")
_PIECE = re.compile(r"[^\s/]+")
MAX_PIECES = 8  # a phone number or card is at most 19 digits: never more pieces than this


def _pieces(
    text: str,
    valid: Callable[[str], bool],
    placeholder: str,
    kind: str,
    counts: Counter,
    starts: tuple[str, ...] = (),
) -> str:
    """`text` with the longest valid runs of its space-separated pieces replaced, left to
    right, never across a `/`; the rest as it was. A run has no piece of fewer than two digits
    ("... 900123 2 times", and "3 4 5 6 7 8 9 10" would pass as a number of some region) and,
    with `starts`, begins with one of them (a phone number side by side with others is written
    with its `+` or trunk `0`: "345678 456789" among ids is none)."""
    spans = [m.span() for m in _PIECE.finditer(text)]
    if len(spans) > 3 * MAX_PIECES:
        return text  # a long run of numbers (a table, a list of codes): no few numbers in it
    short = [len(DIGITS.findall(text[a:b])) < 2 for a, b in spans]
    out, done, i = [], 0, 0
    while i < len(spans):
        for j in range(min(len(spans), i + MAX_PIECES), i, -1):
            start, end = spans[i][0], spans[j - 1][1]
            run = text[start:end]
            if (
                (i, j) != (0, len(spans))  # the whole is not valid: that is why we are here
                and "/" not in run
                and not any(short[i:j])
                and (not starts or run.startswith(starts))
                and valid(run)
            ):
                out += [text[done:start], placeholder]
                counts[kind] += 1
                done, i = end, j
                break
        else:
            i += 1
    return "".join(out) + text[done:]
