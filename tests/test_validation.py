"""Held-out conversations, validation loss, best weights, early stopping, persona-only loss."""

import json

import pytest
import torch
from conftest import tiny_options

from chatclone.config import TrainConfig
from chatclone.errors import ChatcloneError
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Dialogue, Turn
from chatclone.training import checkpoint
from chatclone.training import loop as train_module
from chatclone.training.dataset import build_examples, collate
from chatclone.training.heldout import loss_sums, split_dialogues
from chatclone.training.log import read_metrics
from chatclone.training.loop import label_tokens, train


def config(tmp_path, data, model, **kw):
    recipe = dict(batch_size=4, max_steps=6, save_every=100, val_every=2)
    return tiny_options(tmp_path / "runs", data, model, **{**recipe, **kw})


def dialogues(n):
    return [
        Dialogue(f"c{i}", (Turn(OTHER, f"hi {i}"), Turn(PERSONA, f"hello {i}"))) for i in range(n)
    ]


def safetensors_weights(path):
    from safetensors.torch import load_file

    return load_file(str(path))


def test_split_is_by_conversation_deterministic_and_independent_of_order():
    ds = dialogues(20)
    train_part, val = split_dialogues(ds, 0.25, seed=1)
    assert len(val) == 5 and len(train_part) == 15
    assert not {d.id for d in val} & {d.id for d in train_part}
    again, val_again = split_dialogues(list(reversed(ds)), 0.25, seed=1)
    assert {d.id for d in val_again} == {d.id for d in val}
    assert {d.id for d in split_dialogues(ds, 0.25, seed=2)[1]} != {d.id for d in val}
    assert split_dialogues(ds, 0.0, seed=1) == (ds, [])
    assert split_dialogues(ds[:1], 0.5, seed=1) == (ds[:1], [])  # nothing left to train on
    assert len(split_dialogues(ds[:3], 0.01, seed=1)[1]) == 1  # at least one held out


def test_val_fraction_is_checked():
    with pytest.raises(ChatcloneError) as e:
        TrainConfig(data="sample", val_fraction=1.0)
    assert str(e.value) == "--val-fraction must be at least 0 and below 1 (got 1.0)"


def test_validation_loss_goes_down_and_the_run_keeps_the_lowest(
    tmp_path, chatistics_file, tiny_model
):
    cfg = config(tmp_path, chatistics_file, tiny_model, max_steps=16, lr=3e-2)
    run_dir = train(cfg)
    val = [r for r in read_metrics(run_dir) if "val_loss" in r]
    assert [r["step"] for r in val] == [2, 4, 6, 8, 10, 12, 14, 16]
    assert val[-1]["val_loss"] < val[0]["val_loss"] - 0.5
    best = json.loads((run_dir / "best.json").read_text())
    lowest = min(val, key=lambda r: r["val_loss"])
    assert best["best_step"] == lowest["step"] == best["saved_step"]
    # The saved model scores the recorded best loss on the held-out conversations.
    from chatclone.training.models import load_trained

    split = json.loads((run_dir / "dataset.json").read_text())["split"]
    assert split["validation"] == 1 and split["train"] == 2
    held = [d for d in train_module.load_dialogues(cfg)[0] if d.id in split["validation_ids"]]
    model, tok = load_trained(run_dir)
    examples, _ = build_examples(held, tok, FORMAT, cfg.block_size)
    total, count = loss_sums(model, examples, tok.pad_token_id, True, 4, "cpu")
    assert total / count == pytest.approx(best["best_val_loss"], abs=1e-4)


def fake_validation(monkeypatch, losses):
    """Validation losses chosen by the test, to place the best step where it wants."""
    values = iter(losses)
    monkeypatch.setattr(train_module, "validation_loss", lambda *a, **k: next(values))


@pytest.mark.parametrize("final_model", ["best", "last"])
def test_final_model_holds_the_best_or_the_last_weights(
    tmp_path, chatistics_file, tiny_model, monkeypatch, final_model
):
    fake_validation(monkeypatch, [3.0, 1.0, 2.0])
    cfg = config(
        tmp_path,
        chatistics_file,
        tiny_model,
        save_every=2,
        keep_checkpoints=3,
        final_model=final_model,
    )
    run_dir = train(cfg)
    expected = "step-000004" if final_model == "best" else "step-000006"
    saved = safetensors_weights(run_dir / "model.safetensors")
    at_step = safetensors_weights(
        checkpoint.checkpoints_dir(run_dir) / expected / "model.safetensors"
    )
    for name, tensor in saved.items():
        assert torch.equal(tensor, at_step[name]), name
    best = json.loads((run_dir / "best.json").read_text())
    assert (best["best_step"], best["best_val_loss"], best["last_step"]) == (4, 1.0, 6)
    assert best["saved_step"] == (4 if final_model == "best" else 6)
    # With the last weights in the run folder, the best ones stay available beside them.
    assert (run_dir / "best" / "model.safetensors").is_file() == (final_model == "last")


