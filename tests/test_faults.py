"""Runs that can always be continued: a run stopped before its first checkpoint, a final save cut
short, and file system faults each end in one `Error:` line (or a clean restart) that names the
fix. The kill -9 suite is in test_kill_points.py."""

import errno
import shlex

import pytest
import torch
from conftest import RESUME_RECIPE, Killed, copy_run, kill_at, tiny_options, weights

from chatclone import atomic, cli, rundir
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.training import finish
from chatclone.training.loop import train


def assert_same_weights(a_dir, b_dir) -> None:
    a, b = weights(a_dir), weights(b_dir)
    for name in a:
        assert torch.equal(a[name], b[name]), name


def resume(runs, name: str = "r") -> int:
    return cli.main(["train", "--runs-dir", str(runs), "--run-name", name, "--resume"])


def test_a_run_killed_before_its_first_checkpoint_restarts_from_step_0(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, capsys
):
    runs = tmp_path / "my runs"  # a space: the hint must stay one shell word
    cfg = tiny_options(runs, chatistics_file, tiny_gpt2, "r", **RESUME_RECIPE)
    with pytest.raises(Killed):
        train(cfg, on_step=kill_at(1))  # save_every is 2: no checkpoint yet
    capsys.readouterr()
    again = ["--data", str(chatistics_file), "--model", str(tiny_gpt2)]
    assert cli.main(["train", "--runs-dir", str(runs), "--run-name", "r", *again]) == 1
    assert capsys.readouterr().err == (
        f"Error: run 'r' in {runs} was stopped before its first checkpoint. Start it again "
        f"from step 0 with: chatclone train --run-name r --runs-dir {shlex.quote(str(runs))} "
        "--resume (or pass --overwrite to replace it, or choose another --run-name)\n"
    )
    assert resume(runs) == 0
    assert "has no checkpoint yet (it was stopped before its first one): starting it again " in (
        capsys.readouterr().err
    )
    assert_same_weights(uninterrupted_gpt2_run, runs / "r")


def test_a_kill_inside_the_final_save_leaves_no_model_and_resume_finishes_it(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, monkeypatch, capsys
):
    cfg = tiny_options(tmp_path / "runs", chatistics_file, tiny_gpt2, "r", **RESUME_RECIPE)
    real_replace, moved = finish.os.replace, []

    def replace_then_die(src, dst):
        if str(dst).startswith(str(cfg.run_dir / "model.safetensors")):
            raise Killed  # the weights are about to be moved in: the kill comes now
        moved.append(dst)
        return real_replace(src, dst)

    monkeypatch.setattr(finish.os, "replace", replace_then_die)
    with pytest.raises(Killed):
        train(cfg)
    monkeypatch.setattr(finish.os, "replace", real_replace)
    assert not (cfg.run_dir / "config.json").exists()
    capsys.readouterr()
    assert cli.main(["reply", "Hi", "--runs-dir", cfg.runs_dir, "--run-name", "r"]) == 1
    assert capsys.readouterr().err == (
        "Error: run 'r' has no final model yet (training did not finish). Finish it with: "
        "chatclone train --run-name r --resume\n"
    )
    assert resume(cfg.runs_dir) == 0
    assert_same_weights(uninterrupted_gpt2_run, cfg.run_dir)


@pytest.mark.parametrize("damage", ["truncate", "remove"])
def test_partial_final_weights_are_reported_with_the_command_that_repairs_them(
    tmp_path, short_run, capsys, damage
):
    run = copy_run(short_run, tmp_path / "runs")
    weights_file = run / "model.safetensors"
    if damage == "truncate":
        weights_file.write_bytes(weights_file.read_bytes()[:-1000])
    else:
        weights_file.unlink()
    assert RunDir(run).status() == rundir.UNFINISHED
    assert (
        cli.main(["reply", "Hi", "--runs-dir", str(tmp_path / "runs"), "--run-name", "run1"]) == 1
    )
    what = "cut short" if damage == "truncate" else "missing"
    assert capsys.readouterr().err == (
        f"Error: run 'run1' is incomplete: its final model is damaged (model.safetensors is "
        f"{what}). Run `chatclone train --run-name run1 --resume --runs-dir "
        f"{tmp_path / 'runs'}` to finish it\n"
    )


