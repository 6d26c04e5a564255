"""The envelope every message on the bus travels in, and the registry of payload types.

An envelope's ``id`` is the idempotency key: it is sent as the ``Nats-Msg-Id`` header, so JetStream stores a
message once however often it is published, and consumers key their effects by it. ``correlation_id`` is the
global id of the donation (or chat event) that started it all, so one donation can be followed through every subject.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar, cast

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

MESSAGE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:._\-/@+]*$"
MessageId = Annotated[str, Field(min_length=1, max_length=256, pattern=MESSAGE_ID_PATTERN)]
"""An idempotency key: printable, no spaces, stable for the same fact (``donationalerts:30530030``)."""


class Payload(BaseModel):
    """Base of every message payload. Subclasses name their ``TYPE`` and ``SCHEMA_VERSION``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    TYPE: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        registered = cls.__dict__.get("TYPE")
        if registered:
            if registered in PAYLOAD_TYPES and PAYLOAD_TYPES[registered] is not cls:
                raise TypeError(f"payload type {registered!r} is declared twice")
            PAYLOAD_TYPES[registered] = cls


PAYLOAD_TYPES: dict[str, type[Payload]] = {}
"""Every payload type by its ``TYPE`` name; filled as the contract modules are imported."""

P = TypeVar("P")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel, Generic[P]):
    """One message on the bus: who it is (``id``), what it is (``type``), what started it (``correlation_id``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: MessageId
    type: str = Field(min_length=1, max_length=100)
    schema_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    correlation_id: MessageId
    payload: P

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope[P]:
        if isinstance(self.payload, Payload):
            if self.type != self.payload.TYPE:
                raise ValueError(
                    f"envelope type {self.type!r} does not match payload type {self.payload.TYPE!r}"
                )
            if self.schema_version != self.payload.SCHEMA_VERSION:
                raise ValueError(
                    f"schema_version {self.schema_version} is not the version this code reads "
                    f"({self.payload.SCHEMA_VERSION}) for {self.type!r}"
                )
        return self

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


PayloadT = TypeVar("PayloadT", bound=Payload)


def wrap(
    payload: PayloadT,
    *,
    id: str,
    correlation_id: str,
    occurred_at: datetime | None = None,
) -> Envelope[PayloadT]:
    """Put a payload in an envelope; ``id`` must be stable for the same fact (it is the dedupe key)."""
    envelope_type = cast("type[Envelope[PayloadT]]", Envelope[type(payload)])  # type: ignore[misc]
    return envelope_type(
        id=id,
        type=payload.TYPE,
        schema_version=payload.SCHEMA_VERSION,
        occurred_at=occurred_at or utc_now(),
        correlation_id=correlation_id,
        payload=payload,
    )


class UnknownMessageType(ValueError):
    """The message's ``type`` is not one this code knows."""


def decode(data: bytes | str, expected: type[PayloadT] | None = None) -> Envelope[Any]:
    """Parse and validate a message from the bus.

    With ``expected`` the payload must be of that type; without it, the type is looked up by the envelope's
    ``type`` field. Raises ``pydantic.ValidationError`` or ``UnknownMessageType`` on bad input.
    """
    if expected is not None:
        return Envelope[expected].model_validate_json(data)  # type: ignore[valid-type]
    try:
        message_type = json.loads(data)["type"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise UnknownMessageType(f"not an Ovation envelope: {exc}") from exc
    model = PAYLOAD_TYPES.get(message_type) if isinstance(message_type, str) else None
    if model is None:
        raise UnknownMessageType(f"unknown message type {message_type!r}")
    return Envelope[model].model_validate_json(data)  # type: ignore[valid-type]


__all__ = [
    "PAYLOAD_TYPES",
    "Envelope",
    "MessageId",
    "Payload",
    "UnknownMessageType",
    "ValidationError",
    "decode",
    "utc_now",
    "wrap",
]
