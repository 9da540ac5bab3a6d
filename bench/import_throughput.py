"""Import throughput: raw export -> messages, and raw export -> training text.

Generates a WhatsApp export and a Telegram export of N messages each (default 1,000,000), then
runs every case in a fresh process (so peak memory is the case's own) and prints messages/s,
peak memory and ratios against two reference figures:

* Chatistics' WhatsApp parser: about 3,400 messages/s;
* the original speaker-text generator, from Chatistics JSON: about 22,000 messages/s.

    python bench/import_throughput.py [--messages 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHATISTICS_WHATSAPP = 3_400.0
ORIGINAL_SPEAKER_TEXT = 22_000.0
WORDS = (
    "ok sure see you tomorrow at the station did you get my message haha yes no maybe later "
    "dinner tonight I think so what time works for you call me when you are free love it "
    "thanks a lot running late sorry traffic again let's do it great idea"
).split()
PEOPLE = ("Maya Cohen", "Ana Silva")


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 14)))


def write_whatsapp(path: Path, n: int, seed: int = 0) -> None:
    """US Android shape (M/D/YY, 12 h with U+202F), continuation lines, placeholders, notices."""
    rng = random.Random(seed)
    t = 1_600_000_000
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            "1/1/20, 9:00\u202fAM - Messages and calls are end-to-end encrypted. Tap to learn more.\n"
        )
        for i in range(n):
            t += rng.choice((20, 45, 90, 300, 900, 30_000))
            lt = time.gmtime(t)
            hour = lt.tm_hour % 12 or 12
            stamp = f"{lt.tm_mon}/{lt.tm_mday}/{lt.tm_year % 100}, {hour}:{lt.tm_min:02d}\u202f{'AM' if lt.tm_hour < 12 else 'PM'}"
            r = rng.random()
            body = "<Media omitted>" if r < 0.03 else sentence(rng)
            if 0.03 <= r < 0.08:
                body += "\n" + sentence(rng)
            f.write(f"{stamp} - {PEOPLE[i % 2 if rng.random() < 0.8 else (i + 1) % 2]}: {body}\n")


def write_telegram(path: Path, n: int, seed: int = 0) -> None:
    """Telegram Desktop's single-chat shape, 1-space indent, entity lists on some messages."""
    rng = random.Random(seed)
    t = 1_600_000_000
    with open(path, "w", encoding="utf-8") as f:
        f.write(
            '{\n "name": "Maya Cohen",\n "type": "personal_chat",\n "id": 4242,\n "messages": ['
        )
        for i in range(n):
            t += rng.choice((20, 45, 90, 300, 900, 30_000))
            who = PEOPLE[i % 2]
            text = sentence(rng)
            value = json.dumps(
                text
                if rng.random() < 0.9
                else [text + " ", {"type": "link", "text": "https://example.org"}]
            )
            date = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
            f.write(
                ("," if i else "")
                + f'\n  {{\n   "id": {i + 1},\n   "type": "message",\n   "date": "{date}",\n'
                f'   "date_unixtime": "{t}",\n   "from": "{who}",\n   "from_id": "user{1 + i % 2}",\n'
                f'   "text": {value},\n   "text_entities": []\n  }}'
            )
        f.write("\n ]\n}")


def run_case(case: str, path: str) -> dict:
    """One measurement, in this process: returns messages, seconds, peak RSS."""
    from chatclone.data.importers import load_data
    from chatclone.speaker_format import FORMAT

    start = time.perf_counter()
    chars = 0
    if case.startswith("text"):
        # What `train` runs: load -> owner -> redaction -> 6 h sessions -> select_dialogues.
        from chatclone.config import TrainConfig
        from chatclone.data.prepare import prepare_dialogues

        opts = TrainConfig(
            data=path,
            me=["Ana Silva"],
            redact=case == "text-redacted",
            min_messages=2,
            session_gap_hours=6.0,
        )
        dialogues, stats = prepare_dialogues(opts)
        messages = stats["messages"]
        chars = sum(len(FORMAT.render(d.turns)) for d in dialogues)
    else:
        result = load_data(path)
        messages = sum(len(c.messages) for c in result.conversations)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "case": case,
        "messages": messages,
        "seconds": seconds,
        "peak_rss_bytes": peak,
        "training_text_chars": chars,
    }


def measure(case: str, path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, "--path", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.case:
        print(json.dumps(run_case(ns.case, ns.path)))
        return
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        sources = {
            "whatsapp": Path(tmp) / "WhatsApp Chat with Maya Cohen.txt",
            "telegram": Path(tmp) / "result.json",
        }
        write_whatsapp(sources["whatsapp"], ns.messages)
        write_telegram(sources["telegram"], ns.messages)
        for name, path in sources.items():
            for case in ("import", "text", "text-redacted"):
                row = measure(case, path) | {"source": name, "file_bytes": path.stat().st_size}
                row["messages_per_s"] = row["messages"] / row["seconds"]
                ref = CHATISTICS_WHATSAPP if case == "import" else ORIGINAL_SPEAKER_TEXT
                row["ratio"] = row["messages_per_s"] / ref
                rows.append(row)
    if ns.json:
        print(json.dumps(rows, indent=1))
        return
    print(
        f"{'source':9} {'case':14} {'messages':>9} {'s':>7} {'msg/s':>9} {'peak MiB':>9} {'file MiB':>9}  ratio"
    )
    for r in rows:
        ref = (
            "x Chatistics WhatsApp 3.4k/s"
            if r["case"] == "import"
            else "x original speaker text 22k/s"
        )
        print(
            f"{r['source']:9} {r['case']:14} {r['messages']:>9} {r['seconds']:>7.2f} "
            f"{r['messages_per_s']:>9.0f} {r['peak_rss_bytes'] / 2**20:>9.0f} "
            f"{r['file_bytes'] / 2**20:>9.0f}  {r['ratio']:.1f}{ref}"
        )


if __name__ == "__main__":
    main()
