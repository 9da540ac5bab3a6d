"""One training process per run: a lock file beside the run folder (PID and host), taken with
O_EXCL, released on every way out, and ignored when its process is gone."""

import json
import os
import socket
import subprocess
import sys

import pytest
from conftest import Killed, tiny_options

from chatclone import cli
from chatclone.errors import ChatcloneError
from chatclone.rundir import RunDir
from chatclone.training import guard
from chatclone.training.loop import train


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def options(tmp_path, chatistics_file, tiny_model, **kw):
    return tiny_options(
        tmp_path / "runs", chatistics_file, tiny_model, "r", **{"max_steps": 2, **kw}
    )


def test_a_second_train_on_a_locked_run_is_refused_naming_the_holder(
    tmp_path, chatistics_file, tiny_model, capsys
):
    run = RunDir(tmp_path / "runs" / "r")
    with guard.run_lock(run):
        lock = guard.lock_path(run)
        assert json.loads(lock.read_text()) == {"pid": os.getpid(), "host": socket.gethostname()}
        code = cli.main(
            [
                "train",
                "--data",
                str(chatistics_file),
                "--model",
                str(tiny_model),
                "--runs-dir",
                str(tmp_path / "runs"),
                "--run-name",
                "r",
            ]
        )
        assert code == 1
        assert capsys.readouterr().err == (
            f"Error: run 'r' is being trained by process {os.getpid()} on "
            f"{socket.gethostname()} (lock file {lock}). Wait for it to finish or stop it "
            f"(kill {os.getpid()}); if that process is gone, delete {lock}\n"
        )
        assert not run.path.exists()  # nothing of the refused run was written
    assert not lock.exists()


def test_a_lock_of_a_dead_process_does_not_block(tmp_path, chatistics_file, tiny_model):
    cfg = options(tmp_path, chatistics_file, tiny_model)
    lock = guard.lock_path(RunDir.of(cfg))
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname()}))
    train(cfg)
    assert RunDir.of(cfg).has_model() and not lock.exists()


def test_a_lock_held_on_another_host_blocks(tmp_path):
    run = RunDir(tmp_path / "r")
    guard.lock_path(run).write_text(json.dumps({"pid": 1, "host": "elsewhere"}))
    with pytest.raises(ChatcloneError, match="by process 1 on elsewhere"):
        with guard.run_lock(run):
            pass


@pytest.mark.parametrize("error", [Killed, KeyboardInterrupt])
def test_the_lock_is_released_on_an_error_and_on_ctrl_c(
    tmp_path, chatistics_file, tiny_model, error
):
    cfg = options(tmp_path, chatistics_file, tiny_model, max_steps=4)

    def stop(step: int) -> None:
        if step == 1:
            raise error

    with pytest.raises(error):
        train(cfg, on_step=stop)
    assert not guard.lock_path(RunDir.of(cfg)).exists()


def test_of_two_processes_racing_for_the_lock_exactly_one_wins(tmp_path):
    """O_EXCL: many processes start at once on the same run; one holds it, the rest are told."""
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from chatclone.errors import ChatcloneError\n"
        "from chatclone.rundir import RunDir\n"
        "from chatclone.training import guard\n"
        "try:\n"
        f"    with guard.run_lock(RunDir(Path({str(tmp_path / 'runs' / 'r')!r}))):\n"
        "        time.sleep(5)\n"
        "        print('won')\n"
        "except ChatcloneError as e:\n"
        "    print('refused', e)\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outs = [p.communicate(timeout=60)[0] for p in procs]
    assert sum(o.startswith("won") for o in outs) == 1, outs
    assert sum(o.startswith("refused run 'r' is being trained") for o in outs) == 3, outs


def test_runs_shows_a_run_being_trained_and_its_process(short_run, tmp_path, capsys):
    from conftest import copy_run

    run = RunDir(copy_run(short_run, tmp_path / "runs"))
    with guard.run_lock(run):
        assert cli.main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
        assert f"run1  being trained (pid {os.getpid()})" in capsys.readouterr().out
    assert cli.main(["runs", "--runs-dir", str(tmp_path / "runs")]) == 0
    assert "run1  complete" in capsys.readouterr().out
