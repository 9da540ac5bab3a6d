"""`chatclone train`, then (unless `--no-report`) `eval` and the report on the new run."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from chatclone.config import RunOptions, TrainConfig
from chatclone.rundir import RunDir
from chatclone.training.private import check_resume_data


def given_options(argv: list[str]) -> dict:
    """The train options written on the command line (not their defaults)."""
    parser = argparse.ArgumentParser(add_help=False)
    TrainConfig.add_arguments(parser, only_given=True)
    given, _ = parser.parse_known_args(argv)
    return vars(given)


def train_config(given: dict) -> TrainConfig:
    """The options of this run from those `given`: with `resume`, the ones saved in the run
    folder with the given ones on top (a changed fixed option is refused later, by name)."""
    defaults = RunOptions()
    run_options = RunOptions(
        given.get("run_name", defaults.run_name), given.get("runs_dir", defaults.runs_dir)
    )
    run = RunDir.of(run_options)
    if given.get("resume") and run.is_run():
        cfg = run.resume_config(given)
        check_resume_data(run, cfg, given)
        return cfg
    return TrainConfig(**given)


def train_options(ns: argparse.Namespace) -> TrainConfig:
    """`train_config` of the options written on the command line (defaults for the rest)."""
    if ns.resume:
        return train_config({**given_options(getattr(ns, "argv", [])), "resume": True})
    return TrainConfig.from_namespace(ns)


def cmd_train(ns: argparse.Namespace) -> int:
    from chatclone.cli.evaluate import evaluate_and_report, full_eval_command
    from chatclone.training.loop import train

    cfg = train_options(ns)
    train(cfg)
    if cfg.report:
        print(
            "Next: a quick evaluation against the base model and report.html (skip it with "
            f"--no-report; for the full one: {full_eval_command(cfg)}).",
            file=sys.stderr,
            flush=True,
        )
        from chatclone.evaluation.options import EvalConfig

        evaluate_and_report(
            EvalConfig(run_name=cfg.run_name, runs_dir=cfg.runs_dir, device=cfg.device, quick=True)
        )
    return 0


def register(command: Callable) -> None:
    p = command("train", cmd_train, "fine-tune a model on a chat export (runs/<name>/)")
    TrainConfig.add_arguments(p)
