"""``POST /chat/completions`` on an OpenAI-compatible API (Boson, Ollama) with key rotation, timeouts and bounded
retries.

Each attempt takes the next key that is not resting. A 429 rests that key (a quota message rests it longer) and the
next attempt uses another at once; 401/403 rest the key for the long cool-down; 5xx, timeouts and connection
errors are retried after a short backoff; 400/404/422 are not retried (the request itself is wrong). After
``attempts`` attempts, or when every key rests longer than ``max_key_wait``, the call fails with a message that
says what happened and what to check. Keys never appear in messages or logs, only their position.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from .keys import ApiKey, KeyPool

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
_QUOTA_WORDS = ("quota", "insufficient", "billing", "credit", "exceeded your")


class ProviderError(Exception):
    """The provider did not deliver; ``str()`` is written for the streamer."""


class ProviderRejected(ProviderError):
    """The provider refused the request itself (400/404/422): sending it again would not help."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, kept failing, or every key is resting."""


class ChatCompletions:
    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        keys: KeyPool,
        key_setting: str,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 0.5,
        max_key_wait: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.keys = keys
        self.key_setting = key_setting
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_key_wait = max_key_wait
        self.sleep = sleep
        self.last_error: str | None = None
        """The last failure, for the health report; None after a success."""
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def probe(self) -> str | None:
        """Ask for the model list (free, no generation): None when the provider answers, else what failed. Lets the
        health report see an outage while nothing is being spoken."""
        key = self.keys.acquire()
        if key is None:
            return None  # every key is resting: the last real call already said why
        try:
            response = await self._http.get("models", headers={"Authorization": f"Bearer {key.secret}"})
        except httpx.HTTPError as exc:
            return f"{self.name} does not answer ({type(exc).__name__})"
        if response.status_code >= 500:
            return f"{self.name} answers HTTP {response.status_code}"
        return None

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON answer of one chat completion. Raises ``ProviderRejected`` or ``ProviderUnavailable``."""
        problems: list[str] = []
        for attempt in range(1, self.attempts + 1):
            key = await self._key(problems)
            if key is None:
                break
            try:
                response = await self._http.post(
                    "chat/completions", json=body, headers={"Authorization": f"Bearer {key.secret}"}
                )
            except httpx.TimeoutException as exc:
                problems.append(f"{key}: no answer within {self.timeout:g} s ({type(exc).__name__})")
                await self._backoff(attempt)
                continue
            except httpx.TransportError as exc:
                problems.append(f"{key}: could not connect ({type(exc).__name__})")
                await self._backoff(attempt)
                continue
            answer, retry_now = self._judge(key, response, problems)
            if answer is not None:
                self.keys.succeeded(key)
                self.last_error = None
                return answer
            if not retry_now:
                await self._backoff(attempt)
        error = ProviderUnavailable(
            f"{self.name} failed after {len(problems)} attempt(s): {' | '.join(problems)[:600]}. "
            f"Check the keys in {self.key_setting} and the {self.name} status"
        )
        self.last_error = str(error)
        raise error

    async def _key(self, problems: list[str]) -> ApiKey | None:
        """The next key to use, waiting a little when every key rests only briefly; None when none will do."""
        key = self.keys.acquire()
        if key is not None:
            return key
        wait = self.keys.wait_time()
        if wait > self.max_key_wait:
            problems.append(f"every key is resting ({'; '.join(self.keys.status())})")
            return None
        await self.sleep(wait)
        key = self.keys.acquire()
        if key is None:
            problems.append("every key is resting")
        return key

    def _judge(
        self, key: ApiKey, response: httpx.Response, problems: list[str]
    ) -> tuple[dict[str, Any] | None, bool]:
        """The answer when there is one; else records the problem, rests the key when it must, and says whether
        the next attempt may start at once (another key) rather than after a backoff."""
        status = response.status_code
        if response.is_success:
            try:
                data = response.json()
            except (ValueError, UnicodeDecodeError):
                problems.append(f"{key}: the answer is not JSON ({_snippet(response.text)})")
                return None, False
            if isinstance(data, dict):
                return data, False
            problems.append(f"{key}: the answer is not a JSON object")
            return None, False
        message = _message_of(response)
        quota = status == 402 or (status == 429 and _is_quota(message))
        if status == 429 and not quota:
            seconds = self.keys.rate_limited(key, _retry_after(response))
            log.warning("%s %s is rate limited; resting it %.0f s", self.name, key, seconds)
            problems.append(f"{key}: rate limited (429)")
            return None, True
        if quota or status in {401, 403}:
            why = "quota spent" if quota else f"refused ({status})"
            seconds = self.keys.refused(key, why)
            log.warning("%s %s was %s: %s; resting it %.0f s", self.name, key, why, message, seconds)
            problems.append(f"{key}: {why}: {message}")
            return None, True
        if status in {400, 404, 413, 422}:
            error = ProviderRejected(
                f"{self.name} refused the request ({status}: {message}); check the model names and the base "
                "URL in the voice settings"
            )
            self.last_error = str(error)
            raise error
        problems.append(f"{key}: answered {status}: {message}")
        return None, False

    async def _backoff(self, attempt: int) -> None:
        if attempt < self.attempts:
            await self.sleep(self.backoff * 2 ** (attempt - 1))


def _is_quota(message: str) -> bool:
    lowered = message.lower()
    return any(word in lowered for word in _QUOTA_WORDS)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return min(max(seconds, 0.0), 3600.0) if math.isfinite(seconds) else None


def _message_of(response: httpx.Response) -> str:
    """The error's ``message`` in OpenAI's shape (``{"error": {"message"}}``), ``detail``, or the body's start."""
    try:
        data = json.loads(response.text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return _snippet(error["message"])
        if isinstance(error, str):
            return _snippet(error)
        for field in ("message", "detail"):
            if isinstance(data.get(field), str):
                return _snippet(data[field])
    return _snippet(response.text) or response.reason_phrase


def _snippet(text: str, limit: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"