def full_disk(path, text, make_parents=True):
    raise OSError(errno.ENOSPC, "No space left on device", str(path))


def test_a_full_disk_is_one_error_line_and_the_run_stays_resumable(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run, monkeypatch, capsys
):
    cfg = tiny_options(tmp_path / "runs", chatistics_file, tiny_gpt2, "r", **RESUME_RECIPE)
    with pytest.raises(Killed):
        train(cfg, on_step=kill_at(3))
    real_write = atomic.write_text
    monkeypatch.setattr(atomic, "write_text", full_disk)
    capsys.readouterr()
    assert resume(cfg.runs_dir) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: the disk is full (") and err.count("\n") == 1
    assert err.endswith(
        f"then continue with: chatclone train --run-name r --runs-dir {cfg.runs_dir} --resume\n"
    )
    monkeypatch.setattr(atomic, "write_text", real_write)
    assert resume(cfg.runs_dir) == 0
    assert_same_weights(uninterrupted_gpt2_run, cfg.run_dir)


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid"), reason="POSIX permissions")
def test_a_read_only_runs_folder_is_one_error_line(tmp_path, chatistics_file, capsys):
    import os

    runs = tmp_path / "runs"
    runs.mkdir()
    runs.chmod(0o500)
    try:
        if os.access(runs, os.W_OK):
            pytest.skip("this user writes into read-only folders (root)")
        code = cli.main(["train", "--data", str(chatistics_file), "--runs-dir", str(runs)])
    finally:
        runs.chmod(0o700)
    assert code == 1
    assert capsys.readouterr().err.startswith(f"Error: cannot write to the runs folder {runs}")


def test_a_read_only_file_system_is_one_error_line(tmp_path, chatistics_file, monkeypatch, capsys):
    """As root ignores permissions, the read-only file system is simulated where the lock is
    created: the first write of a run."""
    import os

    real_open = os.open

    def read_only(path, *args, **kw):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args, **kw)

    monkeypatch.setattr(os, "open", read_only)
    code = cli.main(["train", "--data", str(chatistics_file), "--runs-dir", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"Error: cannot write to the runs folder {tmp_path} ({tmp_path / '.run1.lock'}): it is "
        "read-only or not yours. Pass --runs-dir with a folder you can write to\n"
    )


def test_runs_dir_through_a_file_is_one_error_line(tmp_path, chatistics_file, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    code = cli.main(["train", "--data", str(chatistics_file), "--runs-dir", str(afile / "sub")])
    assert code == 1
    assert capsys.readouterr().err == (
        f"Error: --runs-dir {afile / 'sub'} goes through a file ({afile}). Pass a folder for "
        "the runs, e.g. --runs-dir runs\n"
    )


@pytest.mark.parametrize("name", ["a\nb", "   ", "x" * 201, "a/b", "\t"])
def test_run_names_that_are_not_one_plain_folder_name_are_refused(tmp_path, name, capsys):
    code = cli.main(["runs", "--runs-dir", str(tmp_path)])  # a name-free command still works
    assert code == 0
    args = ["chat", "--run-name", name, "--runs-dir", str(tmp_path)]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"Error: invalid run name {name!r}: a run name is one folder name")
    assert err.count("\n") == 1 and "--run-name run1" in err


def test_the_longest_run_name_allowed_fits_its_lock_and_temporaries(tmp_path):
    from chatclone.training import guard

    name = "n" * rundir.NAME_BYTES
    assert rundir.check_run_name(name) == name
    run = RunDir(tmp_path / name)
    with guard.run_lock(run):
        run.path.mkdir()
        rundir.write_json(run.path.parent / f"{name}.json", {})  # its temporary is longer
    with pytest.raises(ChatcloneError, match="at most 200 bytes"):
        rundir.check_run_name(name + "n")
