"""The first hour of `chatclone train`: the plan printed before the first step, a time budget
(`--minutes`), Ctrl-C leaving a usable model and a checkpoint, the warning about a small
held-out set, the run folder's size, fewer checkpoints kept and `--overwrite`."""

from __future__ import annotations

import json
import re

import pytest
import torch
from conftest import RESUME_RECIPE, copy_run, same_training, tiny_options, weights

from chatclone import cli
from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.training import checkpoint, plan
from chatclone.training import loop as loop_module
from chatclone.training.dataset import steps_per_epoch
from chatclone.training.loop import train


def options(tmp_path, data, model, run_name: str = "r", **kw) -> TrainConfig:
    """The options of `uninterrupted_gpt2_run` (6 steps of 1 x 2, a checkpoint every 2)."""
    return tiny_options(tmp_path / "runs", data, model, run_name, **{**RESUME_RECIPE, **kw})


def same_weights(a, b) -> bool:
    a, b = weights(a), weights(b)
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def steps_logged(run_dir) -> list[int]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)["step"] for line in lines]


# -- 1. the plan, and the time budget ----------------------------------------------------------
def test_the_plan_is_printed_before_the_first_step(
    tmp_path, chatistics_file, tiny_model, monkeypatch, capsys
):
    before_first_step: list[str] = []
    real = loop_module._accumulate

    def accumulate(*args, **kw):
        if not before_first_step:
            before_first_step.append(capsys.readouterr().out)
        return real(*args, **kw)

    monkeypatch.setattr(loop_module, "_accumulate", accumulate)
    cfg = options(tmp_path, chatistics_file, tiny_model, max_steps=4, val_every=2)
    run_dir = train(cfg)
    printed, after = before_first_step[0], capsys.readouterr().out
    examples = json.loads((run_dir / "dataset.json").read_text())["tokens"]["examples"]
    epoch = steps_per_epoch(examples, 1, 2)
    assert f"Plan: {epoch} steps per epoch; 4 steps in all (--max-steps 4)" in printed
    assert f"-> {examples} examples" in printed
    assert (
        "Recipe: dialogues written in speaker tags (--prompt-style tags); loss on the persona's turns only"
        in printed
    )
    assert "Validation: every 2 steps and at the end, on 1 held-out conversation(s) " in printed
    assert "the run folder keeps the weights of the lowest validation loss" in printed
    assert "Time: measured on the first step and printed after it" in printed
    # The estimate comes once the first step is timed, and says what it is made of.
    assert "Estimate" not in printed
    estimate = re.search(r"Estimate: the first step took [\d.]+ s, so the 4 steps .*", after)
    assert estimate and "extrapolated from that first step" in estimate.group(0)


def test_the_plan_says_what_a_resumed_or_budgeted_run_will_do():
    cfg = TrainConfig(data="sample", minutes=2.5, epochs=1, val_fraction=0, final_model="last")
    text = plan.plan(
        cfg, epoch_steps=10, total_steps=10, start_step=4, held_conversations=0, held_examples=0
    )
    assert "10 steps in all (--epochs 1), or fewer: --minutes 2.5 stops the run" in text
    assert "resuming after step 4" in text
    assert "Validation: none" in text and "keeps the last step's weights" in text
    assert plan.estimate(2.0, 300, 5.0).endswith("--minutes 5 ends it after about 150 steps")
    alone = TrainConfig(data="sample", minutes=2.5)  # no --epochs, no --max-steps
    assert "as many steps as fit in --minutes 2.5" in plan.plan(alone, 10, 10, 0, 0, 0)
    assert "about 10 min" in plan.estimate(2.0, 300, None)
    # `--minutes` alone: the second (warm) step's time sizes the run to what is left.
    assert plan.steps_in_budget(2.0, 100.0, 2) == 52 and plan.steps_in_budget(2.0, -1.0, 2) == 2
    assert "set from the second step" in plan.estimate(9.0, None, 15.0)


