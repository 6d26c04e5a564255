"""A fake Boson AI (hackathon endpoint, OpenAI-compatible) on a loopback port (see EXTERNAL_APIS.md section 3).

It serves, under ``/v1``:

- ``POST /chat/completions`` with an audio generation model (``higgs-audio-generation-Hackathon``): the voice-cloning
  request Boson documents is checked (``modalities`` with ``audio``; a user turn with the reference transcript, an
  assistant turn with an ``input_audio`` base64 WAV, the text to speak as the last user turn; an optional system
  prompt with ``<|scene_desc_start|>``); the answer carries a real WAV (a tone as long as the text, or espeak-ng
  speech) in ``choices[0].message.audio.data``, with ``id``, ``expires_at`` and ``transcript`` beside it;
- ``POST /chat/completions`` with a Qwen3 model: text in ``choices[0].message.content``, starting with a
  ``<think>...</think>`` block as Qwen3 models write it;
- ``POST /audio/speech``: raw 16-bit 24 kHz mono PCM (``response_format: "pcm"`` only, as the tutorial says);
- ``GET /models``.

Bearer keys are checked (401 for an unknown key, OpenAI's error shape). Tests drive it in-process::

    async with FakeBoson(keys=("bai-a", "bai-b")) as fake:
        fake.rate_limited.add("bai-a")        # bai-a answers 429 (with Retry-After when retry_after is set)
        fake.quota_spent.add("bai-b")         # bai-b answers 429 insufficient_quota
        fake.latency = 0.2                    # every answer waits 0.2 s (a slow Boson, or a client timeout)
        fake.fail_next(503, times=2)          # the next two requests answer 503
        fake.outage = 503                     # every request answers 503 until set back to None
        fake.text_reply = "Wow, thank you!"   # what the LLM says (after its <think> block)
        fake.requests[-1].key                 # which key each request used; .spoken_text, .model, .body

Run standalone with ``python -m tests.fakes.boson --port 8767``; it prints the keys it accepts.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import itertools
import json
import math
import shutil
import struct
import subprocess
import tempfile
import time
import wave
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .server import FakeServer

TTS_MODELS = ("higgs-audio-generation-Hackathon",)
LLM_MODELS = (
    "Qwen3-32B-thinking-Hackathon",
    "Qwen3-32B-non-thinking-Hackathon",
    "Qwen3-14B-Hackathon",
    "Qwen3-Omni-30B-A3B-Thinking-Hackathon",
)
OTHER_MODELS = ("higgs-audio-understanding-Hackathon",)
VOICES = ("belinda", "broom_salesman", "chadwick", "en_man", "en_woman", "mabel", "vex", "zh_man_sichuan")
SAMPLE_RATE = 24_000
SECONDS_PER_CHAR = 0.05

Think = Literal["reasoning", "empty", "none"]


@dataclass(frozen=True, slots=True)
class BosonRequest:
    """One request the fake received, and what it answered."""

    path: str
    key: str | None
    body: Any
    status: int
    kind: Literal["speech", "text", "pcm", "other"]
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
    def spoken_text(self) -> str | None:
        """The text to speak: the last user turn of a speech request (or ``input`` of ``/audio/speech``)."""
        if self.kind == "pcm" and isinstance(self.body, dict):
            return str(self.body.get("input"))
        if self.kind != "speech":
            return None
        last = self.messages[-1] if self.messages else {}
        content = last.get("content")
        return content if isinstance(content, str) else None


def tone_wav(seconds: float, *, frequency: float = 440.0, sample_rate: int = SAMPLE_RATE) -> bytes:
    """A complete mono 16-bit WAV file holding a soft sine tone of ``seconds``."""
    frames = max(1, int(seconds * sample_rate))
    samples = (int(6000 * math.sin(2 * math.pi * frequency * n / sample_rate)) for n in range(frames))
    pcm = struct.pack(f"<{frames}h", *samples)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return buffer.getvalue()


def espeak_wav(text: str) -> bytes:
    """``text`` spoken by espeak-ng (a WAV file); a tone when espeak-ng is not installed."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        return tone_wav(len(text) * SECONDS_PER_CHAR)
    with tempfile.TemporaryDirectory() as scratch:
        output = Path(scratch) / "speech.wav"
        subprocess.run(
            [binary, "-b", "1", "-w", str(output), "--stdin"], input=text.encode(), check=True, timeout=30
        )
        return output.read_bytes()


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}}, status_code=status
    )


