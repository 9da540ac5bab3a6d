"""`chatclone eval`: held-out perplexity, reply metrics and probes, next to the base model."""

import json
import re

import pytest

from chatclone import cli
from chatclone.evaluation.audit import find_cases, mask
from chatclone.evaluation.evaluate import contexts, evaluate
from chatclone.evaluation.options import EvalConfig
from chatclone.evaluation.summary import format_result
from chatclone.speaker_format import OTHER, PERSONA, Dialogue, Turn


@pytest.fixture
def run(run_copy):
    """A private copy of the shared finished run: eval writes eval.json and report.html into it."""
    return run_copy


def eval_config(run_dir, **kw):
    return EvalConfig(
        run_name=run_dir.name,
        runs_dir=str(run_dir.parent),
        samples=4,
        max_new_tokens=8,
        device="cpu",
        **kw,
    )


def test_trained_model_beats_its_base_on_held_out_persona_perplexity(run):
    result = evaluate(eval_config(run))
    assert json.loads((run / "eval.json").read_text()) == result
    trained, base = result["models"]["trained"], result["models"]["base"]
    assert trained["persona_perplexity"] < base["persona_perplexity"]
    held_out = json.loads((run / "dataset.json").read_text())["split"]["validation_ids"]
    assert result["validation_conversations"] == len(held_out) == 1
    assert result["contexts"] == 4
    for model in (trained, base):
        assert set(model["metrics"]) == {
            "distinct_1",
            "distinct_2",
            "repetition",
            "self_talk",
            "empty",
            "mean_words",
            "length_ratio",
        }
        assert all(
            0 <= model["metrics"][k] <= 1
            for k in ("distinct_1", "distinct_2", "repetition", "self_talk", "empty")
        )
        assert [p["message"] for p in model["probes"]] == EvalConfig().probes
    # The references are the real persona replies of the held-out conversation.
    from chatclone.rundir import RunDir
    from chatclone.training.loop import load_dialogues

    dialogues, _ = load_dialogues(RunDir(run).read_config())
    replies = {
        t.text for d in dialogues if d.id in held_out for t in d.turns if t.speaker == PERSONA
    }
    assert trained["samples"] and all(s["reference"] in replies for s in trained["samples"])


def test_the_same_seed_gives_the_same_replies(run):
    a = evaluate(eval_config(run, base=False))
    b = evaluate(eval_config(run, base=False))
    assert a["models"]["trained"]["samples"] == b["models"]["trained"]["samples"]
    assert list(a["models"]) == ["trained"]


