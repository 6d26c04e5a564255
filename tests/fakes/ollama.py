"""A fake Ollama that speaks its OpenAI-compatible API on a loopback port (see EXTERNAL_APIS.md section 4.1).

It serves ``POST /v1/chat/completions`` (plain and ``stream: true`` server-sent events), ``GET /v1/models`` and
``GET /v1/models/{model}``, with Ollama's own response and error shapes: ``chatcmpl-<n>`` ids,
``system_fingerprint: fp_ollama``, ``{"error": {"message", "type", "param", "code"}}``, 404 ``model '<name>' not
found`` for an unknown model, 400 for empty messages.

What it answers is up to the test, per request, in this order:

1. the next scripted reply (``fake.script(...)``), consumed one per request;
2. ``fake.responder(request)``, a function of the recorded request (say, a moderation verdict chosen by the
   text it was asked about), when set;
3. ``fake.default``, a valid Canvas-DSL plan unless changed.

Tests drive it in-process::

    async with FakeOllama() as fake:
        fake.script(Reply.invalid_json(), Reply.plan())   # first answer broken, the repair answer valid
        fake.default = Reply.slow(5.0)                     # everything after that is late
        fake.responder = lambda request: Reply.text('{"decision": "allow"}')
        ... fake.requests[-1].messages ...                 # what the client sent

Run standalone with ``python -m tests.fakes.ollama --port 11434``: every chat completion answers a valid plan,
so a painter with ``PAINTER_OLLAMA_URL=http://127.0.0.1:11434`` plans through it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from .server import FakeServer

log = logging.getLogger(__name__)

DEFAULT_MODELS = ("llama3.2:latest",)

VALID_PLAN: dict[str, Any] = {
    "version": "1.0",
    "canvas": {"w": 96, "h": 96, "bg": "#87CEEB"},
    "caption": "A little house",
    "steps": [
        {
            "op": "rect",
            "x": 0,
            "y": 70,
            "w": 96,
            "h": 26,
            "fill": "#4CAF50",
            "animate": {"mode": "fill", "duration_ms": 400, "delay_ms": 0},
        },
        {
            "op": "rect",
            "x": 28,
            "y": 46,
            "w": 40,
            "h": 28,
            "fill": "#E8C07D",
            "outline": "#5D4037",
            "animate": {"mode": "stroke", "duration_ms": 600, "delay_ms": 300},
        },
        {
            "op": "polygon",
            "points": [[22, 48], [48, 24], [74, 48]],
            "fill": "#B23A2F",
            "animate": {"mode": "fill", "duration_ms": 500, "delay_ms": 800},
        },
        {
            "op": "rect",
            "x": 43,
            "y": 58,
            "w": 10,
            "h": 16,
            "fill": "#6D4C41",
            "animate": {"mode": "fill", "duration_ms": 300, "delay_ms": 1200},
        },
        {
            "op": "circle",
            "cx": 80,
            "cy": 16,
            "r": 8,
            "fill": "#FFD54F",
            "animate": {"mode": "pixel_reveal", "duration_ms": 500, "delay_ms": 1400},
        },
    ],
}
"""A small plan that satisfies every Canvas-DSL limit: what the fake answers unless told otherwise."""


def over_limit_plan(steps: int = 501) -> dict[str, Any]:
    """Valid JSON with valid steps, but more steps than a plan may have (Canvas-DSL ``MAX_STEPS`` is 500)."""
    return {
        "version": "1.0",
        "canvas": {"w": 96, "h": 96, "bg": "#000000"},
        "caption": "Too much",
        "steps": [
            {"op": "rect", "x": i % 96, "y": i // 96, "w": 1, "h": 1, "fill": "#FFFFFF"} for i in range(steps)
        ],
    }


@dataclass(frozen=True, slots=True)
class Reply:
    """One answer of the fake. ``content`` becomes the assistant message; ``body`` replaces the whole HTTP body."""

    status: int = 200
    content: str | None = None
    body: bytes | None = None
    delay: float = 0.0
    """Seconds before the answer starts (a slow model, or a timeout for a client with a shorter one)."""
    error: str | None = None
    """The message of an error answer (status >= 400), in Ollama's error shape."""
    finish_reason: str = "stop"
    content_type: str = "application/json"

    @classmethod
    def plan(cls, plan: Mapping[str, Any] | None = None, *, delay: float = 0.0) -> Reply:
        """A chat completion whose content is a Canvas-DSL plan (``VALID_PLAN`` by default)."""
        return cls(content=json.dumps(VALID_PLAN if plan is None else plan), delay=delay)

    @classmethod
    def text(cls, content: str, *, delay: float = 0.0) -> Reply:
        """A chat completion whose content is exactly ``content`` (JSON for a moderation verdict, say)."""
        return cls(content=content, delay=delay)

    @classmethod
    def invalid_json(cls) -> Reply:
        """A chat completion whose content is cut-off JSON."""
        return cls(content='{"version": "1.0", "canvas": {"w": 96, "h": 96}, "steps": [{"op": "rect", "x"')

    @classmethod
    def over_limit(cls) -> Reply:
        """A chat completion whose content is a plan with too many steps."""
        return cls(content=json.dumps(over_limit_plan()))

    @classmethod
    def garbage(cls) -> Reply:
        """HTTP 200 with a body that is not JSON at all (Draw Stream's worker died on exactly this)."""
        return cls(body=b"<html>\x00\xffnot json at all", content_type="text/html")

    @classmethod
    def slow(cls, seconds: float, then: Reply | None = None) -> Reply:
        """``then`` (a valid plan by default), after ``seconds``."""
        base = then or cls.plan()
        return cls(
            status=base.status,
            content=base.content,
            body=base.body,
            delay=seconds,
            error=base.error,
            finish_reason=base.finish_reason,
            content_type=base.content_type,
        )

    @classmethod
    def server_error(
        cls, status: int = 500, message: str = "the model failed to generate a response"
    ) -> Reply:
        return cls(status=status, error=message)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One request the fake received."""

    path: str
    body: Any
    headers: Mapping[str, str]
    received_at: float = field(default_factory=time.monotonic)

    @property
    def model(self) -> str | None:
        return self.body.get("model") if isinstance(self.body, dict) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict) and isinstance(self.body.get("messages"), list):
            return list(self.body["messages"])
        return []

    @property
    def last_user_message(self) -> str:
        for message in reversed(self.messages):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                return str(message["content"])
        return ""

    @property
    def response_format(self) -> Any:
        return self.body.get("response_format") if isinstance(self.body, dict) else None


Responder = Callable[[ChatRequest], Reply]


class FakeOllama(FakeServer):
    """The fake server and its controls. Start it with ``async with`` (or :meth:`start` / :meth:`stop`)."""

    name = "fake-ollama"

    def __init__(
        self,
        *,
        models: Sequence[str] = DEFAULT_MODELS,
        strict_models: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.models = list(models)
        self.strict_models = strict_models
        """Answer 404 for a model not in ``models``, as Ollama does for a model that was never pulled."""
        super().__init__(host, port)
        self.default: Reply = Reply.plan()
        self.responder: Responder | None = None
        self.requests: list[ChatRequest] = []
        """Every request to ``/v1/chat/completions``, in order."""
        self._script: deque[Reply] = deque()
        self._ids = itertools.count(1)
        self._stopping: asyncio.Event | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/v1/models/{model:path}", self._model, methods=["GET"]),
                Route("/api/tags", self._tags, methods=["GET"]),
            ]
        )

    # lifecycle

    @property
    def base_url(self) -> str:
        """Ollama's root, as a client is configured with it (``http://127.0.0.1:11434``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    async def _before_start(self) -> None:
        self._stopping = asyncio.Event()

    async def _before_stop(self) -> None:
        assert self._stopping is not None
        self._stopping.set()  # slow answers end now instead of holding the shutdown

    # controls

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, one each, before the responder and the default."""
        self._script.extend(replies)

    @property
    def scripted(self) -> int:
        """Scripted replies not used yet."""
        return len(self._script)

    def reset(self) -> None:
        self._script.clear()
        self.requests.clear()
        self.responder = None
        self.default = Reply.plan()

    # routes

    def _next_reply(self, request: ChatRequest) -> Reply:
        if self._script:
            return self._script.popleft()
        if self.responder is not None:
            return self.responder(request)
        return self.default

    async def _chat(self, http: Request) -> Response:
        raw = await http.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            return _error(400, "invalid character in request body")
        request = ChatRequest(path=http.url.path, body=body, headers=dict(http.headers))
        self.requests.append(request)
        if not isinstance(body, dict):
            return _error(400, "invalid request body")
        if not request.messages:
            return _error(400, "[] is too short - 'messages'")
        model = str(body.get("model") or "")
        if self.strict_models and model not in self.models and f"{model}:latest" not in self.models:
            return _error(404, f"model '{model}' not found")
        reply = self._next_reply(request)
        if reply.delay:
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), reply.delay)
        if reply.status >= 400:
            return _error(reply.status, reply.error or "error")
        if reply.body is not None:
            return Response(reply.body, status_code=reply.status, media_type=reply.content_type)
        completion_id = f"chatcmpl-{next(self._ids) % 999}"
        content = reply.content or ""
        if body.get("stream"):
            return StreamingResponse(
                self._stream(completion_id, model, content, reply.finish_reason),
                media_type="text/event-stream",
            )
        return JSONResponse(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_ollama",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": reply.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": sum(len(str(m.get("content", ""))) // 4 for m in request.messages),
                    "completion_tokens": len(content) // 4,
                    "total_tokens": 0,
                },
            },
            status_code=reply.status,
        )

    @staticmethod
    async def _stream(
        completion_id: str, model: str, content: str, finish_reason: str
    ) -> AsyncIterator[bytes]:
        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            body = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_ollama",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return f"data: {json.dumps(body)}\n\n".encode()

        for start in range(0, len(content), 64):
            yield chunk({"role": "assistant", "content": content[start : start + 64]}, None)
        yield chunk({"role": "assistant", "content": ""}, finish_reason)
        yield b"data: [DONE]\n\n"

    def _model_object(self, name: str) -> dict[str, Any]:
        namespace = name.split("/", 1)[0] if "/" in name else "library"
        return {"id": name, "object": "model", "created": 1_746_405_464, "owned_by": namespace}

    async def _models(self, _: Request) -> Response:
        return JSONResponse({"object": "list", "data": [self._model_object(name) for name in self.models]})

    async def _model(self, http: Request) -> Response:
        name = http.path_params["model"]
        if name not in self.models and f"{name}:latest" not in self.models:
            return _error(404, f"model '{name}' not found")
        return JSONResponse(self._model_object(name))

    async def _tags(self, _: Request) -> Response:
        return JSONResponse({"models": [{"name": name, "model": name} for name in self.models]})


def _error(status: int, message: str) -> Response:
    kind = {400: "invalid_request_error", 404: "not_found_error"}.get(status, "api_error")
    return JSONResponse({"error": {"message": message, "type": kind, "param": None, "code": None}}, status)


@contextlib.asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[FakeOllama]:
    """A started fake on a free loopback port, stopped afterwards (for a pytest fixture)."""
    fake = FakeOllama(**options)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def _serve_forever(port: int) -> None:
    async with FakeOllama(port=port, strict_models=False) as fake:
        print(f"Fake Ollama on {fake.base_url} (OpenAI-compatible API at {fake.openai_base_url})")
        print("every chat completion answers a small valid Canvas-DSL plan")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake Ollama on a loopback port")
    parser.add_argument("--port", type=int, default=11434)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(arguments.port))


if __name__ == "__main__":
    main()
