"""The widget stage: the OBS widget's feed and reports (widget token), and its control (admin)."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ovation_artifacts import ArtifactMissing, UnsafeKey, content_type_of
from ovation_contracts import PlaybackState, StageState

from ..auth import Admin, Widget, require_widget_or_admin
from ..stage import StageError
from ..stage_service import StageService

router = APIRouter(tags=["stage"])


def _stage(request: Request) -> StageService:
    service: StageService = request.app.state.stage
    return service


# The widget ---------------------------------------------------------------------------------------------------------


@router.get(
    "/api/v1/widget/stage",
    summary="What the OBS widget plays now (server-sent events: play, idle)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        401: {"description": "Missing or wrong widget token"},
    },
)
async def widget_stage(
    request: Request,
    _: Widget,
    token: str = "",
    widget_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> StreamingResponse:
    service = _stage(request)

    def artifact_url(key: str) -> str:
        return f"/artifacts/{quote(key)}?token={quote(token)}"

    return StreamingResponse(
        service.widget_stream(artifact_url, widget_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class PlaybackReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cue_id: str = Field(min_length=1, max_length=256)
    state: PlaybackState
    reason: str | None = Field(default=None, max_length=500)
    widget_id: str | None = Field(default=None, max_length=64)


@router.post(
    "/api/v1/widget/playback",
    summary="The widget reports that a cue started, ended or failed",
    status_code=204,
)
async def widget_playback(request: Request, _: Widget, report: PlaybackReport) -> Response:
    await _stage(request).report(report.cue_id, report.state, report.reason, report.widget_id)
    return Response(status_code=204)


@router.post("/api/v1/widget/heartbeat", summary="The widget says it is alive (every 10 s)", status_code=204)
async def widget_heartbeat(
    request: Request, _: Widget, widget_id: Annotated[str, Query(min_length=1, max_length=64)] = "widget"
) -> Response:
    _stage(request).heartbeat(widget_id)
    return Response(status_code=204)


@router.get("/api/v1/stage/widgets", summary="Widgets seen in the last minute, with their last heartbeat")
async def widgets(request: Request, _: Admin) -> dict[str, str]:
    return {widget: seen.isoformat() for widget, seen in _stage(request).widgets.items()}


# Control ------------------------------------------------------------------------------------------------------------


async def _do(request: Request, operation: str, *args: object) -> StageState:
    service = _stage(request)
    try:
        if operation == "skip":
            return await service.skip()
        if operation == "replay":
            return await service.replay(str(args[0]))
        from .. import stage as logic

        change = getattr(logic, operation)
        return await service.apply(lambda s: change(s, *args))
    except StageError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc


@router.get("/api/v1/stage", summary="The widget stage: what plays, what waits, paused or not, recent cues")
async def get_stage(request: Request, _: Admin) -> StageState:
    return _stage(request).state


@router.post("/api/v1/stage/skip", summary="Skip what plays now")
async def skip(request: Request, _: Admin) -> StageState:
    return await _do(request, "skip")


@router.post("/api/v1/stage/pause", summary="Pause: what plays finishes, nothing new starts")
async def pause(request: Request, _: Admin) -> StageState:
    return await _do(request, "pause", True)


@router.post("/api/v1/stage/resume", summary="Resume playing")
async def resume(request: Request, _: Admin) -> StageState:
    return await _do(request, "pause", False)


@router.post("/api/v1/stage/clear", summary="Remove every waiting cue (what plays keeps playing)")
async def clear(request: Request, _: Admin) -> StageState:
    return await _do(request, "clear")


@router.delete("/api/v1/stage/queue/{cue_id}", summary="Remove one waiting cue")
async def remove(request: Request, _: Admin, cue_id: str) -> StageState:
    return await _do(request, "remove", cue_id)


class MoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: int = Field(ge=-1000, le=1000, description="-1 is one place earlier, +1 one place later")


@router.post("/api/v1/stage/queue/{cue_id}/move", summary="Move a waiting cue up or down")
async def move(request: Request, _: Admin, cue_id: str, body: MoveBody) -> StageState:
    return await _do(request, "move", cue_id, body.by)


@router.post(
    "/api/v1/stage/replay/{cue_id}",
    summary="Play a past cue again (from its stored file; nothing is regenerated)",
)
async def replay(request: Request, _: Admin, cue_id: str) -> StageState:
    return await _do(request, "replay", cue_id)


# Artifacts ----------------------------------------------------------------------------------------------------------

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@router.get("/artifacts/{key:path}", summary="A stored video, audio clip or picture, by key (range requests)")
async def artifact(
    request: Request,
    key: str,
    token: Annotated[str, Query(description="The widget token (or use the admin bearer header)")] = "",
) -> Response:
    require_widget_or_admin(request, token)
    store = request.app.state.artifacts
    try:
        data: bytes = await store.get(key)
    except UnsafeKey as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="Not an artifact key.") from exc
    except ArtifactMissing as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No such artifact.") from exc
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, max-age=3600"}
    media_type = content_type_of(key)
    match = _RANGE.match(request.headers.get("range", "").strip())
    if not match or (not match[1] and not match[2]):
        return Response(data, media_type=media_type, headers=headers)
    size = len(data)
    if match[1]:
        start, end = int(match[1]), min(int(match[2]) if match[2] else size - 1, size - 1)
    else:
        start, end = max(0, size - int(match[2])), size - 1
    if start >= size or start > end:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}"})
    headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    return Response(data[start : end + 1], status_code=206, media_type=media_type, headers=headers)
