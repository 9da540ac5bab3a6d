"""`chatclone serve` on loopback with a tiny run: the official `openai` client, auth, limits,
429/503 back-pressure, disconnects, a load test, and requests that name other runs."""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import torch
from conftest import copy_run

from chatclone.errors import ChatcloneError
from chatclone.inference.engine import ReplyEngine, load_engine
from chatclone.rundir import RunDir
from chatclone.sampling import LoadOptions
from chatclone.serving.serve import ServeConfig
from chatclone.speaker_format import OTHER, PERSONA, Turn

openai = pytest.importorskip("openai")
uvicorn = pytest.importorskip("uvicorn")
from chatclone.serving.openai_api import create_app  # noqa: E402  (needs the serve extra)

KEY = "test-key"
ASK = [{"role": "user", "content": "Do you like pizza?"}]


class Paced(torch.nn.Module):
    """The tiny model, slowed down per token (or held until `gate` opens), so that slots stay
    busy long enough to watch the queue fill up."""

    def __init__(self, model, delay: float = 0.0, gate: threading.Event | None = None):
        super().__init__()
        self.inner, self.config, self.delay, self.gate = model, model.config, delay, gate

    @property
    def device(self):
        return self.inner.device

    def forward(self, **kw):
        if self.gate is not None:
            self.gate.wait(30)
        time.sleep(self.delay)
        return self.inner(**kw)


@pytest.fixture(scope="module")
def tiny(tiny_model):
    from chatclone.training.models import load_base

    model, tokenizer = load_base(str(tiny_model))
    return model.eval(), tokenizer


@contextmanager
def serving(engine: ReplyEngine, **options):
    with tempfile.TemporaryDirectory() as empty:  # no other runs unless a test gives its own
        cfg = ServeConfig(**{"greedy": True, "max_new_tokens": 16, "runs_dir": empty, **options})
        with listening(create_app(engine, cfg)) as url:
            yield url


@contextmanager
def listening(app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def url(tiny):
    with serving(ReplyEngine(*tiny), api_key=KEY) as base:
        yield base


def test_openai_client_gets_a_completion_and_a_stream(url, tiny):
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY)
    [model] = client.models.list().data
    assert model.id == "run1"
    done = client.chat.completions.create(model="run1", messages=ASK, temperature=0)
    expected = ReplyEngine(*tiny).generate(
        [Turn(OTHER, "Do you like pizza?")], ServeConfig(greedy=True, max_new_tokens=16)
    )
    assert done.choices[0].message.content == expected.text
    assert done.choices[0].finish_reason == expected.finish_reason
    assert done.usage.completion_tokens == expected.tokens
    stream = client.chat.completions.create(model="run1", messages=ASK, temperature=0, stream=True)
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected.text
    assert chunks[-1].choices[0].finish_reason == expected.finish_reason


def test_roles_map_to_speakers_and_system_is_ignored(url, tiny):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hey!"},
        {"role": "user", "content": [{"type": "text", "text": "What did you do today?"}]},
    ]
    body = post(url, {"messages": messages, "temperature": 0, "max_tokens": 10}).json()
    history = [Turn(OTHER, "Hi"), Turn(PERSONA, "Hey!"), Turn(OTHER, "What did you do today?")]
    expected = ReplyEngine(*tiny).generate(history, ServeConfig(greedy=True, max_new_tokens=10))
    assert body["choices"][0]["message"]["content"] == expected.text
    assert body["usage"]["prompt_tokens"] == expected.prompt_tokens


def post(url: str, body: dict, key: str | None = KEY, **kw) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/chat/completions", json=body, headers=headers, timeout=30, **kw)


@pytest.mark.parametrize(
    "body, key, status, message",
    [
        (
            {"messages": ASK},
            None,
            401,
            "missing or wrong API key: send 'Authorization: Bearer KEY'",
        ),
        (
            {"messages": ASK},
            "wrong",
            401,
            "missing or wrong API key: send 'Authorization: Bearer KEY'",
        ),
        (
            {"messages": ASK, "max_tokens": 513},
            KEY,
            400,
            "max_tokens: 513 is above this server's limit of 512",
        ),
        (
            {"messages": []},
            KEY,
            400,
            "messages: List should have at least 1 item after validation, not 0",
        ),
        (
            {"messages": [{"role": "system", "content": "x"}]},
            KEY,
            400,
            "messages: no user or assistant message with text to reply to",
        ),
        (
            {"messages": ASK, "temperature": 5},
            KEY,
            400,
            "temperature: Input should be less than or equal to 2",
        ),
        ({"messages": ASK * 20000}, KEY, 413, "request body is larger than 262144 bytes"),
    ],
)
def test_bad_requests_get_an_openai_style_error(url, body, key, status, message):
    response = post(url, body, key)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_health_and_page_need_no_key(url):
    assert httpx.get(f"{url}/health").json() == {
        "status": "ok",
        "model": "run1",
        "auth": True,
        "generating": 0,
        "waiting": 0,
    }
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and '<script src="/static/chat.js">' in page.text
    assert "http" not in page.text.replace('lang="en"', "")  # no CDN: everything is served here
    assert httpx.get(f"{url}/static/chat.js").status_code == 200


