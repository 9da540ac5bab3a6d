"""Data-parallel training on CPU: 2 processes (torchrun, gloo) against 1 process with the same
effective batch.

With `--batch-size 2` both runs make the same micro-batches and group 2 of them per optimizer
step: the 2-process run spreads each step's pair over the processes, the 1-process run
accumulates it (`--grad-accum 2`). The loss is token-weighted, so the two compute the same
sum; only the order of fp32 additions may differ (gloo's all-reduce against autograd's
accumulation), which moves a loss of ~5.7 by at most a few 1e-7 over 4 AdamW steps. A relative
tolerance of 1e-5 absorbs that and still fails on any real mistake: the same run with half the
batch differs by 4e-4 (relative) at step 1 and by ~1e-2 at step 3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("torch")

OPTIONS = [
    "--batch-size",
    "2",
    "--block-size",
    "48",
    "--max-steps",
    "4",
    "--save-every",
    "2",
    "--no-cache",
    "--no-report",
    "--no-tensorboard",
    "--lr",
    "1e-3",
]
TOLERANCE = 1e-5


def losses(run_dir) -> list[float]:
    return [
        json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]


def torchrun(args: list[str]) -> str:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "chatclone",
            "train",
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from conftest import chatistics_records

    path = tmp_path_factory.mktemp("ddp") / "export.json"
    path.write_text(json.dumps(chatistics_records(n_convs=6)))
    return path


def one_process(data, tiny_model, runs, name: str, *extra: str) -> list[float]:
    from chatclone.cli.main import main

    assert (
        main(
            [
                "train",
                "--data",
                str(data),
                "--model",
                str(tiny_model),
                "--runs-dir",
                str(runs),
                "--run-name",
                name,
                *OPTIONS,
                *extra,
            ]
        )
        == 0
    )
    return losses(runs / name)


@pytest.mark.slow
def test_two_processes_follow_one_process_with_the_doubled_batch(data, tiny_model, tmp_path):
    runs = tmp_path / "runs"
    out = torchrun(
        [
            "--data",
            str(data),
            "--model",
            str(tiny_model),
            "--runs-dir",
            str(runs),
            "--run-name",
            "ddp",
            *OPTIONS,
            "--keep-checkpoints",  # step-000002 stays, for the resume below
            "2",
        ]
    )
    assert "2 x 1 accumulation x 2 process(es) = 4 examples per step" in out
    ddp = losses(runs / "ddp")
    assert len(ddp) == 4  # one log line per step: only the main process writes
    single = one_process(data, tiny_model, runs, "accum", "--grad-accum", "2")
    assert ddp == pytest.approx(single, rel=TOLERANCE)
    half = one_process(data, tiny_model, runs, "half")
    # The tolerance tells batches apart: half the batch is off by far more than it allows.
    assert max(abs(h - d) / d for h, d in zip(half, ddp)) > 100 * TOLERANCE

    # Every process saved its RNG state; resuming from step 2 under 2 processes retraces steps 3-4.
    step2 = runs / "ddp" / "checkpoints" / "step-000002"
    assert sorted(p.name for p in step2.glob("random_states_*")) == [
        "random_states_0.pkl",
        "random_states_1.pkl",
    ]
    resumed = runs / "resumed"
    shutil.copytree(runs / "ddp", resumed)
    shutil.rmtree(resumed / "checkpoints" / "step-000004")
    (resumed / "checkpoints" / "latest").write_text("step-000002\n")
    lines = (resumed / "metrics.jsonl").read_text().splitlines()[:2]
    (resumed / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    torchrun(
        [
            "--data",
            str(data),
            "--model",
            str(tiny_model),
            "--runs-dir",
            str(runs),
            "--run-name",
            "resumed",
            "--resume",
            *OPTIONS,
        ]
    )
    assert losses(resumed) == pytest.approx(ddp, rel=TOLERANCE)


@pytest.mark.parametrize(
    "name,kind,processes",
    [("multi_gpu", "MULTI_GPU", 2), ("multi_node", "MULTI_GPU", 16), ("fsdp", "FSDP", 2)],
)
def test_accelerate_configs_parse(name, kind, processes):
    from pathlib import Path

    from accelerate.commands.config.config_args import load_config_from_file

    path = Path(__file__).resolve().parent.parent / "configs" / "accelerate" / f"{name}.yaml"
    config = load_config_from_file(str(path))
    assert (config.distributed_type.name, config.num_processes) == (kind, processes)
    if kind == "FSDP":
        assert config.fsdp_config["fsdp_version"] == 2


def fsdp_run(model_dir, out, *extra: str) -> None:
    worker = os.path.join(os.path.dirname(__file__), "fsdp_worker.py")
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
        + [worker, "--model", str(model_dir), "--out", str(out), "--steps", "4"]
        + list(extra),
        env=dict(os.environ, OMP_NUM_THREADS="1"),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "rank 0 holds 4800 of 9600 values" in done.stdout  # really sharded over 2


@pytest.mark.slow
def test_fsdp_on_cpu_saves_and_resumes_to_identical_weights(tiny_model, tmp_path):
    """FSDP2 over gloo, 2 processes: 4 steps straight against 2 steps, a checkpoint, and a
    fresh pair of processes resuming from it for 2 more; the weights must be bit-identical."""
    import torch

    fsdp_run(tiny_model, tmp_path, "--name", "full")
    fsdp_run(tiny_model, tmp_path, "--name", "first", "--steps", "2", "--save-at", "2")
    fsdp_run(tiny_model, tmp_path, "--name", "resumed", "--resume")
    full = torch.load(tmp_path / "weights-full.pt")
    first = torch.load(tmp_path / "weights-first.pt")
    resumed = torch.load(tmp_path / "weights-resumed.pt")
    assert full.keys() == resumed.keys()
    assert all(torch.equal(full[k], resumed[k]) for k in full)
    assert not all(torch.equal(full[k], first[k]) for k in full)  # steps 3-4 did change them
    losses = json.loads((tmp_path / "losses-full.json").read_text())
    assert json.loads((tmp_path / "losses-resumed.json").read_text()) == losses[2:]
