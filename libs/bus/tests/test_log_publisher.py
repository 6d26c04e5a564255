"""Warnings and errors leave each service for the dashboard: redacted, rate-limited, never blocking or raising."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator

import pytest

from ovation_bus import configure_logging, correlated
from ovation_bus.logs import LogPublisher, TokenBucket, redact, secrets_from_environment
from ovation_contracts import LogLevel, ServiceLog, decode

ADMIN_TOKEN = "admin-token-0123456789abcdef"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, ServiceLog]] = []
        self.arrived = asyncio.Event()
        self.fail = False
        self.connected = True

    async def send(self, subject: str, data: bytes) -> None:
        if self.fail:
            raise ConnectionError("NATS is away")
        # What the publisher logs while it publishes must not come back to it.
        logging.getLogger("nats").warning("the client complains while publishing")
        self.sent.append((subject, decode(data, ServiceLog).payload))
        self.arrived.set()

    async def wait_for(self, count: int) -> list[ServiceLog]:
        async with asyncio.timeout(2):
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return [line for _, line in self.sent]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def wired(clock: Clock) -> AsyncIterator[tuple[LogPublisher, Outbox, logging.Logger]]:
    publisher = LogPublisher("painter", "host-1", rate=1.0, burst=3, secrets={ADMIN_TOKEN}, clock=clock)
    outbox = Outbox()
    logger = logging.getLogger("test.log_publisher")
    logger.propagate = False
    logger.addHandler(publisher)
    nats_logger = logging.getLogger("nats")
    nats_logger.addHandler(publisher)
    task = asyncio.create_task(publisher.run(outbox.send, lambda: outbox.connected))
    yield publisher, outbox, logger
    task.cancel()
    logger.removeHandler(publisher)
    nats_logger.removeHandler(publisher)


def test_known_secrets_and_credential_shapes_are_redacted() -> None:
    text = (
        f"refused {ADMIN_TOKEN}; Authorization: Bearer abc.def-ghi; GET /widget?token=widget-secret-1&x=1 "
        '{"access_token": "da-token-123456", "api_key": "aiml-key-987"} password=hunter22'
    )
    cleaned = redact(text, {ADMIN_TOKEN})
    for secret in (
        ADMIN_TOKEN,
        "abc.def-ghi",
        "widget-secret-1",
        "da-token-123456",
        "aiml-key-987",
        "hunter22",
    ):
        assert secret not in cleaned
    assert "refused [redacted]" in cleaned
    assert "&x=1" in cleaned, "only the secret goes, not the rest of the line"


def test_secret_values_come_from_the_environment_by_name() -> None:
    found = secrets_from_environment(
        {
            "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
            "VOICE_BOSON_API_KEYS": "boson-key-one1, boson-key-two2",
            "OVATION_S3_SECRET_KEY": "s3-secret-key",
            "VOICE_BOSON_KEY_COOLDOWN": "60",
            "VOICE_LLM_MAX_TOKENS": "400",
            "GATEWAY_ALLOWED_HOSTS": "localhost,example.org",
            "DONATIONALERTS_ACCESS_TOKEN": "short",
        }
    )
    assert found == {ADMIN_TOKEN, "boson-key-one1", "boson-key-two2", "s3-secret-key"}


def test_the_token_bucket_allows_a_burst_then_the_rate(clock: Clock) -> None:
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5
    assert [bucket.take() for _ in range(2)] == [True, False]


async def test_warnings_are_published_redacted_with_the_donation_id(
    wired: tuple[LogPublisher, Outbox, logging.Logger],
) -> None:
    _, outbox, logger = wired
    logger.info("not sent: below WARNING")
    with correlated("donationalerts:42"):
        logger.warning("Ollama refused the token %s", ADMIN_TOKEN)
    try:
        raise ValueError("bad plan")
    except ValueError:
        logger.exception("the planner failed")
    [warning, error] = await outbox.wait_for(2)
    assert outbox.sent[0][0] == "logs.painter"
    assert warning.level is LogLevel.WARNING
    assert warning.message == "Ollama refused the token [redacted]"
    assert warning.donation_id == "donationalerts:42"
    assert (warning.service, warning.instance, warning.logger) == ("painter", "host-1", "test.log_publisher")
    assert error.level is LogLevel.ERROR
    assert error.message == "the planner failed (ValueError: bad plan)"
    assert error.donation_id is None
    await asyncio.sleep(0.05)
    assert len(outbox.sent) == 2, "the client's complaints while publishing are not published"


async def test_a_flood_is_rate_limited_and_the_next_line_says_how_many_were_dropped(
    wired: tuple[LogPublisher, Outbox, logging.Logger], clock: Clock
) -> None:
    publisher, outbox, logger = wired
    for n in range(10):
        logger.warning("flood %d", n)
    clock.now += 1.0
    logger.error("after the flood")
    lines = await outbox.wait_for(4)
    assert [line.message for line in lines] == ["flood 0", "flood 1", "flood 2", "after the flood"]
    assert lines[-1].suppressed == 7
    assert publisher.dropped == 7


async def test_logging_never_raises_or_blocks_when_publishing_fails(
    wired: tuple[LogPublisher, Outbox, logging.Logger], clock: Clock
) -> None:
    publisher, outbox, logger = wired
    outbox.fail = True
    logger.warning("lost")
    await asyncio.sleep(0.05)
    outbox.connected = False
    clock.now += 1
    logger.warning("also lost: NATS is away")
    await asyncio.sleep(0.05)
    assert outbox.sent == []
    assert publisher.dropped == 2
    outbox.fail, outbox.connected = False, True
    clock.now += 1
    logger.warning("back")
    assert [line.message for line in await outbox.wait_for(1)] == ["back"]


async def test_lines_logged_on_another_thread_are_published(
    wired: tuple[LogPublisher, Outbox, logging.Logger],
) -> None:
    _, outbox, logger = wired
    thread = threading.Thread(target=lambda: logger.warning("from the window thread"))
    thread.start()
    thread.join()
    assert [line.message for line in await outbox.wait_for(1)] == ["from the window thread"]


def test_a_broken_record_is_dropped_without_raising() -> None:
    publisher = LogPublisher("voice", "host-1", secrets=set())
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "%d", ("not a number",), None)
    publisher.emit(record)
    assert publisher.dropped == 1


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_stderr_lines_are_redacted_too(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """What a service writes to stderr ends up in `docker logs` and in bug reports: no secret in it either."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure_logging("gateway", "INFO", fmt, secrets={ADMIN_TOKEN})
        logging.getLogger("gateway.test").warning(
            "request with Authorization: Bearer abc.def-ghi failed; admin is %s", ADMIN_TOKEN
        )
        try:
            raise ValueError(f"refused token={ADMIN_TOKEN}")
        except ValueError:
            logging.getLogger("gateway.test").exception("could not connect")
    finally:
        root.handlers[:], root.level = handlers, level
    written = capsys.readouterr().err
    assert "could not connect" in written and "[redacted]" in written
    assert ADMIN_TOKEN not in written and "abc.def-ghi" not in written
    if fmt == "json":
        assert all(
            json.loads(line)["service"] == "gateway" for line in written.splitlines() if line.startswith("{")
        )
