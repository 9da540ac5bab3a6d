"""Training throughput: chatclone's loop against the Hugging Face `Trainer`, same run.

Both train the same model for one epoch on the same examples (a seeded random subset of the
bundled sample's conversations, tokenised by chatclone), with the same batch size, sequence
length, optimizer and schedule. Throughput is real (non-padding) tokens per second over the
whole epoch but its first and last step (the first warms up; the last step of chatclone's run
also writes the final checkpoint); a full epoch, so both see the same mix of long and short
batches. `Trainer` is measured twice: as configured
by default (random batches, padded to the longest example in the batch) and with
`train_sampling_strategy="group_by_length"`, its own answer to padding.

    python bench/train_throughput.py [--model embedded] [--conversations 240] [--batch-size 8]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch


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


def chatclone_run(args, workdir: Path) -> float:
    from chatclone.config import TrainConfig
    from chatclone.training.dataset import length_grouped_batches, step_groups
    from chatclone.training.loop import train
    from chatclone.training.models import load_base
    from chatclone.training.setup import prepare_data

    cfg = TrainConfig(
        data=args.subset,
        model=args.model,
        runs_dir=str(workdir),
        run_name="bench",
        min_messages=2,
        batch_size=args.batch_size,
        block_size=args.block_size,
        epochs=1,
        save_every=10**6,
        lr=args.lr,
        device="cpu",
        val_fraction=0.0,
        train_on="all",
        report=False,
        tensorboard=False,
    )
    # The exact batches the loop will take, to count their real tokens.
    _, tokenizer = load_base(cfg.model)
    examples = prepare_data(cfg, tokenizer)[0]
    lengths = [len(e.input_ids) for e in examples]
    groups = step_groups(length_grouped_batches(lengths, cfg.batch_size, cfg.seed), cfg.grad_accum)
    stamps: list[float] = []
    train(cfg, on_step=lambda step: stamps.append(time.perf_counter()))
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

    from chatclone.config import TrainConfig
    from chatclone.training.models import load_base
    from chatclone.training.setup import prepare_data

    cfg = TrainConfig(
        data=args.subset,
        model=args.model,
        block_size=args.block_size,
        min_messages=2,
        val_fraction=0.0,
        train_on="all",
    )
    model, tokenizer = load_base(cfg.model)
    examples = prepare_data(cfg, tokenizer)[0]
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
        use_cpu=True,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--data", default="sample")
    parser.add_argument("--conversations", type=int, default=240)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    with tempfile.TemporaryDirectory() as tmp:
        args.subset = write_subset(args, Path(tmp))
        ours = chatclone_run(args, Path(tmp))
        default = trainer_run(args, Path(tmp), group_by_length=False)
        grouped = trainer_run(args, Path(tmp), group_by_length=True)
    print(
        f"\nmodel={args.model} data={args.data} batch={args.batch_size} "
        f"block={args.block_size} conversations={args.conversations} threads={args.threads}"
    )
    print(f"chatclone loop                   {ours:8.0f} tokens/s")
    print(
        f"Trainer (default)                {default:8.0f} tokens/s   "
        f"ratio chatclone/Trainer = {ours / default:.2f}x"
    )
    print(
        f"Trainer (group_by_length)        {grouped:8.0f} tokens/s   "
        f"ratio chatclone/Trainer = {ours / grouped:.2f}x"
    )


if __name__ == "__main__":
    main()
