"""The base model's evaluation, cached: it depends only on the base model, the run's held-out
and training dialogues, its prompt style and the evaluation options, so runs compared on one
dataset (a recipe grid, or `eval` run twice) sample the base model once. The cache holds what
eval.json holds (replies to held-out contexts, as redacted as the training text)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from chatclone import atomic
from chatclone.speaker_format import Dialogue

VERSION = 1


def key(parts: dict, train: list[Dialogue], val: list[Dialogue]) -> str:
    h = hashlib.sha256(json.dumps([VERSION, parts], sort_keys=True, default=str).encode())
    for d in (*train, *val):
        h.update(json.dumps([d.id, [(t.speaker, t.text) for t in d.turns]]).encode())
    return h.hexdigest()[:32]


def path(cache: Path, k: str) -> Path:
    return cache / f"base-eval-{k}.json"


def load(cache: Path | None, k: str) -> dict | None:
    if cache is None or not path(cache, k).is_file():
        return None
    try:
        return json.loads(path(cache, k).read_text())
    except ValueError:  # a torn file: sample again
        return None


def save(cache: Path | None, k: str, result: dict) -> None:
    if cache is not None:
        atomic.write_text(path(cache, k), json.dumps(result))
