"""One part of the GPU check (bench/gpu_check.sh runs every part in its own process, so one
failing part never stops the others). Models are built from the configs in bench/gpu_models/
with random weights (no download, no embedded model needed) and SmolLM2's tokenizer; the data
is a seeded synthetic chat export, so the check needs no optional package and no network.

    python bench/gpu_check.py --part env|train-135m|train-0.5b|reply|fsdp|ddp --out DIR [--tiny]

`--tiny` (or GPU_CHECK_DEVICE=cpu) shrinks every size so the whole check runs on a CPU in a
couple of minutes: a dry run that catches import and API errors before GPU time is spent.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MODELS = HERE / "gpu_models"
WORDS = (
    "hey hi ok yes no sure maybe tonight tomorrow work lunch film game park train late "
    "sorry thanks great cool what when where why how are you doing see call text later "
    "home dinner coffee weekend plan busy tired fun lol nice good bad really"
).split()


def stub_missing(*names: str) -> list[str]:
    """Modules chatclone imports for redaction, which this check turns off: stubbed if absent."""
    import importlib
    import types

    stubbed = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            module = types.ModuleType(name)  # what chatclone.data.pii reads on import
            module.PhoneNumberType = types.SimpleNamespace(MOBILE=1)
            module.NumberParseException = ValueError
            sys.modules[name] = module
            stubbed.append(name)
    return stubbed


def log(part: str, **figures) -> dict:
    print(f"[{part}] " + "  ".join(f"{k}={v}" for k, v in figures.items()), flush=True)
    return figures


def device(args) -> str:
    return "cpu" if args.tiny else "cuda"


def config_of(name: str, tiny: bool) -> dict:
    cfg = json.loads((MODELS / name).read_text())
    if tiny:  # same architecture, toy sizes
        heads = cfg["num_attention_heads"]
        cfg.update(num_hidden_layers=2, intermediate_size=128, hidden_size=16 * heads)
        cfg.pop("head_dim", None)
    return cfg


def model_dir(name: str, tiny: bool, root: Path) -> Path:
    """A save_pretrained folder: random weights (seed 0) from the config, SmolLM2's tokenizer."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    target = root / name.replace(".json", "")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(**config_of(name, tiny)))
    model.save_pretrained(target)
    AutoTokenizer.from_pretrained(str(MODELS / "smollm2-tokenizer")).save_pretrained(target)
    return target


def synthetic_export(path: Path, conversations: int) -> str:
    """A Chatistics export of chat-like conversations: 2-14 messages of 1-25 words."""
    rng = random.Random(0)
    records = []
    for c in range(conversations):
        for m in range(rng.randint(2, 14)):
            mine = m % 2 == 1
            text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 25)))
            records.append(
                {
                    "timestamp": 1.6e9 + c * 1e5 + m * 60,
                    "conversationId": f"c{c}",
                    "conversationWithName": "Sam",
                    "senderName": "Me" if mine else "Sam",
                    "outgoing": mine,
                    "text": text,
                    "language": "en",
                    "platform": "telegram",
                }
            )
    path.write_text(json.dumps(records))
    return str(path)


def part_env(args) -> dict:
    import transformers

    out = dict(torch=torch.__version__, transformers=transformers.__version__)
    try:
        import accelerate

        out["accelerate"] = accelerate.__version__
    except ImportError as e:
        out["accelerate"] = f"missing ({e})"
    dev = device(args)
    if dev == "cuda":
        out["gpu"] = torch.cuda.get_device_name(0)
        out["gpus"] = torch.cuda.device_count()
    from train_parts import matmul_peak

    dtype = torch.bfloat16 if dev == "cuda" else torch.float32
    out["matmul_peak_tflops"] = round(
        matmul_peak(dev, dtype, n=None if dev == "cuda" else 512) / 1e12, 3
    )
    n = (2**30 if dev == "cuda" else 2**26) // 2
    a = torch.empty(n, dtype=torch.bfloat16, device=dev)
    b = torch.empty_like(a)
    b.copy_(a)
    from train_parts import sync

    sync(dev)
    started = time.perf_counter()
    for _ in range(10):
        b.copy_(a)
    sync(dev)
    out["copy_bandwidth_gbs"] = round(2 * a.nbytes * 10 / (time.perf_counter() - started) / 1e9, 1)
    return log("env", **out)


