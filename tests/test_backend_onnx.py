"""The ONNX Runtime backend: the same replies as torch, converted once per run, picked by auto."""

from __future__ import annotations

import pytest

pytest.importorskip("onnxruntime_genai")

import torch  # noqa: E402

from chatclone.cli.main import main  # noqa: E402
from chatclone.errors import ChatcloneError  # noqa: E402
from chatclone.inference import backends  # noqa: E402
from chatclone.inference.backends import choose  # noqa: E402
from chatclone.inference.engine import ReplyEngine  # noqa: E402
from chatclone.inference.onnx_backend import OnnxDecoder, build  # noqa: E402
from chatclone.sampling import SamplingOptions  # noqa: E402
from chatclone.speaker_format import OTHER, PERSONA, Turn  # noqa: E402
from chatclone.training.models import load_base  # noqa: E402

HISTORY = [
    Turn(OTHER, "hello there, how are you doing today"),
    Turn(PERSONA, "fine thanks, and you"),
    Turn(OTHER, "what are you up to tonight"),
]


@pytest.fixture(scope="module")
def converted(tiny_model, tmp_path_factory):
    model, tokenizer = load_base(str(tiny_model))
    folder = build(model.eval(), tokenizer, tmp_path_factory.mktemp("onnx") / "fp32", "float32")
    return model, tokenizer, OnnxDecoder(folder, threads=1)


def test_logits_match_torch(converted):
    model, tokenizer, decoder = converted
    ids = ReplyEngine(model, tokenizer).prompt_ids(HISTORY, SamplingOptions())
    run = decoder.begin(ids, len(ids) + 4)
    with torch.inference_mode():
        expected = model(input_ids=torch.tensor([ids])).logits[:, -1, :]
        assert torch.allclose(run.logits(), expected, atol=1e-4)
        nxt = int(expected.argmax())
        run.push(nxt)
        expected = model(input_ids=torch.tensor([ids + [nxt]])).logits[:, -1, :]
        assert torch.allclose(run.logits(), expected, atol=1e-4)


def test_same_reply_and_stream_as_torch(converted):
    model, tokenizer, decoder = converted
    for cfg in (
        SamplingOptions(greedy=True, max_new_tokens=24),
        SamplingOptions(seed=3, max_new_tokens=24),  # sampled: same draws on the same logits
        SamplingOptions(seed=3, max_new_tokens=24, repetition_penalty=1.3, top_k=5),
    ):
        replies, streams = [], []
        for engine in (
            ReplyEngine(model, tokenizer),
            ReplyEngine(model, tokenizer, decoder=decoder),
        ):
            pieces: list[str] = []
            replies.append(engine.generate(HISTORY, cfg, on_text=pieces.append))
            streams.append(pieces)
        torch_reply, onnx_reply = replies
        assert (onnx_reply.raw, onnx_reply.tokens, onnx_reply.ended) == (
            torch_reply.raw,
            torch_reply.tokens,
            torch_reply.ended,
        )
        assert streams[0] == streams[1] and "".join(streams[1]) == onnx_reply.text


def test_auto_takes_onnx_where_it_can(converted, tiny_gpt2, monkeypatch):
    model = converted[0]
    monkeypatch.delenv("CHATCLONE_BACKEND", raising=False)
    assert choose("auto", model, "float32", "cpu") == "onnx"
    assert choose("auto", model, "int4", "cpu") == "onnx"
    assert choose("auto", model, "bfloat16", "cpu") == "torch"  # a torch precision
    assert choose("auto", model, "float32", "cuda") == "torch"
    gpt2, _ = load_base(str(tiny_gpt2))
    assert choose("auto", gpt2, "float32", "cpu") == "torch"  # an architecture it cannot convert
    monkeypatch.setenv("CHATCLONE_BACKEND", "torch")
    assert choose("auto", model, "float32", "cpu") == "torch"
    assert choose("onnx", model, "float32", "cpu") == "onnx"  # an explicit choice wins
    with pytest.raises(ChatcloneError) as e:
        choose("onnx", gpt2, "float32", "cpu")
    assert str(e.value) == (
        "--backend onnx cannot be used: the onnx backend does not convert gpt2 models; "
        "use --backend torch"
    )
    with pytest.raises(ChatcloneError) as e:
        choose("torch", model, "int8", "cpu")
    assert str(e.value) == "--weights int8 needs the onnx backend: use --backend onnx"


def reply(run, capsys, *extra: str) -> tuple[str, str]:
    args = ["reply", "--run-name", run.name, "--runs-dir", str(run.parent), "--greedy"]
    assert main([*args, "--max-new-tokens", "12", *extra, "Am I speaking to a bot?"]) == 0
    out = capsys.readouterr()
    return out.out, out.err


def test_cli_converts_once_per_weights_and_replies_the_same(run_copy, capsys):
    torch_out, _ = reply(run_copy, capsys, "--backend", "torch")
    onnx_out, err = reply(run_copy, capsys, "--backend", "onnx")
    assert onnx_out == torch_out
    assert "Converting the model for the onnx backend, once (float32)" in err
    (first,) = (run_copy / "onnx").iterdir()
    assert first.name.startswith("float32-") and (first / "genai_config.json").exists()
    again, err = reply(run_copy, capsys, "--backend", "onnx")
    assert again == torch_out and "Converting" not in err
    # New weights (a resumed run): converted again, the stale conversion removed.
    weights = run_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes())
    assert reply(run_copy, capsys, "--backend", "onnx")[0] == torch_out
    (second,) = (run_copy / "onnx").iterdir()
    assert second != first
    out, _ = reply(run_copy, capsys, "--weights", "int4")  # auto: int4 is ONNX Runtime's
    assert out.strip()
    assert sorted(p.name.split("-")[0] for p in (run_copy / "onnx").iterdir()) == [
        "float32",
        "int4",
    ]


def test_a_failed_conversion_falls_back_under_auto_only(run_copy, capsys, monkeypatch):
    def fails(*args, **kwargs):
        raise RuntimeError("the model builder failed: boom")

    monkeypatch.setattr("chatclone.inference.onnx_backend.build", fails)
    monkeypatch.setenv("CHATCLONE_BACKEND", "auto")
    torch_out, err = reply(run_copy, capsys)
    assert (
        "Note: replying with torch: the onnx backend failed: the model builder failed: boom" in err
    )
    args = ["reply", "--run-name", run_copy.name, "--runs-dir", str(run_copy.parent), "hi"]
    assert main([*args, "--backend", "onnx"]) == 1
    assert capsys.readouterr().err == (
        "Error: the onnx backend failed: the model builder failed: boom; use --backend torch\n"
    )
    assert backends.BACKENDS == ("auto", "torch", "onnx")


def test_eval_scores_the_replies_users_get(run_copy, capsys):
    """eval samples through the backend chat uses: the same greedy replies either way."""
    import json

    args = ["eval", "--run-name", run_copy.name, "--runs-dir", str(run_copy.parent)]
    args += ["--greedy", "--samples", "3", "--probes", "Hi?", "--no-base", "--quick"]
    replies = {}
    for backend in ("torch", "onnx"):
        assert main([*args, "--backend", backend]) == 0
        trained = json.loads((run_copy / "eval.json").read_text())["models"]["trained"]
        replies[backend] = (trained["replies"], trained["probes"])
    capsys.readouterr()
    assert replies["onnx"] == replies["torch"] and replies["torch"][0]
    assert [p.name.split("-")[0] for p in (run_copy / "onnx").iterdir()] == ["float32"]
