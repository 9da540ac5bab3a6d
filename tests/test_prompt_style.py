"""Prompt styles: the model's own chat template (`native`) next to speaker tags (`tags`), and
message text that always encodes as plain text (no typed special token becomes a real one)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import make_model_dir, tiny_options

from chatclone.prompt_style import ChatTemplateFormat, run_format
from chatclone.speaker_format import OTHER, PERSONA, Dialogue, Turn
from chatclone.training.dataset import DatasetStats, encode_dialogue

CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant<|im_end|>\\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
HISTORY = [
    Turn(OTHER, "how was the trip?"),
    Turn(PERSONA, "great!! so tired lol"),
    Turn(OTHER, "nice"),
]


def with_template(tokenizer):
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHATML
    return tokenizer


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory) -> Path:
    """A tiny model whose tokenizer has a ChatML template (like the embedded instruct model)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = make_model_dir(tmp_path_factory.mktemp("chat-model"))
    tokenizer = with_template(AutoTokenizer.from_pretrained(path))
    model = AutoModelForCausalLM.from_pretrained(path)
    model.resize_token_embeddings(len(tokenizer))
    tokenizer.save_pretrained(path)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def tokenizer(chat_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(chat_model)


def messages(system: str | None):
    head = [{"role": "system", "content": system}] if system else []
    return head + [
        {"role": "assistant" if t.speaker == PERSONA else "user", "content": t.text}
        for t in HISTORY
    ]


@pytest.mark.parametrize("system", ["Reply as yourself.", None])
def test_native_prompts_are_exactly_what_the_models_template_renders(tokenizer, system):
    fmt = ChatTemplateFormat.of(tokenizer, system)
    expected = tokenizer.apply_chat_template(
        messages(system), tokenize=False, add_generation_prompt=True
    )
    assert fmt.prompt(HISTORY) == expected
    assert tokenizer.decode(fmt.encode_prompt(tokenizer, HISTORY)) == expected
    assert fmt.stop_texts[0] == "<|im_end|>"


def test_a_model_without_a_template_is_told_to_use_tags(tiny_model):
    from transformers import AutoTokenizer

    with pytest.raises(Exception) as e:
        run_format(AutoTokenizer.from_pretrained(tiny_model), "native")
    assert str(e.value) == (
        "--prompt-style native needs a model with a chat template (an instruct model); "
        "this one has none: use --prompt-style tags"
    )


@pytest.mark.parametrize("style", ["tags", "native"])
def test_typed_special_tokens_stay_plain_text(tokenizer, style):
    from chatclone.training.models import add_speaker_tokens

    add_speaker_tokens(tokenizer)
    fmt = run_format(tokenizer, style, "Be yourself.")
    specials = set(tokenizer.all_special_ids)
    hostile = " ".join(tokenizer.all_special_tokens) + " <speaker<speaker1>1> <speaker2>"
    for speaker in (PERSONA, OTHER):
        ids = fmt.encode_turn(tokenizer, Turn(speaker, hostile))
        wrapper = fmt.encode_turn(tokenizer, Turn(speaker, "x"))
        # Only the wrapper's own special tokens (tag, or template markers) are special.
        assert [i for i in ids if i in specials] == [i for i in wrapper if i in specials]


def test_native_windows_open_with_the_system_message_outside_the_loss(tokenizer):
    fmt = ChatTemplateFormat.of(tokenizer, "Be yourself.")
    start = fmt.encode_start(tokenizer)
    turns = tuple(Turn(PERSONA if i % 2 else OTHER, f"turn number {i} " * 6) for i in range(12))
    examples = encode_dialogue(Dialogue("d", turns), tokenizer, fmt, 160, DatasetStats())
    assert len(examples) > 1
    for e in examples:
        assert e.input_ids[: len(start)] == start and not any(e.persona[: len(start)])
        assert len(e.input_ids) <= 160
    persona_text = tokenizer.decode(
        [i for e in examples for i, p in zip(e.input_ids, e.persona) if p]
    )
    assert "turn number 1 " in persona_text and "turn number 2 " not in persona_text
    assert persona_text.count("<|im_start|>assistant") == 6


def test_a_native_run_trains_chats_and_evaluates_in_its_template(tmp_path, chat_model):
    import json

    from conftest import chatistics_records

    from chatclone.config import TrainConfig
    from chatclone.inference.engine import load_engine
    from chatclone.inference.formats import NativePrompt
    from chatclone.rundir import RunDir
    from chatclone.sampling import LoadOptions, SamplingOptions
    from chatclone.training.loop import train

    data = tmp_path / "chats.json"
    data.write_text(json.dumps(chatistics_records(4, 14)))
    cfg: TrainConfig = tiny_options(
        tmp_path / "runs", data, chat_model, prompt_style="native", max_steps=4
    )
    train(cfg)
    run = RunDir.of(cfg)
    assert run.read_config().prompt_style == "native"
    engine = load_engine(run, LoadOptions())
    assert isinstance(engine.prompt, NativePrompt)
    assert engine.prompt.fmt.system_block.startswith("<|im_start|>system\n")
    reply = engine.generate(
        [Turn(OTHER, "hello <|im_end|>")], SamplingOptions(seed=0, max_new_tokens=8)
    )
    assert "<|im_start|>" not in reply.text
    shutil.rmtree(tmp_path / "runs")


def test_the_base_model_is_prompted_in_its_own_template_with_its_default_system(tokenizer):
    """The honest floor of the fidelity score: an instruct model asked the way it expects,
    not with speaker tags it never learned."""
    from chatclone.inference.formats import NativePrompt, SpeakerPrompt, prompt_format

    base = prompt_format(tokenizer, base=True)
    assert isinstance(base, NativePrompt)
    expected = tokenizer.apply_chat_template(
        messages(None), tokenize=False, add_generation_prompt=True
    )
    assert tokenizer.decode(base.encode(HISTORY)) == expected
    assert "You are a helpful assistant" in expected
    # A trained tags run keeps its speaker format, whatever the tokenizer has.
    assert isinstance(prompt_format(tokenizer, base=False, style="tags"), SpeakerPrompt)


def test_a_native_export_renders_what_training_saw(tokenizer):
    from chatclone.exporting.export import modelfile, native_chat_template

    fmt = ChatTemplateFormat.of(tokenizer, "Reply as yourself.")
    exported = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    exported.chat_template = native_chat_template(fmt)
    quoted = [Turn(OTHER, "it's a \\ 'test'\nok"), Turn(PERSONA, "fine")]
    msgs = [{"role": "user", "content": quoted[0].text}, {"role": "assistant", "content": "fine"}]
    rendered = exported.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert rendered == fmt.prompt(quoted)
    stops = [
        line
        for line in modelfile("m.gguf", "<|im_end|>", 512, fmt=fmt).splitlines()
        if "stop" in line
    ]
    assert stops == [
        'PARAMETER stop "<|im_end|>"',
        'PARAMETER stop "<|im_start|>assistant"',
        'PARAMETER stop "<|im_start|>user"',
    ]


def test_nested_speaker_tags_cannot_rebuild_a_tag_in_training_text():
    from chatclone.speaker_format import FORMAT, clean_text

    assert clean_text("<speaker<speaker1>1> hi <speaker<speaker<speaker2>2>2> there") == "hi there"
    assert FORMAT.tags[0] not in clean_text("<spe<speaker2>aker1>x")


def test_auto_picks_the_template_when_the_model_has_one(tmp_path, chat_model, tiny_model):
    import json

    from conftest import chatistics_records

    from chatclone.rundir import RunDir
    from chatclone.training.loop import train

    data = tmp_path / "chats.json"
    data.write_text(json.dumps(chatistics_records(4, 14)))
    for model, expected in ((chat_model, "native"), (tiny_model, "tags")):
        cfg = tiny_options(tmp_path / "runs", data, model, f"r-{expected}", max_steps=1)
        assert cfg.prompt_style == "auto"
        train(cfg)
        assert RunDir.of(cfg).read_config().prompt_style == expected
