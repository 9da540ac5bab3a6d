"""The style-fidelity score on data where the answer is known: two synthetic authors with
distinct habits, and "clones" that copy one or the other."""

from __future__ import annotations

import random

import pytest

from chatclone.evaluation.fidelity import (
    Attributor,
    bootstrap_interval,
    fidelity_of,
    indistinguishability,
    score,
)
from chatclone.evaluation.style import profile

WORDS = "dinner movie work weekend music game coffee school trip dog rain book".split()


def author_a(rng: random.Random) -> str:  # lower case, no full stops, "lol", emoji
    return "lol " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))) + " 😂"


def author_b(rng: random.Random) -> str:  # capitalised, full sentences, "Well,"
    body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6)))
    return f"Well, {body.capitalize()}."


@pytest.fixture(scope="module")
def authors():
    rng = random.Random(0)
    persona = [author_a(rng) for _ in range(500)]
    other = [author_b(rng) for _ in range(500)]
    attributor = Attributor(persona[:300], other[:300])
    return attributor, persona[300:500], other[300:500], rng


def test_a_clone_that_copies_the_real_replies_scores_one_and_cannot_be_told_apart(authors):
    attributor, real, other, _ = authors
    result = score(attributor, real, list(real), other)
    assert result.real == 1.0 and result.base == 0.0
    assert result.fidelity == pytest.approx(1.0)
    assert result.auc == pytest.approx(0.5, abs=0.05)
    assert result.interval == (1.0, 1.0)
    assert result.contexts == 200


def test_a_clone_in_the_persona_style_but_new_words_scores_high(authors):
    attributor, real, other, rng = authors
    clone = [author_a(rng) for _ in real]
    result = score(attributor, real, clone, other)
    assert result.fidelity > 0.9
    assert result.auc < 0.65


def test_a_clone_that_copies_the_other_side_scores_zero_and_is_told_apart(authors):
    attributor, real, other, _ = authors
    result = score(attributor, real, list(other), other)
    assert result.fidelity == pytest.approx(0.0)
    assert result.auc > 0.95


def test_half_way_clone_gets_half_with_an_interval_around_it(authors):
    attributor, real, other, rng = authors
    clone = [author_a(rng) if i % 2 else author_b(rng) for i in range(len(real))]
    result = score(attributor, real, clone, other)
    assert result.fidelity == pytest.approx(0.5, abs=0.05)
    low, high = result.interval
    assert low < result.fidelity < high and high - low < 0.3


def test_empty_replies_are_nobodys_voice(authors):
    attributor = authors[0]
    assert attributor.attributed(["", "   "]) == [0, 0]


def test_fidelity_is_undefined_when_the_floor_reaches_the_ceiling():
    assert fidelity_of(0.8, 0.8, 0.78) is None
    assert fidelity_of(0.8, 0.5, 0.2) == pytest.approx(0.5)
    assert bootstrap_interval([1, 1], [1, 1], [1, 1]) is None


def test_auc_needs_paired_replies_to_cross_validate():
    assert indistinguishability(["a"], ["b"]) is None


def test_style_profile_counts_the_habits():
    p = profile(["lol ok 😂", "Well, fine.", "what?", ""])
    assert p["words"] == pytest.approx(2.0)
    assert p["emoji"] == pytest.approx(1 / 3)
    assert p["ends_with_stop"] == pytest.approx(2 / 3)
    assert p["question"] == pytest.approx(1 / 3)
    assert p["starts_lower"] == pytest.approx(2 / 3)
    assert p["all_lower"] == pytest.approx(2 / 3)