def test_a_full_queue_gets_429_and_a_long_wait_503(tiny):
    gate = threading.Event()
    engine = ReplyEngine(Paced(tiny[0], gate=gate), tiny[1])
    with serving(engine, concurrency=1, queue=1, queue_timeout=1.0) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            pool = [
                threading.Thread(
                    target=lambda: results.append(
                        client.post("/v1/chat/completions", json={"messages": ASK})
                    )
                )
                for _ in range(2)
            ]
            results: list[httpx.Response] = []
            pool[0].start()
            wait_for(lambda: client.get("/health").json()["generating"] == 1)
            pool[1].start()
            wait_for(lambda: client.get("/health").json()["waiting"] == 1)
            third = client.post("/v1/chat/completions", json={"messages": ASK})
            assert third.status_code == 429 and third.headers["retry-after"] == "1"
            assert third.json()["error"]["message"] == (
                "too many requests: 1 generating and 1 waiting; retry later"
            )
            pool[1].join()  # waited 1 s for the slot held by the gated request
            assert results[0].status_code == 503
            assert results[0].json()["error"]["message"] == (
                "server busy: no generation slot freed up within 1 s; retry later"
            )
            gate.set()
            pool[0].join()
            assert results[1].status_code == 200


def test_a_client_that_disconnects_mid_stream_frees_its_slot(tiny):
    engine = ReplyEngine(Paced(tiny[0], delay=0.02), tiny[1])
    with serving(engine, concurrency=1, max_new_tokens=500, min_new_tokens=500) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            with client.stream(
                "POST", "/v1/chat/completions", json={"messages": ASK, "stream": True}
            ) as response:
                lines = response.iter_lines()
                assert next(lines).startswith("data: ")  # generation is under way (10 s total)
            started = time.perf_counter()
            wait_for(lambda: client.get("/health").json()["generating"] == 0)
            assert time.perf_counter() - started < 3


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        assert time.perf_counter() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.mark.slow
def test_load_50_clients_by_5_requests_get_complete_replies_or_clean_refusals(tiny):
    engine = ReplyEngine(*tiny)
    expected = engine.generate(
        [Turn(OTHER, "Do you like pizza?")], ServeConfig(greedy=True, max_new_tokens=16)
    ).text
    with serving(engine, concurrency=2, queue=16, queue_timeout=2.0) as base:
        started = time.perf_counter()
        outcomes = asyncio.run(load(base, clients=50, requests=5))
        elapsed = time.perf_counter() - started
    counts = {k: outcomes.count(k) for k in set(outcomes)}
    print(f"load: {len(outcomes)} requests in {elapsed:.1f} s: {counts}")
    assert len(outcomes) == 250 and elapsed < 60
    assert set(outcomes) <= {("ok", expected), ("refused", 429), ("refused", 503)}
    assert outcomes.count(("ok", expected)) >= 20


async def load(base: str, clients: int, requests: int) -> list[tuple]:
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:

        async def one_client(n: int) -> list[tuple]:
            return [await one_request(client, stream=(n + i) % 2 == 1) for i in range(requests)]

        batches = await asyncio.gather(*(one_client(n) for n in range(clients)))
    return [o for batch in batches for o in batch]


async def one_request(client: httpx.AsyncClient, stream: bool) -> tuple:
    body = {"messages": ASK, "temperature": 0, "stream": stream}
    async with client.stream("POST", "/v1/chat/completions", json=body) as response:
        raw = (await response.aread()).decode()
    if response.status_code in (429, 503):
        return ("refused", response.status_code) if json.loads(raw)["error"]["message"] else ()
    assert response.status_code == 200, raw
    if not stream:
        return ("ok", json.loads(raw)["choices"][0]["message"]["content"])
    events = [line[6:] for line in raw.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e)["choices"][0] for e in events[:-1]]
    assert chunks[-1]["finish_reason"] in ("stop", "length")
    return ("ok", "".join(c["delta"].get("content", "") for c in chunks))


def test_binding_beyond_loopback_needs_an_api_key():
    with pytest.raises(ChatcloneError) as e:
        ServeConfig(host="0.0.0.0")
    assert str(e.value) == (
        "refusing to listen on 0.0.0.0 without --api-key: anyone who can reach it could use the "
        "model. Pass --api-key KEY (clients then send 'Authorization: Bearer KEY') or keep the "
        "default --host 127.0.0.1"
    )
    assert ServeConfig(host="0.0.0.0", api_key="k").host == "0.0.0.0"


