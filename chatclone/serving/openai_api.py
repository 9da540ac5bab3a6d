"""The FastAPI app of `chatclone serve`: OpenAI-style chat completions and the chat page.

Roles map onto the speaker format: `user` -> the other side (`<speaker2>`), `assistant` -> the
persona (`<speaker1>`); `system`/`developer` messages are ignored (a persona model was never
trained to follow instructions). Generation runs in worker threads, at most `concurrency` at a
time, with at most `queue` requests waiting; past that clients get 429 (queue full) or 503
(waited `queue_timeout`), never a hang. A slot is freed when its generation thread ends, and a
client that goes away cancels its generation at the next token.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.resources import files
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from chatclone.speaker_format import OTHER, PERSONA, Turn, clean_text
from chatclone.inference.engine import Reply, ReplyEngine
from chatclone.serving.options import ServeConfig

STATIC = files("chatclone.serving") / "static"
ROLES = {"user": OTHER, "assistant": PERSONA}


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):  # content parts: keep the text ones
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str | None = None
    messages: list[Message] = Field(min_length=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    stream: bool = False
    n: int = Field(1, ge=1, le=1)


class ApiError(Exception):
    def __init__(self, status: int, message: str, kind: str = "invalid_request_error",
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


def error_response(e: ApiError) -> JSONResponse:
    body = {"error": {"message": e.message, "type": e.kind, "code": e.status}}
    return JSONResponse(body, status_code=e.status, headers=e.headers)


class Slots:
    """At most `size` generations at once and `queue` waiting; the rest are turned away."""

    def __init__(self, size: int, queue: int, timeout: float):
        self.size, self.queue, self.timeout = size, queue, timeout
        self.free = asyncio.Semaphore(size)
        self.waiting = 0
        self.running = 0

    async def acquire(self) -> None:
        if self.free.locked() and self.waiting >= self.queue:
            raise ApiError(429, f"too many requests: {self.running} generating and "
                           f"{self.waiting} waiting; retry later", "rate_limit_exceeded",
                           {"Retry-After": "1"})
        self.waiting += 1
        try:
            await asyncio.wait_for(self.free.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise ApiError(503, f"server busy: no generation slot freed up within "
                           f"{self.timeout:g} s; retry later", "server_busy",
                           {"Retry-After": "5"}) from None
        finally:
            self.waiting -= 1
        self.running += 1

    def release(self) -> None:
        self.running -= 1
        self.free.release()


def history_of(req: CompletionRequest) -> list[Turn]:
    turns = [Turn(ROLES[m.role], clean_text(m.text())) for m in req.messages if m.role in ROLES]
    turns = [t for t in turns if t.text]
    if not turns:
        raise ApiError(400, "messages: no user or assistant message with text to reply to")
    return turns


def generation_config(req: CompletionRequest, cfg: ServeConfig):
    limit = req.max_completion_tokens or req.max_tokens
    if limit is not None and limit > cfg.max_tokens_limit:
        raise ApiError(400, f"max_tokens: {limit} is above this server's limit of "
                       f"{cfg.max_tokens_limit}")
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    changes: dict = {"stop": stop[:4], "seed": req.seed if req.seed is not None else cfg.seed,
                     "max_new_tokens": limit or min(cfg.max_new_tokens, cfg.max_tokens_limit)}
    changes["min_new_tokens"] = min(cfg.min_new_tokens, changes["max_new_tokens"])
    if req.temperature is not None:
        changes.update(temperature=req.temperature, greedy=req.temperature == 0)
    if req.top_p is not None:
        changes["top_p"] = req.top_p
    return cfg.replace(**changes)


async def read_request(request: Request, cfg: ServeConfig) -> CompletionRequest:
    body = bytearray()
    async for chunk in request.stream():  # counted as it arrives: no unbounded buffering
        body += chunk
        if len(body) > cfg.max_body_bytes:
            raise ApiError(413, f"request body is larger than {cfg.max_body_bytes} bytes")
    try:
        return CompletionRequest.model_validate_json(bytes(body))
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise ApiError(400, f"{where}: {first['msg']}") from None


def check_auth(request: Request, key: str | None) -> None:
    if key is None:
        return
    given = request.headers.get("authorization", "")
    if not secrets.compare_digest(given.encode(), f"Bearer {key}".encode()):
        raise ApiError(401, "missing or wrong API key: send 'Authorization: Bearer KEY'",
                       "authentication_error", {"WWW-Authenticate": "Bearer"})


def create_app(engine: ReplyEngine, cfg: ServeConfig) -> FastAPI:
    app = FastAPI(title="chatclone", docs_url=None, redoc_url=None, openapi_url=None)
    pool = ThreadPoolExecutor(max_workers=cfg.concurrency, thread_name_prefix="generate")
    state: dict = {}
    name = cfg.run_name

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
        return {"status": "ok", "model": name, "auth": cfg.api_key is not None,
                "generating": s.running, "waiting": s.waiting}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        check_auth(request, cfg.api_key)
        return {"object": "list", "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "chatclone"}]}

    @app.post("/v1/chat/completions")
    async def completions(request: Request):
        check_auth(request, cfg.api_key)
        req = await read_request(request, cfg)
        history, gen = history_of(req), generation_config(req, cfg)
        await slots().acquire()
        job = Job(engine, history, gen, asyncio.get_running_loop())
        job.future = asyncio.get_running_loop().run_in_executor(pool, job.run)
        job.future.add_done_callback(lambda _f: slots().release())
        if req.stream:
            return StreamingResponse(sse(job, name), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache"})
        reply = await job.wait(request)
        return completion_body(reply, name)

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
            return self.engine.generate(self.history, self.cfg, on_text=self._put,
                                        cancel=self.cancel)
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
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text},
                     "finish_reason": reply.finish_reason}],
        "usage": {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.tokens,
                  "total_tokens": reply.prompt_tokens + reply.tokens},
    }


async def sse(job: Job, model: str):
    """Server-sent events as OpenAI streams them: role, content deltas, finish, [DONE]."""
    base = {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}

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
