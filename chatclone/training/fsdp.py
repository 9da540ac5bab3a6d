"""Fully sharded data parallel (FSDP2, `torch.distributed.fsdp.fully_shard`) without accelerate.

accelerate only shards on GPUs; these helpers shard on whatever device the process group
runs on, CPUs over `gloo` included, so sharding, the sharded training step and a checkpoint's
save and resume can be checked on a machine without a GPU (`tests/test_distributed.py`) and
the same code runs on GPUs over `nccl`. Checkpoints hold whole (gathered) tensors, written
once by rank 0 and atomically, so they load on any number of processes.
"""

from __future__ import annotations

import os
from pathlib import Path

from chatclone import atomic


def decoder_layers(model) -> list:
    """The modules to shard one by one: the classes transformers marks as not to be split."""
    names = set(getattr(model, "_no_split_modules", None) or ())
    return [m for m in model.modules() if type(m).__name__ in names]


def shard(model, mesh=None):
    """Shard every decoder layer, then the rest (embeddings, norm, output layer) as the root.

    Parameters become DTensors holding 1/N of each tensor; an optimizer must be built after."""
    from torch.distributed.fsdp import fully_shard

    for layer in decoder_layers(model):
        fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model


def save(model, optimizer, path: Path, extra: dict | None = None) -> None:
    """Gather model and optimizer state and write them to `path` (every process calls this)."""
    import torch
    import torch.distributed as dist
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    model_state, optim_state = get_state_dict(model, optimizer, options=options)
    if dist.get_rank() == 0:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic.temp_sibling(path)
        try:
            torch.save({"model": model_state, "optimizer": optim_state, **(extra or {})}, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    dist.barrier()


def load(model, optimizer, path: Path) -> dict:
    """Put a checkpoint written by `save` back into the sharded model and optimizer; returns
    the extra entries saved with it."""
    import torch
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_state_dict

    state = torch.load(path, map_location="cpu", weights_only=False)
    set_state_dict(
        model,
        optimizer,
        model_state_dict=state.pop("model"),
        optim_state_dict=state.pop("optimizer"),
        options=StateDictOptions(full_state_dict=True),
    )
    return state


def full_weights(model) -> dict:
    """Every parameter and buffer, gathered, on the CPU (every process calls this)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

    options = StateDictOptions(full_state_dict=True, cpu_offload=True)
    return get_model_state_dict(model, options=options)
