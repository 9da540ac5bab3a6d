"""Reply speed: chatclone's reply path against plain `transformers` `generate`, same run.

The embedded SmolLM2-135M (speaker tokens added, as a run has them) answers the same prompt
with greedy decoding for exactly N new tokens (the end of the turn is banned, so every variant
does the same amount of work). Reported per variant: tokens/s over the whole reply (prefill
included), time to first token, and whether its tokens are identical to `generate`'s. The
baseline is `generate` in fp32; every ratio is against it, measured in the same process.

Variants: chatclone's engine in fp32 (what `chat`, `reply` and `serve` use), the same engine on
bf16 weights and on int8 dynamically quantised linear layers (with held-out perplexity
against fp32, since quantised tokens may differ), `generate` with a static cache, the engine
on the ONNX Runtime backend (`--backend onnx`) at float32, int8 and int4 if onnxruntime-genai
is installed, and llama.cpp on the same GGUF if `llama-cpp-python` is installed.

Decoding one token reads every weight of every matmul once, so its speed is bounded by memory
bandwidth. The bench measures this machine's bandwidth (a large numpy copy, read + write) and
reports, per variant, the share of that limit it reaches: bytes of weights read per token x
decoded tokens per second (after the first token) / bandwidth.

    python bench/reply_speed.py [--quick] [--tokens 48] [--repeats 3] [--threads N] [--skip int8,bf16]
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from chatclone.inference.engine import ReplyEngine
from chatclone.inference.onnx_backend import installed
from chatclone.sampling import SamplingOptions
from chatclone.speaker_format import FORMAT, OTHER, PERSONA, Turn

HISTORY = [
    Turn(OTHER, "Hi! How was your weekend?"),
    Turn(PERSONA, "Pretty good, went hiking."),
    Turn(OTHER, "Nice, where did you go and what did you see up there?"),
]
HELD_OUT = [  # text for the perplexity check of quantised variants
    [Turn(OTHER, "What are you doing tonight?"), Turn(PERSONA, "Probably cooking, then a film.")],
    [Turn(OTHER, "Did you see the match yesterday?"), Turn(PERSONA, "Only the second half.")],
    [
        Turn(OTHER, "Can you send me the photos from the trip?"),
        Turn(PERSONA, "Sure, I will upload them tomorrow morning."),
    ],
    [
        Turn(OTHER, "How is the new job going?"),
        Turn(PERSONA, "Busy, but the people are nice."),
        Turn(OTHER, "Glad to hear that."),
        Turn(PERSONA, "Thanks! Let's meet next week."),
    ],
]


def memory_bandwidth(megabytes: int = 512, repeats: int = 5) -> float:
    """Bytes/s of a large array copy (each byte read once and written once), the best of N."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - started)
    return 2 * src.nbytes / best


def weight_bytes(model) -> int:
    """Bytes of the matmul weights one decoded token reads: every 2-D weight but the input
    embeddings (a lookup of one row; an output layer tied to them is counted as the layer)."""
    total = 0
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            continue
        weight = getattr(module, "weight", None)
        weight = weight() if callable(weight) else weight  # quantised layers: a method
        if isinstance(weight, torch.Tensor) and weight.dim() >= 2:
            total += weight.numel() * weight.element_size()
    return total


def timed(run) -> tuple[list[int], float, float, float]:
    """Run `run(on_token)`; returns (tokens, tokens/s, seconds to first token, decoded
    tokens/s after the first)."""
    stamps: list[float] = []
    started = time.perf_counter()
    tokens = run(lambda: stamps.append(time.perf_counter()))
    decode = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else math.nan
    return tokens, len(tokens) / (time.perf_counter() - started), stamps[0] - started, decode


def engine_run(engine: ReplyEngine, prompt: list[int], n: int):
    # The loop guard is off: `generate` has none, and the comparison is of the same decoding.
    cfg = SamplingOptions(greedy=True, max_new_tokens=n, min_new_tokens=n, loop_guard=0)

    def run(mark):
        out = []
        for token in engine.tokens(prompt, cfg):
            mark()
            out.append(token)
        return out

    return run


def generate_run(model, engine: ReplyEngine, prompt: list[int], n: int, **kw):
    from transformers.generation.streamers import BaseStreamer

    class Marks(BaseStreamer):
        def __init__(self, mark):
            self.mark, self.calls = mark, 0

        def put(self, value):
            self.calls += 1
            if self.calls > 1:  # the first call is the prompt
                self.mark()

        def end(self):
            pass

    ids = torch.tensor([prompt], device=model.device)

    def run(mark):
        out = model.generate(
            ids,
            max_new_tokens=n,
            min_new_tokens=n,
            do_sample=False,
            eos_token_id=sorted(engine.stop_ids),
            streamer=Marks(mark),
            suppress_tokens=engine.newline_ids(),
            pad_token_id=0,
            **kw,
        )
        return out[0, len(prompt) :].tolist()

    return run


