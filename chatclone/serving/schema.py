"""The requests of the OpenAI-style API: their schema, and how one becomes a conversation and
sampling options for the reply engine (or an `ApiError` with the status and the reason).

Roles map onto the speaker format: `user` -> the other side (`<speaker2>`), `assistant` -> the
persona (`<speaker1>`); `system`/`developer` messages are ignored (a persona model was never
trained to follow instructions). A user message's `name` says who speaks in a group chat: a run
trained with `--prompt-style named` sees it (`<speaker2> Name: text`; without one, the style's
default name), other runs ignore it.
"""

from __future__ import annotations

import json
import secrets
from typing import Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from chatclone.serving.options import ServeConfig
from chatclone.speaker_format import OTHER, PERSONA, Turn, clean_text

ROLES = {"user": OTHER, "assistant": PERSONA}
MAX_SEED = 2**63 - 1  # a signed 64-bit integer, as OpenAI clients send it (torch takes it)


class Message(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[dict] | None = None
    name: str | None = None

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

    @field_validator("seed", mode="before")
    @classmethod
    def _seed(cls, seed: object) -> object:
        # Checked here, not by torch in the middle of a reply: no 500, no stream cut short.
        if seed is not None and (type(seed) is not int or not 0 <= seed <= MAX_SEED):
            got = json.dumps(seed, default=str)[:40]
            raise PydanticCustomError(
                "seed", f"must be a whole number from 0 to {MAX_SEED} (got {{got}})", {"got": got}
            )
        return seed


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str = "invalid_request_error",
        headers: dict | None = None,
    ):
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, headers


def error_response(e: ApiError) -> JSONResponse:
    body = {"error": {"message": e.message, "type": e.kind, "code": e.status}}
    return JSONResponse(body, status_code=e.status, headers=e.headers)


def history_of(req: CompletionRequest) -> list[Turn]:
    turns = [
        Turn(
            ROLES[m.role],
            clean_text(m.text()),
            clean_text(m.name or "") if m.role == "user" else "",
        )
        for m in req.messages
        if m.role in ROLES
    ]
    turns = [t for t in turns if t.text]
    if not turns:
        raise ApiError(400, "messages: no user or assistant message with text to reply to")
    return turns


def generation_config(req: CompletionRequest, cfg: ServeConfig):
    limit = req.max_completion_tokens or req.max_tokens
    if limit is not None and limit > cfg.max_tokens_limit:
        raise ApiError(
            400, f"max_tokens: {limit} is above this server's limit of {cfg.max_tokens_limit}"
        )
    stop = [req.stop] if isinstance(req.stop, str) else list(req.stop or [])
    default = cfg.max_new_tokens  # None: the engine's budget, from the run (see `serve`)
    most = limit or (None if default is None else min(default, cfg.max_tokens_limit))
    changes: dict = {
        "stop": stop[:4],
        # Stateless: a request's seed seeds that request alone (each draws afresh from it).
        "seed": req.seed if req.seed is not None else cfg.seed,
        "max_new_tokens": most,
        "min_new_tokens": min(cfg.min_new_tokens, most or cfg.max_tokens_limit),
    }
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
        raise ApiError(
            401,
            "missing or wrong API key: send 'Authorization: Bearer KEY'",
            "authentication_error",
            {"WWW-Authenticate": "Bearer"},
        )
