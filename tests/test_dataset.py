import json

import pytest

from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Dialogue, Turn
from chatclone.training.dataset import (
    build_examples,
    collate,
    length_grouped_batches,
    load_examples,
)


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from chatclone.training.models import add_speaker_tokens, load_tokenizer

    tok = load_tokenizer(str(tiny_model))
    add_speaker_tokens(tok)
    return tok


def dialogue(cid, n, text="I went to the park and read a book."):
    return Dialogue(cid, tuple(Turn(PERSONA if i % 2 else OTHER, f"{text} {i}") for i in range(n)))


def test_examples_never_straddle_conversations_and_end_with_eos(tokenizer):
    dialogues = [dialogue("a", 3), dialogue("b", 4)]
    examples, stats = build_examples(dialogues, tokenizer, FORMAT, block_size=1024)
    assert len(examples) == 2
    for ex, d in zip(examples, dialogues):
        expected = [i for t in d.turns for i in FORMAT.encode_turn(tokenizer, t)]
        assert ex.input_ids == expected + [tokenizer.eos_token_id]
    assert stats.tokens == sum(len(e.input_ids) for e in examples)


def test_long_conversation_windowed_at_turn_boundaries_nothing_dropped(tokenizer):
    d = dialogue("long", 30)
    turn_ids = [FORMAT.encode_turn(tokenizer, t) for t in d.turns]
    block = 3 * max(len(t) for t in turn_ids)
    examples, stats = build_examples([d], tokenizer, FORMAT, block_size=block)
    assert len(examples) > 1 and stats.windowed_dialogues == 1
    tag_ids = {tokenizer.convert_tokens_to_ids(t) for t in FORMAT.tags}
    for ex in examples:
        assert len(ex.input_ids) <= block
        assert ex.input_ids[0] in tag_ids  # every window starts with a turn
    flat = [i for e in examples for i in e.input_ids]
    assert flat == [i for t in turn_ids for i in t] + [tokenizer.eos_token_id]  # the tail is kept


def test_turn_longer_than_block_is_split_and_counted(tokenizer):
    d = Dialogue("x", (Turn(OTHER, "hi"), Turn(PERSONA, "word " * 200)))
    examples, stats = build_examples([d], tokenizer, FORMAT, block_size=32)
    assert stats.split_turns == 1
    assert all(len(e.input_ids) <= 32 for e in examples)
    flat = [i for e in examples for i in e.input_ids]
    assert len(flat) == sum(len(FORMAT.encode_turn(tokenizer, t)) for t in d.turns) + 1


def test_persona_mask_marks_speaker1_tokens(tokenizer):
    d = Dialogue("x", (Turn(OTHER, "Hi"), Turn(PERSONA, "Hey")))
    [ex], _ = build_examples([d], tokenizer, FORMAT, block_size=64)
    n_other = len(FORMAT.encode_turn(tokenizer, d.turns[0]))
    assert ex.persona == [0] * n_other + [1] * (len(ex.input_ids) - n_other)


def test_cache_reused_for_same_content_and_rebuilt_when_data_changes(tokenizer, tmp_path):
    first = [dialogue("a", 3)]
    _, _, key1 = load_examples(first, tokenizer, FORMAT, 64, tmp_path)
    cached = tmp_path / f"examples-{key1}.json"
    assert cached.is_file()
    data = json.loads(cached.read_text())
    data["examples"][0]["input_ids"] = [7]  # prove the second call reads the cache file
    cached.write_text(json.dumps(data))
    again, _, key2 = load_examples(first, tokenizer, FORMAT, 64, tmp_path)
    assert key2 == key1 and again[0].input_ids == [7]
    changed = [dialogue("a", 3, text="Something else entirely")]
    fresh, _, key3 = load_examples(changed, tokenizer, FORMAT, 64, tmp_path)
    assert key3 != key1 and fresh[0].input_ids != [7]
    _, _, key4 = load_examples(first, tokenizer, FORMAT, 32, tmp_path)  # options are in the key
    assert key4 != key1


def test_length_grouped_batches_cover_everything_once_and_are_seeded():
    lengths = [5, 50, 6, 49, 7, 48, 8, 47, 9]
    batches = length_grouped_batches(lengths, 2, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert batches == length_grouped_batches(lengths, 2, seed=1)
    assert batches != length_grouped_batches(lengths, 2, seed=2)


def test_collate_pads_and_masks_labels(tokenizer):
    from chatclone.training.dataset import Example

    batch = collate([Example([1, 2, 3], [0, 1, 1]), Example([4], [0])], pad_id=0, mask_other=True)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [4, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 2, 3], [-100, -100, -100]]
