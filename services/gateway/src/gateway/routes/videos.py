"""The video library: list, latest, delete, replay (from the stored file), and a video from an admin's own prompt."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ovation_bus import PublishFailed, ServiceUnavailable, publish, request
from ovation_contracts import (
    ControlReply,
    CueReplay,
    Money,
    Payload,
    QueueList,
    QueueRemove,
    VideoJob,
    bus,
    job_id,
    wrap,
)
from ovation_contracts.envelope import MESSAGE_ID_PATTERN

from ..auth import Admin

router = APIRouter(prefix="/api/v1/videos", tags=["videos"])

JobId = Annotated[str, Path(max_length=256, pattern=MESSAGE_ID_PATTERN, description="The video job's id")]


async def ask_video(http_request: Request, command: Payload) -> ControlReply:
    try:
        reply = await request(http_request.app.state.runtime.broker, bus.Service.VIDEO, command, timeout=8.0)
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=reply.message)
    return reply


@router.get("", summary="Every stored video, newest first, the latest one, and the spend budget used")
async def list_videos(http_request: Request, _: Admin) -> Any:
    return (await ask_video(http_request, QueueList())).data


@router.get("/latest", summary="The newest stored video")
async def latest(http_request: Request, _: Admin) -> Any:
    data = (await ask_video(http_request, QueueList())).data
    newest = data.get("latest") if isinstance(data, dict) else None
    if newest is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="No video yet.")
    return newest


@router.delete("/{job}", summary="Delete a video's file (the job is never generated again)")
async def delete(http_request: Request, _: Admin, job: JobId) -> Any:
    return (await ask_video(http_request, QueueRemove(item_id=job))).data


@router.post("/{job}/replay", summary="Play a stored video on stream again, without generating anything")
async def replay(http_request: Request, _: Admin, job: JobId) -> Any:
    return (await ask_video(http_request, CueReplay(cue_id=job))).data


class CustomVideo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt: str = Field(min_length=3, max_length=4000, description="Your own prompt, used as it is")
    title: str = Field(default="Ovation", min_length=1, max_length=100, description="Shown with the video")


@router.post(
    "", summary="Generate a video from an admin's own prompt (status on events.job.video)", status_code=202
)
async def generate(http_request: Request, _: Admin, body: CustomVideo) -> dict[str, str]:
    donation_id = f"admin:{uuid.uuid4().hex}"
    zero = Money(amount=Decimal(0), currency="RUB")
    job = VideoJob(
        job_id=job_id(donation_id, "video"),
        donation_id=donation_id,
        donor_name=body.title,
        amount=zero,
        amount_base=zero,
        custom_prompt=body.prompt,
        priority=500,
    )
    try:
        await publish(
            http_request.app.state.runtime.broker,
            wrap(job, id=job.job_id, correlation_id=donation_id),
            bus.JOBS_VIDEO,
            deadline=5.0,
        )
    except PublishFailed as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return {"job_id": job.job_id, "donation_id": donation_id}
