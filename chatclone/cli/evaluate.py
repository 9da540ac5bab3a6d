"""`chatclone eval` (score a run on its held-out conversations) and `chatclone report`."""

from __future__ import annotations

import argparse
from typing import Callable

from chatclone.evaluation.options import EvalConfig, ReportConfig
from chatclone.rundir import RunDir


def evaluate_and_report(cfg: EvalConfig) -> None:
    from chatclone.evaluation.evaluate import evaluate, format_result
    from chatclone.evaluation.report_html import write_report

    print(format_result(evaluate(cfg)))
    run = RunDir.of(cfg)
    print(f"Saved {run / 'eval.json'}; report: {write_report(run)}")


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
