"""A fake AIML API (Google Veo 3 text-to-video) that speaks the real protocol on a loopback port (EXTERNAL_APIS.md §2).

It serves both create/poll paths (universal ``/v2/video/generations``, answering 200, and the legacy vendor path
``/v2/generate/video/google/generation``, answering 201) with Bearer auth, AIML's body validation, generations that
move through ``queued`` → ``generating`` → ``completed`` (or ``error``) on a configurable clock, and the finished
video as a real, tiny MP4 made once per session with the ffmpeg binary of imageio-ffmpeg, served at ``/files/...``.

Tests drive it in-process::

    async with FakeAiml() as fake:
        fake.submissions                      # generations accepted (each would be paid)
        fake.fail_next(503, times=2)          # the next two API requests answer 503 (also 429, 401, 403, 400)
        fake.delay_next(5.0)                  # the next API request answers after 5 s (a client timeout)
        fake.garbage_next()                   # the next API request answers 200 with broken JSON
        fake.fail_generations = "NSFW"        # generations end in status "error" with this message
        fake.hold = True                      # generations stay "generating" until fake.release()
        fake.file_fault = "redirect-private"  # the video URL redirects to 169.254.169.254 (see FILE_FAULTS)

Run standalone with ``python -m tests.fakes.aiml --port 8766``; point ``VIDEO_AIML_BASE_URL`` at it with the key
it prints, ``VIDEO_DOWNLOAD_ALLOWED_HOSTS=127.0.0.1`` and ``VIDEO_DOWNLOAD_ALLOW_LOOPBACK_HTTP=true``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from .server import FakeServer

UNIVERSAL_PATH = "/v2/video/generations"
LEGACY_PATH = "/v2/generate/video/google/generation"
ENDPOINTS = ("submit", "poll", "file")
API_ENDPOINTS = ("submit", "poll")
MODELS = {
    "google/veo3": {"720P", "1080P"},
    "google/veo-3.0-fast": {"720P", "1080P"},
    "google/veo-3.1-t2v": {"720p", "1080p"},
    "google/veo-3.1-t2v-fast": {"720p", "1080p"},
}
KEYS_MESSAGE = (
    "This request requires a valid API key. You can create a new API key on the Billing page: "
    "https://aimlapi.com/app/keys"
)
CREDITS_MESSAGE = (
    "You've run out of credits. Please top up your balance or update your payment method to continue: "
    "https://aimlapi.com/app/billing/"
)
PRIVATE_TARGET = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"

FileFault = Literal[
    "redirect-private",
    "redirect-external",
    "oversized",
    "oversized-chunked",
    "not-video",
    "disguised",
    "truncated",
    "expired",
]
FILE_FAULTS: tuple[FileFault, ...] = (
    "redirect-private",
    "redirect-external",
    "oversized",
    "oversized-chunked",
    "not-video",
    "disguised",
    "truncated",
    "expired",
)
"""What the video URL can do instead of serving the video: redirect to a cloud metadata address or another host,
declare or stream more bytes than any cap, serve an HTML page, serve JSON labelled video/mp4, serve half an MP4,
or answer 404 (an expired link)."""


@functools.cache
def sample_mp4(seconds: float = 1.0) -> bytes:
    """A tiny playable MP4 (H.264 320x180 with AAC, ``faststart``), made once per session with imageio-ffmpeg."""
    import imageio_ffmpeg  # type: ignore[import-untyped]

    target = Path(tempfile.mkdtemp(prefix="fake-aiml-")) / "output.mp4"
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size=320x180:rate=12:duration={seconds:g}",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=660:duration={seconds:g}",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            str(target),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    data = target.read_bytes()
    target.unlink()
    target.parent.rmdir()
    return data


def padded(video: bytes, total_bytes: int) -> bytes:
    """``video`` grown to about ``total_bytes`` with a trailing MP4 ``free`` box, which players skip."""
    missing = total_bytes - len(video) - 8
    if missing <= 0:
        return video
    return video + (missing + 8).to_bytes(4, "big") + b"free" + bytes(missing)


@dataclass
class _Fault:
    endpoint: str | None
    remaining: int
    status: int | None = None
    delay: float | None = None
    garbage: bool = False
    retry_after: float | None = None


@dataclass
class FakeGeneration:
    id: str
    body: dict[str, Any]
    created: float
    released: bool = False
    polls: int = 0
    completed_at: float | None = None
    """``time.monotonic()`` when a poll first answered ``completed`` (what the benchmark measures from)."""
    extra: dict[str, Any] = field(default_factory=dict)


class FakeAiml(FakeServer):
    """The fake server and its controls. Start it with ``async with`` (or :meth:`start` / :meth:`stop`)."""

    name = "fake-aiml"

    def __init__(
        self,
        *,
        api_key: str = "aiml-test-key-0123456789abcdef",
        queued_seconds: float = 0.1,
        generating_seconds: float = 0.3,
        video: bytes | None = None,
        oversize_bytes: int = 64 * 1024 * 1024,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.queued_seconds = queued_seconds
        """Seconds a new generation answers ``queued``."""
        self.generating_seconds = generating_seconds
        """Seconds it then answers ``generating`` before ``completed``."""
        self.video = video
        """The bytes served as the finished video; a session-wide tiny MP4 when None."""
        self.oversize_bytes = oversize_bytes
        super().__init__(host, port)

        self.hold = False
        """While True, generations stay ``generating`` until :meth:`release`."""
        self.fail_generations: str | None = None
        """When set, generations end in ``error`` with this message instead of ``completed``."""
        self.file_fault: FileFault | None = None
        """What the video URL does instead of serving the video (see ``FILE_FAULTS``)."""

        self.generations: dict[str, FakeGeneration] = {}
        self.requests: Counter[str] = Counter()
        """Requests served, by endpoint: submit, poll, file."""
        self.authorization_headers: list[str] = []
        self.rejected_bodies: list[Any] = []
        self._faults: list[_Fault] = []
        self.app = self._build_app()

    # lifecycle

    @property
    def base_url(self) -> str:
        """What ``https://api.aimlapi.com`` is for the real API."""
        return f"http://{self.host}:{self.port}"

    async def _before_start(self) -> None:
        if self.video is None:
            self.video = await asyncio.to_thread(sample_mp4)

    # controls

    @property
    def submissions(self) -> int:
        """Generations accepted so far: what AIML would have charged for."""
        return len(self.generations)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON body of every accepted generation, in order."""
        return [g.body for g in self.generations.values()]

    def release(self, generation_id: str | None = None) -> None:
        """Let held generations (one, or all) complete."""
        for generation in self.generations.values():
            if generation_id is None or generation.id == generation_id:
                generation.released = True

    def fail_next(
        self, status: int, times: int = 1, *, endpoint: str | None = None, retry_after: float | None = None
    ) -> None:
        """The next ``times`` requests (to ``endpoint``, or to submit/poll) answer ``status`` with AIML's body."""
        self._faults.append(_Fault(self._endpoint(endpoint), times, status=status, retry_after=retry_after))

    def delay_next(self, seconds: float, times: int = 1, *, endpoint: str | None = None) -> None:
        """The next ``times`` requests answer only after ``seconds`` (longer than a client timeout: a timeout)."""
        self._faults.append(_Fault(self._endpoint(endpoint), times, delay=seconds))

    def garbage_next(self, times: int = 1, *, endpoint: str | None = None) -> None:
        """The next ``times`` requests answer 200 with a body that is not JSON."""
        self._faults.append(_Fault(self._endpoint(endpoint), times, garbage=True))

    def video_url(self, generation_id: str) -> str:
        return f"{self.base_url}/files/{generation_id.split(':', 1)[0]}/output.mp4"

    async def wait_for_submissions(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.submissions < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.submissions} submissions after {timeout} s, expected {count}")
            await asyncio.sleep(0.02)

    async def wait_for_polls(self, generation_id: str, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while self.generations[generation_id].polls < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"generation {generation_id} polled fewer than {count} times in {timeout} s"
                )
            await asyncio.sleep(0.02)

    # internals

    def _endpoint(self, endpoint: str | None) -> str | None:
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")
        return endpoint

    def _take_fault(self, endpoint: str) -> _Fault | None:
        for fault in self._faults:
            applies = fault.endpoint == endpoint or (fault.endpoint is None and endpoint in API_ENDPOINTS)
            if applies and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _build_app(self) -> Starlette:
        routes = [
            Route(path, endpoint, methods=[method])
            for path in (UNIVERSAL_PATH, LEGACY_PATH)
            for method, endpoint in (("POST", self._submit), ("GET", self._poll))
        ]
        routes.append(Route("/files/{name}/output.mp4", self._file, methods=["GET"]))
        return Starlette(routes=routes)

    async def _guard(self, request: Request, endpoint: str) -> Response | None:
        """Count, inject faults (after their delay), check the bearer key."""
        self.requests[endpoint] += 1
        self.authorization_headers.append(request.headers.get("authorization", ""))
        fault = self._take_fault(endpoint)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.garbage:
                return Response('{"id": "60ac7c34-3224", "status": "gen', media_type="application/json")
            if fault.status is not None:
                return _error(request, fault.status, retry_after=fault.retry_after)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(request, 401, KEYS_MESSAGE)
        return None

    async def _submit(self, request: Request) -> Response:
        refused = await self._guard(request, "submit")
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(request, 400, "Body validation error! Expected object, received invalid JSON")
        problem = _validate(body)
        if problem is not None:
            self.rejected_bodies.append(body)
            return _error(request, 400, f"Body validation error! {problem}")
        model_tag = str(body["model"]).rsplit("/", 1)[-1].replace("veo-3.0", "veo3").replace("-fast", "")
        generation = FakeGeneration(id=f"{uuid.uuid4()}:{model_tag}", body=body, created=time.monotonic())
        self.generations[generation.id] = generation
        answer = {"id": generation.id, "status": "queued", "meta": {"usage": {"tokens_used": 1_050_000}}}
        return JSONResponse(answer, status_code=201 if request.url.path == LEGACY_PATH else 200)

    async def _poll(self, request: Request) -> Response:
        refused = await self._guard(request, "poll")
        if refused is not None:
            return refused
        generation_id = request.query_params.get("generation_id", "")
        generation = self.generations.get(generation_id)
        if generation is None:
            return _error(request, 404, f"Generation {generation_id} not found")
        generation.polls += 1
        status = self._status_of(generation)
        answer: dict[str, Any] = {
            "id": generation.id,
            "status": status,
            "video": None,
            "error": None,
            "meta": None,
        }
        if status == "completed":
            if generation.completed_at is None:
                generation.completed_at = time.monotonic()
            size = len(self.video or b"")
            answer["video"] = {
                "url": self.video_url(generation.id),
                "content_type": "video/mp4",
                "file_name": "output.mp4",
                "file_size": size,
            }
            answer["duration"] = generation.body.get("duration", 8)
            answer["meta"] = {"usage": {"credits_used": 120_000, "usd_spent": 0.06}}
        elif status == "error":
            answer["error"] = {"name": "GenerationError", "message": self.fail_generations}
        return JSONResponse(answer)

    def _status_of(self, generation: FakeGeneration) -> str:
        elapsed = time.monotonic() - generation.created
        if elapsed < self.queued_seconds:
            return "queued"
        if self.hold and not generation.released:
            return "generating"
        if elapsed < self.queued_seconds + self.generating_seconds and not generation.released:
            return "generating"
        return "error" if self.fail_generations else "completed"

    async def _file(self, request: Request) -> Response:
        self.requests["file"] += 1
        fault = self._take_fault("file")
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return Response(status_code=fault.status)
        video = self.video or b""
        match self.file_fault:
            case None:
                return Response(video, media_type="video/mp4")
            case "redirect-private":
                return RedirectResponse(PRIVATE_TARGET, status_code=302)
            case "redirect-external":
                return RedirectResponse("https://downloads.example.net/output.mp4", status_code=302)
            case "oversized":
                return StreamingResponse(
                    _stream(video, self.oversize_bytes),
                    media_type="video/mp4",
                    headers={"Content-Length": str(self.oversize_bytes)},
                )
            case "oversized-chunked":
                return StreamingResponse(_stream(video, self.oversize_bytes), media_type="video/mp4")
            case "not-video":
                return Response("<html><body>Access denied</body></html>", media_type="text/html")
            case "disguised":
                return Response(b'{"message": "not a video"}' + bytes(64), media_type="video/mp4")
            case "truncated":
                return Response(video[: len(video) // 2], media_type="video/mp4")
            case "expired":
                return Response("<Error><Code>NoSuchKey</Code></Error>", 404, media_type="application/xml")


async def _stream(head: bytes, total: int) -> AsyncIterator[bytes]:
    yield head
    sent = len(head)
    chunk = bytes(256 * 1024)
    while sent < total:
        piece = chunk[: total - sent]
        sent += len(piece)
        yield piece
        await asyncio.sleep(0)


def _validate(body: object) -> str | None:
    """AIML's validation of a text-to-video body (veo3 schema at AIML f14fa72); None when valid."""
    if not isinstance(body, dict):
        return "Expected object"
    model = body.get("model")
    if model not in MODELS:
        return f"Invalid enum value. Expected {' | '.join(repr(m) for m in MODELS)}, received {model!r}"
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt: Required"
    checks: dict[str, tuple[object, ...]] = {
        "duration": (4, 6, 8),
        "aspect_ratio": ("16:9", "9:16"),
        "resolution": tuple(MODELS[model]),
    }
    for name, allowed in checks.items():
        if name in body and body[name] not in allowed:
            return f"{name}: Invalid enum value. Expected {' | '.join(map(repr, allowed))}, received {body[name]!r}"
    for name in ("generate_audio", "enhance_prompt"):
        if name in body and not isinstance(body[name], bool):
            return f"{name}: Expected boolean, received {type(body[name]).__name__}"
    for name in ("negative_prompt",):
        if name in body and not isinstance(body[name], str):
            return f"{name}: Expected string"
    return None


def _error(
    request: Request, status: int, message: str | None = None, *, retry_after: float | None = None
) -> Response:
    """AIML's error body: ``message, path, requestId, statusCode, timestamp``; 429 in its comma-less form."""
    timestamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    request_id = str(uuid.uuid4())
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else None
    if status == 429:
        text = (
            "{\n"
            '    "message": "Free-tier limit: You\'ve reached your free limit for the hour. Get AI/ML Subscription '
            'to use API, visit https://aimlapi.com/app/billing/ !"\n'
            f'    "path": "{request.url.path}"\n'
            f'    "requestId": "{request_id}"\n'
            '    "statusCode": "429"\n'
            f'    "timestamp": "{timestamp}"\n'
            "}"
        )
        return Response(text, status_code=429, media_type="application/json", headers=headers)
    default = {401: KEYS_MESSAGE, 403: CREDITS_MESSAGE, 400: "Body validation error!"}.get(status)
    body = {
        "message": message or default or ("Internal server error" if status >= 500 else "Error"),
        "path": request.url.path,
        "requestId": request_id,
        "statusCode": str(status),
        "timestamp": timestamp,
    }
    return JSONResponse(body, status_code=status, headers=headers)


@contextlib.asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[FakeAiml]:
    """A started fake on a free loopback port, stopped afterwards (for a pytest fixture)."""
    fake = FakeAiml(**options)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def _serve_forever(port: int, generating_seconds: float) -> None:
    async with FakeAiml(port=port, generating_seconds=generating_seconds) as fake:
        print(f"Fake AIML on {fake.base_url} (create/poll at {UNIVERSAL_PATH} and {LEGACY_PATH})")
        print(f"VIDEO_AIML_BASE_URL={fake.base_url}")
        print(f"VIDEO_AIML_API_KEY={fake.api_key}")
        print("VIDEO_DOWNLOAD_ALLOWED_HOSTS=127.0.0.1 VIDEO_DOWNLOAD_ALLOW_LOOPBACK_HTTP=true")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake AIML API on a loopback port")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--generating-seconds", type=float, default=20.0)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(arguments.port, arguments.generating_seconds))


if __name__ == "__main__":
    main()
