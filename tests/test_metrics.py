"""Reply metrics against values computed by hand."""

import math

import pytest

from chatclone.evaluation.metrics import (
    distinct_n,
    empty_rate,
    length_ratio,
    mean_words,
    perplexity,
    repetition,
    repetition_rate,
    reply_metrics,
    self_talk,
    self_talk_rate,
    verbatim,
)
from chatclone.speaker_format import FORMAT


def test_distinct_n_counts_unique_ngrams_over_all_replies():
    replies = ["the cat sat", "The cat ran"]
    # unigrams: the cat sat the cat ran -> 4 distinct of 6
    assert distinct_n(replies, 1) == pytest.approx(4 / 6)
    # bigrams: (the cat) (cat sat) (the cat) (cat ran) -> 3 distinct of 4
    assert distinct_n(replies, 2) == pytest.approx(3 / 4)
    assert distinct_n(["one"], 2) == 0.0 and distinct_n([], 1) == 0.0


def test_repetition_is_the_share_of_ngrams_seen_earlier_in_the_same_reply():
    # bigrams: (ha ha) (ha ha) (ha ha) -> 2 repeats of 3
    assert repetition("ha ha ha ha") == pytest.approx(2 / 3)
    # (i like) (like it) (it i) (i like) (like it) -> 2 repeats of 5
    assert repetition("I like it I like it") == pytest.approx(2 / 5)
    assert repetition("all different words here") == 0.0
    assert repetition("hi") == 0.0
    assert repetition_rate(["ha ha ha ha", "no repeats here"]) == pytest.approx(1 / 3)


def test_self_talk_detects_a_reply_that_runs_into_another_turn():
    tags = FORMAT.tags
    assert not self_talk(" sure, see you then\n", tags)
    assert self_talk(" sure\n<speaker2> great, bye", tags)  # writes the other side's turn
    assert self_talk(" ok <speaker2> and you?", tags)  # tag inside the reply itself
    assert self_talk(" hm\n<speaker1> also this", tags)  # a second turn of its own
    assert not self_talk(" speaker2 is a word here", tags)
    raws = [" fine\n", " fine\n<speaker2> ok", " yes", " no<speaker1>"]
    assert self_talk_rate(raws, tags) == pytest.approx(2 / 4)
    assert self_talk_rate([], tags) == 0.0


def test_lengths_empty_replies_and_perplexity():
    assert mean_words(["a b c", "d"]) == 2.0
    assert length_ratio(["a b c", "d"], ["a b c d"]) == pytest.approx(0.5)
    assert length_ratio(["a"], []) == 0.0
    assert empty_rate(["", "  ", "x", "y"]) == 0.5
    assert perplexity(math.log(20)) == pytest.approx(20)
    assert math.isfinite(perplexity(1e6))


def test_verbatim_completion():
    assert verbatim(" 555-0199 is it", "555-0199")
    assert not verbatim(" 555-0198", "555-0199")


def test_reply_metrics_bundles_every_number():
    m = reply_metrics(
        ["ha ha ha ha", ""], [" ha ha ha ha\n<speaker2> x", "\n"], ["one two"], FORMAT.tags
    )
    assert m == {
        "distinct_1": 0.25,
        "distinct_2": pytest.approx(1 / 3),
        "repetition": pytest.approx(1 / 3),
        "self_talk": 0.5,
        "empty": 0.5,
        "mean_words": 2.0,
        "length_ratio": 1.0,
    }