def part_train(args, name: str) -> dict:
    """chatclone's loop against Trainer (default and group_by_length), bf16 on the GPU."""
    import train_throughput as tt
    from train_parts import flops_per_token, matmul_peak, profile_step

    from chatclone.quiet import quiet_libraries

    quiet_libraries()
    dev = device(args)
    stubbed = stub_missing("phonenumbers")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench = argparse.Namespace(
            model=str(model_dir(name, args.tiny, root)),
            subset=synthetic_export(root / "export.json", 24 if args.tiny else args.conversations),
            batch_size=4 if args.tiny else args.batch_size,
            block_size=256,
            lr=1e-4,
            device=dev,
            config={"redact": False},  # synthetic text: no name lookups (wordfreq may be missing)
        )
        cfg = tt.config(bench, root, "probe")
        model, tokenizer, examples, groups = tt.data_of(cfg)
        seq = sum(len(e.input_ids) for e in examples) / len(examples)
        flops = flops_per_token(model, seq)
        dtype = torch.bfloat16 if dev == "cuda" else torch.float32
        peak = matmul_peak(dev, dtype, n=None if dev == "cuda" else 512)
        out = dict(
            params_m=round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
            examples=len(examples),
            mean_tokens=round(seq, 1),
            batch=bench.batch_size,
            peak_tflops=round(peak / 1e12, 2),
            stubbed=stubbed,
        )
        from chatclone.training.packing import MicroBatches

        micro = MicroBatches(model, tokenizer.pad_token_id, False, cfg.block_size)
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=dev == "cuda"):
            parts = profile_step(model.to(dev), micro, examples, groups, dev)
        out["profile_ms"] = {k: round(v, 1) for k, v in parts.items()}
        del model, micro
        rates = {"chatclone": tt.chatclone_run(bench, root, "ours")}
        rates["chatclone_packed"] = tt.chatclone_run(bench, root, "packed", packed=True)
        for grouped in (False, True):
            key = "trainer_group_by_length" if grouped else "trainer_default"
            try:
                rates[key] = tt.trainer_run(bench, root, group_by_length=grouped)
            except Exception as e:  # noqa: BLE001 - report and go on with the other figures
                out[key + "_error"] = repr(e)[:300]
    for key, rate in rates.items():
        out[key + "_tokens_s"] = round(rate)
        out[key + "_mfu"] = round(rate * flops / peak, 4)
    for key in ("trainer_default", "trainer_group_by_length"):
        if key in rates:
            out["ratio_vs_" + key] = round(rates["chatclone"] / rates[key], 2)
            out["ratio_packed_vs_" + key] = round(rates["chatclone_packed"] / rates[key], 2)
    return log(name, **out)


def part_reply(args) -> dict:
    """Greedy reply speed of a random-init 135M: transformers' generate against the engine."""
    import reply_speed as rs

    from chatclone.inference.engine import ReplyEngine
    from chatclone.sampling import SamplingOptions
    from chatclone.training.models import load_base

    dev = device(args)
    stub_missing("phonenumbers")
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer = load_base(str(model_dir("smollm2-135m.json", args.tiny, Path(tmp))))
    model = model.to(dev).eval()
    engine = ReplyEngine(model, tokenizer)
    n = 16 if args.tiny else 64
    prompt = engine.prompt_ids(rs.HISTORY, SamplingOptions(max_new_tokens=n))
    out = dict(new_tokens=n, prompt_tokens=len(prompt))
    runs = {
        "generate_fp32": rs.generate_run(model, engine, prompt, n),
        "engine_fp32": rs.engine_run(engine, prompt, n),
    }
    if dev == "cuda":
        half = ReplyEngine(model.to(torch.bfloat16), tokenizer)
        runs["engine_bf16"] = rs.engine_run(half, prompt, n)
    for key, run in runs.items():
        rs.timed(run)  # warm-up
        tokens, speed, first, decode = rs.best_of(run, 2)
        out[key + "_tokens_s"] = round(speed, 1)
        out[key + "_ttft_ms"] = round(first * 1000, 1)
        out[key + "_decode_tokens_s"] = round(decode, 1)
        print(f"[reply] {key}: {speed:.1f} tokens/s, first token {first * 1000:.0f} ms", flush=True)
    return log("reply", **out)