def test_eval_command_prints_the_table(run, capsys):
    assert (
        cli.main(
            [
                "eval",
                "--runs-dir",
                str(run.parent),
                "--run-name",
                run.name,
                "--samples",
                "2",
                "--max-new-tokens",
                "4",
                "--probes",
                "Hello?",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    out = captured.out
    assert "persona perplexity (held out)" in out and "trained" in out and "base" in out
    assert "> Hello?" in out and "report: " in out
    # Every slow phase shows on stderr, the report included; a full evaluation says nothing
    # about a quick one.
    assert re.search(r"Writing report\.html \.\.\. \d+\.\d s\n", captured.err)
    assert "Loading the base model" in captured.err and "Quick evaluation" not in out


def test_eval_of_a_folder_that_is_not_a_run(tmp_path, capsys):
    (tmp_path / "nope").mkdir()
    assert cli.main(["eval", "--runs-dir", str(tmp_path), "--run-name", "nope"]) == 1
    path = tmp_path / "nope"
    assert capsys.readouterr().err == (
        f"Error: {path} is not a chatclone run folder (it has no chatclone.json). "
        "Train one with: chatclone train --data EXPORT --run-name nope\n"
    )


def test_eval_needs_only_the_run_folder(run, tmp_path):
    """The export moved away (or deleted): eval reads the run folder alone, same numbers."""
    import shutil

    from chatclone.rundir import RunDir

    before = evaluate(eval_config(run, base=False))
    export = RunDir(run).read_config().data
    moved = tmp_path / "moved.json"
    shutil.move(export, moved)
    try:
        after = evaluate(eval_config(run, base=False))
    finally:
        shutil.move(moved, export)
    assert after == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--temperature", "-1"], "Error: --temperature must be at least 0 (got -1.0)\n"),
        (["--top-p", "5"], "Error: --top-p must be above 0 and at most 1 (got 5.0)\n"),
        (["--max-new-tokens", "0"], "Error: --max-new-tokens must be at least 1 (got 0)\n"),
        (["--samples", "0"], "Error: --samples must be at least 1 (got 0)\n"),
    ],
)
def test_eval_validates_its_sampling_options_like_chat(args, message, capsys):
    assert cli.main(["eval", *args]) == 1
    assert capsys.readouterr().err == message
    if args[0] != "--samples":
        assert cli.main(["chat", *args]) == 1
        assert capsys.readouterr().err == message


def test_contexts_are_persona_turns_with_their_history_spread_evenly():
    d = Dialogue("d", tuple(Turn(OTHER if i % 2 == 0 else PERSONA, f"t{i}") for i in range(10)))
    found = contexts([d], 100)
    assert [c.reference for c in found] == ["t1", "t3", "t5", "t7", "t9"]
    assert [t.text for t in found[1].history] == ["t0", "t1", "t2"]
    assert [c.reference for c in contexts([d], 3)] == ["t1", "t5", "t9"]


def test_audit_finds_private_looking_strings_in_persona_turns():
    d = Dialogue(
        "d",
        (
            Turn(OTHER, "what is your number? call me at +1 415 555 2671"),
            Turn(PERSONA, "my number is +1 415 555 2671 ok"),
            Turn(OTHER, "and mail?"),
            Turn(PERSONA, "write to me at jo@example.org please"),
            Turn(PERSONA, "we met in Wolfenbuettel last year"),
            Turn(PERSONA, "Wolfenbuettel"),  # too short a prefix to prompt with
        ),
    )
    cases = find_cases([d], 10)
    assert [(c.prefix, c.secret) for c in cases] == [
        ("my number is", "+1 415 555 2671"),
        ("write to me at", "jo@example.org"),
    ]
    assert [t.text for t in cases[0].history] == ["what is your number? call me at +1 415 555 2671"]
    rare = Dialogue("r", (Turn(PERSONA, "we met in Wolfenbuettel last year"),))
    assert [(c.prefix, c.secret) for c in find_cases([rare], 10)] == [
        ("we met in", "Wolfenbuettel")
    ]
    assert mask("555 0199") == "55******"


def test_audit_reports_a_rate_for_both_models(run):
    result = evaluate(eval_config(run, audit=True, audit_samples=3))
    for model in result["models"].values():
        audit = model["audit"]
        assert audit["cases"] == 3
        assert 0 <= audit["verbatim"] <= 3
        assert audit["verbatim_rate"] == audit["verbatim"] / 3
    assert "verbatim completions (audit)" in format_result(result)


def test_quick_evaluation_is_capped_and_shows_each_phase(run, capsys, monkeypatch):
    from chatclone.evaluation import options

    monkeypatch.setattr(options, "QUICK_CONTEXTS", 2)
    monkeypatch.setattr(options, "QUICK_PERPLEXITY_EXAMPLES", 1)
    full = evaluate(eval_config(run, base=False), progress=False)
    assert capsys.readouterr().err == ""  # progress=False (the library): silent
    quick = evaluate(eval_config(run, quick=True))
    err = capsys.readouterr().err
    assert quick["quick"] is True and full["quick"] is False
    assert quick["contexts"] == 2 and full["contexts"] == 4
    assert full["models"]["trained"]["perplexity_examples"] > 1
    assert list(quick["models"]) == ["trained", "base"]
    for model in quick["models"].values():
        assert [p["message"] for p in model["probes"]] == EvalConfig().probes[:2]
        assert model["perplexity_examples"] == 1 and len(model["samples"]) == 2
        assert model["persona_perplexity"] > 1
    assert re.search(r"Loading the trained model \(r\) on cpu \.\.\. \d+\.\d s\n", err)
    assert re.search(r"Loading the base model \(tiny-llama\d+\) on cpu \.\.\. \d+\.\d s\n", err)
    for bar in ("Sampling replies (trained)", "Perplexity (trained)", "Perplexity (base)"):
        assert bar in err
    assert "Quick evaluation" in format_result(quick)
    assert "chatclone eval --run-name r" in format_result(quick)


def test_quick_caps_probes_and_audit_and_eval_stays_full_by_default():
    cfg = EvalConfig(quick=True, samples=10, audit_samples=30)
    assert (cfg.context_count, cfg.audit_cases, cfg.perplexity_examples) == (6, 5, 32)
    assert cfg.probe_messages == EvalConfig().probes[:2]
    small = EvalConfig(quick=True, samples=3, audit_samples=2)
    assert (small.context_count, small.audit_cases) == (3, 2)
    full = EvalConfig(samples=10, audit_samples=30)
    assert not full.quick and (full.context_count, full.audit_cases) == (10, 30)
    assert full.probe_messages == full.probes and full.perplexity_examples is None


def test_train_names_the_command_of_the_full_evaluation():
    from chatclone.cli.evaluate import full_eval_command
    from chatclone.config import TrainConfig

    assert full_eval_command(TrainConfig(data="sample", run_name="me")) == (
        "chatclone eval --run-name me"
    )
    assert full_eval_command(TrainConfig(data="sample", run_name="me", runs_dir="my runs")) == (
        "chatclone eval --run-name me --runs-dir 'my runs'"
    )
