"""Whether a word of a contact's name is, where it stands in a message, used as that name.

A name word that is no ordinary word ("Maya", "Cohen") is the name wherever it appears, in any
letter case. One that is an ordinary word in a language we support ("Will", "Rose", "username")
is the name only where the text uses it as one: as part of the whole name ("will turner"), or
capitalised in mid-sentence ("I saw Will"; not after an article, for German nouns: "eine Rose"),
or capitalised at the start of a sentence and followed by what follows a person ("Rose said",
"Will's car", "Mark, come"), or greeted ("hey rose!"). "will you come?", "Hope you're well", "a
sunny day" and, in run-on chat lines, "lol Will you come" stay.
"""

from __future__ import annotations

import functools
import re

LETTERS = re.compile(r"[^\W\d_]+")
# Languages whose vocabulary decides what an ordinary word is.
LANGS = ("en", "de", "fr", "es", "it", "pt", "nl")
# Zipf 4.5 is about 30 uses per million words, a word met every few pages of text ("rose" 4.8,
# "bill" 5.2, "will" 6.5): frequent enough that in a chat history the word use outnumbers the
# name. Frequency lists count names too (they are lower-cased), so this also takes the most
# common first names (John 5.4) for words; such a name loses only its lower-case mentions.
COMMON_ZIPF = 4.5
# Rarer words are told from names by how local they are: a name is about as frequent in every
# language's text (Maya 3.7 to 4.2), a word is frequent in its own language only ("sunny" en 4.1,
# elsewhere 3.3 or less; "username" 3.8 vs under 3). 0.6 is four times the median language's
# rate. The small lists (loaded in a tenth of the time) stop at zipf 3, once per million words:
# a word missing from one counts as 3, so that a rare word's margin is not made up of absences.
LOCAL_MARGIN = 0.6
FLOOR_ZIPF = 3.0
# Words after which a capitalised word is a noun, not a name (German capitalises nouns).
ARTICLES = frozenset(
    "an the this that my your his her our their der die das den dem des ein eine einen einem "
    "einer eines mein meine meinen meinem meiner dein deine deinen sein seine ihr ihre unser "
    "unsere kein keine le la les un une du mon ma mes ton ta son sa el los las una unos unas "
    "mi tu su il lo gli uno het een".split()
)
# What follows a person's name at the start of a sentence, and rarely the same word as a word.
AFTER_NAME = frozenset(
    "said says told asked texted called wrote replied thinks thought wants wanted knows knew "
    "and is was has had will would can could just also did does isn't wasn't doesn't didn't "
    "sagt sagte meint meinte hat hatte ist war und kommt kam kann will schreibt schrieb "
    "a dit est était et vient veut pense sait "
    "dice dijo es está era y viene quiere tiene piensa sabe "
    "ha detto è era e viene vuole sa pensa".split()
)
# Chat lines run on without full stops ("you'll be making apps Will you get paid?"): a
# capitalised word followed by one of these reads as the word (modal, "Hope so") far more often
# than as a name, even in mid-sentence.
WORD_AFTER = frozenset("you it this we they he she i be have probably not never so".split())
# Greetings and thanks: the word after one, closing the clause, is a name in any letter case
# ("ciao giulia!", "hi maya,"); nobody greets a word.
GREETINGS = frozenset(
    "hi hey hello hallo hola ciao salut bonjour bonsoir coucou servus moin thanks thank thx "
    "danke merci gracias grazie bye tschüss adiós adios dear liebe lieber cher chère querida "
    "querido cara caro".split()
)
NEXT_WORD = re.compile(r" ([a-z]+)\b")
CLAUSE_END = re.compile(r"\s*(?:[,!?.:;)]|$)")
# Quotes and brackets open a sentence ('she said "Will you ...'), and so does a new line.
OPENERS = "\"'“‘«„¿¡([*_\n"
# A character before which the next word starts a sentence unless it is one of these.
IN_SENTENCE = ",;-–—&/'’"
# Chat lines often run on without punctuation: after one of these a word starts anew ("ok Will
# you come?"), so a capitalised name word there needs the cues of a sentence start.
INTERJECTIONS = frozenset(
    "ok okay k lol lmao haha hahaha hehe omg btw yes yeah yep yup no nope nah oh ah aw well so "
    "sure ja jo nee nein genau also oui ouais non bon bah alors sí si vale bueno pues claro".split()
)


