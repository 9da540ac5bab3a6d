"""`chatclone export`: merged HF folder, GGUF that loads back in transformers, Ollama Modelfile."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from chatclone.cli.main import main  # noqa: E402
from chatclone.config import TrainConfig  # noqa: E402
from chatclone.errors import ChatcloneError  # noqa: E402
from chatclone.exporting.export import ExportConfig, chat_template, export, modelfile  # noqa: E402
from chatclone.rundir import RunDir  # noqa: E402
from chatclone.sampling import SamplingOptions  # noqa: E402
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn  # noqa: E402

HISTORY = [
    Turn(OTHER, "Hi"),
    Turn(PERSONA, "Hey - how are you?"),
    Turn(OTHER, "What did you do today?"),
]
GREEDY = SamplingOptions(greedy=True, max_new_tokens=16)
MESSAGES = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hey - how are you?"},
    {"role": "user", "content": "What did you do today?"},
]


@pytest.fixture
def run(short_run, tmp_path) -> Path:
    """A runs folder holding a private copy of the shared short run run1 (exports write into it)."""
    from conftest import copy_run

    copy_run(short_run, tmp_path / "runs")
    return tmp_path / "runs"


def reference(runs):
    from chatclone.training.models import load_trained

    model, tokenizer = load_trained(runs / "run1")
    model.eval()
    return model, tokenizer


def load_gguf(path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    )
    model.eval()
    return model, AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def reply(model, tokenizer) -> str:
    from chatclone.inference.engine import ReplyEngine

    return ReplyEngine(model, tokenizer).generate(HISTORY, GREEDY).text


def prompt_logits(model, tokenizer):
    with torch.no_grad():
        return model(torch.tensor([FORMAT.encode_prompt(tokenizer, HISTORY)])).logits


# F16 rounds each weight to 11 significant bits (measured max |dlogit| 2e-4 on this model);
# Q8_0 stores 8-bit ints with one scale per 32 weights (measured 6.5e-3). The bounds leave ~3x
# headroom; the greedy reply must still be the same as the run folder's.
@pytest.mark.parametrize("quant,tolerance", [("f32", 0.0), ("f16", 1e-3), ("q8_0", 2e-2)])
def test_gguf_loads_back_with_the_same_greedy_reply(run, quant, tolerance):
    path = export(ExportConfig(runs_dir=str(run), to="gguf", quant=quant))
    assert path == run / "run1" / "export-gguf" / f"chatclone-run1-{quant}.gguf"
    ref_model, ref_tok = reference(run)
    model, tokenizer = load_gguf(path)
    assert FORMAT.encode_prompt(tokenizer, HISTORY) == FORMAT.encode_prompt(ref_tok, HISTORY)
    for tag in FORMAT.tags:  # speaker tags stay single special tokens
        assert tokenizer.convert_tokens_to_ids(tag) == ref_tok.convert_tokens_to_ids(tag)
        assert tokenizer.added_tokens_decoder[tokenizer.convert_tokens_to_ids(tag)].special
    assert tokenizer.eos_token == ref_tok.eos_token
    diff = (prompt_logits(model, tokenizer) - prompt_logits(ref_model, ref_tok)).abs().max().item()
    assert diff <= tolerance
    assert reply(model, tokenizer) == reply(ref_model, ref_tok)


def test_gguf_carries_a_chat_template_that_renders_the_speaker_format(run, tmp_path):
    path = export(ExportConfig(runs_dir=str(run), to="gguf", output=str(tmp_path)))
    _, tokenizer = load_gguf(path)
    rendered = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    assert rendered == FORMAT.prompt(HISTORY)


def test_hf_export_is_a_plain_folder_with_speaker_tokens_and_template(run, tmp_path):
    from chatclone.training.models import load_trained

    out = export(ExportConfig(runs_dir=str(run), to="hf", output=str(tmp_path / "hf")))
    model, tokenizer = load_trained(out)
    model.eval()
    ref_model, ref_tok = reference(run)
    assert torch.equal(prompt_logits(model, tokenizer), prompt_logits(ref_model, ref_tok))
    assert [tokenizer.convert_tokens_to_ids(t) for t in FORMAT.tags] == [
        ref_tok.convert_tokens_to_ids(t) for t in FORMAT.tags
    ]
    ids = tokenizer.apply_chat_template(
        MESSAGES, add_generation_prompt=True, tokenize=True, return_dict=False
    )
    assert list(ids) == FORMAT.encode_prompt(ref_tok, HISTORY)


def test_ollama_modelfile_stops_at_both_tags_and_eos(run, tmp_path):
    assert (
        main(
            [
                "export",
                "--runs-dir",
                str(run),
                "--to",
                "ollama",
                "-o",
                str(tmp_path),
                "--quant",
                "q8_0",
            ]
        )
        == 0
    )
    text = (tmp_path / "Modelfile").read_text()
    lines = text.splitlines()
    assert lines[0] == "FROM ./chatclone-run1-q8_0.gguf"
    assert (tmp_path / "chatclone-run1-q8_0.gguf").is_file()
    # The same stops as chat: both tags, the newline that ends a turn (written literally inside
    # the quotes, as Ollama's own `show --modelfile` does), and EOS.
    assert (
        'PARAMETER stop "<speaker1>"\nPARAMETER stop "<speaker2>"\nPARAMETER stop "\n"\n'
        'PARAMETER stop "<|endoftext|>"\n'
    ) in text
    assert (
        'TEMPLATE """{{ range .Messages }}{{ if eq .Role "assistant" }}<speaker1> {{ .Content }}\n'
        '{{ else if eq .Role "user" }}<speaker2> {{ .Content }}\n{{ end }}{{ end }}<speaker1>"""'
        in text
    )


