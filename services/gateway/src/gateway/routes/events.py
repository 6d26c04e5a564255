"""``GET /api/v1/events``: the bus, live, as server-sent events (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from ..auth import Admin
from ..events import EventHub

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.get(
    "/events",
    summary="Live stream of every event on the bus",
    description=(
        "Server-sent events. Each event's data is the bus envelope as JSON (`id`, `type`, `schema_version`, "
        "`occurred_at`, `correlation_id`, `payload`); its SSE id is the envelope id. Reconnect with "
        "`Last-Event-ID` to receive what was missed while it is still in the backlog."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {"description": "Missing or wrong admin token"},
    },
)
async def stream_events(
    request: Request,
    _: Admin,
    types: Annotated[
        str | None, Query(description="Comma-separated message types, e.g. `donation.received,chat.received`")
    ] = None,
    backlog: Annotated[int, Query(ge=0, le=10_000, description="Recent events to send first")] = 0,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    hub: EventHub = request.app.state.hub
    wanted = frozenset(t.strip() for t in types.split(",") if t.strip()) if types else None
    return StreamingResponse(
        hub.stream(wanted, last_event_id=last_event_id, backlog=backlog),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
