"""The AIML API client for Veo 3 text-to-video: submit, poll with backoff until done, or give a clear error.

Protocol (EXTERNAL_APIS.md section 2): ``POST <path>`` with a JSON body and ``Authorization: Bearer <key>`` answers
``{"id", "status"}`` (any 2xx); ``GET <path>?generation_id=<id>`` answers ``status`` in queued / generating /
completed / error, ``video.url`` when completed and ``error.{name, message}`` when failed. Error bodies carry
``message`` (sometimes in JSON without commas, as AIML's own docs show).

Money is at stake, so a submit is retried only when AIML certainly did not take it: the connection failed before the
request was sent, or AIML answered 429 or 5xx. A submit whose answer never came (read timeout, dropped connection) is
not retried: AIML may have accepted it, and a second submit would be paid twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)

KEYS_PAGE = "https://aimlapi.com/app/keys"
BILLING_PAGE = "https://aimlapi.com/app/billing/"
IN_QUEUE = frozenset({"queued", "waiting", "pending"})
RUNNING = frozenset({"generating", "active", "processing", "in_progress"})
DONE = frozenset({"completed", "succeeded", "success"})
FAILED = frozenset({"error", "failed", "cancelled", "canceled"})


class AimlError(Exception):
    """Anything that keeps AIML from delivering a video. ``str()`` is written for the streamer."""


class AimlRejected(AimlError):
    """AIML refused the request (key, credits, validation): retrying the same request would not help."""


class AimlUnavailable(AimlError):
    """AIML could not be reached or kept failing (network, timeouts, 5xx, 429, unreadable answers)."""


class AimlUnanswered(AimlUnavailable):
    """A submit got no answer: AIML may have accepted (and charged) it, so it must not be sent again."""


class AimlGenerationFailed(AimlError):
    """AIML accepted the generation and then reported it failed."""


class AimlTimedOut(AimlError):
    """The generation was still not finished when the time limit ran out."""


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """One text-to-video request; ``body()`` is the JSON AIML expects."""

    model: str
    prompt: str
    aspect_ratio: str = "16:9"
    duration: int = 8
    resolution: str = "720P"
    generate_audio: bool = True
    enhance_prompt: bool = True
    negative_prompt: str = ""

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self.prompt,
            "aspect_ratio": self.aspect_ratio,
            "duration": self.duration,
            "resolution": self.resolution,
            "generate_audio": self.generate_audio,
            "enhance_prompt": self.enhance_prompt,
        }
        if self.negative_prompt:
            body["negative_prompt"] = self.negative_prompt
        return body


@dataclass(frozen=True, slots=True)
class Generation:
    """AIML's view of one generation."""

    id: str
    status: str
    video_url: str | None = None
    error: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def finished(self) -> bool:
        return self.status in DONE or self.status in FAILED


ProgressCallback = Callable[[Generation, float], Awaitable[None]]
"""Called after every successful poll with the generation and the seconds spent polling so far."""


