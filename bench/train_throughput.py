"""Training throughput: chatclone's loop against the Hugging Face `Trainer`, same run.

Every variant trains the same model for one epoch on the same examples (a seeded random subset
of the bundled sample's conversations, tokenised by chatclone), with the same batch size,
sequence length, optimizer settings and schedule, in this one process. Throughput is real
(non-padding) tokens per second over the whole epoch but its first and last step (the first
warms up; the last step of chatclone's run also writes the final checkpoint). `Trainer` is
measured as configured by default (random batches, padded to the longest example in the batch)
and with `train_sampling_strategy="group_by_length"`, its own answer to padding. chatclone
is measured as it trains now (length-grouped padded batches, output layer only where there is
a loss, fused AdamW), with packed rows instead, with torch's default (per-tensor) AdamW
instead of the fused one, with `--lora`, and with
`--train-on persona` (its default; the others train on every token, as `Trainer` does).
MFU is against the peak of a large matmul timed in the same run, and one step is profiled.

    python bench/train_throughput.py [--quick] [--model embedded] [--conversations 240]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_parts import flops_per_token, matmul_peak, print_breakdown, profile_step  # noqa: E402


def write_subset(args, workdir: Path) -> str:
    """A Chatistics export holding a seeded random subset of the sample's conversations."""
    from chatclone.data.importers import load_data

    conversations = load_data(args.data).conversations
    chosen = random.Random(0).sample(conversations, min(args.conversations, len(conversations)))
    records = [
        {
            "timestamp": float(i),
            "conversationId": c.id,
            "conversationWithName": "user",
            "senderName": m.sender,
            "outgoing": bool(m.outgoing),
            "text": m.text,
            "language": "en",
            "platform": "sample",
        }
        for c in chosen
        for i, m in enumerate(c.messages)
    ]
    path = workdir / "subset.json"
    path.write_text(json.dumps(records))
    return str(path)


def config(args, workdir: Path, name: str, **kw):
    from chatclone.config import TrainConfig

    options = dict(
        data=args.subset,
        model=args.model,
        runs_dir=str(workdir),
        run_name=name,
        min_messages=2,
        batch_size=args.batch_size,
        block_size=args.block_size,
        epochs=1,
        save_every=10**6,
        lr=args.lr,
        device=args.device,
        val_fraction=0.0,
        train_on="all",
        report=False,
        tensorboard=False,
    )
    return TrainConfig(**{**options, **getattr(args, "config", {}), **kw})


def data_of(cfg):
    """Model, examples and step groups exactly as the loop will take them."""
    from chatclone.training.dataset import length_grouped_batches, step_groups
    from chatclone.training.models import load_base
    from chatclone.training.setup import prepare_data

    model, tokenizer = load_base(cfg.model)
    examples = prepare_data(cfg, tokenizer)[0]
    lengths = [len(e.input_ids) for e in examples]
    batches = length_grouped_batches(lengths, cfg.batch_size, cfg.seed)
    return model, tokenizer, examples, step_groups(batches, cfg.grad_accum)


def chatclone_run(args, workdir: Path, name: str, packed=False, fused=True, **kw) -> float:
    import chatclone.training.loop as loop
    from chatclone.training.optim import adamw
    from chatclone.training.packing import MicroBatches

    cfg = config(args, workdir, name, **kw)
    _, _, examples, groups = data_of(cfg)
    lengths = [len(e.input_ids) for e in examples]
    stamps: list[float] = []
    loop.MicroBatches = functools.partial(MicroBatches, packed=packed)
    loop.adamw = functools.partial(adamw, fused=None if fused else False)
    try:
        loop.train(cfg, on_step=lambda step: stamps.append(time.perf_counter()))
    finally:
        loop.MicroBatches, loop.adamw = MicroBatches, adamw
    steps = len(groups)
    tokens = sum(lengths[i] for group in groups[1 : steps - 1] for b in group for i in b)
    return tokens / (stamps[steps - 2] - stamps[0])


