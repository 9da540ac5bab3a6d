"""The FastAPI app of `chatclone serve`: OpenAI-style chat completions and the chat page
(with `/settings`, the sampling defaults its settings start from).

Requests are read and checked in `serving.schema`. Generation runs in worker threads, at most `concurrency` at a
time, with at most `queue` requests waiting; past that clients get 429 (queue full) or 503
(waited `queue_timeout`), never a hang. A slot is freed when its generation thread ends, and a
client that goes away cancels its generation at the next token.

A request's `model` picks the run that answers (`serving.runs`): the served run by default, or
another complete run of the runs folder, loaded on a worker thread while holding a slot.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from chatclone.inference.engine import Reply, ReplyEngine
from chatclone.serving.options import ServeConfig
from chatclone.serving.runs import Engines
from chatclone.serving.schema import (
    ApiError,
    check_auth,
    error_response,
    generation_config,
    history_of,
    read_request,
)
from chatclone.speaker_format import Turn

STATIC = files("chatclone.serving") / "static"


class Slots:
    """At most `size` generations at once and `queue` waiting; the rest are turned away."""

    def __init__(self, size: int, queue: int, timeout: float):
        self.size, self.queue, self.timeout = size, queue, timeout
        self.free = asyncio.Semaphore(size)
        self.waiting = 0
        self.running = 0

    async def acquire(self) -> None:
        if self.free.locked() and self.waiting >= self.queue:
            raise ApiError(
                429,
                f"too many requests: {self.running} generating and "
                f"{self.waiting} waiting; retry later",
                "rate_limit_exceeded",
                {"Retry-After": "1"},
            )
        self.waiting += 1
        try:
            await asyncio.wait_for(self.free.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise ApiError(
                503,
                f"server busy: no generation slot freed up within {self.timeout:g} s; retry later",
                "server_busy",
                {"Retry-After": "5"},
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self.free.release()


def create_app(engine: ReplyEngine, cfg: ServeConfig) -> FastAPI:
    app = FastAPI(title="chatclone", docs_url=None, redoc_url=None, openapi_url=None)
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="generate")
    state: dict = {}
    name = cfg.run_name
    engines = Engines(engine, cfg)
    app.state.engines = engines

    def slots() -> Slots:  # created lazily: its semaphore belongs to the server's event loop
        if "slots" not in state:
            state["slots"] = Slots(cfg.concurrency, cfg.queue, cfg.queue_timeout)
        return state["slots"]

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, e: ApiError) -> JSONResponse:
        return error_response(e)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(ApiError(400, str(e.errors()[0].get("msg", "invalid request"))))

    @app.get("/health")
    async def health() -> dict:
        s = slots()
        return {
            "status": "ok",
            "model": name,
            "auth": cfg.api_key is not None,
            "generating": s.running,
            "waiting": s.waiting,
        }

    @app.get("/settings")
    async def settings() -> dict:
        """What the chat page's settings start from: this server's defaults and limit (a reply
        length of None: the engine's own budget)."""
        most = cfg.max_new_tokens
        if most is None:
            most = getattr(engine, "max_new_tokens", None)
        return {
            "temperature": 0.0 if cfg.is_greedy else cfg.temperature,
            "max_tokens": None if most is None else min(most, cfg.max_tokens_limit),
            "max_tokens_limit": cfg.max_tokens_limit,
        }

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        check_auth(request, cfg.api_key)
        names = await asyncio.to_thread(engines.names)  # reads the runs folder
        return {
            "object": "list",
            "data": [
                {"id": n, "object": "model", "created": 0, "owned_by": "chatclone"} for n in names
            ],
        }

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        check_auth(request, cfg.api_key)
        req = await read_request(request, cfg)
        model = await asyncio.to_thread(engines.resolve, req.model)  # or 404
        history = history_of(req)
        generation_config(req, cfg)  # a bad request fails before it waits for a slot
        loop = asyncio.get_running_loop()
        await slots().acquire()
        try:  # a run not loaded yet loads here, on a worker, holding the slot
            chosen, options = await loop.run_in_executor(pool, engines.get, model)
            job = Job(chosen, history, generation_config(req, options), loop)
            job.future = loop.run_in_executor(pool, job.run)
        except BaseException:
            slots().release()
            raise
        job.future.add_done_callback(lambda _f: slots().release())
        if req.stream:
            return StreamingResponse(
                sse(job, model),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        reply = await job.wait(request)
        return completion_body(reply, model)

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    @app.get("/")
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    return app


class Job:
    """One generation on a worker thread; its text pieces reach the event loop via a queue."""

    def __init__(self, engine: ReplyEngine, history: list[Turn], cfg, loop):
        self.engine, self.history, self.cfg, self.loop = engine, history, cfg, loop
        self.cancel = threading.Event()
        self.pieces: asyncio.Queue = asyncio.Queue()
        self.future: asyncio.Future | None = None

    def run(self) -> Reply:
        try:
            return self.engine.generate(
                self.history, self.cfg, on_text=self._put, cancel=self.cancel
            )
        finally:
            self._put(None)

    def _put(self, piece: str | None) -> None:
        self.loop.call_soon_threadsafe(self.pieces.put_nowait, piece)

    async def wait(self, request: Request) -> Reply:
        """The reply; cancelled if the client disconnects while waiting."""
        while not self.future.done():
            await asyncio.wait({self.future}, timeout=0.25)
            if not self.future.done() and await request.is_disconnected():
                self.cancel.set()
        return self.future.result()


def completion_body(reply: Reply, model: str) -> dict:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.tokens,
            "total_tokens": reply.prompt_tokens + reply.tokens,
        },
    }


async def sse(job: Job, model: str):
    """Server-sent events as OpenAI streams them: role, content deltas, finish, [DONE]."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict, finish: str | None = None) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    try:
        yield event({"role": "assistant", "content": ""})
        while (piece := await job.pieces.get()) is not None:
            yield event({"content": piece})
        reply = await job.future
        yield event({}, reply.finish_reason)
        yield "data: [DONE]\n\n"
    finally:  # also runs when the client goes away mid-stream: stop generating for it
        job.cancel.set()
