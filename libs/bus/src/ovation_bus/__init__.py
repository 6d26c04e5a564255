"""Bus plumbing shared by every Ovation service: broker, publish, consume with DLQ, health, metrics and logs."""

from .broker import (
    ensure_buckets,
    ensure_streams,
    jetstream,
    key_value,
    load,
    load_or_create,
    make_broker,
    save,
)
from .config import BusSettings
from .consume import Consumer, Reject, dead_letter, subscribe
from .control import ServiceUnavailable, command_subject, request, respond
from .health import Health, ops_router
from .logs import configure_logging, correlated
from .publish import PublishFailed, publish
from .runtime import ServiceRuntime, serve
from .tasks import cancel_and_wait

__all__ = [
    "BusSettings",
    "Consumer",
    "Health",
    "PublishFailed",
    "Reject",
    "ServiceRuntime",
    "ServiceUnavailable",
    "cancel_and_wait",
    "command_subject",
    "configure_logging",
    "correlated",
    "dead_letter",
    "ensure_buckets",
    "ensure_streams",
    "jetstream",
    "key_value",
    "load",
    "load_or_create",
    "make_broker",
    "ops_router",
    "publish",
    "request",
    "respond",
    "save",
    "serve",
    "subscribe",
]
