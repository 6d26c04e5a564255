"""The painter's queue and the voice show's queue: look, skip, pause, resume, clear, remove, move.

Each request is a control command to the service over NATS (``control.painter.*``, ``control.voice.*``); the answer
is the queue afterwards. A service that does not answer gets a 503 naming it; a command it refuses (an item no
longer waiting, nothing to skip) gets a 409 with its own words.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ovation_bus import ServiceUnavailable, request
from ovation_contracts import (
    ControlReply,
    PainterQueueSnapshot,
    Payload,
    QueueClear,
    QueueList,
    QueueMove,
    QueuePause,
    QueueRemove,
    QueueSkip,
    VoiceShowSnapshot,
    bus,
)
from ovation_contracts.envelope import MESSAGE_ID_PATTERN

from ..auth import Admin

ItemId = Annotated[
    str, Path(max_length=256, pattern=MESSAGE_ID_PATTERN, description="The queued item's id (a job id)")
]
RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "The service refused: the item is not waiting, nothing to skip, ..."},
    502: {"description": "The service answered with a queue this gateway cannot read (version mismatch)"},
    503: {"description": "The service did not answer (not running, or NATS is away)"},
}
Snapshot = TypeVar("Snapshot", bound=BaseModel)


class MoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: int = Field(ge=-1000, le=1000, description="-1 is one place earlier, +1 one place later")


async def ask(http_request: Request, service: str, command: Payload) -> ControlReply:
    try:
        reply = await request(http_request.app.state.runtime.broker, service, command, timeout=8.0)
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=reply.message or f"The {service} refused.")
    return reply


def _snapshot(model: type[Snapshot], service: str, data: Any) -> Snapshot:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY,
            detail=f"The {service} answered with a queue this gateway cannot read; are both the same version?",
        ) from exc


# Painter ----------------------------------------------------------------------------------------------------------


async def painter(http_request: Request, command: Payload) -> PainterQueueSnapshot:
    """Every painter command answers with the queue afterwards."""
    reply = await ask(http_request, bus.Service.PAINTER, command)
    return _snapshot(PainterQueueSnapshot, "painter", reply.data)


painter_router = APIRouter(prefix="/api/v1/painter", tags=["painter"], responses=RESPONSES)


@painter_router.get("/queue", summary="The painter: what it draws now and what waits")
async def painter_queue(http_request: Request, _: Admin) -> PainterQueueSnapshot:
    return await painter(http_request, QueueList())


@painter_router.post("/skip", summary="Skip the drawing on screen")
async def painter_skip(http_request: Request, _: Admin) -> PainterQueueSnapshot:
    return await painter(http_request, QueueSkip())


@painter_router.post("/pause", summary="Pause: the drawing on screen finishes, the next one waits")
async def painter_pause(http_request: Request, _: Admin) -> PainterQueueSnapshot:
    return await painter(http_request, QueuePause(paused=True))


@painter_router.post("/resume", summary="Resume drawing")
async def painter_resume(http_request: Request, _: Admin) -> PainterQueueSnapshot:
    return await painter(http_request, QueuePause(paused=False))


@painter_router.post("/clear", summary="Remove every waiting request (the drawing on screen goes on)")
async def painter_clear(http_request: Request, _: Admin) -> PainterQueueSnapshot:
    return await painter(http_request, QueueClear())


@painter_router.delete("/queue/{item_id}", summary="Remove one waiting request")
async def painter_remove(http_request: Request, _: Admin, item_id: ItemId) -> PainterQueueSnapshot:
    return await painter(http_request, QueueRemove(item_id=item_id))


@painter_router.post("/queue/{item_id}/move", summary="Move a waiting request up or down")
async def painter_move(
    http_request: Request, _: Admin, item_id: ItemId, body: MoveBody
) -> PainterQueueSnapshot:
    return await painter(http_request, QueueMove(item_id=item_id, by=body.by))


# Voice ------------------------------------------------------------------------------------------------------------


async def voice(http_request: Request, command: Payload | None = None) -> VoiceShowSnapshot:
    """Run ``command`` (if any), then answer with the show's queue as it is afterwards."""
    if command is not None:
        await ask(http_request, bus.Service.VOICE, command)
    reply = await ask(http_request, bus.Service.VOICE, QueueList())
    return _snapshot(VoiceShowSnapshot, "voice", reply.data)


voice_router = APIRouter(prefix="/api/v1/voice", tags=["voice"], responses=RESPONSES)


@voice_router.get(
    "/queue",
    summary="The voice show: clips on stage, waiting interrupts (donations, chat) and the next script lines",
)
async def voice_queue(http_request: Request, _: Admin) -> VoiceShowSnapshot:
    return await voice(http_request)


@voice_router.post("/skip", summary="Skip the clips on stage; the next one is cued now")
async def voice_skip(http_request: Request, _: Admin) -> VoiceShowSnapshot:
    return await voice(http_request, QueueSkip())


@voice_router.post("/pause", summary="Pause the show (interrupts keep arriving and wait)")
async def voice_pause(http_request: Request, _: Admin) -> VoiceShowSnapshot:
    return await voice(http_request, QueuePause(paused=True))


@voice_router.post("/resume", summary="Resume the show")
async def voice_resume(http_request: Request, _: Admin) -> VoiceShowSnapshot:
    return await voice(http_request, QueuePause(paused=False))


@voice_router.delete("/queue/{item_id}", summary="Remove a waiting interrupt or an upcoming script line")
async def voice_remove(http_request: Request, _: Admin, item_id: ItemId) -> VoiceShowSnapshot:
    return await voice(http_request, QueueRemove(item_id=item_id))


router = APIRouter()
router.include_router(painter_router)
router.include_router(voice_router)