def test_the_budget_stops_before_the_step_that_would_pass_it():
    now = [0.0]
    budget = plan.Budget(1.0, clock=lambda: now[0])  # 60 s
    assert budget.next_step_fits()  # the first step always runs
    for expected in (True, True, False):  # steps of 20 s: the 4th would end at 80 s
        now[0] += 20
        budget.step_done()
        assert budget.next_step_fits() is expected
    assert plan.Budget(None).next_step_fits()


def test_minutes_stops_the_run_cleanly(tmp_path, chatistics_file, tiny_model, capsys):
    cfg = options(tmp_path, chatistics_file, tiny_model, max_steps=None, epochs=1000, minutes=0.01)
    run_dir = train(cfg)
    steps = steps_logged(run_dir)
    assert 1 <= steps[-1] < 1000  # far fewer than the 1000 epochs planned
    out = capsys.readouterr().out
    assert (
        f"Time budget reached at step {steps[-1]} of " in out
        and "the next step would pass --minutes 0.01." in out
    )
    # Saved as at the end: the final model, and a checkpoint to go on from.
    RunDir(run_dir).require()
    assert checkpoint.latest_checkpoint(run_dir).name == checkpoint.step_name(steps[-1])
    # `--minutes` is not carried over by --resume: the saved one does not stop it again.
    resumed = RunDir(run_dir).resume_config({"max_steps": steps[-1] + 1})
    assert resumed.minutes is None


def test_with_minutes_and_max_steps_the_earlier_limit_wins(
    tmp_path, chatistics_file, tiny_model, capsys
):
    run_dir = train(options(tmp_path, chatistics_file, tiny_model, max_steps=3, minutes=60))
    assert steps_logged(run_dir) == [1, 2, 3]
    assert "Time budget" not in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "the earlier of --max-steps and --minutes wins" in help_text
    with pytest.raises(ChatcloneError, match=r"^--minutes must be above 0 \(got 0\)$"):
        TrainConfig(data="sample", minutes=0)


# -- 2. Ctrl-C ----------------------------------------------------------------------------------
def ctrl_c_at(step_to_stop: int):
    def on_step(step: int) -> None:
        if step == step_to_stop:
            raise KeyboardInterrupt

    return on_step


def test_ctrl_c_saves_a_usable_model_and_a_checkpoint_to_continue(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, monkeypatch, capsys
):
    cut = options(tmp_path, chatistics_file, tiny_gpt2, "cut")
    assert same_training(uninterrupted_gpt2_run, cut)
    real_train = loop_module.train
    monkeypatch.setattr(loop_module, "train", lambda cfg: real_train(cfg, on_step=ctrl_c_at(3)))
    runs = str(tmp_path / "runs")
    argv = ["train", "--runs-dir", runs, "--run-name", "cut", "--data", cut.data]
    argv += ["--model", cut.model, "--batch-size", "1", "--grad-accum", "2", "--block-size"]
    argv += ["64", "--max-steps", "6", "--save-every", "2", "--lr", "1e-3", "--min-messages"]
    argv += ["2", "--device", "cpu", "--no-cache", "--no-report", "--no-tensorboard"]
    assert cli.main(argv) == 130
    out, err = capsys.readouterr()
    assert err.endswith("Interrupted.\n")
    where = f"--run-name cut --runs-dir {runs}"
    assert "Interrupted at step 3: saving the run" in out
    assert f"Saved the model of step 3 to {tmp_path / 'runs' / 'cut'}" in out
    assert f"Chat with it: chatclone chat {where}\n" in out
    assert f"Continue training: chatclone train {where} --resume\n" in out
    # A usable model: what chat, reply and eval check, and a reply.
    run = RunDir(tmp_path / "runs" / "cut").require()
    assert checkpoint.latest_checkpoint(run.path).name == "step-000003"
    assert (
        cli.main(["reply", "Hi", "--runs-dir", runs, "--run-name", "cut", "--device", "cpu"]) == 0
    )
    # Continuing ends where the uninterrupted run ended.
    monkeypatch.setattr(loop_module, "train", real_train)
    assert cli.main(["train", "--runs-dir", runs, "--run-name", "cut", "--resume"]) == 0
    assert same_weights(uninterrupted_gpt2_run, run.path)


