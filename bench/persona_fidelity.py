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
        [--steps 40,80] [--samples 200] [--out DIR] [--extend]

`--samples` may name one count per curve point (`--steps 70,200,400 --samples 100,100,200`).
`--extend` goes on from the points already in DIR/fidelity.json: each cell's run continues
from its last recorded point to the further `--steps`, so a curve can be lengthened later.
Results go to DIR/fidelity.json and DIR/fidelity.png (fidelity against training minutes).
"""

from __future__ import annotations

import argparse
import itertools
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


def step_seconds(logdir: Path, since: float) -> float | None:
    """Wall seconds the optimizer steps of the last `train` took, without its validations,
    loading and saving: the steps' mean interval in the run's TensorBoard events written after
    `since` (a step that validated is logged after it, so its interval is left out), times the
    steps. None where tensorboard cannot read them."""
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        return None
    times, validated = {}, set()
    for events in logdir.glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        tags = acc.Tags().get("scalars", [])
        if "train/loss" in tags:
            times |= {
                e.step: e.wall_time for e in acc.Scalars("train/loss") if e.wall_time >= since
            }
        if "val/loss" in tags:
            validated |= {e.step for e in acc.Scalars("val/loss")}
    steps = sorted(times)
    gaps = [
        times[b] - times[a] for a, b in zip(steps, steps[1:]) if b == a + 1 and b not in validated
    ]
    return sum(gaps) / len(gaps) * len(steps) if gaps else None


def cell_point(args, name: str, steps: int, before: float | None, out: Path, samples: int) -> dict:
    """Train cell `name` up to `steps` (continuing its run after `before` minutes, if given)
    and evaluate it."""
    run_args = ["--run-name", name, "--runs-dir", str(out / "runs")]
    log = out / f"{name}.log"
    train = ["train", "--data", args.data, *(["--me", args.me] if args.me else []), *run_args]
    train += [*SHARED, *CELLS[name], *args.train_args.split(), "--max-steps", str(steps)]
    started = time.time()
    train_s = chatclone(*train, "--no-report", *([] if before is None else ["--resume"]), log=log)
    step_s = step_seconds(out / "runs" / name / "tensorboard", started)
    eval_s = chatclone("eval", *run_args, "--samples", str(samples), log=log)
    result = json.loads((out / "runs" / name / "eval.json").read_text())
    f = result.get("fidelity") or {}
    trained = result["models"]["trained"]
    return {
        "cell": name,
        "steps": steps,
        "train_wall_minutes": train_s / 60,
        "train_minutes": (before or 0.0) + train_s / 60,  # wall time: see "load"
        "step_wall_minutes": None if step_s is None else step_s / 60,  # optimizer steps alone
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
    # Minutes of optimizer steps (summed over a cell's points) where every point has them;
    # else the wall minutes of the whole `train` commands.
    steps_only = all(p.get("step_wall_minutes") is not None for p in points)
    for cell in dict.fromkeys(p["cell"] for p in points):
        pts = [p for p in points if p["cell"] == cell]
        minutes = [p["train_minutes"] for p in pts]
        if steps_only:
            minutes = list(itertools.accumulate(p["step_wall_minutes"] for p in pts))
        xy = [(m, p["fidelity"]) for m, p in zip(minutes, pts) if p["fidelity"] is not None]
        ax.plot([x for x, _ in xy], [y for _, y in xy], "o-", label=cell)
        for (x, y), p in zip(xy, [p for p in pts if p["fidelity"] is not None]):
            ax.annotate(f"{p['steps']} steps", (x, y), textcoords="offset points", xytext=(4, -12))
    ax.axhline(0.8, color="gray", ls="--", lw=1, label="goal 0.8")
    ax.set_xlabel("minutes of training steps" if steps_only else "wall minutes of training")
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
    p.add_argument(
        "--samples", default="200", help="held-out contexts scored: one count, or one per point"
    )
    p.add_argument("--out", default="bench-out/fidelity", help="folder for runs and results")
    p.add_argument(
        "--train-args",
        default="",
        help="more `chatclone train` options for every cell, e.g. '--val-every 1000' "
        "(validate only at the end, so the training minutes are the steps')",
    )
    p.add_argument(
        "--extend",
        action="store_true",
        help="continue each cell's run from its last point in DIR/fidelity.json",
    )
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    steps_list = [int(s) for s in args.steps.split(",")]
    samples = [int(s) for s in args.samples.split(",")]
    if len(samples) not in (1, len(steps_list)):
        sys.exit("--samples: one count, or one per --steps point")
    samples = samples * len(steps_list) if len(samples) == 1 else samples
    points = []
    if args.extend and (out / "fidelity.json").is_file():
        points = json.loads((out / "fidelity.json").read_text())["points"]
    for name in args.cells.split(","):
        if name not in CELLS:
            sys.exit(f"unknown cell {name!r}; known: {', '.join(CELLS)}")
        done = [p for p in points if p["cell"] == name]
        before = done[-1]["train_minutes"] if done else None
        for steps, n in zip(steps_list, samples):
            if done and steps <= done[-1]["steps"]:
                continue
            points.append(cell_point(args, name, steps, before, out, n))
            before = points[-1]["train_minutes"]
            points[-1]["load"] = os.getloadavg()  # 1, 5 and 15 minutes, as the point ends
            (out / "fidelity.json").write_text(
                json.dumps(
                    {
                        "me": args.me,
                        "data": args.data,
                        "load": os.getloadavg(),
                        "points": points,
                    },
                    indent=1,
                )
            )
            show(points)
    plot(points, out / "fidelity.png")
    print(f"results: {out / 'fidelity.json'}, plot: {out / 'fidelity.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
