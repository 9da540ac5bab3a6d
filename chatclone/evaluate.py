"""`chatclone eval`: how good a run is, on conversations it never trained on, next to its base.

For the trained model and the untrained base model alike: perplexity of the persona's turns
in the held-out conversations, replies sampled for held-out contexts (scored by
`chatclone.metrics`), replies to fixed probe messages and, with `--audit`, how often the model
completes private-looking strings of its training data verbatim. Results go to
`<run>/eval.json`, and `report.html` is rebuilt. No torch at import: the CLI loads this module.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from chatclone.args import opt
from chatclone.config import GenerateConfig, RunConfig, TrainConfig
from chatclone.dialogue import FORMAT, PERSONA, Dialogue, Turn
from chatclone.errors import ChatcloneError
from chatclone.metrics import perplexity, reply_metrics

EVAL_FILE = "eval.json"
PROBES = ["Am I speaking to a bot?", "What did you do today?", "How are you?",
          "What's your favourite food?"]


@dataclass
class EvalConfig(RunConfig, GenerateConfig):
    max_new_tokens: int = opt(40, "longest sampled reply in tokens")
    seed: int = opt(0, "seed for the sampled replies (the same seed gives the same replies)")
    samples: int = opt(16, "held-out contexts to sample a reply for")
    probes: list[str] = opt(PROBES, "fixed messages to show replies to", metavar="TEXT")
    base: bool = opt(True, "also evaluate the untrained base model, side by side")
    audit: bool = opt(False, "memorisation audit: prompt with training turns up to a "
                      "private-looking string and count verbatim completions")
    audit_samples: int = opt(20, "training turns to try in the memorisation audit")
    batch_size: int = opt(8, "examples per batch when computing perplexity")


@dataclass
class Context:
    history: list[Turn]
    reference: str  # what the persona really said next


def run_config(run_dir: Path) -> TrainConfig:
    path = run_dir / "chatclone.json"
    if not path.is_file():
        raise ChatcloneError(f"{path} not found: {run_dir} is not a chatclone run folder; "
                             "train one with chatclone train --data EXPORT --run-name NAME")
    return TrainConfig.load(path)


def held_out(run_dir: Path, cfg: TrainConfig) -> tuple[list[Dialogue], list[Dialogue]]:
    """(training, held-out) dialogues, the split read from the run's `dataset.json`."""
    from chatclone.train import load_dialogues
    from chatclone.validation import split_dialogues

    dialogues, _ = load_dialogues(cfg)
    saved = run_dir / "dataset.json"
    split = json.loads(saved.read_text()).get("split") if saved.is_file() else None
    if split is None:
        return split_dialogues(dialogues, cfg.val_fraction, cfg.seed)
    ids = set(split["validation_ids"])
    return [d for d in dialogues if d.id not in ids], [d for d in dialogues if d.id in ids]


def contexts(dialogues: list[Dialogue], n: int) -> list[Context]:
    """Up to `n` persona turns (with what preceded them), spread evenly over the dialogues."""
    found = [Context(list(d.turns[:i]), t.text) for d in dialogues
             for i, t in enumerate(d.turns) if t.speaker == PERSONA and i > 0]
    if len(found) <= n:
        return found
    return [found[round(k * (len(found) - 1) / max(1, n - 1))] for k in range(n)]


def sample(engine, history: list[Turn], cfg: EvalConfig, max_new_tokens: int | None = None,
           prefix: str = "") -> tuple[str, str]:
    """(reply, raw): the reply as chat shows it, and everything the model wrote until EOS or
    the token limit, speaker tags kept (where self-talk shows)."""
    import torch

    tok, model = engine.tokenizer, engine.model
    ids = engine.prompt_ids(history, cfg)
    if prefix:
        ids = ids + tok(" " + prefix, add_special_tokens=False)["input_ids"]
    greedy = engine.greedy(cfg)
    torch.manual_seed(cfg.seed)
    with torch.inference_mode():
        out = model.generate(
            input_ids=torch.tensor([ids], device=model.device),
            attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=model.device),
            max_new_tokens=max_new_tokens or cfg.max_new_tokens, do_sample=not greedy,
            temperature=None if greedy else cfg.temperature, top_k=None if greedy else cfg.top_k,
            top_p=None if greedy else cfg.top_p, repetition_penalty=cfg.repetition_penalty,
            eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
        )
    new = out[0, len(ids):].tolist()
    if tok.eos_token_id in new:
        new = new[:new.index(tok.eos_token_id)]
    raw = tok.decode(new, skip_special_tokens=False)
    return FORMAT.cut_reply(raw.lstrip())[0], raw


def persona_perplexity(model, tokenizer, dialogues: list[Dialogue], block_size: int,
                       batch_size: int) -> float | None:
    from chatclone.dataset import build_examples
    from chatclone.validation import loss_sums

    examples, _ = build_examples(dialogues, tokenizer, FORMAT, block_size)
    total, count = loss_sums(model, examples, tokenizer.pad_token_id, True, batch_size,
                             model.device)
    return perplexity(total / count) if count else None


