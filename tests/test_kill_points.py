"""kill -9 at every kind of point of a training run, saves included, then `--resume`: the final
weights are bit-identical to those of a run never interrupted.

A child process trains the tiny GPT-2 recipe of `uninterrupted_gpt2_run` with markers around
every write (`os.replace`, which every atomic write ends with), the checkpoint's `save_state`
and manifest, and each finished step. The child stops at the marker it was told to (so the kill
lands inside that window, e.g. between a checkpoint's files and its rename, or between the
final weights and the final config) and the test kills it with SIGKILL. The next child resumes
the same folder and is killed at another kind of point, and so on; the last one finishes.
"""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from conftest import RESUME_RECIPE, tiny_options, weights

from chatclone.rundir import RunDir

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    import accelerate
    import torch

    from chatclone.config import TrainConfig
    from chatclone.training import checkpoint, loop

    torch.set_num_threads(1)  # as the reference run: other threads, other rounding
    options, stop_kind, stop_skip = json.loads(sys.argv[1])
    seen = {}

    def mark(kind, what=""):
        print("@", kind, what, flush=True)
        seen[kind] = seen.get(kind, 0) + 1
        if kind == stop_kind and seen[kind] == stop_skip + 1:
            print("@ waiting", flush=True)
            time.sleep(600)  # inside the window: the test kills us here

    def kind_of(dst):
        name = Path(dst).name
        if name.startswith("step-"):
            return "rename"
        if name == "latest":
            return "latest"
        if Path(dst).parent.name != "checkpoints" and name == "model.safetensors":
            return "final_weights"
        if name == "config.json":
            return "final_config"
        return "write"

    real_replace = os.replace

    def replace(src, dst, *a, **k):
        mark(kind_of(dst), Path(dst).name)
        return real_replace(src, dst, *a, **k)

    os.replace = replace
    real_save_state = accelerate.Accelerator.save_state

    def save_state(self, *a, **k):
        mark("save_state")
        out = real_save_state(self, *a, **k)
        mark("saved_state")
        return out

    accelerate.Accelerator.save_state = save_state
    real_manifest = checkpoint.write_manifest

    def write_manifest(folder):
        mark("manifest")
        return real_manifest(folder)

    checkpoint.write_manifest = write_manifest
    loop.train(TrainConfig(**options), on_step=lambda step: mark("step", step))
    print("@ done", flush=True)
    """
)
KINDS = [
    "step",
    "save_state",
    "saved_state",
    "manifest",
    "rename",
    "latest",
    "write",
    "final_weights",
    "final_config",
]


def child(script, options: dict, kind: str | None, skip: int) -> bool:
    """Run one training process; kill it with SIGKILL at the `skip`+1-th marker of `kind`.
    True when it was killed, False when it finished."""
    proc = subprocess.Popen(
        [sys.executable, str(script), json.dumps([options, kind, skip])],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in proc.stdout:
        if line.startswith("@ waiting"):
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
    assert proc.wait() == 0
    return False


@pytest.mark.slow
def test_kill_9_anywhere_then_resume_ends_bit_identical(
    tmp_path, chatistics_file, tiny_gpt2, uninterrupted_gpt2_run
):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    rng = random.Random(7)
    plan = [(kind, rng.randrange(2) if kind in ("step", "write") else 0) for kind in KINDS]
    rng.shuffle(plan)
    reference = weights(uninterrupted_gpt2_run)
    survived, folder = [], 0
    while True:
        name = f"r{folder}"
        cfg = tiny_options(tmp_path / "runs", chatistics_file, tiny_gpt2, name, **RESUME_RECIPE)
        options = {**cfg.to_dict(), "resume": RunDir.of(cfg).is_run()}
        kind, skip = plan[0] if plan else (None, 0)
        if child(script, options, kind, skip):
            survived.append(f"{kind}#{skip + 1}")
            plan.pop(0)
            continue
        # Finished (before that point, if one was left): check it, go on in a new folder.
        result = weights(RunDir.of(cfg).path)
        for key in reference:
            assert torch.equal(reference[key], result[key]), (name, key, survived)
        folder += 1
        if not plan:
            break
    print(f"kills survived: {len(survived)} ({', '.join(survived)}) in {folder} runs")
    assert {k.split("#")[0] for k in survived} == set(KINDS)
