"""Every option a command advertises in `--help` is used by that command: running the command
reads it (its groups record each option read after they are made). An option listed but ignored
fails here. Also: groups compose (no inheritance), validate on their own, and `--help` is
grouped by section."""

from __future__ import annotations

import argparse
import json

import pytest

from chatclone import options as opts
from chatclone.cli.main import build_parser, main
from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.sampling import ChatConfig, SamplingOptions

# Options of the parser that are plain argparse arguments of the command, not option groups.
ARGPARSE_ONLY = {"help", "json", "preview", "message", "paths"}


def advertised(command: str) -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    plain = ARGPARSE_ONLY | ({"output", "force"} if command == "import" else set())  # -o FILE
    return {a.dest for a in sub.choices[command]._actions if a.dest not in plain}


def run_traced(argv: list[str]) -> set[str]:
    reads = opts.trace_reads()
    try:
        assert main(argv) == 0
    finally:
        opts.stop_tracing()
    return reads


@pytest.fixture(scope="module")
def export_file(tmp_path_factory):
    from conftest import chatistics_records

    path = tmp_path_factory.mktemp("options") / "export.json"
    path.write_text(json.dumps(chatistics_records(n_convs=4)))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model, export_file):
    """A LoRA run trained through the CLI with every train option given, and what it read."""
    runs = tmp_path_factory.mktemp("runs")
    argv = [
        "train",
        "--data",
        str(export_file),
        "--model",
        str(tiny_model),
        "--runs-dir",
        str(runs),
        "--run-name",
        "r",
        "--max-steps",
        "4",
        "--minutes",
        "60",
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--block-size",
        "64",
        "--grad-accum",
        "1",
        "--lr",
        "1e-3",
        "--weight-decay",
        "0.01",
        "--warmup-ratio",
        "0.1",
        "--max-grad-norm",
        "1.0",
        "--seed",
        "1",
        "--train-on",
        "persona",
        "--val-every",
        "2",
        "--early-stopping",
        "3",
        "--final-model",
        "best",
        "--min-messages",
        "2",
        "--val-fraction",
        "0.25",
        "--no-cache",
        "--device",
        "cpu",
        "--mixed-precision",
        "no",
        "--save-every",
        "2",
        "--keep-checkpoints",
        "1",
        "--overwrite",
        "--no-tensorboard",
        "--no-report",
        "--lora",
        "--lora-r",
        "4",
        "--lora-alpha",
        "8",
        "--lora-dropout",
        "0.0",
        "--lora-target",
        "q_proj",
        "v_proj",
        "--merge-lora",
        "--format",
        "chatistics",
        "--me",
        "Me",
        "--since",
        "2000-01-01",
        "--until",
        "2100-01-01",
        "--conversation",
        "conv",
        "--participant",
        "Me",
        "--session-gap-hours",
        "6",
        "--redact",
        "--keep-persona-name",
        "--two-senders-only",
        "--merge-consecutive",
        "--min-words",
        "1",
    ]
    return runs, run_traced(argv)


def test_train_uses_every_option_it_lists(trained):
    _, reads = trained
    assert advertised("train") - reads == set()


SAMPLING = [
    "--temperature",
    "0.7",
    "--top-k",
    "5",
    "--top-p",
    "0.9",
    "--no-greedy",
    "--max-new-tokens",
    "4",
    "--min-new-tokens",
    "1",
    "--repetition-penalty",
    "1.1",
    "--no-repeat-ngram-size",
    "3",
    "--loop-guard",
    "3",
    "--seed",
    "3",
    "--history-turns",
    "4",
    "--history-tokens",
    "100",
    "--stop",
    "zzz",
    "--weights",
    "float32",
    "--device",
    "cpu",
]


def test_eval_uses_every_option_it_lists(trained):
    runs, _ = trained
    reads = run_traced(
        [
            "eval",
            "--runs-dir",
            str(runs),
            "--run-name",
            "r",
            *SAMPLING,
            "--samples",
            "2",
            "--probes",
            "Hi?",
            "--base",
            "--audit",
            "--audit-samples",
            "1",
            "--batch-size",
            "2",
            "--quick",
        ]
    )
    assert advertised("eval") - reads == set()