class AimlClient:
    """One client per service; safe to share between concurrent jobs."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = "https://api.aimlapi.com",
        path: str = "/v2/video/generations",
        request_timeout: float = 30.0,
        retries: int = 3,
        retry_base: float = 1.0,
    ) -> None:
        if not api_key:
            raise ValueError("an AIML API key is required")
        self.path = path
        self.retries = retries
        self.retry_base = retry_base
        self.last_error: str | None = None
        """The last failure, for the health report; None after a success."""

        def client(limits: httpx.Limits) -> httpx.AsyncClient:
            return httpx.AsyncClient(
                base_url=base_url,
                headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
                timeout=httpx.Timeout(request_timeout, connect=min(10.0, request_timeout)),
                limits=limits,
                follow_redirects=False,
                trust_env=False,
            )

        self._http = client(httpx.Limits())
        # Each submit on a new connection: a kept-alive one the server is closing at that moment fails the request
        # after it was sent (as far as the client can tell), and a paid submit that may have been sent is never
        # sent again. A fresh connection fails, if at all, while connecting: certainly not sent, safely retried.
        self._submits = client(httpx.Limits(max_keepalive_connections=0))

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._submits.aclose()

    # Submit -----------------------------------------------------------------------------------------------------
    async def submit(self, request: GenerationRequest) -> str:
        """Start a generation and return AIML's generation id."""
        attempt = 0
        while True:
            try:
                response = await self._submits.post(self.path, json=request.body())
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                problem = f"could not connect to AIML ({type(exc).__name__})"
                retry_after = None
            except httpx.TransportError as exc:
                # The request may have reached AIML: another submit could pay for a second video.
                raise self._failed(
                    AimlUnanswered(
                        f"AIML did not answer the video request ({type(exc).__name__}); it was not sent again "
                        "so that it cannot be paid twice. Check the AIML status page and your network"
                    )
                ) from exc
            else:
                if response.is_success:
                    generation = self._parse(response, what="the video request")
                    if generation.status in FAILED:
                        raise self._failed(AimlGenerationFailed(_failure(generation)))
                    self.last_error = None
                    log.info(
                        "AIML accepted the generation %s (%s)",
                        generation.id,
                        generation.status,
                        extra={"generation_id": generation.id, "model": request.model},
                    )
                    return generation.id
                if not _retryable(response.status_code):
                    raise self._failed(AimlRejected(_rejection(response)))
                problem = f"AIML answered {response.status_code}: {_message_of(response)}"
                retry_after = _retry_after(response)
            if attempt >= self.retries:
                raise self._failed(
                    AimlUnavailable(
                        f"{problem}; gave up after {attempt + 1} attempts. Check the AIML status page; the "
                        "donation got the offline card"
                    )
                )
            delay = retry_after if retry_after is not None else self.retry_base * 2**attempt
            attempt += 1
            log.warning("video request not accepted (%s), retry %d in %.1f s", problem, attempt, delay)
            await asyncio.sleep(delay)

    # Poll -------------------------------------------------------------------------------------------------------
    async def poll(self, generation_id: str) -> Generation:
        """AIML's current view of one generation. Raises ``AimlUnavailable`` or ``AimlRejected`` on errors."""
        try:
            response = await self._http.get(self.path, params={"generation_id": generation_id})
        except httpx.TransportError as exc:
            raise AimlUnavailable(f"AIML did not answer a status request ({type(exc).__name__})") from exc
        if not response.is_success:
            if _retryable(response.status_code):
                raise AimlUnavailable(f"AIML answered {response.status_code}: {_message_of(response)}")
            raise AimlRejected(_rejection(response))
        generation = self._parse(response, what="a status request")
        if generation.id and generation.id != generation_id:
            raise AimlUnavailable(f"AIML answered about generation {generation.id!r}, not {generation_id!r}")
        return generation

    async def wait(
        self,
        generation_id: str,
        *,
        timeout: float,
        interval: float = 10.0,
        max_interval: float = 30.0,
        on_progress: ProgressCallback | None = None,
    ) -> str:
        """Poll until the generation completes and return its video URL.

        Waits ``interval`` seconds between polls, growing by half each time up to ``max_interval``. Transient errors
        are tolerated up to ``retries`` in a row. Raises ``AimlGenerationFailed``, ``AimlTimedOut``,
        ``AimlRejected`` or ``AimlUnavailable``.
        """
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + timeout
        failures = 0
        delay = interval
        while True:
            try:
                generation = await asyncio.wait_for(
                    self.poll(generation_id), max(0.1, deadline - loop.time())
                )
            except AimlUnavailable as exc:
                failures += 1
                if failures > self.retries:
                    raise self._failed(
                        AimlUnavailable(
                            f"{exc}; {failures} status requests failed in a row for generation "
                            f"{generation_id}. Check the AIML status page"
                        )
                    ) from exc
                log.warning("status request failed (%d in a row): %s", failures, exc)
            except AimlRejected as exc:
                raise self._failed(exc) from exc
            except TimeoutError:
                pass  # the deadline check below decides
            else:
                failures = 0
                self.last_error = None
                if on_progress is not None:
                    await on_progress(generation, loop.time() - started)
                if generation.status in DONE:
                    if not generation.video_url:
                        raise self._failed(
                            AimlUnavailable(
                                f"AIML says generation {generation_id} is done but gives no video URL"
                            )
                        )
                    return generation.video_url
                if generation.status in FAILED:
                    raise self._failed(AimlGenerationFailed(_failure(generation)))
                if generation.status not in IN_QUEUE | RUNNING:
                    log.warning("unknown generation status %r, still waiting", generation.status)
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise self._failed(
                    AimlTimedOut(
                        f"generation {generation_id} was not finished after {timeout:g} s; raise "
                        "VIDEO_GENERATION_TIMEOUT if AIML is just slow today"
                    )
                )
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 1.5, max_interval)

    # Helpers ----------------------------------------------------------------------------------------------------
    def _parse(self, response: httpx.Response, *, what: str) -> Generation:
        try:
            data = response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            raise AimlUnavailable(f"AIML's answer to {what} is not JSON ({_snippet(response.text)})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise AimlUnavailable(f"AIML's answer to {what} has no generation id ({_snippet(response.text)})")
        status = data.get("status")
        if not isinstance(status, str):
            raise AimlUnavailable(f"AIML's answer to {what} has no status ({_snippet(response.text)})")
        video = data.get("video")
        url = video.get("url") if isinstance(video, dict) else None
        error = data.get("error")
        message = None
        if isinstance(error, dict):
            message = str(error.get("message") or error.get("name") or "") or None
        elif isinstance(error, str) and error:
            message = error
        return Generation(
            id=data["id"],
            status=status.lower(),
            video_url=url if isinstance(url, str) and url else None,
            error=message,
            raw=data,
        )

    def _failed(self, error: AimlError) -> AimlError:
        self.last_error = str(error)
        return error


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), 60.0) if math.isfinite(seconds) else None


_MESSAGE = re.compile(r'"message"\s*:\s*"((?:[^"\\]|\\.)*)"')


def _message_of(response: httpx.Response) -> str:
    """AIML's ``message``, also from its comma-less pseudo-JSON; else the start of the body."""
    text = response.text
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return _snippet(data["message"])
    found = _MESSAGE.search(text)
    if found:
        return _snippet(found.group(1))
    return _snippet(text) or response.reason_phrase


def _rejection(response: httpx.Response) -> str:
    status = response.status_code
    message = _message_of(response)
    if status == 401:
        return f"AIML rejected the API key (401: {message}). Set VIDEO_AIML_API_KEY to a key from {KEYS_PAGE}"
    if status == 403:
        return f"AIML refused the request (403: {message}). Top up the AIML balance at {BILLING_PAGE}"
    if status in {400, 422}:
        return (
            f"AIML refused the video settings ({status}: {message}). Check VIDEO_AIML_MODEL, "
            "VIDEO_ASPECT_RATIO, VIDEO_DURATION and VIDEO_RESOLUTION"
        )
    if status == 404:
        return (
            f"AIML does not know this address (404: {message}). Check VIDEO_AIML_BASE_URL and VIDEO_AIML_PATH"
        )
    return f"AIML refused the request ({status}: {message})"


def _failure(generation: Generation) -> str:
    reason = generation.error or "no reason given"
    return f"AIML could not generate the video ({reason}); the donation got the offline card"


def _snippet(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