def test_early_stopping_after_validations_without_improvement(
    tmp_path, chatistics_file, tiny_model, monkeypatch, capsys
):
    fake_validation(monkeypatch, [2.0, 1.0, 1.5, 1.2, 0.5])
    cfg = config(tmp_path, chatistics_file, tiny_model, max_steps=20, val_every=1, early_stopping=2)
    run_dir = train(cfg)
    assert [r["step"] for r in read_metrics(run_dir)] == [1, 2, 3, 4]
    assert (
        "Early stopping at step 4: no better validation loss in the last 2 validations."
        in capsys.readouterr().out
    )
    assert checkpoint.latest_checkpoint(run_dir).name == "step-000004"
    assert json.loads((run_dir / "best.json").read_text())["saved_step"] == 2


def test_persona_only_labels_leave_no_loss_on_the_other_side(tiny_model):
    from transformers import AutoTokenizer

    from chatclone.training.models import add_speaker_tokens

    tok = AutoTokenizer.from_pretrained(tiny_model)
    add_speaker_tokens(tok)
    dialogue = Dialogue(
        "d",
        (
            Turn(OTHER, "Hi"),
            Turn(PERSONA, "Good morning!"),
            Turn(OTHER, "Bye!"),
            Turn(PERSONA, "See you tomorrow"),
        ),
    )
    (example,), _ = build_examples([dialogue], tok, FORMAT, 256)
    batch = collate([example], tok.pad_token_id, mask_other=True)
    other_tag = tok.convert_tokens_to_ids("<speaker2>")
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    # Every token of a <speaker2> turn, tag included, is -100; persona tokens keep their ids.
    turn_of = []
    speaker = None
    for token in ids.tolist():
        if token in (other_tag, tok.convert_tokens_to_ids("<speaker1>")):
            speaker = OTHER if token == other_tag else PERSONA
        turn_of.append(speaker)
    assert OTHER in turn_of and PERSONA in turn_of
    for token, label, who in zip(ids.tolist(), labels.tolist(), turn_of):
        assert label == (-100 if who == OTHER else token)
    assert label_tokens(example, persona_only=True) == int((labels[1:] != -100).sum())
    assert label_tokens(example) == len(example.input_ids) - 1


@pytest.mark.parametrize("train_on", ["persona", "all"])
def test_training_loss_counts_exactly_the_chosen_turns(
    tmp_path, chatistics_file, tiny_model, train_on
):
    # One step over all training examples: its logged loss was measured before the update, so
    # it must equal the base model's loss on the persona tokens (or on every token).
    from accelerate.utils import set_seed

    from chatclone.training.models import load_base

    cfg = config(
        tmp_path,
        chatistics_file,
        tiny_model,
        max_steps=1,
        batch_size=64,
        train_on=train_on,
        block_size=512,
    )
    run_dir = train(cfg)
    logged = read_metrics(run_dir)[0]["loss"]
    set_seed(cfg.seed)  # as train does: the new speaker-tag embeddings start the same
    model, tok = load_base(str(tiny_model))
    split = json.loads((run_dir / "dataset.json").read_text())["split"]
    kept = [d for d in train_module.load_dialogues(cfg)[0] if d.id not in split["validation_ids"]]
    examples, _ = build_examples(kept, tok, FORMAT, cfg.block_size)
    total, count = loss_sums(model, examples, tok.pad_token_id, train_on == "persona", 64, "cpu")
    assert logged == pytest.approx(total / count, rel=1e-4)
    all_total, all_count = loss_sums(model, examples, tok.pad_token_id, False, 64, "cpu")
    assert (count < all_count) == (train_on == "persona")


def test_resuming_a_finished_run_keeps_its_best_weights(tmp_path, tiny_model):
    """The finished run folder holds the best weights (best/ is gone); if the resumed steps
    validate worse, the final model must still be those best weights."""
    import json as _json

    import torch
    from transformers import AutoModelForCausalLM

    from chatclone import rundir
    from chatclone.rundir import RunDir
    from chatclone.training.best import restore_best

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    run_dir = tmp_path / "run"
    model.save_pretrained(run_dir)
    (run_dir / rundir.BEST).write_text(_json.dumps({"best_step": 4, "saved_step": 4}))
    other = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    assert restore_best(other, RunDir(run_dir), 4)
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        assert torch.equal(a, b), name
    assert not restore_best(other, RunDir(run_dir), 5)
