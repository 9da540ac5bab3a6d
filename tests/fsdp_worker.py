"""One FSDP2 training run (one process of it), started by torchrun: tests/test_distributed.py
and bench/gpu_check.sh compare an uninterrupted run with one saved halfway and resumed.

The model is built from `--model`'s config.json with a fixed seed (weights files are not
needed), trained on seeded random conversations with chatclone's packed loss, persona-only
labels and AdamW; each optimizer step takes one micro-batch per process. Rank 0 writes the
gathered final weights and the per-step losses to `--out`.

    torchrun --nproc_per_node 2 tests/fsdp_worker.py --model DIR --out DIR --steps 4 \
        [--save-at 2 | --resume] [--device cpu|cuda] [--name full]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

from chatclone.training import fsdp  # noqa: E402
from chatclone.training.dataset import Example  # noqa: E402
from chatclone.training.optim import adamw  # noqa: E402
from chatclone.training.packing import MicroBatches  # noqa: E402


def conversations(vocab: int, steps: int, world: int, batch: int) -> list[list[list[Example]]]:
    """steps x processes x micro-batch of examples of 4 to 24 tokens, persona every other 3."""
    rng = random.Random(0)
    data = []
    for _ in range(steps):
        step = []
        for _ in range(world):
            micro = []
            for _ in range(batch):
                n = rng.randint(4, 24)
                ids = [rng.randrange(3, vocab) for _ in range(n)]
                micro.append(Example(ids, [(i // 3) % 2 for i in range(n)]))
            step.append(micro)
        data.append(step)
    return data


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--save-at", type=int, default=0)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--name", default="full")
    args = parser.parse_args()
    from transformers import AutoConfig, AutoModelForCausalLM

    cuda = args.device == "cuda"
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(args.model)).to(device)
    batches = MicroBatches(model, 0, persona_only=True, capacity=64, packed=True)
    assert batches.packed, "packed conversations leak into each other on this model"
    fsdp.shard(model)
    optimizer = adamw([{"params": list(model.parameters()), "weight_decay": 0.01}], 1e-3, device)
    out, ckpt = Path(args.out), Path(args.out) / "checkpoint.pt"
    start = fsdp.load(model, optimizer, ckpt)["step"] if args.resume else 0
    data = conversations(model.config.vocab_size, args.steps, world, batch=4)
    losses = []
    for step in range(start, args.steps):
        total = sum(sum(e.persona[1:]) for micro in data[step] for e in micro)
        loss = batches.loss(model, batches.collate(data[step][rank]), device)
        (loss * world / total).backward()  # FSDP averages gradients over processes
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        summed = loss.detach().clone()
        dist.all_reduce(summed)
        losses.append(float(summed) / total)
        if step + 1 == args.save_at:
            fsdp.save(model, optimizer, ckpt, {"step": step + 1})
    weights = fsdp.full_weights(model)
    if rank == 0:
        torch.save(weights, out / f"weights-{args.name}.pt")
        (out / f"losses-{args.name}.json").write_text(json.dumps(losses))
        sharded = next(model.parameters())
        print(f"rank 0 holds {sharded.to_local().numel()} of {sharded.numel()} values of a weight")
    dist.barrier()
    # Leave without tearing the process group down: on CPU, gloo's teardown after FSDP2 aborts
    # now and then ("terminate called without an active exception") once all work is done.
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