def torchrun(nproc: int, *argv: str, timeout=150) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    cmd += ["--nproc_per_node", str(nproc), *argv]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def failure(done: subprocess.CompletedProcess) -> dict:
    """The worker's own traceback if there is one (torchrun's report of it comes after)."""
    text = done.stderr
    start = text.find("Traceback")
    return {"error": (text[start : start + 1500] if start >= 0 else text[-1500:]).strip()}


def fsdp_resume(nproc: int, dev: str, config: dict, root: Path) -> dict:
    """4 steps straight against 2 steps + checkpoint + a fresh resume for 2: identical?"""
    (root / "model").mkdir(parents=True)
    (root / "model" / "config.json").write_text(json.dumps(config))
    worker = str(HERE.parent / "tests" / "fsdp_worker.py")
    common = [worker, "--model", str(root / "model"), "--out", str(root), "--device", dev]
    for extra in (["--name", "full"], ["--name", "first", "--steps", "2", "--save-at", "2"]):
        done = torchrun(nproc, *common, "--steps", "4", *extra)
        if done.returncode:
            return failure(done)
    done = torchrun(nproc, *common, "--steps", "4", "--name", "resumed", "--resume")
    if done.returncode:
        return failure(done)
    full = torch.load(root / "weights-full.pt")
    resumed = torch.load(root / "weights-resumed.pt")
    same = full.keys() == resumed.keys() and all(torch.equal(full[k], resumed[k]) for k in full)
    losses = json.loads((root / "losses-full.json").read_text())
    return {"processes": nproc, "identical_weights": same, "losses": [round(x, 4) for x in losses]}


def part_fsdp(args) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:  # on a GPU machine only the GPU run: the CPU one is in the test suite
            tiny = config_of("smollm2-135m.json", True)
            out["cpu_gloo_2proc"] = fsdp_resume(2, "cpu", tiny, Path(tmp) / "cpu")
        else:
            config = config_of("smollm2-135m.json", False)
            out["cuda_nccl_1proc"] = fsdp_resume(1, "cuda", config, Path(tmp) / "cuda")
            out["cuda_nccl_2proc"] = (
                "not run: NCCL refuses two ranks on one GPU"
                if torch.cuda.device_count() < 2
                else fsdp_resume(2, "cuda", config, Path(tmp) / "cuda2")
            )
    return log("fsdp", **out)


def part_ddp(args) -> dict:
    """The suite's DDP loss-equivalence test (2 processes, gloo, CPU) on this machine."""
    try:
        import phonenumbers  # noqa: F401 - the test trains through the redacting data path
        import pytest  # noqa: F401
        import wordfreq  # noqa: F401
    except ImportError as e:
        return log("ddp", skipped=f"not run: {e} (a chatclone dependency the test needs)")
    test = "tests/test_distributed.py::test_two_processes_follow_one_process_with_the_doubled_batch"
    cmd = [sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider", "-x"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=170, cwd=HERE.parent)
    tail = done.stdout.strip().splitlines()[-1:] or [done.stderr[-300:]]
    return log("ddp", passed=done.returncode == 0, summary=tail[0], devices="cpu (gloo)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tiny", action="store_true")
    # Large batches: at 16 x 120 tokens a 135M step is bound by kernel launches, not the GPU.
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    args.tiny = args.tiny or os.environ.get("GPU_CHECK_DEVICE") == "cpu"
    parts = {
        "env": part_env,
        "train-135m": lambda a: part_train(a, "smollm2-135m.json"),
        "train-0.5b": lambda a: part_train(a, "qwen2-0.5b-shape.json"),
        "reply": part_reply,
        "fsdp": part_fsdp,
        "ddp": part_ddp,
    }
    started = time.perf_counter()
    result = parts[args.part](args)
    result["seconds"] = round(time.perf_counter() - started, 1)
    Path(args.out, f"part-{args.part}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