def llama_cpp_run(prompt_text: str, n: int, threads: int):
    from llama_cpp import Llama

    from chatclone.training.models import embedded_gguf

    llm = Llama(model_path=str(embedded_gguf()), n_threads=threads, verbose=False, n_ctx=1024)

    def run(mark):
        out = []
        for piece in llm.create_completion(prompt_text, max_tokens=n, temperature=0, stream=True):
            mark()
            out.append(piece)
        return out

    return run


def llama_cpp_export_run(model, tokenizer, folder, prompt: list[int], n: int, threads: int):
    """llama.cpp on this model exported by chatclone (`export --to gguf --quant q8_0`), fed the
    same prompt token ids: the like-for-like anchor for the int8 backend."""
    from llama_cpp import Llama

    from chatclone.exporting.export import chat_template
    from chatclone.exporting.gguf import write_gguf

    path = write_gguf(model, tokenizer, folder / "bench-q8_0.gguf", "q8_0", chat_template(), "b")
    llm = Llama(model_path=str(path), n_threads=threads, verbose=False, n_ctx=1024)

    def run(mark):
        out = []
        llm.reset()
        for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
            mark()
            out.append(token)
            if len(out) == n:
                break
        return out

    return run, path.stat().st_size


def gguf_bytes() -> int:
    """Size of the GGUF file: its quantised weights are what llama.cpp reads per token."""
    from chatclone.training.models import embedded_gguf

    return embedded_gguf().stat().st_size


def perplexity(model, tokenizer) -> float:
    loss, count = 0.0, 0
    with torch.inference_mode():
        for turns in HELD_OUT:
            ids = torch.tensor([[i for t in turns for i in FORMAT.encode_turn(tokenizer, t)]])
            n = ids.shape[1] - 1
            loss += float(model(input_ids=ids, labels=ids).loss) * n
            count += n
    return math.exp(loss / count)


def onnx_perplexity(decoder, tokenizer) -> float:
    """Held-out perplexity through an ONNX decoder, token by token (its runs give the last
    position's logits only)."""
    loss, count = 0.0, 0
    for turns in HELD_OUT:
        ids = [i for t in turns for i in FORMAT.encode_turn(tokenizer, t)]
        run = decoder.begin(ids[:1], len(ids) + 1)
        for token in ids[1:]:
            loss -= float(torch.log_softmax(run.logits().float(), -1)[0, token])
            run.push(token)
            count += 1
    return math.exp(loss / count)


def onnx_variants(model, tokenizer, folder, threads: int, skip: set[str]) -> dict:
    """name -> (decoder, bytes of weights read per token) for each ONNX precision."""
    from chatclone.inference.onnx_backend import OnnxDecoder, build

    out = {}
    for weights in ("float32", "int8", "int4"):
        if f"onnx-{weights}" in skip:
            continue
        path = build(model, tokenizer, folder / weights, weights)
        out[f"chatclone onnx {weights}"] = (OnnxDecoder(path, threads), onnx_bytes(path))
    return out


def onnx_bytes(folder) -> int:
    """Bytes of an ONNX model's weights one token reads: every initializer but the input
    embeddings (a lookup of one row), as for `weight_bytes`."""
    import onnx
    from onnx import helper

    graph = onnx.load(str(folder / "model.onnx"), load_external_data=False).graph
    return sum(
        math.prod(t.dims) * helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        for t in graph.initializer
        if "embed_tokens" not in t.name
    )