def trainer_run(args, workdir: Path, group_by_length: bool) -> float:
    from transformers import (
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )

    model, tokenizer, examples, _ = data_of(config(args, workdir, "trainer"))
    dataset = [{"input_ids": e.input_ids} for e in examples]
    base_collate = DataCollatorForLanguageModeling(tokenizer, mlm=False)
    per_call: list[int] = []

    def collate(features):
        per_call.append(sum(len(f["input_ids"]) for f in features))
        return base_collate(features)

    stamps: list[float] = []

    class Clock(TrainerCallback):
        def on_step_end(self, *_, **__):
            stamps.append(time.perf_counter())

    cuda = args.device == "cuda"
    targs = TrainingArguments(
        output_dir=str(workdir / "trainer"),
        per_device_train_batch_size=args.batch_size,
        num_train_epochs=1,
        learning_rate=args.lr,
        weight_decay=0.01,
        warmup_steps=0.1,
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        logging_steps=10**6,
        save_strategy="no",
        report_to=[],
        use_cpu=not cuda,
        bf16=cuda,
        dataloader_num_workers=0,
        seed=42,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        disable_tqdm=True,
    )
    Trainer(
        model=model, args=targs, train_dataset=dataset, data_collator=collate, callbacks=[Clock()]
    ).train()
    steps = len(stamps)
    tokens = sum(per_call[1 : steps - 1])
    return tokens / (stamps[steps - 2] - stamps[0])


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--data", default="sample")
    parser.add_argument("--conversations", type=int, default=240)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--quick", action="store_true", help="48 conversations, no 'before'/'persona' runs"
    )
    parser.add_argument("--skip", default="", help="comma-separated: packed,before,lora,persona")
    args = parser.parse_args()
    if args.quick:
        args.conversations = min(args.conversations, 48)
        args.skip += ",before,persona"
    return args


def main() -> None:
    args = arguments()
    torch.set_num_threads(args.threads)
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    skip = set(args.skip.split(","))
    load = os.getloadavg()
    dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
    peak = matmul_peak(args.device, dtype)
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        args.subset = write_subset(args, work)
        cfg = config(args, work, "probe")
        model, tokenizer, examples, groups = data_of(cfg)
        seq = sum(len(e.input_ids) for e in examples) / len(examples)
        flops = flops_per_token(model, seq)
        from chatclone.training.packing import MicroBatches

        micro = MicroBatches(model, tokenizer.pad_token_id, False, cfg.block_size)
        parts = profile_step(model.to(args.device), micro, examples, groups, args.device)
        del model, micro
        rows["chatclone (padded, fused AdamW)"] = chatclone_run(args, work, "ours")
        if "packed" not in skip:
            rows["chatclone, packed rows"] = chatclone_run(args, work, "packed", packed=True)
        if "before" not in skip:
            rows["chatclone, per-tensor AdamW"] = chatclone_run(args, work, "before", fused=False)
        rows["Trainer (default)"] = trainer_run(args, work, group_by_length=False)
        rows["Trainer (group_by_length)"] = trainer_run(args, work, group_by_length=True)
        if "lora" not in skip:
            rows["chatclone --lora"] = chatclone_run(args, work, "lora", lora=True)
        if "persona" not in skip:
            rows["chatclone --train-on persona"] = chatclone_run(
                args, work, "persona", train_on="persona"
            )
    ours = rows["chatclone (padded, fused AdamW)"]
    print(
        f"\nmodel={args.model} data={args.data} batch={args.batch_size} block={args.block_size} "
        f"conversations={args.conversations} ({len(examples)} examples, {seq:.0f} tokens "
        f"mean) threads={args.threads} device={args.device}{' quick' if args.quick else ''}"
    )
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(
        f"measured matmul peak: {peak / 1e9:.1f} GFLOP/s ({dtype}); model {flops / 1e6:.0f} MFLOP/token"
    )
    for name, rate in rows.items():
        mfu = rate * flops / peak
        ratio = f"chatclone / it = {ours / rate:.2f}x" if rate != ours else ""
        extra = "" if "lora" in name else f"MFU {mfu:6.1%}"
        print(f"{name:45} {rate:8.0f} tokens/s  {extra:11} {ratio}")
    print("goals: >= 2x Trainer (default), >= 1.3x Trainer (group_by_length)")
    print_breakdown(parts)


if __name__ == "__main__":
    main()
