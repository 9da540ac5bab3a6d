"""The two baselines of `import_throughput.py`, and the export shapes they read.

Both are re-implementations written for this bench from the published descriptions of the tools
(no code copied); each does, per message, the work the original does, and leaves out nothing
that would make it slower than the original except where said.
"""

from __future__ import annotations

import json
import random
import re
import time
import unicodedata
import warnings
from pathlib import Path

WORDS = (
    "ok sure see you tomorrow at the station did you get my message haha yes no maybe later "
    "dinner tonight I think so what time works for you call me when you are free love it "
    "thanks a lot running late sorry traffic again let's do it great idea"
).split()
PEOPLE = ("Maya Cohen", "Ana Silva")  # the contact, then the owner (`--me`)
MEDIA = "<Media omitted>"
SKIP = 'baseline skipped: pip install pandas (or -e ".[bench]")'


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 14)))


def messages(n: int, seed: int = 0) -> list[tuple[int, int, str, bool]]:
    """(epoch seconds, sender index, text, entity-list flag) of n messages: 3 % media
    placeholders, 5 % with a second line; every export shape is written from this list."""
    rng = random.Random(seed)
    t, out = 1_600_000_000, []
    for i in range(n):
        t += rng.choice((20, 45, 90, 300, 900, 30_000))
        r = rng.random()
        body = MEDIA if r < 0.03 else sentence(rng)
        if 0.03 <= r < 0.08:
            body += "\n" + sentence(rng)
        who = i % 2 if rng.random() < 0.8 else (i + 1) % 2
        out.append((t, who, body, rng.random() >= 0.9))
    return out


def write_whatsapp(path: Path, msgs: list, us: bool = True) -> None:
    """US Android shape (M/D/YY, 12 h with U+202F before AM/PM) when `us`, else the 24 h
    `DD/MM/YYYY, HH:MM - Name: text` shape; continuation lines, placeholders, one notice."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            ("1/1/20, 9:00\u202fAM" if us else "01/01/2020, 09:00")
            + " - Messages and calls are end-to-end encrypted. Tap to learn more.\n"
        )
        for t, who, body, _ in msgs:
            lt = time.gmtime(t)
            if us:
                h = lt.tm_hour % 12 or 12
                ampm = "AM" if lt.tm_hour < 12 else "PM"
                stamp = (
                    f"{lt.tm_mon}/{lt.tm_mday}/{lt.tm_year % 100}, {h}:{lt.tm_min:02d}\u202f{ampm}"
                )
            else:
                stamp = time.strftime("%d/%m/%Y, %H:%M", lt)
            f.write(f"{stamp} - {PEOPLE[who]}: {body}\n")


def write_telegram(path: Path, msgs: list) -> None:
    """Telegram Desktop's single-chat shape, 1-space indent, entity lists on about 10 % of
    messages; a media placeholder becomes a photo with no caption."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '{\n "name": "Maya Cohen",\n "type": "personal_chat",\n "id": 4242,\n "messages": ['
        )
        for i, (t, who, text, entities) in enumerate(msgs):
            photo = ""
            if text == MEDIA:
                text, photo = "", '   "photo": "(File not included.)",\n'
            value = json.dumps(
                [text + " ", {"type": "link", "text": "https://example.org"}]
                if entities and text
                else text
            )
            date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            f.write(
                ("," if i else "")
                + f'\n  {{\n   "id": {i + 1},\n   "type": "message",\n   "date": "{date}",\n'
                f'   "date_unixtime": "{t}",\n   "from": "{PEOPLE[who]}",\n   "from_id": "user{1 + who}",\n'
                f'{photo}   "text": {value},\n   "text_entities": []\n  }}'
            )
        f.write("\n ]\n}")


