"""Bus plumbing shared by every Ovation service: broker, publish, consume with DLQ, health, metrics and logs."""

from .broker import ensure_buckets, ensure_streams, jetstream, key_value, load, make_broker, save
from .config import BusSettings
from .consume import Consumer, Reject, subscribe
from .health import Health, ops_router
from .logs import configure_logging, correlated
from .publish import PublishFailed, publish
from .runtime import ServiceRuntime, serve

__all__ = [
    "BusSettings",
    "Consumer",
    "Health",
    "PublishFailed",
    "Reject",
    "ServiceRuntime",
    "configure_logging",
    "correlated",
    "ensure_buckets",
    "ensure_streams",
    "jetstream",
    "key_value",
    "load",
    "make_broker",
    "ops_router",
    "publish",
    "save",
    "serve",
    "subscribe",
]
