"""`chatclone runs`: the runs in `--runs-dir`, one line each (status, base model, steps, size
on disk, date); the run folder is read by `rundir.list_runs`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable

from chatclone.config import RunOptions
from chatclone.options import Options
from chatclone.rundir import format_runs, list_runs


class RunsConfig(Options):
    """`chatclone runs`: only `--runs-dir` (it lists every run, so no `--run-name`)."""

    groups = {"run": RunOptions}


def cmd_runs(ns: argparse.Namespace) -> int:
    runs_dir = Path(RunsConfig.from_namespace(ns).runs_dir)
    runs = list_runs(runs_dir)
    if runs:
        print(format_runs(runs))
    else:
        print(f"No runs in {runs_dir} yet. Train one with: chatclone train --data EXPORT")
    return 0


def register(command: Callable) -> None:
    p = command(
        "runs",
        cmd_runs,
        "list the runs in --runs-dir: status, base model, steps, size on disk, date",
    )
    RunsConfig.add_arguments(p, skip=("run_name",))