class FakeBoson(FakeServer):
    """The fake server and its controls. Start it with ``async with`` (or :meth:`start` / :meth:`stop`)."""

    name = "fake-boson"

    def __init__(
        self,
        *,
        keys: Iterable[str] = ("bai-test-key",),
        voice: Literal["tone", "espeak"] = "tone",
        think: Think = "reasoning",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.keys = set(keys)
        self.voice = voice
        """How speech sounds: a tone as long as the text (fast, no dependency) or espeak-ng."""
        self.think = think
        """Qwen3's reasoning block before the answer: with reasoning, empty (``<think>\\n\\n</think>``) or none."""
        super().__init__(host, port)

        self.rate_limited: set[str] = set()
        """Keys that answer 429 rate_limit_exceeded."""
        self.quota_spent: set[str] = set()
        """Keys that answer 429 insufficient_quota."""
        self.retry_after: float | None = None
        """``Retry-After`` seconds on 429 answers, when set."""
        self.latency = 0.0
        """Seconds every answer waits before it is sent."""
        self.outage: int | None = None
        """While set, every request answers this HTTP status (503: Boson is down)."""
        self.text_reply = "Wow, thank you so much! You just made my day."
        """What the LLM answers (after its think block), unless ``responder`` is set."""
        self.responder: Callable[[BosonRequest], str] | None = None
        self.seconds_per_char = SECONDS_PER_CHAR
        self.requests: list[BosonRequest] = []
        self._faults: deque[int] = deque()
        self._ids = itertools.count(1)
        self._stopping: asyncio.Event | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/audio/speech", self._speech, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )

    # lifecycle

    @property
    def base_url(self) -> str:
        """As a client is configured with it (``https://hackathon.boson.ai/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    async def _before_start(self) -> None:
        self._stopping = asyncio.Event()

    async def _before_stop(self) -> None:
        assert self._stopping is not None
        self._stopping.set()  # slow answers end now instead of holding the shutdown

    # controls

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """The next ``times`` requests (with a valid key) answer ``status``."""
        self._faults.extend([status] * times)

    def keys_used(self, kind: str | None = None) -> list[str | None]:
        """The key of every request (of ``kind``: speech, text, pcm), in order."""
        return [r.key for r in self.requests if kind is None or r.kind == kind]

    def spoken(self, *, succeeded: bool = True) -> list[str]:
        """Every text sent for speech (only those answered 200 by default)."""
        return [
            r.spoken_text
            for r in self.requests
            if r.spoken_text is not None and (r.status == 200 or not succeeded)
        ]

    def reset(self) -> None:
        self.requests.clear()
        self._faults.clear()
        self.rate_limited.clear()
        self.quota_spent.clear()
        self.outage = None
        self.latency = 0.0

    # routes

    async def _wait(self) -> None:
        if self.latency:
            assert self._stopping is not None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.latency)

    def _key(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return header[7:].strip() if header.lower().startswith("bearer ") else None

    def _refusal(self, key: str | None) -> JSONResponse | None:
        """The error a request gets before its body is looked at: a bad key, an outage, a limit, a fault."""
        if key is None or key not in self.keys:
            return _error(
                401,
                "Incorrect API key provided. You can find your API key at https://boson.ai/workspace.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if self.outage is not None:
            return _error(self.outage, "The server is temporarily unavailable.", "server_error")
        if key in self.quota_spent:
            return _error(
                429,
                "You exceeded your current quota, please check your plan and billing details.",
                "insufficient_quota",
                "insufficient_quota",
            )
        if key in self.rate_limited:
            response = _error(
                429,
                "Rate limit reached for requests. Please try again later.",
                "rate_limit_error",
                "rate_limit_exceeded",
            )
            if self.retry_after is not None:
                response.headers["Retry-After"] = f"{self.retry_after:g}"
            return response
        if self._faults:
            status = self._faults.popleft()
            return _error(status, f"Simulated failure ({status}).", "server_error")
        return None

    async def _chat(self, http: Request) -> Response:
        key = self._key(http)
        raw = await http.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        model = body.get("model") if isinstance(body, dict) else None
        kind: Literal["speech", "text", "other"] = (
            "speech" if model in TTS_MODELS else "text" if model in LLM_MODELS else "other"
        )
        response = self._refusal(key) or self._answer(body, kind)
        await self._wait()
        self.requests.append(BosonRequest("/v1/chat/completions", key, body, response.status_code, kind))
        return response

    def _answer(self, body: Any, kind: str) -> Response:
        if not isinstance(body, dict):
            return _error(400, "Invalid JSON body.", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array.", "invalid_request_error")
        if kind == "other":
            return _error(
                404,
                f"The model `{body.get('model')}` does not exist.",
                "invalid_request_error",
                "model_not_found",
            )
        if kind == "speech":
            return self._speak(body, messages)
        return self._complete(body)

    def _speak(self, body: dict[str, Any], messages: list[Any]) -> Response:
        problem = _clone_problem(body, messages)
        if problem:
            return _error(400, problem, "invalid_request_error")
        text = messages[-1]["content"]
        audio = (
            espeak_wav(text)
            if self.voice == "espeak"
            else tone_wav(max(0.3, len(text) * self.seconds_per_char))
        )
        number = next(self._ids)
        return JSONResponse(
            {
                "id": f"chatcmpl-{number}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "audio": {
                                "id": f"audio_{number}",
                                "data": base64.b64encode(audio).decode("ascii"),
                                "expires_at": int(time.time()) + 3600,
                                "transcript": text,
                            },
                        },
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": len(audio) // 960, "total_tokens": 0},
            }
        )

    def _complete(self, body: dict[str, Any]) -> Response:
        request = BosonRequest("/v1/chat/completions", None, body, 200, "text")
        answer = self.responder(request) if self.responder else self.text_reply
        if self.think == "reasoning":
            content = f"<think>\nThe viewer wants a reaction. Keep it short and kind.\n</think>\n\n{answer}"
        elif self.think == "empty":
            content = f"<think>\n\n</think>\n\n{answer}"
        else:
            content = answer
        return JSONResponse(
            {
                "id": f"chatcmpl-{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": len(content) // 4, "total_tokens": 0},
            }
        )

    async def _speech(self, http: Request) -> Response:
        key = self._key(http)
        try:
            body: Any = json.loads(await http.body())
        except ValueError:
            body = None
        response: Response | None = self._refusal(key)
        if response is None:
            if not isinstance(body, dict) or not isinstance(body.get("input"), str) or not body["input"]:
                response = _error(400, "'input' is required.", "invalid_request_error")
            elif body.get("model") not in TTS_MODELS:
                response = _error(
                    404, f"The model `{body.get('model')}` does not exist.", "invalid_request_error"
                )
            elif body.get("voice") not in VOICES:
                response = _error(400, f"Unknown voice {body.get('voice')!r}.", "invalid_request_error")
            elif body.get("response_format", "pcm") != "pcm":
                response = _error(
                    400, "For this api, we only support PCM format output.", "invalid_request_error"
                )
            else:
                wav = tone_wav(max(0.3, len(body["input"]) * self.seconds_per_char))
                response = Response(wav[44:], media_type="application/octet-stream")
        assert response is not None
        await self._wait()
        self.requests.append(BosonRequest("/v1/audio/speech", key, body, response.status_code, "pcm"))
        return response

    async def _models(self, http: Request) -> Response:
        refusal = self._refusal(self._key(http))
        if refusal is not None:
            return refusal
        created = int(time.time())
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": m, "object": "model", "created": created, "owned_by": "boson"}
                    for m in (*TTS_MODELS, *LLM_MODELS, *OTHER_MODELS)
                ],
            }
        )


def _clone_problem(body: dict[str, Any], messages: list[Any]) -> str | None:
    """What is wrong with a voice-cloning request, as Boson documents it; None when it is right."""
    modalities = body.get("modalities")
    if not isinstance(modalities, list) or "audio" not in modalities:
        return 'An audio generation model needs modalities ["text", "audio"].'
    turns = [m for m in messages if isinstance(m, dict)]
    if len(turns) != len(messages):
        return "Every message must be an object."
    if turns[0].get("role") == "system":
        system = turns.pop(0).get("content")
        if not isinstance(system, str) or (
            "<|scene_desc_start|>" in system and "<|scene_desc_end|>" not in system
        ):
            return "The system prompt must be text with a closed <|scene_desc_start|> block."
    if not turns or turns[-1].get("role") != "user" or not isinstance(turns[-1].get("content"), str):
        return "The last message must be the user's text to speak."
    if not turns[-1]["content"].strip():
        return "The text to speak is empty."
    reference = turns[:-1]
    if reference:
        if len(reference) != 2 or [m.get("role") for m in reference] != ["user", "assistant"]:
            return "A voice clone prompt is a user turn (the reference transcript) then an assistant turn (its audio)."
        if not isinstance(reference[0].get("content"), str) or not reference[0]["content"].strip():
            return "The reference transcript must be text."
        parts = reference[1].get("content")
        first: dict[str, Any] = (
            parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], dict) else {}
        )
        audio = first.get("input_audio")
        if first.get("type") != "input_audio" or not isinstance(audio, dict):
            return "The assistant turn must hold an input_audio part."
        if audio.get("format") != "wav":
            return "The reference audio format must be wav."
        try:
            data = base64.b64decode(str(audio.get("data")), validate=True)
        except ValueError:
            return "The reference audio is not valid base64."
        if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
            return "The reference audio is not a WAV file."
    tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if tokens is not None and (not isinstance(tokens, int) or tokens < 1):
        return "max_completion_tokens must be a positive integer."
    return None


async def _serve(port: int, keys: list[str], voice: Literal["tone", "espeak"]) -> None:
    async with FakeBoson(keys=keys, voice=voice, port=port) as fake:
        print(f"fake Boson at {fake.base_url}; keys: {', '.join(sorted(fake.keys))}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--key", action="append", default=[], help="an accepted key (repeatable)")
    parser.add_argument("--voice", choices=("tone", "espeak"), default="tone")
    options = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(options.port, options.key or ["bai-fake-key"], options.voice))


if __name__ == "__main__":
    main()
