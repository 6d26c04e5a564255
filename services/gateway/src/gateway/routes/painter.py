"""The painter's live canvas for the OBS browser view (``/widget/painter``): its frames, with the widget token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..auth import Widget
from ..painter_view import PainterView

router = APIRouter(tags=["painter"])


@router.get(
    "/api/v1/widget/painter",
    summary="The painter's live canvas (server-sent events: frame)",
    description=(
        "What `/widget/painter` shows. Each `frame` event is a `painter.frame` payload: `key` (the picture; "
        "null when nothing is on stage), `w`, `h` and `rgb` (the pixels row by row, 3 bytes each, base64). "
        "The current frame comes at once, then one per change."
    ),
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {"description": "Missing or wrong widget token"},
    },
)
async def painter_frames(request: Request, _: Widget) -> StreamingResponse:
    view: PainterView = request.app.state.painter_view
    return StreamingResponse(
        view.stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
