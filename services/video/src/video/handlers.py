"""Thin bus adapters: video jobs in, job status events and stage cues out."""

from __future__ import annotations

from faststream.nats import NatsBroker

from ovation_bus import Consumer, publish, respond, subscribe
from ovation_contracts import (
    ControlReply,
    CueReplay,
    Envelope,
    JobStatus,
    QueueList,
    QueueRemove,
    ReactionKind,
    StageCue,
    VideoJob,
    bus,
    wrap,
)

from .library import VideoLibrary
from .service import VideoService

PUBLISH_DEADLINE = 30.0
"""Seconds a status or cue may wait for NATS inside a job before the job is handed back to be retried."""


class BusOutbox:
    """Publishes to JetStream with the event id as ``Nats-Msg-Id``, so a republished fact is stored once."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def status(self, status: JobStatus, event_id: str) -> None:
        envelope = wrap(status, id=event_id, correlation_id=status.donation_id)
        await publish(self.broker, envelope, bus.job_status(ReactionKind.VIDEO), deadline=PUBLISH_DEADLINE)

    async def cue(self, cue: StageCue) -> None:
        envelope = wrap(cue, id=cue.cue_id, correlation_id=cue.donation_id)
        await publish(self.broker, envelope, bus.STAGE_CUE, deadline=PUBLISH_DEADLINE)


def register(broker: NatsBroker, service: VideoService, consumer: Consumer) -> None:
    async def on_video_job(envelope: Envelope[VideoJob]) -> None:
        await service.handle(envelope.payload)

    subscribe(broker, service=bus.Service.VIDEO, consumer=consumer, model=VideoJob, handler=on_video_job)


def register_controls(broker: NatsBroker, library: VideoLibrary) -> None:
    """``control.video.list``, ``control.video.replay`` and ``control.video.remove`` (request/reply)."""
    service = bus.Service.VIDEO

    async def on_list(_: QueueList) -> ControlReply:
        return await library.list()

    async def on_replay(command: CueReplay) -> ControlReply:
        return await library.replay(command.cue_id)

    async def on_remove(command: QueueRemove) -> ControlReply:
        return await library.remove(command.item_id)

    respond(broker, service, QueueList, on_list)
    respond(broker, service, CueReplay, on_replay)
    respond(broker, service, QueueRemove, on_remove)
