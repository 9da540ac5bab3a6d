"""Held-out conversations and the validation loss.

The split is by conversation, so no conversation is on both sides, and deterministic: each
conversation's place comes from a hash of the seed and its id, not from the order the
importer returned it in. Both sides are written into the run folder
(`dialogues.jsonl`), so `eval` finds the same conversations from the run folder alone.
"""

from __future__ import annotations

import hashlib
import math

from chatclone.speaker_format import Dialogue
from chatclone.training.dataset import Example, collate


def split_dialogues(
    dialogues: list[Dialogue], fraction: float, seed: int
) -> tuple[list[Dialogue], list[Dialogue]]:
    """(train, validation), split by conversation: all sessions of a conversation fall on the
    same side. At least one conversation is held out when `fraction` > 0 and there are two or
    more; the training side never ends up empty."""
    conversations = sorted({d.conversation_id for d in dialogues})
    if fraction <= 0 or len(conversations) < 2:
        return list(dialogues), []
    n_val = min(len(conversations) - 1, max(1, round(fraction * len(conversations))))
    ranked = sorted(conversations, key=lambda c: hashlib.sha256(f"{seed}:{c}".encode()).digest())
    held = set(ranked[:n_val])
    return (
        [d for d in dialogues if d.conversation_id not in held],
        [d for d in dialogues if d.conversation_id in held],
    )


def loss_sums(
    model, examples: list[Example], pad_id: int, persona_only: bool, batch_size: int, device
) -> tuple[float, int]:
    """(summed cross-entropy, label tokens) of `examples`, without gradients."""
    import torch
    import torch.nn.functional as F

    total, count = 0.0, 0
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].input_ids))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            batch = collate(
                [examples[i] for i in order[start : start + batch_size]],
                pad_id,
                mask_other=persona_only,
            )
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(
                input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
            ).logits
            labels = batch["labels"][:, 1:].flatten()
            total += float(
                F.cross_entropy(logits[:, :-1].flatten(0, 1).float(), labels, reduction="sum")
            )
            count += int((labels != -100).sum())
    model.train(was_training)
    return total, count


def validation_loss(
    accelerator, model, examples: list[Example], pad_id: int, persona_only: bool, batch_size: int
) -> float:
    """Mean loss per label token over all processes (each scores its share of `examples`)."""
    import torch

    rank, world = accelerator.process_index, accelerator.num_processes
    total, count = loss_sums(
        model, examples[rank::world], pad_id, persona_only, batch_size, accelerator.device
    )
    sums = accelerator.reduce(
        torch.tensor([total, float(count)], device=accelerator.device), reduction="sum"
    )
    return float(sums[0] / sums[1]) if sums[1] > 0 else math.nan


class BestTracker:
    """Lowest validation loss so far and early stopping; lives in the checkpoint state."""

    def __init__(self, state: dict, patience: int):
        state.setdefault("best_loss", None)
        state.setdefault("best_step", None)
        state.setdefault("bad_evals", 0)
        self.state, self.patience = state, patience

    def update(self, step: int, loss: float) -> bool:
        """Record a validation; True when it is a new best."""
        best = self.state["best_loss"]
        if math.isnan(loss) or (best is not None and loss >= best):
            self.state["bad_evals"] += 1
            return False
        self.state.update(best_loss=loss, best_step=step, bad_evals=0)
        return True

    @property
    def should_stop(self) -> bool:
        return self.patience > 0 and self.state["bad_evals"] >= self.patience