def test_ctrl_c_in_the_middle_of_a_step_drops_that_step(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, monkeypatch, capsys
):
    # 2 micro-batches a step: the 8th is step 4's second, after its first ran (and drew dropout).
    calls = []
    real_collate = loop_module.collate

    def collate(*args, **kw):
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return real_collate(*args, **kw)

    monkeypatch.setattr(loop_module, "collate", collate)
    cut = options(tmp_path, chatistics_file, tiny_gpt2, "cut")
    with pytest.raises(KeyboardInterrupt):
        train(cut)
    assert "Saved the model of step 3" in capsys.readouterr().out
    assert checkpoint.latest_checkpoint(cut.run_dir).name == "step-000003"
    monkeypatch.setattr(loop_module, "collate", real_collate)
    train(cut.replace(resume=True))
    assert same_weights(uninterrupted_gpt2_run, cut.run_dir)


def test_ctrl_c_before_the_first_step_ends_saves_no_model_but_can_continue(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, monkeypatch, capsys
):
    def collate(*args, **kw):
        raise KeyboardInterrupt

    real_collate = loop_module.collate
    monkeypatch.setattr(loop_module, "collate", collate)
    cut = options(tmp_path, chatistics_file, tiny_gpt2, "cut")
    with pytest.raises(KeyboardInterrupt):
        train(cut)
    assert "No step finished, so there is no model to save" in capsys.readouterr().out
    assert not RunDir.of(cut).has_model()
    monkeypatch.setattr(loop_module, "collate", real_collate)
    train(cut.replace(resume=True))
    assert same_weights(uninterrupted_gpt2_run, cut.run_dir)


def test_ctrl_c_keeps_the_best_validated_weights_as_a_finished_run_does(
    tmp_path, chatistics_file, tiny_model, monkeypatch
):
    values = iter([3.0, 1.0, 2.0])
    monkeypatch.setattr(loop_module, "validation_loss", lambda *a, **k: next(values))
    cfg = options(
        tmp_path, chatistics_file, tiny_model, val_every=1, save_every=1, keep_checkpoints=3
    )
    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_step=ctrl_c_at(3))
    from safetensors.torch import load_file

    saved = load_file(str(cfg.run_dir / "model.safetensors"))
    at_2 = load_file(
        str(checkpoint.checkpoints_dir(cfg.run_dir) / "step-000002" / "model.safetensors")
    )
    assert all(torch.equal(saved[k], at_2[k]) for k in saved)
    best = json.loads((cfg.run_dir / "best.json").read_text())
    assert (best["best_step"], best["last_step"], best["saved_step"]) == (2, 3, 2)


# -- 3. a held-out set too small to choose weights by ----------------------------------------
def test_a_small_heldout_set_is_warned_about_once(tmp_path, chatistics_file, tiny_model, capsys):
    train(options(tmp_path, chatistics_file, tiny_model, max_steps=1))
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("Warning:")]
    assert warnings == [
        "Warning: only 1 held-out conversation(s) (%d examples) to choose the kept weights by: "
        "on so little data the lowest validation loss is mostly chance. Hold out more with "
        "--val-fraction (now 0.1), or keep the last step's weights with --final-model last."
        % int(re.search(r"\((\d+) examples\)", warnings[0]).group(1))
    ]
    assert out.index("Warning:") < out.index("Plan:")


@pytest.mark.parametrize(
    "conversations, examples, final_model, warned",
    [(3, 50, "best", False), (3, 49, "best", True), (2, 500, "best", True), (1, 4, "last", False)],
)
def test_the_heldout_warning_thresholds(conversations, examples, final_model, warned):
    cfg = TrainConfig(data="sample", final_model=final_model)
    assert (plan.heldout_warning(cfg, conversations, examples) is not None) == warned
    assert plan.heldout_warning(cfg, 0, 0) is None  # no held-out set: nothing is chosen


