"""`chatclone serve` under bursts and bad input: admission is all-or-nothing at arrival, a bad
`seed` is refused up front, every stream ends with a finish chunk and `[DONE]` (an internal
error included), and the torch thread count follows the cores and `--concurrency`."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
from test_serve import ASK, Paced, serving, wait_for

from chatclone.errors import ChatcloneError
from chatclone.inference.engine import ReplyEngine
from chatclone.serving.serve import ServeConfig

pytest.importorskip("uvicorn")


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    return model.eval(), tokenizer


def test_bursts_of_50_on_an_idle_server_admit_exactly_slots_plus_queue(tiny):
    """Every burst meets an idle server: `concurrency + queue` requests get in, the other 45
    get 429 at once (none waits out the queue timeout), and the admitted ones all finish."""
    gate = threading.Event()
    engine = ReplyEngine(Paced(tiny[0], gate=gate), tiny[1])
    body = {"messages": ASK, "max_tokens": 2}
    with serving(engine, concurrency=2, queue=3, queue_timeout=30.0) as base:

        async def one_burst() -> tuple[list[int], list[int]]:
            limits = httpx.Limits(max_connections=50)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
                sent = [
                    asyncio.create_task(client.post("/v1/chat/completions", json=body))
                    for _ in range(50)
                ]
                loop = asyncio.get_running_loop()
                end = loop.time() + 10
                while sum(t.done() for t in sent) < 45 and loop.time() < end:
                    await asyncio.sleep(0.05)
                # The refusals are back while the admitted requests are still held at the gate.
                early = [t.result().status_code for t in sent if t.done()]
                gate.set()
                late = [r.status_code for r in await asyncio.gather(*sent)]
                gate.clear()
            return early, late

        for _ in range(4):
            wait_for(lambda: httpx.get(f"{base}/health").json() == HEALTHY)
            early, late = asyncio.run(one_burst())
            assert early == [429] * 45
            assert sorted(late) == [200] * 5 + [429] * 45


HEALTHY = {"status": "ok", "model": "run1", "auth": False, "generating": 0, "waiting": 0}


class Breaks(Paced):
    """The tiny model, failing after `after` forward passes (an out-of-memory, say)."""

    def __init__(self, model, after: int):
        super().__init__(model)
        self.calls, self.after = 0, after

    def forward(self, **kw):
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError("simulated failure in the model")
        return super().forward(**kw)


def events_of(raw: str) -> list:
    data = [line[6:] for line in raw.split("\n\n") if line.startswith("data: ")]
    return [d if d == "[DONE]" else json.loads(d) for d in data]


def test_a_stream_whose_generation_fails_still_ends_with_an_error_chunk_and_done(tiny):
    engine = ReplyEngine(Breaks(tiny[0], after=3), tiny[1])
    with serving(engine, max_new_tokens=20, min_new_tokens=20) as base:
        body = {"messages": ASK, "stream": True}
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=30) as r:
            events = events_of(r.read().decode())
        assert r.status_code == 200 and events[-1] == "[DONE]"
        assert events[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
        last = events[-2]
        assert last["choices"][0]["finish_reason"] == "error"
        assert last["error"] == {
            "message": "the reply failed: RuntimeError: simulated failure in the model",
            "type": "server_error",
            "code": 500,
        }
        wait_for(lambda: httpx.get(f"{base}/health").json() == HEALTHY)  # slot and place freed
        # Not streamed: an OpenAI-style 500, not a bare "Internal Server Error".
        r = httpx.post(f"{base}/v1/chat/completions", json={"messages": ASK}, timeout=30)
        assert r.status_code == 500
        assert r.json()["error"]["message"] == (
            "the reply failed: RuntimeError: simulated failure in the model"
        )
        wait_for(lambda: httpx.get(f"{base}/health").json() == HEALTHY)


@pytest.fixture(scope="module")
def url(tiny):
    with serving(ReplyEngine(*tiny)) as base:
        yield base


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    "seed, shown",
    [
        (2**64, str(2**64)),
        (2**63, str(2**63)),
        (-1, "-1"),
        (1.5, "1.5"),
        ("7", '"7"'),
        (True, "true"),
    ],
)
def test_a_seed_out_of_range_or_not_a_whole_number_is_refused_up_front(url, seed, shown, stream):
    body = {"messages": ASK, "seed": seed, "temperature": 1, "stream": stream}
    r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        f"seed: must be a whole number from 0 to 9223372036854775807 (got {shown})"
    )


def test_the_largest_seed_streams_to_the_end(url):
    body = {"messages": ASK, "seed": 2**63 - 1, "temperature": 1, "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=30) as r:
        events = events_of(r.read().decode())
    assert r.status_code == 200 and events[-1] == "[DONE]"
    assert events[-2]["choices"][0]["finish_reason"] in ("stop", "length")


@pytest.mark.parametrize("key", ["", "   ", "\t"])
def test_a_blank_api_key_is_refused_at_start(key, capsys):
    from chatclone.cli.main import main

    assert main(["serve", "--api-key", key]) == 1
    err = capsys.readouterr().err
    assert err == (
        "Error: --api-key is blank: a key of spaces or nothing protects nothing. Pass a key of "
        "visible characters, or leave --api-key out on 127.0.0.1\n"
    )
    with pytest.raises(ChatcloneError):
        ServeConfig(api_key=key)


def test_serve_gives_each_reply_its_share_of_the_cores(tiny, tmp_path, monkeypatch, capsys):
    import torch
    import uvicorn

    from chatclone.inference import engine as engine_module
    from chatclone.serving import serve as serve_module

    monkeypatch.setattr(serve_module, "cores", lambda: 8)
    monkeypatch.setattr(serve_module, "check_port", lambda host, port: None)
    monkeypatch.setattr(engine_module, "load_engine", lambda *a, **kw: ReplyEngine(*tiny))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: None)
    before = torch.get_num_threads()
    try:
        for options, threads, why in [
            ({}, 8, "8 CPU cores / --concurrency 1"),
            ({"concurrency": 3}, 2, "8 CPU cores / --concurrency 3"),
            ({"concurrency": 16}, 1, "8 CPU cores / --concurrency 16"),
            ({"concurrency": 2, "threads": 3}, 3, "--threads"),
        ]:
            serve_module.serve(ServeConfig(runs_dir=str(tmp_path), **options))
            assert torch.get_num_threads() == threads
            assert capsys.readouterr().out.startswith(
                f"Generating with {threads} torch thread(s) per reply ({why}; "
                "change with --threads N)\n"
            )
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ChatcloneError, match=r"^--threads must be at least 1 \(got 0\)$"):
        ServeConfig(threads=0)
