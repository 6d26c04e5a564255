"""Thin bus handlers: a painter job in, and the queue's control commands over NATS request/reply.

A control request is an envelope of ``QueueSkip``, ``QueueClear``, ``QueuePause``, ``QueueRemove``,
``QueueMove`` or ``QueueList`` on ``control.painter.<skip|clear|pause|remove|move|list>``. Every reply is an
envelope of ``ControlReply`` whose ``data`` is the queue afterwards (``PainterQueueSnapshot``); a request that
is not a valid command gets ``ok: false`` with what was wrong, never silence.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError

from ovation_bus import Consumer, subscribe
from ovation_contracts import (
    ControlReply,
    Envelope,
    PainterJob,
    Payload,
    QueueClear,
    QueueList,
    QueueMove,
    QueuePause,
    QueueRemove,
    QueueSkip,
    UnknownMessageType,
    bus,
    decode,
    wrap,
)

from .service import CommandResult, Painter

log = logging.getLogger(__name__)

SERVICE = bus.Service.PAINTER
JOBS = Consumer(bus.JOBS_PAINTER, bus.durable(SERVICE, "draw"))

Command = Callable[[Any], Awaitable[CommandResult]]


def register_jobs(broker: NatsBroker, painter: Painter) -> None:
    async def on_job(envelope: Envelope[PainterJob]) -> None:
        await painter.accept(envelope.payload)

    subscribe(broker, service=SERVICE, consumer=JOBS, model=PainterJob, handler=on_job)


def register_controls(broker: NatsBroker, painter: Painter) -> None:
    commands: dict[str, tuple[type[Payload], Command]] = {
        "skip": (QueueSkip, lambda _: painter.skip()),
        "clear": (QueueClear, lambda _: painter.clear()),
        "pause": (QueuePause, lambda command: painter.pause(command.paused)),
        "remove": (QueueRemove, lambda command: painter.remove(command.item_id)),
        "move": (QueueMove, lambda command: painter.move(command.item_id, command.by)),
        "list": (QueueList, lambda _: _listed(painter)),
    }
    for name, (model, command) in commands.items():
        broker.subscriber(bus.control(SERVICE, name))(_answerer(painter, name, model, command))


async def _listed(painter: Painter) -> CommandResult:
    waiting = len(painter.queue)
    return CommandResult(True, f"{waiting} waiting" + (", paused" if painter.queue.paused else ""))


def _answerer(
    painter: Painter, name: str, model: type[Payload], command: Command
) -> Callable[[NatsMessage], Awaitable[bytes]]:
    async def answer(message: NatsMessage) -> bytes:
        try:
            request = decode(message.body, model)
        except (ValidationError, UnknownMessageType, ValueError) as exc:
            reason = " ".join(str(exc).split())[:400]
            log.warning("invalid painter %s request: %s", name, reason)
            reply = ControlReply(ok=False, message=f"not a valid {model.TYPE} request: {reason}")
            return wrap(reply, id=f"reply:{uuid.uuid4()}", correlation_id=f"control:{name}").to_json()
        if not painter.restored.is_set():
            reply = ControlReply(ok=False, message="the painter is starting; try again in a moment")
        else:
            try:
                result = await command(request.payload)
            except Exception as exc:  # a command must always get an answer
                log.exception("painter %s failed", name)
                result = CommandResult(False, f"the painter could not {name}: {type(exc).__name__}: {exc}")
            reply = ControlReply(
                ok=result.ok, message=result.message, data=painter.snapshot().model_dump(mode="json")
            )
        return wrap(reply, id=f"reply:{request.id}", correlation_id=request.correlation_id).to_json()

    answer.__name__ = f"painter_{name}"
    return answer
