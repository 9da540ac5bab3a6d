"""`chatclone train --run-name X --resume`: the run folder holds the options and the data's
content hash, so a killed run resumes with no other flag, and a changed export is refused."""

import json

import pytest
import torch
from conftest import RESUME_RECIPE, Killed, kill_at, tiny_options, weights

from chatclone import cli
from chatclone.config import TrainConfig
from chatclone.training.loop import train


def options(tmp_path, data, model, run_name: str) -> TrainConfig:
    return tiny_options(tmp_path / "runs", data, model, run_name, **RESUME_RECIPE)


def test_resume_needs_only_the_run_name(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, capsys
):
    from conftest import same_training

    full = uninterrupted_gpt2_run
    cut = options(tmp_path, chatistics_file, tiny_gpt2, "cut")
    assert same_training(full, cut)
    with pytest.raises(Killed):
        train(cut, on_step=kill_at(3))
    runs = str(tmp_path / "runs")
    assert cli.main(["train", "--runs-dir", runs, "--run-name", "cut", "--resume"]) == 0
    a, b = weights(full), weights(tmp_path / "runs" / "cut")
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert json.loads((tmp_path / "runs" / "cut" / "chatclone.json").read_text())["resume"] is True


def test_resume_refuses_a_changed_export_by_its_content(
    tmp_path, chatistics_file, tiny_model, capsys
):
    with pytest.raises(Killed):
        train(options(tmp_path, chatistics_file, tiny_model, "r"), on_step=kill_at(3))
    records = json.loads(chatistics_file.read_text())
    records[5]["text"] = "an edited message"
    chatistics_file.write_text(json.dumps(records))
    runs = str(tmp_path / "runs")
    capsys.readouterr()
    assert cli.main(["train", "--runs-dir", runs, "--run-name", "r", "--resume"]) == 1
    assert capsys.readouterr().err == (
        f"Error: the data of run 'r' changed since step-000002: {chatistics_file} no longer gives "
        "the dialogues the run was trained on (their content hash differs). Restore that export, "
        "or train a new run on the new data with --run-name NEW\n"
    )


def test_an_option_given_on_resume_overrides_the_saved_one_or_is_refused(
    tmp_path, chatistics_file, tiny_model, capsys
):
    with pytest.raises(Killed):
        train(options(tmp_path, chatistics_file, tiny_model, "r"), on_step=kill_at(3))
    runs = str(tmp_path / "runs")
    capsys.readouterr()
    # The data order depends on the batch size: changing it on resume is refused, by name.
    assert (
        cli.main(["train", "--runs-dir", runs, "--run-name", "r", "--resume", "--batch-size", "4"])
        == 1
    )
    assert capsys.readouterr().err == (
        "Error: run 'r' was trained with --batch-size 1; resume with the same value (got 4)\n"
    )
    # A longer run is fine: the saved options with the new --max-steps on top.
    assert (
        cli.main(["train", "--runs-dir", runs, "--run-name", "r", "--resume", "--max-steps", "8"])
        == 0
    )
    saved = json.loads((tmp_path / "runs" / "r" / "chatclone.json").read_text())
    assert saved["max_steps"] == 8 and saved["batch_size"] == 1
    assert [
        json.loads(line)["step"]
        for line in (tmp_path / "runs" / "r" / "metrics.jsonl").read_text().splitlines()
    ][-1] == 8


def test_the_library_resumes_from_the_run_folder_too(tmp_path, chatistics_file, tiny_model):
    import chatclone

    with pytest.raises(Killed):
        train(options(tmp_path, chatistics_file, tiny_model, "r"), on_step=kill_at(3))
    run_dir = chatclone.train(run_name="r", runs_dir=str(tmp_path / "runs"), resume=True)
    steps = [
        json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    assert steps[-1] == 6 and (run_dir / "config.json").is_file()
