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
from chatclone.evaluation import base_cache
from chatclone.evaluation.metrics import perplexity, reply_metrics
from chatclone.evaluation.options import EvalConfig
from chatclone.evaluation.progress import Progress
from chatclone.evaluation.style import profile
from chatclone.rundir import RunDir
from chatclone.speaker_format import FORMAT, NAMED, OTHER, PERSONA, Dialogue, Turn

SHOWN = 12  # held-out replies shown side by side in the report


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
    fmt=FORMAT,
) -> tuple[float | None, int]:
    """(perplexity of the persona's tokens, examples scored): on all examples of `dialogues`,
    or on `limit` of them spread evenly. A bar over the examples when `show` is given."""
    from chatclone.training.dataset import build_examples
    from chatclone.training.heldout import loss_sums

    examples, _ = build_examples(dialogues, tokenizer, fmt, block_size)
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
    base: bool = False,
    style: tuple[str, str] = ("tags", ""),
    decoder=None,
    memory=None,
) -> dict:
    """Replies, probes, perplexity (and the audit) of one model. A `base` model is prompted
    in its own chat template when it has one (an instruct model's natural format), not with
    speaker tags it never learned: its replies are the honest floor of the fidelity score."""
    from chatclone.inference.engine import ReplyEngine
    from chatclone.inference.formats import prompt_format
    from chatclone.prompt_style import run_format

    show = show or Progress(False)
    engine = ReplyEngine(
        model, tokenizer, prompt_format(tokenizer, base, *style), decoder=decoder, memory=memory
    )
    tags = getattr(engine.prompt, "fmt", FORMAT).tags  # what opens a turn: self-talk
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
            run_format(tokenizer, *style),
        )
        if val_dialogues
        else (None, 0)
    )
    result = {
        "persona_perplexity": ppl,
        "perplexity_examples": scored,
        "metrics": reply_metrics(replies, raws, [c.reference for c in ctxs], tags) if ctxs else {},
        "samples": [
            {
                "context": (NAMED if style[0] == "named" else FORMAT).render(c.history[-2:]),
                "reference": c.reference,
                "reply": r,
                "raw": raw,
            }
            for c, r, raw in list(zip(ctxs, replies, raws))[:SHOWN]
        ],
        "replies": replies,
        "style": profile(replies),
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

        from chatclone.inference.backends import decoder_for
        from chatclone.inference.memory import Memory
        from chatclone.quiet import quiet_libraries
        from chatclone.training.models import cache_dir, load_base, load_trained, pick_device
    from chatclone.evaluation.metrics import mean_words
    from chatclone.prompt_style import tag_format

    quiet_libraries()
    run = RunDir.of(cfg).require(model=True)
    train_cfg = run.read_config()
    train_dialogues, val_dialogues = run.read_dialogues()
    device = pick_device(cfg.device)
    dtype = torch.bfloat16 if cfg.weights == "bfloat16" else torch.float32  # int8/int4: onnx
    models = {"trained": (run.name, lambda: load_trained(run.path, dtype=dtype))}
    if cfg.base:
        base = Path(train_cfg.model).name or train_cfg.model
        tags = tag_format(train_cfg.prompt_style)
        models["base"] = (base, lambda: load_base(train_cfg.model, tags))
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
    style = (train_cfg.prompt_style, train_cfg.system_prompt)
    cache = cache_dir() / "eval"
    base_key = base_cache.key(
        {
            "model": train_cfg.model,
            "style": style,
            "block": train_cfg.block_size,
            **{k: v for k, v in result["settings"].items() if k != "memory"},  # base: none
        },
        train_dialogues,
        val_dialogues,
    )
    for name, (label, load) in models.items():
        cached = base_cache.load(cache, base_key) if name == "base" else None
        if cached is not None:
            result["models"][name] = cached
            continue
        with show.phase(f"Loading the {name} model ({label}) on {device}"):
            model, tokenizer = load()
            model.to(device=device, dtype=dtype).eval()
            decoder = decoder_for(
                run, train_cfg.model if name == "base" else None, model, tokenizer, cfg
            )
        result["models"][name] = score_model(
            model,
            tokenizer,
            cfg,
            train_cfg.block_size,
            train_dialogues,
            val_dialogues,
            show,
            name,
            base=name == "base",
            style=style,
            decoder=decoder,
            memory=None if name == "base" else Memory(train_dialogues),  # the clone's lever
        )
        del model, decoder
        if name == "base":
            base_cache.save(cache, base_key, result["models"][name])
    if "base" in models:
        result["base_cache"] = base_key  # `chatclone delete` removes it with the run
    references = [c.reference for c in ctxs]
    result["real_style"] = profile(references)
    if ctxs:
        with show.phase("Style fidelity (attribution classifier on the training split)"):
            result["fidelity"] = style_fidelity(train_dialogues, references, result["models"])
    run.write_json(rundir.EVAL, result)
    return result


def style_fidelity(train: list[Dialogue], references: list[str], models: dict) -> dict | None:
    """Fidelity of the trained model's replies between the base's and the real ones, by a
    classifier fitted on the training split's persona turns against everyone else's."""
    from chatclone.evaluation.fidelity import Attributor, score

    persona = [t.text for d in train for t in d.turns if t.speaker == PERSONA]
    others = [t.text for d in train for t in d.turns if t.speaker != PERSONA]
    if not persona or not others:
        return None  # nobody to tell the persona from (e.g. a monologue export)
    base = models.get("base", {}).get("replies")
    return score(
        Attributor(persona, others), references, models["trained"]["replies"], base
    ).to_dict()
