"""The FastAPI app of `chatclone serve`: OpenAI-style chat completions and the chat page
(with `/settings`, the sampling defaults its settings start from).

Every request first passes `serving.guard` (Host, Origin, Content-Type; security headers).
Requests are read and checked in `serving.schema`. Generation runs in worker threads, at most
`concurrency` at a time, with at most `queue` requests waiting (`serving.slots`, decided the
moment a request arrives); past that clients get 429 (queue full) or 503 (waited
`queue_timeout`), never a hang. A slot is freed when its generation thread ends, and a client
that goes away cancels its generation at the next token. A stream always ends with a finish
chunk and `[DONE]`, a failed generation included (finish_reason "error").

A request's `model` picks the run that answers (`serving.runs`): the served run by default, or
another complete run of the runs folder, loaded on a worker thread while holding a slot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles

from chatclone.inference.engine import Reply, ReplyEngine
from chatclone.serving.guard import Guard
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
from chatclone.serving.slots import Slots
from chatclone.speaker_format import Turn

STATIC = files("chatclone.serving") / "static"
log = logging.getLogger("chatclone.serve")


def create_app(engine: ReplyEngine, cfg: ServeConfig) -> FastAPI:
    app = FastAPI(title="chatclone", docs_url=None, redoc_url=None, openapi_url=None)
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="generate")
    state: dict = {}
    name = cfg.run_name
    engines = Engines(engine, cfg)
    app.state.engines = engines
    if cfg.allow_origin:  # the preflight and headers that let those pages read the replies
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[o.lower() for o in cfg.allow_origin],
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    app.add_middleware(Guard, cfg=cfg)  # added last: it runs first

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
        slots().admit()  # or 429, before any await: a burst cannot overfill the queue
        try:
            job, model, stream = await start(request)
        except BaseException:
            slots().leave()
            raise
        job.future.add_done_callback(lambda _f: slots().release())
        if stream:
            return StreamingResponse(
                sse(job, model),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        try:
            reply = await job.wait(request)
        except Exception as e:
            log.error("reply failed", exc_info=e)
            raise ApiError(500, f"the reply failed: {failure(e)}", "server_error") from None
        return completion_body(reply, model)

    async def start(request: Request) -> tuple[Job, str, bool]:
        """Read and check the request, wait for a slot, and start generating (admitted)."""
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
            slots().give_back_slot()  # the caller gives back the place
            raise
        return job, model, req.stream

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


def failure(e: BaseException) -> str:
    """What went wrong inside, in one line for the client (the traceback goes to the log)."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


async def sse(job: Job, model: str):
    """Server-sent events as OpenAI streams them: role, content deltas, finish, [DONE]. Every
    stream ends with a finish chunk and [DONE]; if generating fails, that chunk's
    finish_reason is "error" and it carries an OpenAI-style `error` object."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def event(delta: dict, finish: str | None = None, **extra) -> str:
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps({**chunk, **extra})}\n\n"

    try:
        yield event({"role": "assistant", "content": ""})
        try:
            while (piece := await job.pieces.get()) is not None:
                yield event({"content": piece})
            reply = await job.future
        except Exception as e:  # not a disconnect (that is a BaseException): say so and end
            log.error("reply failed", exc_info=e)
            error = {"message": f"the reply failed: {failure(e)}", "type": "server_error"}
            yield event({}, "error", error={**error, "code": 500})
        else:
            yield event({}, reply.finish_reason)
        yield "data: [DONE]\n\n"
    finally:  # also runs when the client goes away mid-stream: stop generating for it
        job.cancel.set()
