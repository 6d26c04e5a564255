"""The video library: what was generated (or carded), replaying a video on stream, deleting one.

Answers control commands (``control.video.list``, ``.replay``, ``.remove``); a replay re-cues the stored file and never
generates or pays again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import JsonValue

from ovation_artifacts import ArtifactStore
from ovation_contracts import (
    ControlReply,
    GenerationPhase,
    StageCue,
    VideoBudgetLedger,
    VideoGeneration,
    VideoSettings,
    utc_now,
)


class LibraryRecords(Protocol):
    async def get(self, job_id: str) -> VideoGeneration | None: ...
    async def put(self, record: VideoGeneration) -> None: ...
    async def all(self) -> list[VideoGeneration]: ...


class CueOutbox(Protocol):
    async def cue(self, cue: StageCue) -> None: ...


def job_of(item_id: str) -> str:
    """The job id behind a job id, a cue id (``<job>:cue``) or a replay's cue id (``<job>:replay:<n>``)."""
    return item_id.split(":replay:", 1)[0].removesuffix(":cue")


def _entry(record: VideoGeneration) -> dict[str, JsonValue]:
    artifact = record.artifact
    assert artifact is not None
    return {
        "job_id": record.job_id,
        "donation_id": record.donation_id,
        "cue_id": record.cue.cue_id if record.cue else None,
        "donor_name": record.cue.donor_name if record.cue else None,
        "state": record.state.value if record.state else None,
        "reason": record.reason.value if record.reason else None,
        "detail": record.detail,
        "key": artifact.key,
        "size_bytes": artifact.size_bytes,
        "duration_ms": artifact.duration_ms,
        "width": artifact.width,
        "height": artifact.height,
        "finished_at": record.updated_at.isoformat(),
    }


class VideoLibrary:
    def __init__(
        self,
        *,
        records: LibraryRecords,
        artifacts: ArtifactStore,
        outbox: CueOutbox,
        ledger: Callable[[], Awaitable[VideoBudgetLedger]],
        load_settings: Callable[[], Awaitable[VideoSettings]],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.records = records
        self.artifacts = artifacts
        self.outbox = outbox
        self.ledger = ledger
        self.load_settings = load_settings
        self.clock = clock

    async def list(self) -> ControlReply:
        """Every stored video, newest first, with the latest one and how much of the budget is used."""
        finished = [
            r
            for r in await self.records.all()
            if r.phase is GenerationPhase.FINISHED and r.artifact is not None
        ]
        finished.sort(key=lambda r: r.updated_at, reverse=True)
        videos: list[JsonValue] = [_entry(r) for r in finished]
        ledger, settings, now = await self.ledger(), await self.load_settings(), self.clock()
        budget: dict[str, JsonValue] = {
            "this_hour": ledger.count_since(now - timedelta(hours=1)),
            "max_per_hour": settings.max_per_hour,
            "today": ledger.count_since(now - timedelta(days=1)),
            "max_per_day": settings.max_per_day,
            "donor_cooldown_seconds": settings.donor_cooldown_seconds,
        }
        return ControlReply(
            ok=True,
            message=f"{len(videos)} videos in the library",
            data={"videos": videos, "latest": videos[0] if videos else None, "budget": budget},
        )

    async def replay(self, item_id: str) -> ControlReply:
        """Cue a stored video again (a new cue id, the same file)."""
        record = await self.records.get(job_of(item_id))
        if record is None or record.cue is None or record.artifact is None:
            return ControlReply(
                ok=False, message=f"no stored video for {item_id}: it is not finished yet, or it was deleted"
            )
        if not await self.artifacts.exists(record.artifact.key):
            return ControlReply(
                ok=False,
                message=f"the file {record.artifact.key} is gone from the artifact store, so it cannot be replayed",
            )
        cue_id = f"{record.job_id}:replay:{uuid.uuid4().hex[:12]}"
        await self.outbox.cue(record.cue.model_copy(update={"cue_id": cue_id}))
        return ControlReply(
            ok=True, message=f"replaying the video for {record.cue.donor_name}", data={"cue_id": cue_id}
        )

    async def remove(self, item_id: str) -> ControlReply:
        """Delete a video's file; the record stays (without the file), so the job is never redone."""
        record = await self.records.get(job_of(item_id))
        if record is None or record.artifact is None:
            return ControlReply(ok=False, message=f"no stored video for {item_id}: nothing to delete")
        await self.artifacts.delete(record.artifact.key)
        await self.records.put(
            record.model_copy(
                update={
                    "artifact": None,
                    "cue": None,
                    "detail": "deleted from the library",
                    "updated_at": self.clock(),
                }
            )
        )
        return ControlReply(ok=True, message=f"deleted {record.artifact.key}", data={"job_id": record.job_id})
