"""Redaction quality: precision and recall of name and contact-detail redaction, and its speed.

Runs `Redactor` (with the fixture's contacts) over the labelled sentences of
tests/fixtures/privacy/labelled.jsonl and compares what it replaced with the labelled spans:

    python bench/redaction_quality.py [--json]

A labelled span counts as found when its place in the output holds the right placeholder (or
the name's stand-in) and nothing of it is left beside it; anything else replaced is a false
positive. Structured PII is phones, e-mail addresses, IBANs, cards and URLs (bare domains
included). Speed is messages per second over the labelled sentences and over plain chat lines.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chatclone.data.privacy import Redactor  # noqa: E402

LABELLED = ROOT / "tests" / "fixtures" / "privacy" / "labelled.jsonl"
STRUCTURED = ("phone", "email", "iban", "card", "url")
TOKEN = re.compile(r"<(?:PHONE|EMAIL|URL|IBAN|CARD)>|\w+|[^\w\s]")
PLACEHOLDER = re.compile(r"<([A-Z]+)>")
MISSING = "UnknownNameWord"  # a labelled name the redactor has no stand-in for


def load(path: Path = LABELLED) -> tuple[list[str], list[dict]]:
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return lines[0]["contacts"], lines[1:]


def expected(row: dict, stand_ins: dict[str, str]) -> tuple[str, list[tuple[int, int, str]]]:
    """The text as redaction should leave it, and where its replacements are in it."""
    text, out, units, pos = row["text"], [], [], 0
    for start, end, kind in sorted(row["spans"]):
        out.append(text[pos:start])
        word = text[start:end]
        new = stand_ins.get(word.lower(), MISSING) if kind == "name" else f"<{kind.upper()}>"
        at = sum(map(len, out))
        units.append((at, at + len(new), kind))
        out.append(new)
        pos = end
    out.append(text[pos:])
    return "".join(out), units


def compare(want: str, units: list, got: str, stand_ins: set[str]) -> tuple[Counter, Counter]:
    """(found, wrong): per kind, labelled spans found, and spans replaced that should not be
    (a labelled span not found is counted by the caller)."""
    a = [(m.group(), m.start()) for m in TOKEN.finditer(want)]
    b = [m.group() for m in TOKEN.finditer(got)]
    owner = {}  # expected token index -> unit index
    for i, (_, at) in enumerate(a):
        for u, (start, end, _) in enumerate(units):
            if start <= at < end:
                owner[i] = u
    matched, leaky, wrong = set(), set(), Counter()
    ops = difflib.SequenceMatcher(None, [t for t, _ in a], b, autojunk=False).get_opcodes()
    for op, i1, i2, j1, j2 in ops:
        if op == "equal":
            matched.update(owner[i] for i in range(i1, i2) if i in owner)
            continue
        if i1 == i2:  # something left beside a replacement: the span was cut short
            leaky.update(owner[i] for i in (i1 - 1, i1) if i in owner)
        for token in b[j1:j2]:
            placeholder = PLACEHOLDER.fullmatch(token)
            if placeholder:
                wrong[placeholder.group(1).lower()] += 1
            elif token in stand_ins:
                wrong["name"] += 1
    found = Counter(units[u][2] for u in matched - leaky)
    return found, wrong


def score(contacts: list[str], rows: list[dict]) -> dict:
    redactor = Redactor(contacts)
    stand_ins = set(redactor.tokens.values())
    tp, fp, fn, misses = Counter(), Counter(), Counter(), []
    for row in rows:
        got = redactor.text(row["text"])
        want, units = expected(row, redactor.tokens)
        found, wrong = compare(want, units, got, stand_ins)
        labelled = Counter(kind for _, _, kind in units)
        tp += found
        fp += wrong
        fn += labelled - found
        if got != want:
            misses.append({"text": row["text"], "want": want, "got": got})
    kinds = {k: _rates(tp[k], fp[k], fn[k]) for k in ("name", *STRUCTURED)}
    structured = [sum(c[k] for k in STRUCTURED) for c in (tp, fp, fn)]
    return {
        "sentences": len(rows),
        "languages": sorted({row["lang"] for row in rows}),
        "kinds": kinds,
        "structured": _rates(*structured),
        "misses": misses,
    }


def _rates(tp: int, fp: int, fn: int) -> dict:
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
    }


def speed(contacts: list[str], rows: list[dict], seconds: float = 1.0) -> dict:
    """Messages per second: the labelled sentences, and plain chat lines (most of a history)."""
    rng = random.Random(0)
    words = "ok sure see you tomorrow at the station did you get my message haha yes no".split()
    plain = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 14))) for _ in range(5000)]
    result = {}
    for name, texts in (("labelled", [r["text"] for r in rows]), ("plain", plain)):
        redactor, done, start = Redactor(contacts), 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            for text in texts:
                redactor.text(text)
            done += len(texts)
        result[name] = done / (time.perf_counter() - start)
    return result


def real_chat(contacts: list[str]) -> dict | None:
    """What redaction replaces in 138k real English chat messages (`chitchat-dataset`, if
    installed): unlabelled, but nearly free of contact details, so most replacements of a kind
    other than real URLs are false alarms, and names there are other people's (Will Smith)."""
    try:
        import chitchat_dataset
    except ImportError:
        return None
    redactor, messages = Redactor(contacts), 0
    for text in chitchat_dataset.MessageDataset():
        redactor.text(text)
        messages += 1
    return {"messages": messages, "replaced": dict(redactor.counts)}


def table(result: dict, rates: dict | None = None) -> str:
    lines = [
        f"{result['sentences']} sentences in {', '.join(result['languages'])}",
        f"{'kind':11} {'spans':>6} {'tp':>5} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>7}",
    ]
    rows = [*result["kinds"].items(), ("structured", result["structured"])]
    for kind, r in rows:
        lines.append(
            f"{kind:11} {r['tp'] + r['fn']:>6} {r['tp']:>5} {r['fp']:>4} {r['fn']:>4} "
            f"{r['precision']:>10.3f} {r['recall']:>7.3f}"
        )
    if rates:
        lines.append(
            f"speed: {rates['labelled']:,.0f} labelled sentences/s, "
            f"{rates['plain']:,.0f} plain chat lines/s"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--misses", action="store_true", help="list the sentences redacted wrongly")
    ns = ap.parse_args()
    contacts, rows = load()
    result = score(contacts, rows)
    rates = speed(contacts, rows)
    chat = real_chat(contacts)
    if ns.json:
        print(json.dumps(result | {"speed": rates, "real_chat": chat}, indent=1))
        return
    print(table(result, rates))
    if chat:
        replaced = ", ".join(f"{n} {kind}" for kind, n in sorted(chat["replaced"].items()))
        print(f"real chat (chitchat-dataset): {chat['messages']:,} messages, replaced {replaced}")
    if ns.misses:
        for miss in result["misses"]:
            print(f"\n  text: {miss['text']}\n  want: {miss['want']}\n  got:  {miss['got']}")


if __name__ == "__main__":
    main()
