"""Control commands: NATS request/reply on ``control.<service>.<command>``, one envelope each way.

``respond`` answers in a queue group, so with several replicas exactly one handles each command.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

from faststream.nats import NatsBroker, NatsMessage
from nats.errors import Error as NatsError
from pydantic import ValidationError

from ovation_contracts import ControlReply, Payload, UnknownMessageType, bus, decode, wrap

log = logging.getLogger(__name__)

C = TypeVar("C", bound=Payload)
R = TypeVar("R", bound=Payload)


def _brief(exc: Exception) -> str:
    """An error on one line, short enough for a ``ControlReply`` (a bad request can list dozens of errors)."""
    return " ".join(str(exc).split())[:800]


class ServiceUnavailable(RuntimeError):
    """The service did not answer: it is not running, or NATS is away."""


def command_subject(service: str, command: type[Payload]) -> str:
    """``control.<service>.<last part of the command's type>``: ``ingest.oauth-start`` -> ``control.ingest.oauth-start``."""
    return bus.control(service, command.TYPE.rsplit(".", 1)[-1])


@overload
async def request(
    broker: NatsBroker,
    service: str,
    command: Payload,
    *,
    timeout: float = 5.0,
    correlation_id: str | None = None,
    subject: str | None = None,
) -> ControlReply: ...


@overload
async def request(
    broker: NatsBroker,
    service: str,
    command: Payload,
    *,
    reply: type[R],
    timeout: float = 5.0,
    correlation_id: str | None = None,
    subject: str | None = None,
) -> R: ...


async def request(
    broker: NatsBroker,
    service: str,
    command: Payload,
    *,
    reply: type[Payload] = ControlReply,
    timeout: float = 5.0,
    correlation_id: str | None = None,
    subject: str | None = None,
) -> Payload:
    """Send ``command`` to ``service`` and return its reply; ``ServiceUnavailable`` when nobody answers in time."""
    request_id = f"{command.TYPE}:{uuid.uuid4().hex}"
    envelope = wrap(command, id=request_id, correlation_id=correlation_id or request_id)
    try:
        response = await broker.request(
            envelope.to_json(), subject or command_subject(service, type(command)), timeout=timeout
        )
    except (TimeoutError, NatsError) as exc:
        raise ServiceUnavailable(
            f"the {service} service did not answer within {timeout:g} s ({type(exc).__name__}): "
            f"check that it is running (`ovation status`)"
        ) from exc
    answer: Payload = decode(response.body, reply).payload
    return answer


def respond(
    broker: NatsBroker,
    service: str,
    command: type[C],
    handler: Callable[[C], Awaitable[Payload]],
    *,
    subject: str | None = None,
) -> None:
    """Answer ``command`` with ``handler``; a bad request or a failing handler gets an ``ok=False`` ControlReply."""

    async def answer(message: NatsMessage) -> bytes:
        request_id = "invalid"
        reply: Payload
        try:
            envelope = decode(message.body, command)
            request_id = envelope.id
            reply = await handler(envelope.payload)
        except (ValidationError, UnknownMessageType) as exc:
            reply = ControlReply(ok=False, message=f"not a valid {command.TYPE} command: {_brief(exc)}")
        except Exception as exc:
            log.exception("%s failed", command.TYPE)
            reply = ControlReply(ok=False, message=f"{service} could not do {command.TYPE}: {_brief(exc)}")
        return wrap(reply, id=f"reply:{request_id}", correlation_id=request_id).to_json()

    broker.subscriber(subject or command_subject(service, command), queue=f"{service}-control")(answer)