# -- 4. the run folder's size, checkpoints kept, --overwrite -----------------------------------
def test_one_checkpoint_is_kept_and_the_size_is_said(tmp_path, chatistics_file, tiny_model, capsys):
    assert TrainConfig(data="sample").keep_checkpoints == 1
    run_dir = train(options(tmp_path, chatistics_file, tiny_model, max_steps=4))
    assert [p.name for p in checkpoint.checkpoints_dir(run_dir).glob("step-*")] == ["step-000004"]
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("The run folder takes"))
    assert re.fullmatch(
        r"The run folder takes [\d.]+ [KMG]?B, [\d.]+ [KMG]?B of it in checkpoints, which only "
        r"continuing the training \(--resume\) needs: delete .*checkpoints once you are done "
        r"training\.",
        line,
    )


def test_an_existing_run_is_refused_with_the_way_out(tmp_path, short_run, capsys):
    copy_run(short_run, tmp_path / "runs")
    runs = str(tmp_path / "runs")
    assert cli.main(["train", "--data", "sample", "--runs-dir", runs]) == 1
    assert capsys.readouterr().err == (
        f"Error: run 'run1' already exists in {runs}; pass --resume to continue it, "
        "--overwrite to replace it, or choose another --run-name\n"
    )


def test_overwrite_replaces_a_run_once_the_new_one_loads(
    tmp_path, short_run, chatistics_file, tiny_model, capsys
):
    old = copy_run(short_run, tmp_path / "runs")
    (old / "marker.txt").write_text("from the old run")
    cfg = options(tmp_path, chatistics_file, tiny_model, "run1", max_steps=1, overwrite=True)
    # Data that fails to load leaves the old run alone.
    with pytest.raises(ChatcloneError, match="no conversation passed the filters"):
        train(cfg.replace(min_messages=100))
    assert (old / "marker.txt").is_file()
    train(cfg)
    assert not (old / "marker.txt").exists()
    assert f"Replaced run 'run1' (--overwrite): its old folder {old} was deleted." in (
        capsys.readouterr().out
    )
    assert steps_logged(old) == [1] and RunDir(old).require()


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path, chatistics_file, tiny_model):
    folder = tmp_path / "runs" / "photos"
    folder.mkdir(parents=True)
    (folder / "holiday.jpg").write_text("not a run")
    cfg = options(tmp_path, chatistics_file, tiny_model, "photos", overwrite=True)
    with pytest.raises(ChatcloneError) as err:
        train(cfg)
    assert str(err.value) == (
        f"{folder} is not a chatclone run folder (it has no chatclone.json), so --overwrite "
        "leaves it alone. Choose another --run-name, or move that folder away yourself"
    )
    assert (folder / "holiday.jpg").is_file()
    with pytest.raises(ChatcloneError, match=r"^--resume continues a run, --overwrite replaces"):
        TrainConfig(data="sample", resume=True, overwrite=True)


def test_minutes_alone_trains_as_many_steps_as_fit(tmp_path, chatistics_file, tiny_model):
    """`--minutes` without --max-steps or --epochs is the length of the run: past one epoch,
    with the learning rate decaying to 0 over the steps the first step's time says fit."""
    cfg = options(
        tmp_path,
        chatistics_file,
        tiny_model,
        max_steps=None,
        minutes=0.05,
        batch_size=2,
        grad_accum=1,
        save_every=1000,
    )
    run_dir = train(cfg)
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    epoch_steps = 2  # 3 conversations of 12 messages: 3 examples, batches of 2
    last = sorted((run_dir / "checkpoints").glob("step-*"))[-1] / "trainer_state.json"
    total = json.loads(last.read_text())["total_steps"]  # decided after the first step
    assert total > epoch_steps and epoch_steps < len(records) <= total
    if len(records) == total:  # the schedule ran its course: the last step had a learning rate of 0
        assert records[-1]["lr"] == 0.0
