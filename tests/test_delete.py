"""With redaction on, nothing under `runs/` holds the names of the people in the export or the
export's file name; `chatclone delete` removes a run with what the cache holds of it."""

import json
import re

import pytest
from conftest import chatistics_records, copy_run

from chatclone import cli, rundir
from chatclone.config import TrainConfig
from chatclone.rundir import RunDir
from chatclone.training import guard, private
from chatclone.training.models import cache_dir

SECRETS = ("maya", "cohen", "levi")


def named_export(tmp_path):
    """A chat between Dan Levi (the owner) and Maya Cohen, in a file named after her."""
    records = chatistics_records(n_convs=3)
    for r in records:
        r["senderName"] = "Dan Levi" if r["outgoing"] else "Maya Cohen"
        r["conversationWithName"] = "Maya Cohen"
    records[4]["text"] = "Maya, call me tomorrow"  # the persona's own name is kept by default
    path = tmp_path / "chat with Maya Cohen.json"
    path.write_text(json.dumps(records))
    return path


@pytest.fixture
def private_run(tmp_path, tiny_model):
    data = named_export(tmp_path)
    args = ["--data", str(data), "--model", str(tiny_model), "--runs-dir", str(tmp_path / "runs")]
    args += ["--me", "Dan Levi", "--participant", "Maya Cohen", "--max-steps", "2"]
    args += ["--block-size", "64", "--min-messages", "2", "--device", "cpu", "--no-report"]
    assert cli.main(["train", *args, "--no-tensorboard"]) == 0
    return RunDir(tmp_path / "runs" / "run1"), data


def leaks(root, secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Files under `root` whose name or bytes hold a secret (case-insensitive)."""
    found = []
    for path in [root, *root.rglob("*")]:
        content = path.read_bytes().lower() if path.is_file() else b""
        for word in secrets:
            if word in path.name.lower() or word.encode() in content:
                found.append(f"{path.relative_to(root.parent)}: {word}")
    return found


def test_nothing_under_runs_names_a_person_or_the_export(private_run, tmp_path):
    run, data = private_run
    assert leaks(tmp_path / "runs") == []
    saved = json.loads((run / rundir.CONFIG).read_text())
    assert re.fullmatch(r"chat with N N\.json \[sha256:[0-9a-f]{16}\]", saved["data"])
    assert saved["me"] != ["Dan Levi"] and saved["participant"] != ["Maya Cohen"]
    # This machine still resumes with the run name alone: the real values are in the cache.
    assert run.read_config().data == str(data) and run.read_config().me == ["Dan Levi"]
    # What is shown or shared (a report's settings table) reads the stored values.
    assert run.read_config(real=False).data == saved["data"]


def test_another_machine_is_told_to_give_the_export_again(private_run, tmp_path, capsys):
    run, data = private_run
    private.forget(run)
    capsys.readouterr()
    runs = str(tmp_path / "runs")
    assert cli.main(["train", "--runs-dir", runs, "--run-name", "run1", "--resume"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: run 'run1' keeps only a hash of its export (chat with N N.json")
    assert "--resume --data EXPORT" in err and err.count("\n") == 1


def test_the_owner_found_by_inference_gets_a_stand_in():
    info = {"owner": "inferred: Dan Levi takes part in all 3 conversation(s)"}
    stored = private.stored_values(TrainConfig(data="sample", me=["Dan Levi"]), info)
    assert "Levi" not in info["owner"] and info["owner"].startswith("inferred: ")
    assert stored["me"] == [info["owner"].split(": ")[1].split(" takes")[0]]


def test_conversation_filters_and_numbers_in_file_names_are_stored_redacted(tmp_path):
    export = tmp_path / "WhatsApp Chat with +972 54-123-4567.txt"
    export.write_text("1/2/21, 9:41 PM - Noa: hi\n", encoding="utf-8")
    cfg = TrainConfig(data=str(export), me=["Ana"], conversation=["Maya Cohen"])
    stored = private.stored_values(cfg, {})
    assert "Maya" not in str(stored["conversation"]) and "Cohen" not in str(stored["conversation"])
    assert stored["data"].startswith("WhatsApp Chat with N.txt [sha256:")


def test_delete_removes_the_run_and_its_cached_chats(private_run, tmp_path, capsys):
    run, _ = private_run
    keys = run.read_json(rundir.DATASET)["cache_keys"]
    cached = [cache_dir() / "datasets" / f"examples-{k}.json" for k in keys]
    record = rundir.private_path(json.loads((run / rundir.CONFIG).read_text())["private_id"])
    assert all(p.is_file() for p in cached) and record.is_file()
    runs = str(tmp_path / "runs")
    assert cli.main(["delete", "--runs-dir", runs, "--run-name", "run1", "--yes"]) == 0
    assert not run.path.exists() and not any(p.exists() for p in cached + [record])
    assert capsys.readouterr().out.startswith("Deleted run 'run1' (")


def test_delete_asks_first_and_refuses_without_a_terminal(short_run, tmp_path, capsys):
    run = copy_run(short_run, tmp_path / "runs")
    assert cli.main(["delete", "--runs-dir", str(tmp_path / "runs"), "--run-name", "run1"]) == 1
    assert capsys.readouterr().err == (
        "Error: chatclone delete asks before it deletes, and there is no terminal to ask on. "
        "Pass --yes to delete without asking\n"
    )
    assert run.is_dir()


def test_delete_refuses_a_run_being_trained(short_run, tmp_path, capsys):
    run = RunDir(copy_run(short_run, tmp_path / "runs"))
    with guard.run_lock(run):
        code = cli.main(
            ["delete", "--runs-dir", str(tmp_path / "runs"), "--run-name", "run1", "--yes"]
        )
    assert code == 1 and "is being trained by process" in capsys.readouterr().err
    assert run.path.is_dir()


def test_delete_of_a_missing_run_lists_the_runs(tmp_path, capsys):
    assert cli.main(["delete", "--runs-dir", str(tmp_path), "--run-name", "nope", "--yes"]) == 1
    assert capsys.readouterr().err.startswith("Error: no run named 'nope' in ")


def test_delete_removes_the_base_models_cached_evaluation(finished_run, tmp_path):
    from chatclone.evaluation.evaluate import evaluate
    from chatclone.evaluation.options import EvalConfig

    copy_run(finished_run, tmp_path / "runs", "run1")
    cfg = EvalConfig(run_name="run1", runs_dir=str(tmp_path / "runs"), samples=2, max_new_tokens=4)
    key = evaluate(cfg, progress=False)["base_cache"]
    cached = cache_dir() / "eval" / f"base-eval-{key}.json"
    assert cached.is_file()
    again = evaluate(cfg, progress=False)  # the base model is not sampled twice
    assert again["models"]["base"] == json.loads(cached.read_text())
    assert (
        cli.main(["delete", "--runs-dir", str(tmp_path / "runs"), "--run-name", "run1", "--yes"])
        == 0
    )
    assert not cached.exists()
