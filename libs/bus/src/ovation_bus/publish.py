"""Publishing to JetStream: every message carries its ``Nats-Msg-Id`` and is retried until the stream has it."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from faststream.nats import NatsBroker
from nats.js.api import PubAck

from ovation_contracts import Envelope, bus

from . import metrics

log = logging.getLogger(__name__)


class PublishFailed(RuntimeError):
    """JetStream did not acknowledge the message before the deadline."""


def headers_for(envelope: Envelope[Any]) -> dict[str, str]:
    return {
        bus.Header.MSG_ID: envelope.id,
        bus.Header.CORRELATION_ID: envelope.correlation_id,
        bus.Header.TYPE: envelope.type,
    }


async def publish(
    broker: NatsBroker,
    envelope: Envelope[Any],
    subject: str,
    *,
    deadline: float | None = None,
    attempt_timeout: float = 5.0,
) -> PubAck:
    """Publish ``envelope`` to the stream that stores ``subject`` and wait for the stream's acknowledgement.

    The envelope id goes in ``Nats-Msg-Id``, so publishing the same fact again is stored once. While NATS is away
    the publish is retried with backoff: forever when ``deadline`` is None (background work that must not lose
    anything), otherwise until ``deadline`` seconds have passed, then ``PublishFailed``.
    """
    stream = bus.stream_for(subject).name
    payload = envelope.to_json()
    headers = headers_for(envelope)
    started = time.monotonic()
    delay = 0.1
    attempt = 0
    while True:
        try:
            ack: PubAck = await broker.publish(
                payload,
                subject,
                headers=headers,
                stream=stream,
                timeout=attempt_timeout,
                correlation_id=envelope.correlation_id,
            )
        except Exception as exc:
            attempt += 1
            metrics.PUBLISH_RETRIES.inc()
            if deadline is not None and time.monotonic() - started + delay > deadline:
                raise PublishFailed(
                    f"NATS did not store {envelope.type} {envelope.id} on {subject} within {deadline:g} s: {exc!r}"
                ) from exc
            if attempt == 1 or attempt % 20 == 0:
                log.warning(
                    "publish to %s not acknowledged (attempt %d), retrying: %r",
                    subject,
                    attempt,
                    exc,
                    extra={"message_id": envelope.id},
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        metrics.MESSAGES_PUBLISHED.labels(stream, str(bool(ack.duplicate)).lower()).inc()
        return ack