def write_chatistics(path: Path, msgs: list) -> None:
    """Chatistics' JSON export of the same WhatsApp chat: a list of records with the fields
    of `chatclone.data.importers.chatistics.FIELDS`; placeholders kept as text, as it does."""
    recs = [
        {
            "timestamp": float(t),
            "conversationId": "Maya Cohen",
            "conversationWithName": "Maya Cohen",
            "senderName": PEOPLE[who],
            "outgoing": who == 1,
            "text": text,
            "language": "",
            "platform": "whatsapp",
        }
        for t, who, text, _ in msgs
    ]
    path.write_text(json.dumps(recs), encoding="utf-8")


# Chatistics' WhatsApp header: optional odd leading char, date-time, optional non-word char,
# spaces, optional dash, then an optional `Name: ` and the text.
HEADER = re.compile(r"^[^\w\s]?([0-9./\-]{6,10},?[\sT][0-9:]{5,8})\W?\s*-?\s*(?:([^:]+?): )?(.*)$")


def chatistics_whatsapp(path: str, own_name: str = PEOPLE[1]):
    """Chatistics' WhatsApp parser, per file: read the .txt line by line and match each line
    against one header pattern; a line that does not match is appended, stripped, to the
    previous message's text; a header without a sender is app info and skipped; each header's
    date is parsed with `pandas.to_datetime(date).timestamp()`; rows `[timestamp,
    conversation_id, conversation_with, sender, outgoing, text, language, platform]` are
    collected in a list and turned into a `pandas.DataFrame` at the end. Chatistics then runs a
    language detector over every text: left out here, which makes this baseline faster than
    the original and the ratio against it conservative. Its pattern does not read 12 h times
    with U+202F, so it runs on the 24 h shape of the same messages. Returns the frame."""
    import pandas as pd

    warnings.simplefilter("ignore")  # pandas' day-first hint on every DD/MM date
    name = Path(path).stem.removeprefix("WhatsApp Chat with ")
    rows: list[list] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = HEADER.match(line)
            if m is None:
                if rows:
                    rows[-1][5] += "\n" + line.strip()
                continue
            date, sender, text = m.groups()
            if sender is None:
                continue  # app info: encryption notice, group events
            ts = pd.to_datetime(date).timestamp()
            rows.append([ts, name, name, sender, sender == own_name, text.strip(), "", ""])
    cols = ["timestamp", "conversationId", "conversationWithName", "senderName", "outgoing"]
    return pd.DataFrame(rows, columns=cols + ["text", "language", "platform"])


CONTROL_RUN = re.compile(r"[\r\n\t]+")


def clean(text: str) -> str:
    """The workshop's text cleaning: strip, whitespace runs to a space, HTML line-break
    entities dropped, every Unicode control/format/unassigned (category C*) char dropped."""
    text = CONTROL_RUN.sub(" ", text.strip()).replace("&#13;", "").replace("&#10;", "")
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith("C"))


def workshop_generator(path: str, out_path: str) -> int:
    """The AMLD 2020 "artificial self" workshop's task-2 input generator: `pandas.read_json`
    of a Chatistics export, `groupby('conversationWithName')`, only groups with exactly two
    senders and more than 10 rows, each sorted by timestamp and walked with `iterrows()`; each
    text is cleaned, consecutive messages of one side are joined with a space, and every turn
    becomes a `<speaker1> ...` (outgoing) or `<speaker2> ...` line of one output string,
    written to a file at the end. Returns the messages used."""
    import pandas as pd

    df = pd.read_json(path)
    output, used = "", 0
    for _, group in df.groupby("conversationWithName"):
        if group["senderName"].nunique() != 2 or len(group) <= 10:
            continue
        side, turn = None, []
        for _, row in group.sort_values("timestamp").iterrows():
            used += 1
            text = clean(row["text"])
            if row["outgoing"] != side and turn:
                output += ("<speaker1> " if side else "<speaker2> ") + " ".join(turn) + "\n"
                turn = []
            side = row["outgoing"]
            turn.append(text)
        if turn:
            output += ("<speaker1> " if side else "<speaker2> ") + " ".join(turn) + "\n"
    Path(out_path).write_text(output, encoding="utf-8")
    return used