def score_model(model, tokenizer, cfg: EvalConfig, train_cfg: TrainConfig,
                train_dialogues: list[Dialogue], val_dialogues: list[Dialogue]) -> dict:
    from chatclone.generate import ReplyEngine

    engine = ReplyEngine(model, tokenizer, FORMAT)
    ctxs = contexts(val_dialogues, cfg.samples)
    pairs = [sample(engine, c.history, cfg) for c in ctxs]
    replies, raws = [p[0] for p in pairs], [p[1] for p in pairs]
    result = {
        "persona_perplexity": persona_perplexity(model, tokenizer, val_dialogues,
                                                 train_cfg.block_size, cfg.batch_size)
        if val_dialogues else None,
        "metrics": reply_metrics(replies, raws, [c.reference for c in ctxs], FORMAT.tags)
        if ctxs else {},
        "samples": [{"context": FORMAT.render(c.history[-2:]), "reference": c.reference,
                     "reply": r, "raw": raw} for c, r, raw in list(zip(ctxs, replies, raws))[:8]],
        "probes": [{"message": m, "reply": sample(engine, [Turn(2, m)], cfg)[0]}
                   for m in cfg.probes],
    }
    if cfg.audit:
        from chatclone.audit import audit

        result["audit"] = audit(engine, train_dialogues, cfg)
    return result


def evaluate(cfg: EvalConfig) -> dict:
    """Score the run (and its base model) and write `<run>/eval.json`."""
    import torch

    from chatclone.generate import pick_device
    from chatclone.metrics import mean_words
    from chatclone.models import is_model_dir, load_base, load_trained
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    run_dir = cfg.run_dir
    train_cfg = run_config(run_dir)
    if not is_model_dir(run_dir):
        raise ChatcloneError(f"run {cfg.run_name!r} has no final model yet; finish training with "
                             f"chatclone train --run-name {cfg.run_name} --resume")
    train_dialogues, val_dialogues = held_out(run_dir, train_cfg)
    device = pick_device(cfg.device)
    models = {"trained": lambda: load_trained(run_dir, dtype=torch.float32)}
    if cfg.base:
        models["base"] = lambda: load_base(train_cfg.model, FORMAT)
    result: dict = {"run": cfg.run_name, "base_model": train_cfg.model,
                    "validation_conversations": len(val_dialogues),
                    "contexts": len(contexts(val_dialogues, cfg.samples)),
                    "reference_mean_words": mean_words(
                        [c.reference for c in contexts(val_dialogues, cfg.samples)]),
                    "settings": {k: v for k, v in asdict(cfg).items()
                                 if k not in ("run_name", "runs_dir")},
                    "models": {}}
    for name, load in models.items():
        model, tokenizer = load()
        model.to(device).eval()
        result["models"][name] = score_model(model, tokenizer, cfg, train_cfg,
                                             train_dialogues, val_dialogues)
        del model
    (run_dir / EVAL_FILE).write_text(json.dumps(result, indent=2) + "\n")
    return result


ROWS = [("persona perplexity (held out)", lambda m: m.get("persona_perplexity")),
        ("distinct-1", lambda m: m["metrics"].get("distinct_1")),
        ("distinct-2", lambda m: m["metrics"].get("distinct_2")),
        ("repetition rate", lambda m: m["metrics"].get("repetition")),
        ("self-talk rate", lambda m: m["metrics"].get("self_talk")),
        ("empty-reply rate", lambda m: m["metrics"].get("empty")),
        ("words per reply", lambda m: m["metrics"].get("mean_words")),
        ("length vs real replies", lambda m: m["metrics"].get("length_ratio")),
        ("verbatim completions (audit)", lambda m: m.get("audit", {}).get("verbatim_rate"))]


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
    lines = [f"Run {result['run']}: {result['validation_conversations']} held-out conversations, "
             f"{result['contexts']} sampled contexts (real replies: "
             f"{result['reference_mean_words']:.1f} words on average)",
             f"{'':32}" + "".join(f"{n:>12}" for n in names)]
    lines += [f"{label:32}" + "".join(f"{fmt_value(v):>12}" for v in values)
              for label, values in table(result)]
    for i, probe in enumerate(result["models"][names[0]]["probes"]):
        lines.append(f"> {probe['message']}")
        lines += [f"  {n}: {result['models'][n]['probes'][i]['reply']}" for n in names]
    return "\n".join(lines)


def report_after_training(train_cfg: TrainConfig) -> Path:
    """The end of `train`: evaluate with the defaults and write the report."""
    from chatclone.html_report import write_report

    cfg = EvalConfig(run_name=train_cfg.run_name, runs_dir=train_cfg.runs_dir, device=train_cfg.device)
    print(format_result(evaluate(cfg)))
    path = write_report(cfg.run_dir)
    print(f"Report: {path}")
    return path


def cmd_eval(ns) -> int:
    from chatclone.args import from_namespace
    from chatclone.html_report import write_report

    cfg = from_namespace(EvalConfig, ns)
    print(format_result(evaluate(cfg)))
    print(f"Saved {cfg.run_dir / EVAL_FILE}; report: {write_report(cfg.run_dir)}")
    return 0


def register(command) -> None:
    from chatclone.args import add_arguments

    add_arguments(command("eval", cmd_eval, "score a run on held-out conversations, next to "
                          "its base model"), EvalConfig)