def test_ollama_template_renders_like_the_speaker_format():
    # Ollama evaluates Go templates; substituting the two message branches by hand checks that
    # each turn's literal text is exactly SpeakerFormat's, and that the prompt ends on the persona tag.
    text = modelfile("m.gguf", "</s>", 512)
    template = text.split('TEMPLATE """', 1)[1].split('"""', 1)[0]
    persona = template.split('{{ if eq .Role "assistant" }}')[1].split("{{ else")[0]
    other = template.split('{{ else if eq .Role "user" }}')[1].split("{{ end }}")[0]
    rendered = (
        "".join(
            (persona if t.speaker == PERSONA else other).replace("{{ .Content }}", t.text)
            for t in HISTORY
        )
        + template.rsplit("{{ end }}", 1)[1]
    )
    assert rendered == FORMAT.prompt(HISTORY)


def test_chat_template_without_generation_prompt_is_the_rendered_dialogue():
    from jinja2 import Template

    rendered = Template(chat_template()).render(messages=MESSAGES, add_generation_prompt=False)
    assert rendered == FORMAT.render(HISTORY)


def test_lora_run_is_merged(tmp_path, tiny_model):
    from peft import LoraConfig, get_peft_model

    from chatclone.training.models import load_base

    run_dir = tmp_path / "runs" / "lora"
    base, tokenizer = load_base(str(tiny_model))
    peft_model = get_peft_model(
        base, LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    )
    peft_model.eval()
    peft_model.save_pretrained(run_dir)
    tokenizer.save_pretrained(run_dir)
    RunDir(run_dir).write_config(
        TrainConfig(
            data="sample", model=str(tiny_model), run_name="lora", runs_dir=str(tmp_path / "runs")
        )
    )
    expected = prompt_logits(peft_model, tokenizer)

    out = export(ExportConfig(run_name="lora", runs_dir=str(tmp_path / "runs"), to="hf"))
    assert not (out / "adapter_config.json").exists()
    from chatclone.training.models import load_trained

    merged, merged_tok = load_trained(out)
    merged.eval()
    assert torch.allclose(prompt_logits(merged, merged_tok), expected, atol=1e-5)


def test_non_llama_models_are_refused_with_the_supported_list(tmp_path, finished_gpt2_run):
    from conftest import copy_run

    copy_run(finished_gpt2_run, tmp_path / "runs")
    with pytest.raises(ChatcloneError) as err:
        export(ExportConfig(runs_dir=str(tmp_path / "runs"), to="gguf"))
    assert str(err.value) == (
        "GGUF export supports Llama-architecture models (LlamaForCausalLM, e.g. the embedded "
        "SmolLM2), not GPT2LMHeadModel; export with --to hf and convert that folder with "
        "llama.cpp's convert_hf_to_gguf.py"
    )


def test_missing_run_is_an_error_naming_the_fix(tmp_path, capsys):
    assert main(["export", "--runs-dir", str(tmp_path), "--run-name", "nope"]) == 1
    assert capsys.readouterr().err == (
        f"Error: no run named 'nope' in {tmp_path} (there are no runs in {tmp_path} yet). Train "
        "one with: chatclone train --data EXPORT --run-name nope\n"
    )


@pytest.mark.slow
def test_embedded_model_exports_to_gguf_with_the_same_greedy_reply(tmp_path):
    # SmolLM2 (the default base) has tied embeddings and a digit-splitting BPE pre-tokenizer;
    # its run folder is what training starts from: the base with the speaker tokens added.
    from chatclone.training.models import load_base

    model, tokenizer = load_base("embedded")
    model.save_pretrained(tmp_path / "runs" / "run1")
    tokenizer.save_pretrained(tmp_path / "runs" / "run1")
    RunDir(tmp_path / "runs" / "run1").write_config(TrainConfig(data="sample"))
    ref_model, ref_tok = reference(tmp_path / "runs")
    path = export(ExportConfig(runs_dir=str(tmp_path / "runs"), to="gguf", quant="f16"))
    gguf_model, gguf_tok = load_gguf(path)
    assert gguf_model.config.tie_word_embeddings
    assert FORMAT.encode_prompt(gguf_tok, HISTORY) == FORMAT.encode_prompt(ref_tok, HISTORY)
    assert reply(gguf_model, gguf_tok) == reply(ref_model, ref_tok)
