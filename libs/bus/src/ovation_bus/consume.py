"""Durable JetStream consumers with an explicit ack policy and a dead-letter queue.

Every message is acked by us, never by FastStream's default (which terminates a message when the handler raises):

- handler returns: ack;
- handler raises ``Reject`` or the message is not a valid contract: to ``dlq.<service>`` with the reason, then term;
- handler raises anything else: nak with backoff, until ``max_deliver`` deliveries, then to the DLQ with the error;
- a message delivered more often than ``max_deliver`` (the handler crashed or outran ``ack_wait`` every time): DLQ.

Long handlers keep their message with ``in_progress()`` heartbeats every half ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError

from ovation_contracts import Envelope, Payload, UnknownMessageType, bus, decode

from . import metrics
from .logs import correlated
from .tasks import cancel_and_wait

log = logging.getLogger(__name__)

DLQ_HEADER_ROOM = 4096
"""Bytes a dead letter keeps free for headers it does not control (FastStream's, the producer's)."""

P = TypeVar("P", bound=Payload)
Handler = Callable[[Envelope[P]], Awaitable[None]]


class Reject(Exception):
    """Raise from a handler for a message that can never succeed; it goes to the DLQ at once with this reason."""


@dataclass(frozen=True, slots=True)
class Consumer:
    """A durable pull consumer. Replicas of a service share ``durable`` and split the messages."""

    subject: str
    durable: str
    max_deliver: int = 5
    ack_wait: float = 30.0
    backoff: tuple[float, ...] = (0.5, 2.0, 5.0, 15.0, 30.0)
    batch_size: int = 1
    fetch_timeout: float = 5.0

    def retry_delay(self, deliveries: int) -> float:
        return self.backoff[min(deliveries, len(self.backoff)) - 1] if self.backoff else 0.0


def subscribe(
    broker: NatsBroker,
    *,
    service: str,
    consumer: Consumer,
    model: type[P],
    handler: Handler[P],
) -> None:
    """Register ``handler`` for ``consumer.subject`` (stored in the stream the contracts name for it)."""
    stream = bus.stream_for(consumer.subject)
    delivery = _Delivery(broker, service, consumer, model, handler)
    broker.subscriber(
        consumer.subject,
        stream=JStream(stream.name, declare=False),
        durable=consumer.durable,
        pull_sub=PullSub(batch_size=consumer.batch_size, timeout=consumer.fetch_timeout),
        # One more than ours, so a message whose handler always crashes still reaches us, and the DLQ.
        config=ConsumerConfig(max_deliver=consumer.max_deliver + 1, ack_wait=consumer.ack_wait),
        no_reply=True,
    )(delivery.on_message)


class _Delivery(Generic[P]):
    """What happens to one delivered message: decode, handle, then ack, nak with backoff, or dead-letter."""

    def __init__(
        self, broker: NatsBroker, service: str, consumer: Consumer, model: type[P], handler: Handler[P]
    ):
        self.broker = broker
        self.service = service
        self.consumer = consumer
        self.model = model
        self.handler = handler

    async def on_message(self, message: NatsMessage) -> None:
        with correlated(_correlation_id(message)):
            await self._deliver(message)

    async def _deliver(self, message: NatsMessage) -> None:
        consumer = self.consumer
        deliveries = message.raw_message.metadata.num_delivered
        if deliveries > consumer.max_deliver:
            await self.dead_letter(
                message,
                f"no answer after {consumer.max_deliver} deliveries: "
                f"the handler crashed or ran longer than ack_wait ({consumer.ack_wait:g} s) every time",
            )
            return
        try:
            envelope = decode(message.raw_message.data, self.model)
        except (ValidationError, UnknownMessageType, ValueError) as exc:
            await self.dead_letter(message, f"not a valid {self.model.TYPE} message: {_one_line(exc)}")
            return
        started = time.perf_counter()
        try:
            async with _heartbeat(message, consumer.ack_wait):
                await self.handler(envelope)
        except Reject as exc:
            await self.dead_letter(message, f"rejected by {self.service}: {exc}")
        except Exception as exc:
            await self._failed(message, deliveries, exc)
        else:
            await message.ack()
            metrics.MESSAGES_CONSUMED.labels(consumer.subject, "ack").inc()
        finally:
            metrics.HANDLER_SECONDS.labels(consumer.subject).observe(time.perf_counter() - started)

    async def _failed(self, message: NatsMessage, deliveries: int, exc: Exception) -> None:
        consumer = self.consumer
        if deliveries >= consumer.max_deliver:
            reason = f"failed {deliveries} times; last error: {type(exc).__name__}: {_one_line(exc)}"
            await self.dead_letter(message, reason)
            return
        delay = consumer.retry_delay(deliveries)
        log.warning(
            "handler failed (delivery %d of %d), retrying in %g s: %r",
            deliveries,
            consumer.max_deliver,
            delay,
            exc,
            exc_info=exc,
        )
        await message.nack(delay=delay)
        metrics.MESSAGES_CONSUMED.labels(consumer.subject, "retry").inc()

    async def dead_letter(self, message: NatsMessage, reason: str) -> None:
        raw = message.raw_message
        meta = raw.metadata
        # Stored in the DLQ before the original is given up: if this fails, the original is redelivered.
        await dead_letter(
            self.broker,
            service=self.service,
            data=raw.data,
            reason=reason,
            msg_id=f"dlq:{meta.stream}:{meta.sequence.stream}",
            subject=raw.subject,
            correlation_id=_correlation_id(message),
            headers={
                bus.Header.DLQ_STREAM: meta.stream,
                bus.Header.DLQ_SEQUENCE: str(meta.sequence.stream),
                bus.Header.DLQ_DELIVERIES: str(meta.num_delivered),
            },
        )
        await message.reject()
        metrics.MESSAGES_CONSUMED.labels(self.consumer.subject, "dlq").inc()


async def dead_letter(
    broker: NatsBroker,
    *,
    service: str,
    data: bytes,
    reason: str,
    msg_id: str,
    subject: str,
    correlation_id: str | None = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Store ``data`` in ``dlq.<service>`` with the reason and where it came from; raises if NATS does not take it.

    A message near the size limit no longer fits once the reason is added (and nats-server closes the connection
    of a client that sends more than its ``max_payload``), so only its start is kept then, with its original size
    in ``Ovation-Dlq-Truncated``.
    """
    all_headers: dict[str, str] = {
        bus.Header.MSG_ID: msg_id,
        bus.Header.DLQ_REASON: reason[:1000],
        bus.Header.DLQ_SERVICE: service,
        bus.Header.DLQ_SUBJECT: subject,
        **(headers or {}),
    }
    if correlation_id:
        all_headers[bus.Header.CORRELATION_ID] = correlation_id
    limit = min(bus.DLQ.max_msg_size, int(broker.connection.max_payload))
    room = limit - DLQ_HEADER_ROOM - sum(len(f"{k}: {v}\r\n".encode()) for k, v in all_headers.items())
    if len(data) > room:
        all_headers[bus.Header.DLQ_TRUNCATED] = str(len(data))
        data = data[: max(room - 64, 0)]  # 64: the truncation header itself
    await broker.publish(data, bus.dlq(service), headers=all_headers, stream=bus.DLQ.name, timeout=5.0)
    metrics.DEAD_LETTERS.labels(subject).inc()
    log.error("sent to %s: %s", bus.dlq(service), reason, extra={"subject": subject})


@contextlib.asynccontextmanager
async def _heartbeat(message: NatsMessage, ack_wait: float) -> AsyncIterator[None]:
    """Tell JetStream the message is still being worked on, every half ``ack_wait``, while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(ack_wait / 2)
            await message.in_progress()

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        await cancel_and_wait(task)


def _correlation_id(message: NatsMessage) -> str | None:
    """The message's correlation id header, cut to the longest a real one is (a poison's may fill 64 KiB)."""
    value = (message.raw_message.headers or {}).get(bus.Header.CORRELATION_ID)
    return value[:256] if value else None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:800]


__all__ = ["Consumer", "Handler", "Reject", "dead_letter", "subscribe"]