def test_chat_and_reply_use_every_option_they_list(trained, monkeypatch):
    import io
    import sys

    runs, _ = trained
    reads = run_traced(
        [
            "reply",
            "Hello?",
            "--runs-dir",
            str(runs),
            "--run-name",
            "r",
            *SAMPLING,
            "--opening",
            "Hi!",
            "Hey!",
        ]
    )
    assert advertised("reply") - reads == set()
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hello?\n"))
    reads = run_traced(
        [
            "chat",
            "--runs-dir",
            str(runs),
            "--run-name",
            "r",
            *SAMPLING,
            "--opening",
            "Hi!",
            "--quiet",
        ]
    )
    assert advertised("chat") - reads == set()


def test_serve_uses_every_option_it_lists(trained, monkeypatch):
    pytest.importorskip("fastapi")
    import uvicorn
    from fastapi.testclient import TestClient

    runs, _ = trained

    def one_request(app, **kw):  # instead of serving forever: one completion
        response = TestClient(app).post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "Hi"}]},
            headers={"Authorization": "Bearer k"},
        )
        assert response.status_code == 200, response.text

    monkeypatch.setattr(uvicorn, "run", one_request)
    reads = run_traced(
        [
            "serve",
            "--runs-dir",
            str(runs),
            "--run-name",
            "r",
            *SAMPLING,
            "--host",
            "127.0.0.1",
            "--port",
            "8123",
            "--api-key",
            "k",
            "--concurrency",
            "1",
            "--queue",
            "2",
            "--queue-timeout",
            "5",
            "--max-tokens-limit",
            "64",
            "--max-body-bytes",
            "10000",
            "--max-loaded",
            "3",
            "--allow-origin",
            "http://localhost:3000",
            "--allow-host",
            "testserver",  # the name TestClient sends
            "--threads",
            "1",
        ]
    )
    assert advertised("serve") - reads == set()


def test_report_and_export_use_every_option_they_list(trained, tmp_path):
    runs, _ = trained
    reads = run_traced(["report", "--runs-dir", str(runs), "--run-name", "r"])
    assert advertised("report") - reads == set()
    reads = run_traced(
        [
            "export",
            "--runs-dir",
            str(runs),
            "--run-name",
            "r",
            "--to",
            "ollama",
            "-o",
            str(tmp_path / "out"),
            "--quant",
            "q8_0",
            "--force",
        ]
    )
    assert advertised("export") - reads == set()


def test_inspect_and_import_use_every_option_they_list(export_file, tmp_path):
    given = [
        "--format",
        "chatistics",
        "--me",
        "Me",
        "--persona",
        "Me",
        "--since",
        "2000-01-01",
        "--until",
        "2100-01-01",
        "--conversation",
        "conv",
        "--participant",
        "Me",
        "--session-gap-hours",
        "6",
    ]
    reads = run_traced(["inspect", str(export_file), *given, "--min-words", "3"])
    assert advertised("inspect") - reads == set()
    assert "redact" not in advertised("inspect")  # nothing is written: nothing to redact
    reads = run_traced(
        [
            "import",
            str(export_file),
            *given,
            "--redact",
            "--keep-persona-name",
            "-o",
            str(tmp_path / "out.jsonl"),
        ]
    )
    assert advertised("import") - reads == set()


def test_an_unused_option_would_be_caught():
    """The check is not vacuous: an option nobody reads is reported."""
    cfg = ChatConfig(temperature=0.5)
    reads = opts.trace_reads()
    try:
        _ = cfg.top_k
    finally:
        opts.stop_tracing()
    assert "top_k" in reads and "temperature" not in reads


def test_options_compose_groups_and_each_group_checks_itself():
    cfg = TrainConfig(data="sample", lr=1e-3)
    assert cfg.lr == cfg.training.lr == 1e-3 and cfg.run_dir.name == "run1"
    assert not issubclass(TrainConfig, SamplingOptions) and TrainConfig.__mro__[1] is opts.Options
    with pytest.raises(ChatcloneError, match=r"^--top-p must be above 0 and at most 1 \(got 5\)$"):
        ChatConfig(top_p=5)
    with pytest.raises(TypeError, match="TrainConfig has no option temperature"):
        TrainConfig(data="sample", temperature=0.5)
    with pytest.raises(AttributeError, match="read-only"):
        cfg.lr = 2.0
    assert cfg.replace(lr=2e-3).lr == 2e-3 and cfg.lr == 1e-3


def test_help_is_grouped_by_section(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    sections = [
        line[:-1]
        for line in text.splitlines()
        if line and not line.startswith(" ") and line.endswith(":")
    ]
    assert sections[:1] == ["options"] and sections[1:] == [
        "run",
        "data",
        "input",
        "model",
        "training",
        "hardware",
        "output",
    ]
