"""Import throughput: raw export -> messages, and raw export -> training text, side by side
with two baselines measured in the same run on the same messages.

Writes one list of N messages (default 1,000,000) as four exports: WhatsApp's US Android shape
(12 h, U+202F), WhatsApp's 24 h `DD/MM/YYYY, HH:MM - Name: text` shape, Telegram Desktop JSON
and a Chatistics JSON export. Each case runs in a fresh process (so peak memory is its own):

* import: raw export -> `Message` records (`load_data`), against Chatistics' WhatsApp parser on
  the 24 h export (its pattern cannot read the US shape);
* text / text-redacted: raw export -> owner -> 6 h sessions -> `select_dialogues` -> speaker
  format training text written to a file, redaction off / on, against the AMLD 2020 workshop's
  speaker-text generator on the Chatistics export.

Rates are messages in the export per second. Baselines need pandas (`pip install -e ".[bench]"`).

    python bench/import_throughput.py [--messages 1000000 | --quick] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import import_baselines as base  # noqa: E402

OURS = ("import", "text", "text-redacted")
SOURCES = ("whatsapp", "whatsapp-24h", "telegram", "chatistics")
BASELINE_OF = {"import": "chatistics-parser", "text": "workshop-generator"}
BASELINE_SOURCE = {"chatistics-parser": "whatsapp-24h", "workshop-generator": "chatistics"}
LABEL = {
    "chatistics-parser": "Chatistics' WhatsApp parser",
    "workshop-generator": "workshop speaker-text generator",
}


def run_case(case: str, path: str) -> dict:
    """One measurement, in this process: returns messages kept, seconds, peak RSS."""
    out = str(Path(path).parent / f"out-{case}.txt")
    if case in BASELINE_SOURCE:
        try:
            import pandas  # noqa: F401
        except ImportError:
            return {"case": case, "skipped": base.SKIP}
        start = time.perf_counter()
        if case == "chatistics-parser":
            kept = len(base.chatistics_whatsapp(path))
        else:
            kept = base.workshop_generator(path, out)
    else:
        from chatclone.config import TrainConfig
        from chatclone.data.importers import load_data
        from chatclone.data.prepare import prepare_dialogues
        from chatclone.speaker_format import FORMAT

        start = time.perf_counter()
        if case == "import":
            result = load_data(path)
            kept = sum(len(c.messages) for c in result.conversations)
        else:  # what `train` runs: load -> owner -> redaction -> sessions -> select_dialogues
            opts = TrainConfig(
                data=path,
                me=[base.PEOPLE[1]],
                redact=case == "text-redacted",
                min_messages=2,
                session_gap_hours=6.0,
            )
            dialogues, stats = prepare_dialogues(opts)
            kept = stats["messages"]
            with open(out, "w", encoding="utf-8") as f:
                f.writelines(FORMAT.render(d.turns) for d in dialogues)
    seconds = time.perf_counter() - start
    return {"case": case, "kept": kept, "seconds": seconds, "peak_rss_bytes": peak_rss()}


def peak_rss() -> int:
    """This process's peak RSS: VmHWM (per address space, reset by exec; ru_maxrss would
    carry the parent's peak over the fork), or ru_maxrss where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(case: str, path: Path) -> dict:
    cmd = [sys.executable, __file__, "--case", case, "--path", str(path)]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def run_all(n: int) -> list[dict]:
    msgs = base.messages(n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = {s: Path(tmp) / s for s in SOURCES}
        for p in paths.values():
            p.mkdir()
        paths["whatsapp"] /= "WhatsApp Chat with Maya Cohen.txt"
        paths["whatsapp-24h"] /= "WhatsApp Chat with Maya Cohen.txt"
        paths["telegram"] /= "result.json"
        paths["chatistics"] /= "chatistics.json"
        base.write_whatsapp(paths["whatsapp"], msgs, us=True)
        base.write_whatsapp(paths["whatsapp-24h"], msgs, us=False)
        base.write_telegram(paths["telegram"], msgs)
        base.write_chatistics(paths["chatistics"], msgs)
        del msgs
        jobs = [(b, s) for b, s in BASELINE_SOURCE.items()]
        jobs += [(c, s) for s in SOURCES for c in OURS]
        for case, source in jobs:
            row = measure(case, paths[source]) | {"source": source, "messages": n}
            row["file_bytes"] = paths[source].stat().st_size
            if "seconds" in row:
                row["messages_per_s"] = n / row["seconds"]
            rows.append(row)
    rate = {r["case"]: r.get("messages_per_s") for r in rows if r["case"] in BASELINE_SOURCE}
    for r in rows:
        if r["case"] in OURS:
            ref = BASELINE_OF[r["case"].split("-")[0]]
            r["baseline"] = ref
            if rate[ref] and "messages_per_s" in r:
                r["ratio"] = r["messages_per_s"] / rate[ref]
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="50,000 messages")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--path", help=argparse.SUPPRESS)
    ns = ap.parse_args()
    if ns.case:
        print(json.dumps(run_case(ns.case, ns.path)))
        return
    rows = run_all(50_000 if ns.quick else ns.messages)
    if ns.json:
        print(json.dumps(rows, indent=1))
        return
    print(
        f"{'source':13} {'case':19} {'kept':>9} {'s':>7} {'msg/s':>9} {'peak MiB':>8} "
        f"{'file MiB':>8}  ratio (baseline measured in this run)"
    )
    for r in rows:
        if "skipped" in r:
            print(f"{r['source']:13} {r['case']:19} {r['skipped']}")
            continue
        ratio = "baseline" if r["case"] in BASELINE_SOURCE else "n/a (baseline skipped)"
        if "ratio" in r:
            ratio = f"{r['ratio']:.1f}x {LABEL[r['baseline']]}"
        print(
            f"{r['source']:13} {r['case']:19} {r['kept']:>9} {r['seconds']:>7.2f} "
            f"{r['messages_per_s']:>9.0f} {r['peak_rss_bytes'] / 2**20:>8.0f} "
            f"{r['file_bytes'] / 2**20:>8.1f}  {ratio}"
        )


if __name__ == "__main__":
    main()
