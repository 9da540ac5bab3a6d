"""Padding-free micro-batches: several conversations share one row, and none sees another.

A micro-batch's examples are packed into as few rows of at most `capacity` tokens as hold
them (the block size, so attention never spans more than in a padded batch), balanced so the
rows have about the same length.
Each conversation's position ids restart at 0 and neither an attention mask nor a cache is
passed (with either, the restarts are ignored): transformers then treats every restart as the start of a new sequence, with a block-diagonal causal mask
for sdpa and eager attention, and per-sequence lengths for flash attention (what its
`DataCollatorWithFlattening` relies on). `packing_works` checks this on the model itself
before training, since an architecture that ignored the restarts would let one conversation
attend to the one before it.

Packing is not the default: with length-grouped batches there is little padding to save, and
a packed row's dense block-diagonal mask costs more attention than the padding it removes (it
measured 0.93x padded on a CPU and 0.51-0.87x on a GPU, docs/benchmarks.md).
The target of a position is the next token of the same conversation, so the last token of a
conversation never predicts the first of the next. Only positions with a target reach the
output layer (`OutputRows`): with `--train-on persona` the other side's turns, and the row
padding, never pay for the large vocabulary matmul.
"""

from __future__ import annotations

import math

from chatclone.training.dataset import Example
from chatclone.training.dataset import collate as collate_padded

IGNORE = -100


def pack_rows(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices grouped into as few rows as hold them in `capacity` tokens each (an example
    longer than that gets a row of its own), balanced so the rows, padded to the longest,
    carry little padding: longest first, each into the emptiest row."""
    cap = max(capacity, max(lengths))
    n = max(1, math.ceil(sum(lengths) / cap))
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    while True:
        rows: list[list[int]] = [[] for _ in range(n)]
        load = [0] * n
        for i in order:
            r = min(range(n), key=lambda r: (load[r], r))
            rows[r].append(i)
            load[r] += lengths[i]
        if max(load) <= cap or n >= len(lengths):
            return rows
        n += 1


def collate_packed(examples: list[Example], pad_id: int, mask_other: bool, capacity: int):
    """`input_ids` and `position_ids` of the packed rows, `targets` (the token each position
    must predict, -100 where none), `index` (flat positions with a target) and `tokens`
    (real tokens)."""
    import torch

    rows = pack_rows([len(e.input_ids) for e in examples], capacity)
    width = max(sum(len(examples[i].input_ids) for i in row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    # Row padding is a sequence of its own (positions from 0): nothing real attends to it.
    positions = torch.arange(width).repeat(len(rows), 1)
    targets = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for r, row in enumerate(rows):
        start = 0
        for i in row:
            e = examples[i]
            n = len(e.input_ids)
            ids[r, start : start + n] = torch.tensor(e.input_ids)
            positions[r, start : start + n] = torch.arange(n)
            nxt = torch.tensor(e.input_ids[1:])
            if mask_other:
                nxt[torch.tensor(e.persona[1:], dtype=torch.bool).logical_not()] = IGNORE
            targets[r, start : start + n - 1] = nxt
            start += n
        positions[r, start:] = torch.arange(width - start)
    index = (targets.flatten() != IGNORE).nonzero().flatten()
    tokens = sum(len(e.input_ids) for e in examples)
    return {
        "input_ids": ids,
        "position_ids": positions,
        "targets": targets,
        "index": index,
        "tokens": tokens,
    }


class OutputRows:
    """Feeds the output layer only the hidden states of chosen positions.

    A forward pre-hook on the output embeddings, so it works on whatever wraps the model
    (DDP, FSDP, PEFT) and leaves parameter names alone; `select` is active only inside its
    `with` block, so validation and generation see the usual full logits."""

    def __init__(self, model) -> None:
        self.index = None
        self.handle = model.get_output_embeddings().register_forward_pre_hook(self._pick)

    def _pick(self, _module, args):
        if self.index is None:
            return None
        hidden = args[0]
        return (hidden.flatten(0, 1).index_select(0, self.index).unsqueeze(0), *args[1:])

    def select(self, index):
        return _Selected(self, index)

    def remove(self) -> None:
        self.handle.remove()


class _Selected:
    def __init__(self, rows: OutputRows, index) -> None:
        self.rows, self.index = rows, index

    def __enter__(self):
        self.rows.index = self.index

    def __exit__(self, *exc):
        self.rows.index = None


def packing_works(model, vocab: int | None = None) -> bool:
    """Whether this model keeps packed conversations apart: the logits of two short random
    sequences packed into one row must equal their logits alone."""
    import torch

    vocab = vocab or min(getattr(model.config, "vocab_size", None) or 100, 1000)
    gen = torch.Generator().manual_seed(0)
    a, b = (torch.randint(0, vocab, (1, n), generator=gen) for n in (5, 7))
    device = next(model.parameters()).device
    a, b = a.to(device), b.to(device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            alone = torch.cat([model(input_ids=x).logits for x in (a, b)], dim=1)
            positions = torch.cat([torch.arange(5), torch.arange(7)]).unsqueeze(0).to(device)
            packed = model(
                input_ids=torch.cat([a, b], dim=1), position_ids=positions, use_cache=False
            ).logits
    finally:
        model.train(was_training)
    # A conversation that saw its neighbour differs by far more than rounding does.
    return bool((alone - packed).abs().max() <= 1e-3 * alone.abs().max() + 1e-6)


class MicroBatches:
    """Turns a micro-batch into its summed loss, padded (the default) or packed where asked
    and the model keeps packed conversations apart (checked once, here). Either way only the
    positions with a target reach the output layer."""

    def __init__(self, model, pad_id: int, persona_only: bool, capacity: int, packed=False):
        self.pad_id, self.persona_only, self.capacity = pad_id, persona_only, capacity
        self.packed = packed and packing_works(model)
        self.rows = OutputRows(model)

    def collate(self, examples: list[Example]) -> dict:
        if self.packed:
            return collate_packed(examples, self.pad_id, self.persona_only, self.capacity)
        batch = collate_padded(examples, self.pad_id, mask_other=self.persona_only)
        targets = torch_shift(batch.pop("labels"))
        index = (targets.flatten() != IGNORE).nonzero().flatten()
        tokens = int(batch["attention_mask"].sum())
        return {**batch, "targets": targets, "index": index, "tokens": tokens}

    def loss(self, model, batch: dict, device):
        """Summed cross-entropy over the label tokens of a batch from `collate`."""
        import torch.nn.functional as F

        index = batch["index"].to(device)
        if self.packed:
            # With a cache or a mask, transformers ignores the position restarts.
            inputs = {"position_ids": batch["position_ids"].to(device), "use_cache": False}
        else:
            inputs = {"attention_mask": batch["attention_mask"].to(device)}
        with self.rows.select(index):
            logits = model(input_ids=batch["input_ids"].to(device), **inputs).logits
        targets = batch["targets"].to(device).flatten().index_select(0, index)
        return F.cross_entropy(logits[0].float(), targets, reduction="sum")

    def close(self) -> None:
        self.rows.remove()


def torch_shift(labels):
    """The target of each position: the next position's label (-100 after the last)."""
    import torch

    out = torch.full_like(labels, IGNORE)
    out[:, :-1] = labels[:, 1:]
    return out


def collate(examples: list[Example], micro: MicroBatches) -> dict:
    """The tensors of one micro-batch, packed or padded as `micro` decided."""
    return micro.collate(examples)