def best_of(run, repeats: int) -> tuple[list[int], float, float, float]:
    results = [timed(run) for _ in range(repeats)]
    return (
        results[0][0],
        max(r[1] for r in results),
        statistics.median(r[2] for r in results),
        max(r[3] for r in results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--skip", default="", help="comma-separated variants to leave out")
    parser.add_argument("--quick", action="store_true", help="24 tokens, best of 2")
    args = parser.parse_args()
    if args.quick:
        args.tokens, args.repeats = 24, 2
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from chatclone.quiet import quiet_libraries
    from chatclone.training.models import load_base

    quiet_libraries()
    model, tokenizer = load_base("embedded")
    model.eval()
    engine = ReplyEngine(model, tokenizer)
    prompt = engine.prompt_ids(HISTORY, SamplingOptions(max_new_tokens=args.tokens))
    n, skip = args.tokens, set(args.skip.split(","))
    variants = {"generate fp32 (baseline)": lambda: generate_run(model, engine, prompt, n)}
    variants["chatclone fp32"] = lambda: engine_run(engine, prompt, n)
    if "static" not in skip:
        variants["generate fp32, static cache"] = lambda: generate_run(
            model, engine, prompt, n, cache_implementation="static"
        )
    quantised = {}
    if "bf16" not in skip:
        quantised["chatclone bf16"] = copy.deepcopy(model).to(torch.bfloat16)
    if "int8" not in skip:
        from torch.ao.quantization import quantize_dynamic

        quantised["chatclone int8 dynamic"] = quantize_dynamic(
            copy.deepcopy(model), {torch.nn.Linear}, dtype=torch.qint8
        )
    for name, m in quantised.items():
        variants[name] = lambda m=m: engine_run(ReplyEngine(m, tokenizer), prompt, n)
    onnx, tmp, gguf_sizes = {}, tempfile.TemporaryDirectory(), {"llama.cpp Q4_1 GGUF": 0}
    if installed() and "onnx" not in skip:
        onnx = onnx_variants(model, tokenizer, Path(tmp.name), args.threads, skip)
    elif "onnx" not in skip:
        print("onnx backend: not installed (pip install 'chatclone[fast]')")
    for name, (decoder, _) in onnx.items():
        variants[name] = lambda d=decoder: engine_run(
            ReplyEngine(model, tokenizer, decoder=d), prompt, n
        )
    try:
        import llama_cpp  # noqa: F401

        text = tokenizer.decode(prompt)
        variants["llama.cpp Q4_1 GGUF"] = lambda: llama_cpp_run(text, n, args.threads)
        if "llama-q8" not in skip:
            run, size = llama_cpp_export_run(
                model, tokenizer, Path(tmp.name), prompt, n, args.threads
            )
            variants["llama.cpp q8_0 (our export)"] = lambda: run
            gguf_sizes["llama.cpp q8_0 (our export)"] = size
    except ImportError:
        print("llama.cpp: not installed (pip install llama-cpp-python)")

    load = os.getloadavg()
    bandwidth = memory_bandwidth()
    print(
        f"{n} new tokens, prompt {len(prompt)} tokens, {args.threads} threads, "
        f"best of {args.repeats}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"measured memory bandwidth (numpy copy, read + write): {bandwidth / 1e9:.1f} GB/s")
    base_ppl = perplexity(model, tokenizer)
    sizes = {name: weight_bytes(m) for name, m in quantised.items()}
    gguf_sizes["llama.cpp Q4_1 GGUF"] = gguf_bytes()
    sizes.update(gguf_sizes)  # GGUF files: the token embeddings included (an upper bound)
    rows, reference, base = [], None, None
    for name, make in variants.items():
        run = make()
        timed(run)  # warm-up
        tokens, speed, first, decode = best_of(run, args.repeats)
        reference = reference or tokens
        base = base or (speed, first)
        same = "yes" if tokens == reference else ("n/a" if "Q4_1" in name else "no")
        ppl = ""
        if name in quantised:
            ppl = f"{perplexity(quantised[name], tokenizer) / base_ppl - 1:+.1%}"
        if name in onnx:
            ppl = f"{onnx_perplexity(onnx[name][0], tokenizer) / base_ppl - 1:+.1%}"
            sizes[name] = onnx[name][1]
        size = sizes.get(name) or weight_bytes(model)
        share = size * decode / bandwidth
        rows.append((name, speed, speed / base[0], first * 1000, base[1] / first, same, ppl))
        rows[-1] += (size / 1e6, decode, share)
    print(
        f"{'variant':30} {'tok/s':>7} {'x base':>7} {'TTFT ms':>8} {'x base':>7} "
        f"{'same tokens':>11} {'ppl vs fp32':>11} {'MB/token':>8} {'decode/s':>8} "
        f"{'of bandwidth':>12}"
    )
    for name, speed, ratio, first, fratio, same, ppl, mb, decode, share in rows:
        print(
            f"{name:30} {speed:7.1f} {ratio:7.2f} {first:8.0f} {fratio:7.2f} {same:>11} "
            f"{ppl:>11} {mb:8.0f} {decode:8.1f} {share:12.0%}"
        )
    for llama in [r for r in rows if "llama" in r[0]]:
        print(f"against {llama[0]}: ", end="")
        print(", ".join(f"{r[0]} {r[1] / llama[1]:.2f}x" for r in rows if "onnx" in r[0]))
    tmp.cleanup()


if __name__ == "__main__":
    main()
