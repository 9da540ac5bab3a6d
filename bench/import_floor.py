"""The floor under `import_throughput.py`: what CPython itself costs for the steps every import
and every raw export -> training text must take, each done the cheapest way the language has
(one C-level call per message, or one per file), against the same two baselines in the same run.

Steps of an import (WhatsApp 24 h export, the shape Chatistics' parser reads): read and decode
the file; cut it at headers with one regex `split` (the header pattern chatclone locks to);
split sender from text; trim; the notice test (one `split` and one set test per text, the
cheapest form of "does this text hold a word of any WhatsApp notice"); line numbers and
`source` strings (what error messages name); dates and clocks to timestamps (each distinct one
parsed once); one record per message (a plain tuple built in C by `zip`: cheaper than any
class, chatclone's `Message` included). The text path adds: persona flag per message; session
cuts; same-sender runs joined into turns (`groupby`); one line per turn; and, with redaction
on, the test that rules out PII per text (one `bytes.translate`). Nothing here checks anything
or handles any case an export can present: it is the least work, not a working importer.

    python bench/import_floor.py [--messages 200000 | --quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from itertools import accumulate, compress, groupby, repeat
from operator import add, gt, itemgetter, not_, sub
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_baselines as base  # noqa: E402

_first, _third = itemgetter(0), itemgetter(2)


def import_steps(path: Path) -> list[tuple[str, object]]:
    """(step, function of the previous step's state) for an import of `path`."""
    from chatclone.data.importers.notices import ANY
    from chatclone.data.importers.whatsapp_header import lock

    s: dict = {}

    def read() -> None:
        s["text"] = path.read_bytes().decode("utf-8")

    def split() -> None:
        pattern, _ = lock(s["text"])
        head = pattern.pattern.removeprefix("^").removesuffix(r"([^\n]*)\n?")
        pieces = base.re.compile("\n" + head).split("\n" + s["text"])
        s["days"], s["clocks"], s["rests"] = pieces[1::3], pieces[2::3], pieces[3::3]

    def sender() -> None:
        parts = list(map(str.partition, s["rests"], repeat(": ")))
        s["senders"], s["bodies"] = list(map(_first, parts)), list(map(_third, parts))

    def trim() -> None:
        s["texts"] = list(map(str.strip, s["bodies"]))

    def notices() -> None:
        s["plain"] = list(map(ANY.isdisjoint, map(str.split, s["texts"])))

    def sources() -> None:
        ends = map(str.count, s["rests"], repeat("\n"))
        lines = accumulate(map(add, ends, repeat(1)), initial=1)
        s["sources"] = list(map(f"{path} line ".__add__, map(str, lines)))[:-1]

    def times() -> None:
        days = {d: float(i) * 86400 for i, d in enumerate(dict.fromkeys(s["days"]))}
        clocks = {c: i * 60 for i, c in enumerate(dict.fromkeys(s["clocks"]))}
        starts = map(days.__getitem__, s["days"])
        s["times"] = list(map(add, starts, map(clocks.__getitem__, s["clocks"])))

    def records() -> None:
        s["messages"] = list(zip(s["senders"], s["texts"], s["times"], s["sources"]))

    steps = [read, split, sender, trim, notices, sources, times, records]
    return [(f.__name__, f) for f in steps] + [("", s)]


def text_steps(state: dict, owner: str) -> list[tuple[str, object]]:
    """The steps from records to training text, on the import steps' state."""
    s = state

    def persona() -> None:
        s["flags"] = list(map(owner.__eq__, s["senders"]))

    def sessions() -> None:
        t = s["times"]
        s["cuts"] = list(compress(range(1, len(t)), map(gt, map(sub, t[1:], t), repeat(21600))))

    def turns() -> None:
        runs = groupby(zip(s["flags"], s["texts"]), _first)
        s["turns"] = [(k, " | ".join(map(itemgetter(1), run))) for k, run in runs]

    def render() -> None:
        s["out"] = "".join([f"{'<speaker1>' if k else '<speaker2>'} {t}\n" for k, t in s["turns"]])

    return [(f.__name__, f) for f in (persona, sessions, turns, render)]


def redaction_step(state: dict) -> tuple[str, object]:
    def redaction_test() -> None:
        keep = bytes.maketrans(b"", b"")
        state["pii"] = list(
            compress(range(len(state["texts"])),
                     map(not_, (len(t.encode().translate(keep, b"0123456789@.")) == len(t)
                                for t in state["texts"])))
        )  # fmt: skip

    return ("redaction_test", redaction_test)


def best(f, repeats: int) -> float:
    """The fastest of `repeats` runs of `f`, the collector off (it only adds to every step)."""
    times = []
    for _ in range(repeats):
        gc.disable()
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
        gc.enable()
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=200_000)
    ap.add_argument("--quick", action="store_true", help="50,000 messages")
    ap.add_argument("--repeats", type=int, default=3)
    ns = ap.parse_args()
    n = 50_000 if ns.quick else ns.messages
    msgs = base.messages(n)
    with tempfile.TemporaryDirectory() as tmp:
        wa = Path(tmp) / "WhatsApp Chat with Maya Cohen.txt"
        js = Path(tmp) / "chatistics.json"
        base.write_whatsapp(wa, msgs, us=False)
        base.write_chatistics(js, msgs)
        del msgs
        start = time.perf_counter()
        base.chatistics_whatsapp(str(wa))
        parser = n / (time.perf_counter() - start)
        start = time.perf_counter()
        base.workshop_generator(str(js), str(Path(tmp) / "out.txt"))
        generator = n / (time.perf_counter() - start)
        *steps, (_, state) = import_steps(wa)
        rows = [(name, best(f, ns.repeats)) for name, f in steps]
        imported = sum(t for _, t in rows)
        rows += [(name, best(f, ns.repeats)) for name, f in text_steps(state, base.PEOPLE[1])]
        text = sum(t for _, t in rows)
        name, f = redaction_step(state)
        rows.append((name, best(f, ns.repeats)))
    print(f"{n:,} messages; baselines in this run: Chatistics' WhatsApp parser {parser:,.0f}/s, "
          f"workshop generator {generator:,.0f}/s")  # fmt: skip
    print(f"{'step':16} {'s':>7} {'per message':>12}")
    for name, t in rows:
        print(f"{name:16} {t:7.3f} {t / n * 1e6:9.2f} µs")
    for label, total, ref, goal, what in (
        ("import floor", imported, parser, 100, "parser"),
        ("text floor", text, generator, 10, "generator"),
        ("text floor, redaction test", text + rows[-1][1], generator, 10, "generator"),
    ):
        print(
            f"{label:27} {total:6.3f} s = {n / total:9,.0f}/s = {n / total / ref:5.1f}x the "
            f"{what} (goal {goal}x needs <= {n / (goal * ref):.3f} s)"
        )


if __name__ == "__main__":
    main()
