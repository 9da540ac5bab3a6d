"""`chatclone eval` (score a run on its held-out conversations) and `chatclone report`."""

from __future__ import annotations

import argparse
import shlex
from typing import Callable

from chatclone.config import RunOptions
from chatclone.evaluation.options import EvalConfig, ReportConfig
from chatclone.options import Options
from chatclone.rundir import RunDir


def evaluate_and_report(cfg: EvalConfig) -> None:
    """`eval`, and what `train` ends with (`--quick` there): the table, eval.json, report.html;
    each slow phase shows its progress on stderr."""
    from chatclone.evaluation.evaluate import evaluate
    from chatclone.evaluation.progress import Progress
    from chatclone.evaluation.report_html import write_report
    from chatclone.evaluation.summary import format_result

    print(format_result(evaluate(cfg)), flush=True)
    run = RunDir.of(cfg)
    with Progress().phase("Writing report.html"):
        report = write_report(run)
    print(f"Saved {run / 'eval.json'}; report: {report}")


def full_eval_command(cfg: RunOptions | Options) -> str:
    """The command that evaluates the run of `cfg` in full (after train's quick evaluation)."""
    default = cfg.runs_dir == RunOptions.runs_dir
    runs_dir = "" if default else f" --runs-dir {shlex.quote(cfg.runs_dir)}"
    return f"chatclone eval --run-name {shlex.quote(cfg.run_name)}{runs_dir}"


def cmd_eval(ns: argparse.Namespace) -> int:
    evaluate_and_report(EvalConfig.from_namespace(ns))
    return 0


def cmd_report(ns: argparse.Namespace) -> int:
    from chatclone.evaluation.report_html import write_report

    run = RunDir.of(ReportConfig.from_namespace(ns)).require(model=False)
    print(f"Report: {write_report(run)}")
    return 0


def register(command: Callable) -> None:
    EvalConfig.add_arguments(
        command(
            "eval", cmd_eval, "score a run on its held-out conversations, next to its base model"
        )
    )
    ReportConfig.add_arguments(
        command("report", cmd_report, "rebuild a run's report.html from its folder")
    )
