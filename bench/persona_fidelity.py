"""Which recipe makes a clone sound like its person? A small grid, scored by style fidelity.

Each cell trains the embedded model on one person's chats (`--data chitchat --me NAME` by
default: any of the dataset's people) with one recipe, then runs `chatclone eval` on the same
held-out contexts and prints, per cell: style fidelity with its 95% interval, the
indistinguishability AUC, held-out persona perplexity and the minutes the training took (wall time on this machine;
the load average is recorded with the results). A
cell's curve points (`--steps 40,80`) continue the same run (`--resume` with more steps), so
fidelity against training minutes comes from one run per recipe. The base model is sampled
once per person (eval caches it), and is prompted in its own chat template.

    python bench/persona_fidelity.py [--me NAME] [--data chitchat] [--cells tags,native]
        [--steps 40,80] [--samples 200] [--out DIR]

Results go to DIR/fidelity.json and DIR/fidelity.png (fidelity against training minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Recipes: each the `chatclone train` options it adds to the shared ones.
CELLS = {
    "tags": ["--prompt-style", "tags"],
    "native": ["--prompt-style", "native"],
    "native-lora": ["--prompt-style", "native", "--lora", "--lora-r", "16", "--lr", "1e-3"],
    "native-all": ["--prompt-style", "native", "--train-on", "all"],
    "native-lr1e-4": ["--prompt-style", "native", "--lr", "1e-4"],
    "tags-ctx64": ["--prompt-style", "tags", "--block-size", "64"],
}
SHARED = ["--batch-size", "8", "--block-size", "128", "--lr", "2e-4", "--save-every", "100000"]


def chatclone(*args: str, log: Path) -> float:
    """Run one chatclone command, its output to `log`; the wall seconds it took."""
    started = time.perf_counter()
    with log.open("a") as out:
        done = subprocess.run([sys.executable, "-m", "chatclone", *args], stdout=out, stderr=out)
    if done.returncode:
        sys.exit(f"chatclone {' '.join(args)} failed (exit {done.returncode}); see {log}")
    return time.perf_counter() - started


def cell_point(args, name: str, steps: int, before: float | None, out: Path) -> dict:
    """Train cell `name` up to `steps` (continuing its run after `before` minutes, if given)
    and evaluate it."""
    run_args = ["--run-name", name, "--runs-dir", str(out / "runs")]
    log = out / f"{name}.log"
    train = ["train", "--data", args.data, *(["--me", args.me] if args.me else []), *run_args]
    train += [*SHARED, *CELLS[name], "--max-steps", str(steps), "--no-report"]
    train_s = chatclone(*train, *([] if before is None else ["--resume"]), log=log)
    eval_s = chatclone("eval", *run_args, "--samples", str(args.samples), log=log)
    result = json.loads((out / "runs" / name / "eval.json").read_text())
    f = result.get("fidelity") or {}
    trained = result["models"]["trained"]
    return {
        "cell": name,
        "steps": steps,
        "train_wall_minutes": train_s / 60,
        "train_minutes": (before or 0.0) + train_s / 60,  # wall time: see "load"
        "eval_wall_minutes": eval_s / 60,
        "fidelity": f.get("fidelity"),
        "interval": f.get("interval"),
        "auc": f.get("auc"),
        "real": f.get("real"),
        "clone": f.get("clone"),
        "base": f.get("base"),
        "contexts": f.get("contexts"),
        "persona_perplexity": trained.get("persona_perplexity"),
        "base_perplexity": result["models"].get("base", {}).get("persona_perplexity"),
        "examples": [
            {
                "context": s["context"],
                "real": s["reference"],
                "clone": s["reply"],
                "base": b["reply"],
            }
            for s, b in zip(
                trained["samples"][:4], result["models"].get("base", {}).get("samples", [])
            )
        ],
    }


def show(points: list[dict]) -> None:
    num = lambda v, f="{:.2f}": "-" if v is None else f.format(v)  # noqa: E731
    print(
        f"{'cell':16}{'steps':>6}{'train min':>10}{'fidelity':>10}{'95% interval':>16}"
        f"{'AUC':>7}{'ppl':>8}{'real/clone/base attributed':>30}"
    )
    for p in points:
        ci = f"{p['interval'][0]:.2f}..{p['interval'][1]:.2f}" if p["interval"] else "-"
        shares = "/".join(num(p[k], "{:.0%}") for k in ("real", "clone", "base"))
        print(
            f"{p['cell']:16}{p['steps']:>6}{p['train_minutes']:>10.1f}{num(p['fidelity']):>10}"
            f"{ci:>16}{num(p['auc']):>7}{num(p['persona_perplexity'], '{:.1f}'):>8}{shares:>30}"
        )


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for cell in dict.fromkeys(p["cell"] for p in points):
        pts = [p for p in points if p["cell"] == cell and p["fidelity"] is not None]
        ax.plot([p["train_minutes"] for p in pts], [p["fidelity"] for p in pts], "o-", label=cell)
    ax.axhline(0.8, color="gray", ls="--", lw=1, label="goal 0.8")
    ax.set_xlabel("CPU minutes of training")
    ax.set_ylabel("style fidelity")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="chitchat", help="chitchat, or an export file")
    p.add_argument("--me", default=None, help="whose voice (default: the most active)")
    p.add_argument("--cells", default="tags,native", help=f"comma list of {', '.join(CELLS)}")
    p.add_argument("--steps", default="40,80", help="curve points, in optimizer steps")
    p.add_argument("--samples", type=int, default=200, help="held-out contexts scored")
    p.add_argument("--out", default="bench-out/fidelity", help="folder for runs and results")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    points = []
    for name in args.cells.split(","):
        if name not in CELLS:
            sys.exit(f"unknown cell {name!r}; known: {', '.join(CELLS)}")
        before = None
        for steps in (int(s) for s in args.steps.split(",")):
            points.append(cell_point(args, name, steps, before, out))
            before = points[-1]["train_minutes"]
            (out / "fidelity.json").write_text(
                json.dumps(
                    {"me": args.me, "data": args.data, "load": os.getloadavg(), "points": points},
                    indent=1,
                )
            )
            show(points)
    plot(points, out / "fidelity.png")
    print(f"results: {out / 'fidelity.json'}, plot: {out / 'fidelity.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