@functools.lru_cache(maxsize=4096)
def is_ordinary_word(token: str) -> bool:
    """True for a word common in some language of LANGS (cached: called per name word, once)."""
    from wordfreq import zipf_frequency  # loads a frequency table per language: only if needed

    zipf = sorted(max(FLOOR_ZIPF, zipf_frequency(token, lang, "small")) for lang in LANGS)
    top, median = zipf[-1], zipf[len(zipf) // 2]
    return top >= COMMON_ZIPF or top - median >= LOCAL_MARGIN


def phrase_pattern(tokens: list[str], exact: bool) -> re.Pattern:
    """A whole name in text: its words in order with spaces, dots, hyphens or apostrophes
    between; `exact` keeps the name's letter case (a name made only of ordinary words)."""
    body = r"[\s.'’-]{1,3}".join(re.escape(t) for t in tokens)
    return re.compile(rf"(?<![^\W\d_]){body}(?![^\W\d_])", 0 if exact else re.I)


def sentence_initial(text: str, start: int, before: str) -> bool:
    """Whether the word at `start` begins a sentence; `before` is the word in front of it."""
    i = start - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    if i < 0 or text[i] in OPENERS or before in INTERJECTIONS:
        return True
    return not (text[i].isalnum() or text[i] in IN_SENTENCE)


def previous_word(text: str, start: int) -> str:
    """The lower-cased word right before `start`, with only spaces between; else ""."""
    head = text[max(0, start - 20) : start]
    words = LETTERS.findall(head)
    return words[-1].lower() if words and head.rstrip().endswith(words[-1]) else ""


def used_as_name(m: re.Match, names: dict[str, str]) -> bool:
    """Whether the ordinary word matched by `m` is used as a name in `m.string`; `names` maps
    the lower-cased words of the contacts' names to stand-ins (the word after it may be one)."""
    word, text, start = m.group(), m.string, m.start()
    if not word[:1].isupper() or (len(word) > 1 and word.isupper()):
        # lower case, or shouting ("I WILL"): a name only when greeted
        return bool(CLAUSE_END.match(text, m.end())) and previous_word(text, start) in GREETINGS
    before = previous_word(text, start)
    if before in GREETINGS and CLAUSE_END.match(text, m.end()):
        return True
    if before in ARTICLES:
        return False
    rest = text[m.end() : m.end() + 24]
    if not sentence_initial(text, start, before):
        following = NEXT_WORD.match(rest)
        return following is None or following.group(1) not in WORD_AFTER
    if rest[:2] in ("'s", "’s") or rest[:1] == ",":
        return True
    after_match = LETTERS.match(rest.lstrip())
    if after_match is None or rest[:1] not in " \t":
        return False
    after = after_match.group()
    return after.lower() in AFTER_NAME or (after[:1].isupper() and after.lower() in names)


def in_phrase(
    m: re.Match, phrases: list[tuple[re.Pattern, frozenset[str]]], present: frozenset[str]
) -> bool:
    """Whether `m` lies inside a whole-name match of one of `phrases` (pattern, the name's other
    words), looked for near it when the text holds the other words (`present`)."""
    text, start, end = m.string, m.start(), m.end()
    lo = max(0, start - 64)
    for pattern, others in phrases:
        if not others <= present:
            continue
        for hit in pattern.finditer(text, lo, min(len(text), end + 64)):
            if hit.start() <= start and end <= hit.end():
                return True
    return False
