"""Structured JSON logs that carry the correlation (donation) id of the message being handled, and the warnings and
errors published for the dashboard (redacted, rate-limited)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from ovation_contracts import LogLevel, ServiceLog, bus, wrap
from ovation_contracts.envelope import MESSAGE_ID_PATTERN

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)

_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "color_message",
}


@contextlib.contextmanager
def correlated(value: str | None) -> Iterator[None]:
    """Every log line written inside carries ``correlation_id=value``."""
    token = correlation_id.set(value)
    try:
        yield
    finally:
        correlation_id.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, service, logger, message, correlation_id and any ``extra``."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        current = correlation_id.get()
        if current:
            entry["correlation_id"] = current
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        current = correlation_id.get()
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if current:
            line += f" [{current}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class Redacting(logging.Formatter):
    """Another formatter's lines with secrets redacted: stderr ends up in ``docker logs`` and in bug reports."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = frozenset(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return redact(self.inner.format(record), self.secrets)


def configure_logging(
    service: str, level: str = "INFO", fmt: str = "json", secrets: Iterable[str] | None = None
) -> None:
    """Route every logger (ours, FastStream's, uvicorn's) to stderr in one format, with secrets redacted (the
    values of the secret environment variables unless ``secrets`` is given, and anything shaped like one)."""
    handler = logging.StreamHandler(sys.stderr)
    inner = JsonFormatter(service) if fmt == "json" else TextFormatter()
    handler.setFormatter(Redacting(inner, secrets_from_environment() if secrets is None else secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream", "nats"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Access logs at INFO would drown the donation trail; health probes hit every few seconds.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


# Redaction ---------------------------------------------------------------------------------------------------------

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"(?:TOKEN|SECRET|PASSWORD|PASSWD|API_KEYS?|ACCESS_KEY|SECRET_KEY|CREDENTIALS?)$")
_SECRET_PATTERNS = (
    # Authorization: Bearer <token>
    re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=\-]{4,}"),
    # token=..., "access_token": "...", api_key: ..., password=..., ?token=... in a URL
    re.compile(
        r"(?i)(\b[a-z_\-]*(?:token|secret|password|passwd|api[_\-]?keys?|authorization)[\"']?\s*[:=]\s*[\"']?)"
        r"(?!\[redacted\])[^\s\"'&,;}]{4,}"
    ),
)
_MIN_SECRET_LENGTH = 8


def secrets_from_environment(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """Values of the environment variables that hold secrets (``*_TOKEN``, ``*_SECRET``, ``*_API_KEYS``, ...)."""
    environ = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in environ.items():
        if _SECRET_NAME.search(name.upper()):
            for part in (piece.strip() for piece in value.split(",")):
                if len(part) >= _MIN_SECRET_LENGTH and not part.isdigit():
                    found.add(part)
    return frozenset(found)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and anything shaped like a credential replaced by ``[redacted]``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + REDACTED, text)
    return text


# Publishing warnings and errors ------------------------------------------------------------------------------------

_publishing: ContextVar[bool] = ContextVar("publishing_logs", default=False)
Send = Callable[[str, bytes], Awaitable[None]]


class TokenBucket:
    """At most ``burst`` at once and ``rate`` per second on average."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> bool:
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


class LogPublisher(logging.Handler):
    """Sends every WARNING and worse to ``logs.<service>`` (core NATS) for the dashboard's "recent logs".

    ``emit`` only queues a small, redacted ``ServiceLog`` (rate-limited, bounded queue): it never blocks the code
    that logs and never raises. ``run`` publishes the queue; lines logged while publishing are not sent (the NATS
    client's own complaints would loop), nor are lines while NATS is away (core NATS: nothing is stored anyway).
    """

    def __init__(
        self,
        service: str,
        instance: str,
        *,
        rate: float = 5.0,
        burst: int = 20,
        queue_size: int = 200,
        secrets: Iterable[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(logging.WARNING)
        self.service = service
        self.instance = instance[:128]
        self.subject = bus.logs(service)
        self.secrets = frozenset(secrets_from_environment() if secrets is None else secrets)
        self._bucket = TokenBucket(rate, burst, clock)
        self._lines: deque[ServiceLog] = deque(maxlen=queue_size)
        self._suppressed = 0
        self.dropped = 0
        """Lines lost: over the rate limit, the queue full, NATS away, or a failed publish."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._wakeup: asyncio.Event | None = None

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if _publishing.get():
                return
            if not self._bucket.take():
                self._suppressed += 1
                self.dropped += 1
                return
            line = self.line(record, suppressed=self._suppressed)
            self._suppressed = 0
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(line)
            self._wake()
        except Exception:
            self.dropped += 1  # a log line must never break the code that logs it

    def line(self, record: logging.LogRecord, *, suppressed: int = 0) -> ServiceLog:
        """The record as it leaves the service: level, logger, redacted message (with the error), donation id."""
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message = f"{message} ({type(error).__name__}: {error})"
        if record.levelno >= logging.CRITICAL:
            level = LogLevel.CRITICAL
        elif record.levelno >= logging.ERROR:
            level = LogLevel.ERROR
        else:
            level = LogLevel.WARNING
        donation = correlation_id.get()
        return ServiceLog(
            service=self.service,
            instance=self.instance,
            level=level,
            logger=record.name[:200],
            message=_shorten(redact(message, self.secrets), 2000),
            logged_at=datetime.fromtimestamp(record.created, UTC),
            donation_id=donation if donation and _MESSAGE_ID.fullmatch(donation) else None,
            suppressed=suppressed,
        )

    def _wake(self) -> None:
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None or loop.is_closed():
            return
        if threading.get_ident() == self._loop_thread:
            wakeup.set()
        else:
            loop.call_soon_threadsafe(wakeup.set)

    async def run(self, send: Send, connected: Callable[[], bool]) -> None:
        """Publish queued lines with ``send(subject, data)`` until cancelled."""
        _publishing.set(True)
        self._wakeup = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        while True:
            while self._lines:
                line = self._lines.popleft()
                if not connected():
                    self.dropped += 1
                    continue
                envelope = wrap(
                    line, id=f"log:{uuid.uuid4().hex}", correlation_id=line.donation_id or self.subject
                )
                try:
                    await send(self.subject, envelope.to_json())
                except Exception:
                    self.dropped += 1
            self._wakeup.clear()
            if not self._lines:
                await self._wakeup.wait()


_MESSAGE_ID = re.compile(MESSAGE_ID_PATTERN)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