# -- requests that name another run of the runs folder ----------------------------------------


@pytest.fixture(scope="module")
def runs(tmp_path_factory, short_run) -> Path:
    """A runs folder: complete runs run1, run2, run3; an unfinished run; a folder that is not a
    run; and, beside the folder, a complete run `x` that `../x` would reach."""
    root = tmp_path_factory.mktemp("serve-runs")
    for name in ("run1", "run2", "run3"):
        copy_run(short_run, root / "runs", name)
    copy_run(short_run, root, "x")
    (root / "runs" / "unfinished").mkdir()
    (root / "runs" / "unfinished" / "chatclone.json").write_bytes(
        (short_run / "chatclone.json").read_bytes()
    )
    (root / "runs" / "notes").mkdir()
    return root / "runs"


@pytest.fixture
def loaded(monkeypatch) -> list[str]:
    """The runs the server loads, in order."""
    from chatclone.serving import runs as serving_runs

    names: list[str] = []

    def counting(run, load, base=False):
        names.append(run.name)
        return load_engine(run, load, base)

    monkeypatch.setattr(serving_runs, "load_engine", counting)
    return names


def test_models_lists_every_complete_run_and_model_picks_the_run_that_answers(tiny, runs, loaded):
    greedy = ServeConfig(greedy=True, max_new_tokens=16)
    history = [Turn(OTHER, "Do you like pizza?")]
    expected = {
        name: load_engine(RunDir(runs / name), LoadOptions()).generate(history, greedy).text
        for name in ("run1", "run2")
    }
    expected["run3"] = ReplyEngine(*tiny).generate(history, greedy).text  # the served engine
    with serving(ReplyEngine(*tiny), run_name="run3", runs_dir=str(runs), max_loaded=2) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="none")
        # The served run first, then the other complete runs; unfinished and other folders not.
        assert [m.id for m in client.models.list().data] == ["run3", "run1", "run2"]

        def ask(model: str | None) -> tuple[str, str]:
            body = post(url, {"messages": ASK, **({"model": model} if model else {})}).json()
            return body["model"], body["choices"][0]["message"]["content"]

        assert ask(None) == ("run3", expected["run3"])
        assert loaded == []  # the served run is never loaded again
        assert ask("run1") == ("run1", expected["run1"])
        stream = client.chat.completions.create(model="run1", messages=ASK, stream=True)
        chunks = list(stream)
        assert {c.model for c in chunks} == {"run1"}
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == expected["run1"]
        assert ask("run3") == ("run3", expected["run3"])
        assert loaded == ["run1"]  # loaded on first use, then cached
        # At most 2 engines at once, the served one included: run2 takes run1's place.
        assert ask("run2") == ("run2", expected["run2"])
        assert ask("run2") == ("run2", expected["run2"])
        assert ask("run1") == ("run1", expected["run1"])
        assert loaded == ["run1", "run2", "run1"]
        assert httpx.get(f"{url}/health").json()["model"] == "run3"


@pytest.mark.parametrize(
    "model", ["gpt-4o", "../x", "run1/../run2", "unfinished", "notes", "/etc", ".", ""]
)
def test_a_model_that_is_not_a_complete_run_gets_404_with_the_runs(tiny, runs, loaded, model):
    with serving(ReplyEngine(*tiny), run_name="run3", runs_dir=str(runs)) as url:
        response = post(url, {"model": model, "messages": ASK})
        if model == "":  # no model at all: the served run answers
            assert response.status_code == 200 and response.json()["model"] == "run3"
            return
        assert response.status_code == 404
        assert response.json()["error"] == {
            "message": f"model {model!r} is not a complete run of this server's runs folder; "
            "available: run3, run1, run2",
            "type": "invalid_request_error",
            "code": 404,
        }
    assert loaded == []


def test_a_request_for_another_run_waits_for_a_slot_like_any_other(tiny, runs, loaded):
    gate = threading.Event()
    engine = ReplyEngine(Paced(tiny[0], gate=gate), tiny[1])
    options = {"run_name": "run3", "runs_dir": str(runs), "concurrency": 1, "queue": 0}
    with serving(engine, **options) as base:
        with httpx.Client(base_url=base, timeout=30) as client:
            results: list[httpx.Response] = []
            first = threading.Thread(
                target=lambda: results.append(
                    client.post("/v1/chat/completions", json={"messages": ASK})
                )
            )
            first.start()
            wait_for(lambda: client.get("/health").json()["generating"] == 1)
            other = client.post("/v1/chat/completions", json={"model": "run1", "messages": ASK})
            assert other.status_code == 429  # refused before anything was loaded
            assert loaded == []
            gate.set()
            first.join()
            assert results[0].status_code == 200
            other = client.post("/v1/chat/completions", json={"model": "run1", "messages": ASK})
            assert other.status_code == 200 and other.json()["model"] == "run1"
            assert loaded == ["run1"]
