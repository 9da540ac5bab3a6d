"""`chatclone eval`: how good a run is, on conversations it never trained on, next to its base.

For the trained model and the untrained base model alike: perplexity of the persona's turns
in the held-out conversations, replies sampled for held-out contexts (scored by
`chatclone.evaluation.metrics`), replies to fixed probe messages and, with `--audit`, how often the model
completes private-looking strings of its training data verbatim. Results go to
`<run>/eval.json`, and `report.html` is rebuilt. No torch at import: the CLI loads this module.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from chatclone import rundir
from chatclone.evaluation.metrics import perplexity, reply_metrics
from chatclone.evaluation.options import EvalConfig
from chatclone.evaluation.progress import Progress
from chatclone.rundir import RunDir
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Dialogue, Turn


@dataclass
class Context:
    history: list[Turn]
    reference: str  # what the persona really said next


def contexts(dialogues: list[Dialogue], n: int) -> list[Context]:
    """Up to `n` persona turns (with what preceded them), spread evenly over the dialogues."""
    found = [
        Context(list(d.turns[:i]), t.text)
        for d in dialogues
        for i, t in enumerate(d.turns)
        if t.speaker == PERSONA and i > 0
    ]
    return spread(found, n)


def spread(items: list, n: int) -> list:
    """Up to `n` of `items`, spread evenly from the first to the last."""
    if len(items) <= n:
        return list(items)
    return [items[round(k * (len(items) - 1) / max(1, n - 1))] for k in range(n)]


def sample(engine, history: list[Turn], cfg, prefix: str = "") -> tuple[str, str]:
    """(reply, raw): the reply exactly as chat shows it (same engine, same options), and what
    the model wrote with special tokens kept, the stop token included (where self-talk shows)."""
    reply = engine.generate(history, cfg, prefix=prefix)
    return reply.text, reply.raw


def persona_perplexity(
    model,
    tokenizer,
    dialogues: list[Dialogue],
    block_size: int,
    batch_size: int,
    limit: int | None = None,
    show: Progress | None = None,
    desc: str = "Perplexity",
) -> tuple[float | None, int]:
    """(perplexity of the persona's tokens, examples scored): on all examples of `dialogues`,
    or on `limit` of them spread evenly. A bar over the examples when `show` is given."""
    from chatclone.training.dataset import build_examples
    from chatclone.training.heldout import loss_sums

    examples, _ = build_examples(dialogues, tokenizer, FORMAT, block_size)
    if limit is not None:
        examples = spread(examples, limit)
    # Shortest first and one batch per call: the batches `loss_sums` would make of them all.
    examples.sort(key=lambda e: len(e.input_ids))
    bar = (show or Progress(False)).bar(len(examples), desc, "example")
    total, count = 0.0, 0
    for start in range(0, len(examples), batch_size):
        part = examples[start : start + batch_size]
        t, c = loss_sums(model, part, tokenizer.pad_token_id, True, batch_size, model.device)
        total, count = total + t, count + c
        bar.update(len(part))
    bar.close()
    return (perplexity(total / count) if count else None), len(examples)


def score_model(
    model,
    tokenizer,
    cfg: EvalConfig,
    block_size: int,
    train_dialogues: list[Dialogue],
    val_dialogues: list[Dialogue],
    show: Progress | None = None,
    name: str = "trained",
) -> dict:
    from chatclone.inference.engine import ReplyEngine

    show = show or Progress(False)
    engine = ReplyEngine(model, tokenizer, FORMAT)
    ctxs = contexts(val_dialogues, cfg.context_count)
    messages = cfg.probe_messages
    audit_cases = cfg.audit_cases if cfg.audit else 0
    bar = show.bar(len(ctxs) + len(messages) + audit_cases, f"Sampling replies ({name})", "reply")
    pairs = []
    for c in ctxs:
        pairs.append(sample(engine, c.history, cfg))
        bar.update(1)
    replies, raws = [p[0] for p in pairs], [p[1] for p in pairs]
    probes = []
    for m in messages:
        probes.append({"message": m, "reply": sample(engine, [Turn(OTHER, m)], cfg)[0]})
        bar.update(1)
    audited = None
    if cfg.audit:
        from chatclone.evaluation.audit import audit

        audited = audit(engine, train_dialogues, cfg, lambda: bar.update(1))
    bar.close()
    ppl, scored = (
        persona_perplexity(
            model,
            tokenizer,
            val_dialogues,
            block_size,
            cfg.batch_size,
            cfg.perplexity_examples,
            show,
            f"Perplexity ({name})",
        )
        if val_dialogues
        else (None, 0)
    )
    result = {
        "persona_perplexity": ppl,
        "perplexity_examples": scored,
        "metrics": reply_metrics(replies, raws, [c.reference for c in ctxs], FORMAT.tags)
        if ctxs
        else {},
        "samples": [
            {
                "context": FORMAT.render(c.history[-2:]),
                "reference": c.reference,
                "reply": r,
                "raw": raw,
            }
            for c, r, raw in list(zip(ctxs, replies, raws))[:8]
        ],
        "probes": probes,
    }
    if audited is not None:
        result["audit"] = audited
    return result


def evaluate(cfg: EvalConfig, progress: bool = True) -> dict:
    """Score the run (and its base model) from the run folder alone; writes `<run>/eval.json`.
    `progress` shows each phase on stderr: loading each model, a bar over the replies sampled
    and one over the perplexity pass."""
    show = Progress(progress)
    cold = "torch" not in sys.modules  # `eval` on its own: seconds of imports first
    with show.phase("Loading torch") if cold else nullcontext():
        import torch

        from chatclone.quiet import quiet_libraries
        from chatclone.training.models import load_base, load_trained, pick_device
    from chatclone.evaluation.metrics import mean_words

    quiet_libraries()
    run = RunDir.of(cfg).require(model=True)
    train_cfg = run.read_config()
    train_dialogues, val_dialogues = run.read_dialogues()
    device = pick_device(cfg.device)
    dtype = getattr(torch, cfg.weights)
    models = {"trained": (run.name, lambda: load_trained(run.path, dtype=dtype))}
    if cfg.base:
        base = Path(train_cfg.model).name or train_cfg.model
        models["base"] = (base, lambda: load_base(train_cfg.model, FORMAT))
    ctxs = contexts(val_dialogues, cfg.context_count)
    result: dict = {
        "run": cfg.run_name,
        "base_model": train_cfg.model,
        "quick": cfg.quick,
        "validation_conversations": len(val_dialogues),
        "contexts": len(ctxs),
        "reference_mean_words": mean_words([c.reference for c in ctxs]),
        "settings": {k: v for k, v in cfg.to_dict().items() if k not in ("run_name", "runs_dir")},
        "models": {},
    }
    for name, (label, load) in models.items():
        with show.phase(f"Loading the {name} model ({label}) on {device}"):
            model, tokenizer = load()
            model.to(device=device, dtype=dtype).eval()
        result["models"][name] = score_model(
            model, tokenizer, cfg, train_cfg.block_size, train_dialogues, val_dialogues, show, name
        )
        del model
    run.write_json(rundir.EVAL, result)
    return result


ROWS = [
    ("persona perplexity (held out)", lambda m: m.get("persona_perplexity")),
    ("distinct-1", lambda m: m["metrics"].get("distinct_1")),
    ("distinct-2", lambda m: m["metrics"].get("distinct_2")),
    ("repetition rate", lambda m: m["metrics"].get("repetition")),
    ("self-talk rate", lambda m: m["metrics"].get("self_talk")),
    ("empty-reply rate", lambda m: m["metrics"].get("empty")),
    ("words per reply", lambda m: m["metrics"].get("mean_words")),
    ("length vs real replies", lambda m: m["metrics"].get("length_ratio")),
    ("verbatim completions (audit)", lambda m: m.get("audit", {}).get("verbatim_rate")),
]


def table(result: dict) -> list[tuple[str, list[float | None]]]:
    """(metric, value per model) rows, skipping metrics that no model has."""
    rows = []
    for label, get in ROWS:
        values = [get(m) for m in result["models"].values()]
        if any(v is not None for v in values):
            rows.append((label, values))
    return rows


def fmt_value(v: float | None) -> str:
    """A number for people: 3 decimals in the usual range, thousands grouped from 100 on,
    significant digits below 0.01 (a learning rate of 2e-4 reads 0.0002, not 0.000)."""
    if v is None:
        return "-"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    if v != v:  # NaN
        return "nan"
    if abs(v) >= 100:
        return f"{v:,.0f}" if abs(v) < 1e15 else f"{v:.3g}"
    return f"{v:.3f}" if v == 0 or abs(v) >= 0.01 else f"{v:.3g}"


def quick_note(result: dict) -> str:
    """How to get the full evaluation, for a result of `--quick` ('' otherwise)."""
    if not result.get("quick"):
        return ""
    return (
        "Quick evaluation (what train runs at its end); for all contexts and probes and "
        f"perplexity on every held-out example: chatclone eval --run-name {result['run']}"
    )


def format_result(result: dict) -> str:
    names = list(result["models"])
    lines = [
        f"Run {result['run']}: {result['validation_conversations']} held-out conversations, "
        f"{result['contexts']} sampled contexts (real replies: "
        f"{result['reference_mean_words']:.1f} words on average)",
        f"{'':32}" + "".join(f"{n:>12}" for n in names),
    ]
    lines += [
        f"{label:32}" + "".join(f"{fmt_value(v):>12}" for v in values)
        for label, values in table(result)
    ]
    for i, probe in enumerate(result["models"][names[0]]["probes"]):
        lines.append(f"> {probe['message']}")
        lines += [f"  {n}: {result['models'][n]['probes'][i]['reply']}" for n in names]
    if quick_note(result):
        lines.append(quick_note(result))
    return "\n".join(lines)
