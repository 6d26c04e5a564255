"""The NATS broker every service uses: reconnects forever, declares the shared streams and KV buckets."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from faststream import AckPolicy, BaseMiddleware, PublishCommand, StreamMessage
from faststream.nats import NatsBroker
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from ovation_contracts import KvDocument, bus

from .config import BusSettings
from .health import Health

log = logging.getLogger(__name__)

_RETENTION = {
    "limits": RetentionPolicy.LIMITS,
    "workqueue": RetentionPolicy.WORK_QUEUE,
    "interest": RetentionPolicy.INTEREST,
}


def make_broker(settings: BusSettings, health: Health) -> NatsBroker:
    """A broker that never gives up on NATS and keeps ``health`` informed of the connection.

    nats-py stops reconnecting after 60 attempts (about two minutes) by default; after that FastStream's pull loops
    spin on a closed connection. ``max_reconnect_attempts=-1`` keeps trying for as long as the outage lasts.
    Pings every 10 s notice a server that vanished without closing the socket within about half a minute.
    """
    url = settings.nats_url

    async def on_disconnect() -> None:
        health.nats_lost(
            f"lost the connection to NATS at {url}; reconnecting every {settings.nats_reconnect_wait:g} s"
        )

    async def on_reconnect() -> None:
        health.nats_connected(url)

    async def on_closed() -> None:
        health.nats_lost(f"the connection to NATS at {url} is closed")

    async def on_error(error: Exception) -> None:
        log.debug("NATS client error: %r", error)

    producer = f"{health.service}:{health.instance}"
    return NatsBroker(
        settings.servers,
        name=producer,
        allow_reconnect=True,
        max_reconnect_attempts=-1,
        reconnect_time_wait=settings.nats_reconnect_wait,  # type: ignore[arg-type]  # nats-py takes float seconds
        connect_timeout=settings.nats_connect_timeout,  # type: ignore[arg-type]
        ping_interval=10,
        max_outstanding_pings=3,
        disconnected_cb=on_disconnect,
        reconnected_cb=on_reconnect,
        closed_cb=on_closed,
        error_cb=on_error,
        # Never FastStream's default (terminate on error): every JetStream consumer acks explicitly (see consume.py).
        ack_policy=AckPolicy.MANUAL,
        middlewares=[_producer_header(producer)],
        decoder=_decode_or_keep_bytes,
        graceful_timeout=20.0,
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )


async def _decode_or_keep_bytes(
    message: StreamMessage[Any], default: Callable[[StreamMessage[Any]], Awaitable[Any]]
) -> Any:
    """FastStream's decoding of a body (JSON when it parses), but a body it cannot decode stays bytes.

    FastStream decodes every body before the handler runs: JSON nested too deep (``RecursionError``) or a body whose
    ``content-type`` header promises JSON or text it is not (``ValueError``) would raise there, out of reach of the
    handler, and the message would be redelivered until ``max_deliver`` and then sit in its stream, never in the DLQ.
    As bytes it reaches the handler, which rejects it with the reason.
    """
    try:
        return await default(message)
    except (ValueError, RecursionError):
        return message.body


def _producer_header(producer: str) -> type[BaseMiddleware]:
    """A middleware that names the publishing replica in every message it sends (``Ovation-Producer``), so the
    work of replicas sharing one durable consumer can be told apart in the streams and the DLQ."""

    class ProducerHeader(BaseMiddleware):
        async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: PublishCommand) -> Any:
            cmd.add_headers({bus.Header.PRODUCER: producer}, override=False)
            return await call_next(cmd)

    return ProducerHeader


def stream_config(spec: bus.StreamSpec, replicas: int = 1) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=_RETENTION[spec.retention],
        storage=StorageType.FILE,
        max_age=spec.max_age_seconds,
        duplicate_window=spec.duplicate_window_seconds,
        max_msg_size=spec.max_msg_size,
        num_replicas=replicas,
    )


async def ensure_streams(
    js: JetStreamContext, specs: tuple[bus.StreamSpec, ...] = bus.STREAMS, *, replicas: int = 1
) -> None:
    """Create the shared streams, or bring an existing one to the configuration in the contracts.

    ``replicas`` is how many servers of a NATS cluster keep a copy of each stream (``OVATION_STREAM_REPLICAS``).
    """
    for spec in specs:
        config = stream_config(spec, replicas)
        try:
            await js.add_stream(config)
        except BadRequestError as exc:
            if "already in use" not in (exc.description or ""):
                raise
            log.info("updating stream %s to the configuration in the contracts", spec.name)
            await js.update_stream(config)


async def ensure_buckets(
    js: JetStreamContext, specs: tuple[bus.KvSpec, ...] = bus.KV_BUCKETS, *, replicas: int = 1
) -> None:
    """Create the KV buckets, each kept on ``replicas`` servers. An existing bucket is brought to that replica count;
    its other settings stay as they were made."""
    for spec in specs:
        config = KeyValueConfig(
            bucket=spec.name,
            history=spec.history,
            description=spec.description,
            ttl=spec.ttl_seconds,
            replicas=replicas,
        )
        try:
            await js.create_key_value(config)
        except BadRequestError as exc:
            if "already in use" not in (exc.description or ""):
                raise
            # A bucket is a stream; only its replica count is ours to change (OVATION_STREAM_REPLICAS changed).
            existing = (await js.stream_info(f"KV_{spec.name}")).config
            log.info("updating KV bucket %s to %d replicas", spec.name, replicas)
            await js.update_stream(existing.evolve(num_replicas=replicas))


def jetstream(broker: NatsBroker) -> JetStreamContext:
    return broker.connection.jetstream()


async def key_value(broker: NatsBroker, bucket: str) -> KeyValue:
    """The bucket, which ``ensure_buckets`` created at start-up."""
    return await jetstream(broker).key_value(bucket)


D = TypeVar("D", bound=KvDocument)


async def load(broker: NatsBroker, model: type[D], key: str | None = None) -> D | None:
    """Read a document from its bucket; None when it was never written."""
    kv = await key_value(broker, model.BUCKET)
    try:
        entry = await kv.get(key or model.KEY)
    except (KeyNotFoundError, KeyDeletedError):
        return None
    if entry.value is None:
        return None
    return model.model_validate_json(entry.value)


async def save(broker: NatsBroker, document: KvDocument, key: str | None = None) -> int:
    """Write a document to its bucket; returns the new revision."""
    kv = await key_value(broker, document.BUCKET)
    return int(await kv.put(key or document.KEY, document.model_dump_json().encode()))


async def load_or_create(broker: NatsBroker, default: D, key: str | None = None) -> D:
    """The stored document, else ``default``, stored only if the key is still empty: a document saved meanwhile (the
    streamer's settings from the dashboard, as a service starts) wins over the default and is returned."""
    stored = await load(broker, type(default), key)
    if stored is not None:
        return stored
    kv = await key_value(broker, default.BUCKET)
    try:
        await kv.create(key or default.KEY, default.model_dump_json().encode())
    except KeyWrongLastSequenceError:
        return await load(broker, type(default), key) or default
    return default


__all__ = [
    "NatsError",
    "ensure_buckets",
    "ensure_streams",
    "jetstream",
    "key_value",
    "load",
    "load_or_create",
    "make_broker",
    "save",
    "stream_config",
]
