"""`chatclone eval`: how good a run is, on conversations it never trained on, next to its base.

For the trained model and the untrained base model alike: perplexity of the persona's turns
in the held-out conversations, replies sampled for held-out contexts (scored by
`chatclone.evaluation.metrics`), replies to fixed probe messages and, with `--audit`, how often the model
completes private-looking strings of its training data verbatim. Results go to
`<run>/eval.json`, and `report.html` is rebuilt. No torch at import: the CLI loads this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chatclone import rundir
from chatclone.evaluation.metrics import perplexity, reply_metrics
from chatclone.evaluation.options import EvalConfig
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
    if len(found) <= n:
        return found
    return [found[round(k * (len(found) - 1) / max(1, n - 1))] for k in range(n)]


def sample(engine, history: list[Turn], cfg, prefix: str = "") -> tuple[str, str]:
    """(reply, raw): the reply exactly as chat shows it (same engine, same options), and what
    the model wrote with special tokens kept, the stop token included (where self-talk shows)."""
    reply = engine.generate(history, cfg, prefix=prefix)
    return reply.text, reply.raw


def persona_perplexity(
    model, tokenizer, dialogues: list[Dialogue], block_size: int, batch_size: int
) -> float | None:
    from chatclone.training.dataset import build_examples
    from chatclone.training.heldout import loss_sums

    examples, _ = build_examples(dialogues, tokenizer, FORMAT, block_size)
    total, count = loss_sums(
        model, examples, tokenizer.pad_token_id, True, batch_size, model.device
    )
    return perplexity(total / count) if count else None


def score_model(
    model,
    tokenizer,
    cfg: EvalConfig,
    block_size: int,
    train_dialogues: list[Dialogue],
    val_dialogues: list[Dialogue],
    tick: Callable[[], None] = lambda: None,
) -> dict:
    from chatclone.inference.engine import ReplyEngine

    engine = ReplyEngine(model, tokenizer, FORMAT)
    ctxs = contexts(val_dialogues, cfg.samples)
    pairs = []
    for c in ctxs:
        pairs.append(sample(engine, c.history, cfg))
        tick()
    replies, raws = [p[0] for p in pairs], [p[1] for p in pairs]
    probes = []
    for m in cfg.probes:
        probes.append({"message": m, "reply": sample(engine, [Turn(OTHER, m)], cfg)[0]})
        tick()
    result = {
        "persona_perplexity": persona_perplexity(
            model, tokenizer, val_dialogues, block_size, cfg.batch_size
        )
        if val_dialogues
        else None,
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
    if cfg.audit:
        from chatclone.evaluation.audit import audit

        result["audit"] = audit(engine, train_dialogues, cfg, tick)
    return result


def evaluate(cfg: EvalConfig, progress: bool = True) -> dict:
    """Score the run (and its base model) from the run folder alone; writes `<run>/eval.json`.
    `progress` shows a bar over every reply sampled."""
    import torch
    from tqdm.auto import tqdm

    from chatclone.evaluation.metrics import mean_words
    from chatclone.quiet import quiet_libraries
    from chatclone.training.models import load_base, load_trained, pick_device

    quiet_libraries()
    run = RunDir.of(cfg).require(model=True)
    train_cfg = run.read_config()
    train_dialogues, val_dialogues = run.read_dialogues()
    device = pick_device(cfg.device)
    dtype = getattr(torch, cfg.weights)
    models = {"trained": lambda: load_trained(run.path, dtype=dtype)}
    if cfg.base:
        models["base"] = lambda: load_base(train_cfg.model, FORMAT)
    ctxs = contexts(val_dialogues, cfg.samples)
    result: dict = {
        "run": cfg.run_name,
        "base_model": train_cfg.model,
        "validation_conversations": len(val_dialogues),
        "contexts": len(ctxs),
        "reference_mean_words": mean_words([c.reference for c in ctxs]),
        "settings": {k: v for k, v in cfg.to_dict().items() if k not in ("run_name", "runs_dir")},
        "models": {},
    }
    per_model = len(ctxs) + len(cfg.probes) + (cfg.audit_samples if cfg.audit else 0)
    bar = tqdm(
        total=per_model * len(models),
        desc="evaluate",
        unit="reply",
        disable=not progress,
        dynamic_ncols=True,
    )
    for name, load in models.items():
        bar.set_description(f"evaluate {name}")
        model, tokenizer = load()
        model.to(device=device, dtype=dtype).eval()
        result["models"][name] = score_model(
            model,
            tokenizer,
            cfg,
            train_cfg.block_size,
            train_dialogues,
            val_dialogues,
            lambda: bar.update(1),
        )
        del model
    bar.close()
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
    return "-" if v is None else f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}"


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
    return "\n".join(lines)
