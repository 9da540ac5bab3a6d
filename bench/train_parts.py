"""Pieces shared by bench/train_throughput.py and bench/gpu_check.py: the machine's measured
matmul peak, the model FLOPs of a training token (for MFU), and a profiled training step split
into forward, backward, optimizer and output layer."""

from __future__ import annotations

import time

import torch


def sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(device="cpu", dtype=torch.float32, n: int | None = None, seconds=1.0) -> float:
    """FLOP/s of a large square matmul on this device and dtype: the peak MFU is measured
    against (the machine's, not a data sheet's)."""
    n = n or (8192 if torch.device(device).type == "cuda" else 2048)
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    sync(device)
    best, started = float("inf"), time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t)
    # The fastest run: on a machine shared with other jobs the average says more about them.
    return 2 * n**3 / best


def flops_per_token(model, seq: float) -> float:
    """Training FLOPs of one token: 6 per weight of every matmul (forward 2, backward 4; the
    input embedding is a lookup, not a matmul, unless it is tied to the output layer) plus
    the attention scores, 12 x layers x width x sequence length (PaLM's appendix B)."""
    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else None
    cfg = cfg or model.config
    params = sum(p.numel() for p in model.parameters())
    embedding = model.get_input_embeddings().weight
    output = model.get_output_embeddings()
    tied = output is not None and output.weight.data_ptr() == embedding.data_ptr()
    matmul = params if tied else params - embedding.numel()
    layers = getattr(cfg, "num_hidden_layers", None) or getattr(cfg, "n_layer", 0)
    width = getattr(cfg, "hidden_size", None) or getattr(cfg, "n_embd", 0)
    return 6 * matmul + 12 * layers * width * seq


def profile_step(model, micro, examples, groups, device="cpu", lr=1e-4) -> dict[str, float]:
    """Milliseconds of one optimizer step (the bench's first full group, after one warm-up
    step) by part, from torch.profiler's record_function ranges. The output layer is timed
    by its own range around the output matmul (forward only); its backward is inside
    "backward"."""
    from torch.profiler import ProfilerActivity, profile, record_function

    from chatclone.training.optim import adamw
    from chatclone.training.packing import collate

    head = model.get_output_embeddings()
    ranges = []

    def enter(*_):
        ranges.append(record_function("output layer"))
        ranges[-1].__enter__()

    pre = head.register_forward_pre_hook(enter)
    post = head.register_forward_hook(lambda *_: ranges.pop().__exit__(None, None, None))
    optimizer = adamw([p for p in model.parameters() if p.requires_grad], lr, device)
    group = max(groups, key=len)

    def step():
        total = max(1, sum(len(examples[i].input_ids) - 1 for b in group for i in b))
        for batch_idx in group:
            # Each range waits for the GPU, so its time is the work's, not the launches'.
            with record_function("forward"):
                loss = micro.loss(model, collate([examples[i] for i in batch_idx], micro), device)
                sync(device)
            with record_function("backward"):
                (loss / total).backward()
                sync(device)
        with record_function("optimizer"):
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            sync(device)

    step()  # warm-up
    activities = [ProfilerActivity.CPU]
    if torch.device(device).type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    started = time.perf_counter()
    with profile(activities=activities) as prof:
        step()
    wall = (time.perf_counter() - started) * 1000
    for handle in (pre, post):
        handle.remove()
    out = {"step": wall}
    for event in prof.key_averages():
        if event.key in ("forward", "backward", "optimizer", "output layer"):
            gpu = getattr(event, "device_time_total", 0) or 0
            out[event.key] = max(event.cpu_time_total, gpu) / 1000
    return out


def print_breakdown(parts: dict[str, float]) -> None:
    wall = parts["step"]
    print(f"one step profiled (torch.profiler): {wall:.0f} ms")
    for key in ("forward", "output layer", "backward", "optimizer"):
        if key in parts:
            note = " (forward only, part of forward)" if key == "output layer" else ""
            print(f"  {key:14} {parts[key]:8.0f} ms  {parts[key] / wall:6.1%}{note}")
