"""Dialogues -> token examples -> length-grouped batches.

Every example comes from one conversation: a conversation longer than `block_size` is cut
into windows at turn boundaries (a single turn longer than a window is split, and counted),
and the end of a conversation is marked with the tokenizer's EOS. Nothing is dropped.
Tokenised examples are cached under a key made of the dialogue content, the tokenizer and the
options, so changed data is never served from a stale cache.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass
from pathlib import Path

from chatclone import atomic
from chatclone.prompt_style import RunFormat
from chatclone.speaker_format import PERSONA, Dialogue

CACHE_VERSION = 2  # 2: message text encoded as plain text; prompt styles


@dataclass
class Example:
    input_ids: list[int]
    persona: list[int]  # 1 where the token belongs to a persona turn (for persona-only loss)


@dataclass
class DatasetStats:
    dialogues: int = 0
    examples: int = 0
    tokens: int = 0
    persona_tokens: int = 0
    windowed_dialogues: int = 0  # dialogues longer than one window
    split_turns: int = 0  # single turns longer than a window, cut into pieces


def encode_dialogue(
    dialogue: Dialogue, tokenizer, fmt: RunFormat, block_size: int, stats: DatasetStats
) -> list[Example]:
    turns = [(fmt.encode_turn(tokenizer, t), int(t.speaker == PERSONA)) for t in dialogue.turns]
    if turns:
        last_ids, last_p = turns[-1]
        turns[-1] = (last_ids + [tokenizer.eos_token_id], last_p)
    # Every window opens like a prompt does (a chat template's system message; nothing for
    # speaker tags), never counted in the loss.
    start = fmt.encode_start(tokenizer)
    if len(start) >= block_size // 2:
        start = []  # a system message that would crowd out the dialogue
    examples: list[Example] = []
    ids, mask = list(start), [0] * len(start)
    for turn_ids, is_persona in turns:
        if len(ids) > len(start) and len(ids) + len(turn_ids) > block_size:
            examples.append(Example(ids, mask))
            ids, mask = list(start), [0] * len(start)
        if len(ids) + len(turn_ids) > block_size:
            stats.split_turns += 1
            room = block_size - len(ids)
            for begin in range(0, len(turn_ids), room):
                piece = turn_ids[begin : begin + room]
                if len(piece) == room:
                    examples.append(Example(ids + piece, mask + [is_persona] * room))
                else:
                    ids, mask = ids + piece, mask + [is_persona] * len(piece)
                    break
            else:
                ids, mask = list(start), [0] * len(start)
            continue
        ids += turn_ids
        mask += [is_persona] * len(turn_ids)
    if len(ids) > len(start):
        examples.append(Example(ids, mask))
    if len(examples) > 1:
        stats.windowed_dialogues += 1
    return examples


def build_examples(
    dialogues: list[Dialogue], tokenizer, fmt: RunFormat, block_size: int
) -> tuple[list[Example], DatasetStats]:
    stats = DatasetStats(dialogues=len(dialogues))
    examples = [e for d in dialogues for e in encode_dialogue(d, tokenizer, fmt, block_size, stats)]
    stats.examples = len(examples)
    stats.tokens = sum(len(e.input_ids) for e in examples)
    stats.persona_tokens = sum(sum(e.persona) for e in examples)
    return examples, stats


def tokenizer_fingerprint(tokenizer) -> str:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    text = (
        backend.to_str()
        if backend is not None
        else json.dumps(sorted(tokenizer.get_vocab().items()))
    )
    return hashlib.sha256(text.encode()).hexdigest()


def cache_key(dialogues: list[Dialogue], tokenizer, fmt: RunFormat, block_size: int) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            [
                CACHE_VERSION,
                block_size,
                fmt.key(),
                tokenizer_fingerprint(tokenizer),
                tokenizer.eos_token_id,
            ]
        ).encode()
    )
    for d in dialogues:
        turns = [(t.speaker, t.text, t.name) if t.name else (t.speaker, t.text) for t in d.turns]
        h.update(json.dumps([d.id, turns]).encode())
    return h.hexdigest()[:32]


def load_examples(
    dialogues: list[Dialogue],
    tokenizer,
    fmt: RunFormat,
    block_size: int,
    cache_dir: Path | None,
) -> tuple[list[Example], DatasetStats, str]:
    """Examples for these dialogues, from the cache when the same content was tokenised before."""
    key = cache_key(dialogues, tokenizer, fmt, block_size)
    path = cache_dir / f"examples-{key}.json" if cache_dir else None
    if path and path.is_file():
        data = json.loads(path.read_text())
        return [Example(**e) for e in data["examples"]], DatasetStats(**data["stats"]), key
    examples, stats = build_examples(dialogues, tokenizer, fmt, block_size)
    if path:
        atomic.write_text(
            path, json.dumps({"stats": asdict(stats), "examples": [asdict(e) for e in examples]})
        )
    return examples, stats, key


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Batches of similar length (little padding) in a seeded random order.

    Indices are shuffled, cut into mega-batches of 50 batches, sorted by length inside each,
    then chunked; the batch order is shuffled again so long and short batches mix.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    mega = batch_size * 50
    batches = []
    for start in range(0, len(order), mega):
        chunk = sorted(order[start : start + mega], key=lambda i: -lengths[i])
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def step_groups(batches: list[list[int]], per_step: int) -> list[list[list[int]]]:
    """Micro-batches grouped into optimizer steps (the last group may be smaller)."""
    return [batches[i : i + per_step] for i in range(0, len(batches), per_step)]


def steps_per_epoch(num_examples: int, batch_size: int, per_step: int) -> int:
    return math.ceil(math.ceil(num_examples / batch_size) / per_step)


def collate(examples: list[Example], pad_id: int, mask_other: bool = False):
    """Pad to the longest example of the batch; padding (and, if asked, the other side's
    turns) gets label -100 so it never counts in the loss."""
    import torch

    width = max(len(e.input_ids) for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(examples), width), -100, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    for row, e in enumerate(examples):
        n = len(e.input_ids)
        ids[row, :n] = torch.tensor(e.input_ids)
        attention[row, :n] = 1
        lab = torch.tensor(e.input_ids)
        if mask_other:
            lab[torch.tensor(e.persona) == 0] = -100
        labels[row, :n] = lab
    return {"input_ids": ids, "attention_mask": attention, "labels": labels}
