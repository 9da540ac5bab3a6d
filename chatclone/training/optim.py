"""AdamW with the fastest kernel torch has for the device: one fused kernel over all
parameters where available (CUDA, and CPU in recent torch: 3x faster than torch's default
per-tensor loop on a 35M-parameter step on 2 cores, where the multi-tensor `foreach` variant
was slower than that loop), torch's default choice otherwise."""

from __future__ import annotations


def adamw(groups: list[dict], lr: float, device, fused: bool | None = None):
    import torch

    kind = getattr(device, "type", str(device))
    if fused is None:
        fused = kind in ("cuda", "cpu")
    if fused:
        try:
            return torch.optim.AdamW(groups, lr=lr, fused=True)
        except (RuntimeError, TypeError, ValueError):  # no fused kernel for this dtype/device
            pass
    return torch.optim.AdamW(groups, lr=lr)
