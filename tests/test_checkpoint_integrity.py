"""Checkpoints carry a sha256 manifest: a damaged one is found on resume and passed over, with a
warning, for the newest intact one; a damaged or empty `latest` pointer costs nothing."""

import json
import warnings

import pytest
import torch
from conftest import RESUME_RECIPE, Killed, kill_at, tiny_options, weights

from chatclone import cli
from chatclone.errors import ChatcloneError
from chatclone.training import checkpoint
from chatclone.training.loop import train


def fake_checkpoint(root, step: int):
    """A checkpoint folder as `save` leaves it, without training: the required files, a state
    and the manifest."""
    folder = root / "checkpoints" / checkpoint.step_name(step)
    folder.mkdir(parents=True)
    for name in checkpoint.REQUIRED:
        (folder / name).write_bytes(f"{name} of step {step}".encode() * 10)
    checkpoint.write_manifest(folder)
    return folder


def flip_a_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_flipped_byte_is_found_and_the_newest_intact_checkpoint_used(tmp_path):
    run = tmp_path / "r"
    older, newer = fake_checkpoint(run, 2), fake_checkpoint(run, 4)
    assert checkpoint.problem(newer) is None
    flip_a_byte(newer / "model.safetensors")
    assert checkpoint.problem(newer) == (
        "model.safetensors is damaged (its sha256 differs from manifest.json)"
    )
    with pytest.warns(UserWarning, match="step-000004 of run 'r' is damaged .* from step-000002"):
        assert checkpoint.resume_point(run, "r") == older


def test_no_intact_checkpoint_is_one_error_with_the_fix(tmp_path):
    run = tmp_path / "r"
    flip_a_byte(fake_checkpoint(run, 2) / "optimizer.bin")
    with pytest.raises(ChatcloneError) as err:
        checkpoint.resume_point(run, "r")
    assert str(err.value) == (
        "no checkpoint of run 'r' is intact (step-000002: optimizer.bin is damaged (its sha256 "
        f"differs from manifest.json)). Start it again from step 0: delete {run / 'checkpoints'} "
        f"and run `chatclone train --run-name r --runs-dir {tmp_path} --resume`"
    )


@pytest.mark.parametrize("pointer", ["", "\n", "step-999999\n", "garbage\x00\xff"])
def test_an_empty_or_wrong_latest_pointer_falls_back_to_the_step_folders(tmp_path, pointer):
    run = tmp_path / "r"
    fake_checkpoint(run, 2)
    newest = fake_checkpoint(run, 4)
    (run / "checkpoints" / "latest").write_text(pointer, errors="surrogateescape")
    assert checkpoint.latest_checkpoint(run) == newest
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert checkpoint.resume_point(run, "r") == newest


def test_every_file_of_a_saved_checkpoint_is_in_its_manifest(tmp_path, chatistics_file, tiny_gpt2):
    cfg = tiny_options(tmp_path / "runs", chatistics_file, tiny_gpt2, "r", **RESUME_RECIPE)
    with pytest.raises(Killed):
        train(cfg, on_step=kill_at(3))
    latest = checkpoint.latest_checkpoint(cfg.run_dir)
    listed = json.loads((latest / checkpoint.MANIFEST).read_text())["sha256"]
    on_disk = {
        str(p.relative_to(latest))
        for p in latest.rglob("*")
        if p.is_file() and p.name != checkpoint.MANIFEST
    }
    assert set(listed) == on_disk and {"model.safetensors", "optimizer.bin"} <= on_disk


def test_resume_passes_over_damaged_tensor_bytes_and_ends_bit_identical(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, capsys
):
    """The newest checkpoint's weights are damaged on disk: the resume warns, goes back to the
    one before, and still ends exactly where an uninterrupted run ends."""
    cfg = tiny_options(
        tmp_path / "runs", chatistics_file, tiny_gpt2, "r", keep_checkpoints=2, **RESUME_RECIPE
    )
    with pytest.raises(Killed):
        train(cfg, on_step=kill_at(5))
    latest = checkpoint.latest_checkpoint(cfg.run_dir)
    assert latest.name == "step-000004"
    flip_a_byte(latest / "model.safetensors")
    (cfg.run_dir / "checkpoints" / "latest").write_text("")
    runs = str(tmp_path / "runs")
    with pytest.warns(UserWarning, match="step-000004 .* is damaged .* from step-000002"):
        assert cli.main(["train", "--runs-dir", runs, "--run-name", "r", "--resume"]) == 0
    a, b = weights(uninterrupted_gpt2_run), weights(cfg.run_dir)
    for name in a:
        assert torch.equal(a[name], b[name]), name
