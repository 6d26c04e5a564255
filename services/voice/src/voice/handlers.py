"""Thin bus adapters: voice jobs and playback acknowledgements in; cues, job statuses and reports out; moderation
requests to the gatekeeper; the voice's control commands."""

from __future__ import annotations

from faststream.nats import NatsBroker

from ovation_bus import Consumer, ServiceUnavailable, dead_letter, publish, request, respond, subscribe
from ovation_contracts import (
    ControlReply,
    Envelope,
    JobStatus,
    ModerationReply,
    ModerationRequest,
    PlaybackAck,
    QueueList,
    QueuePause,
    QueueRemove,
    QueueSkip,
    ReactionKind,
    StageCue,
    Verdict,
    VoiceClipsQuery,
    VoiceJob,
    bus,
    wrap,
)

from .show import Moderate, ModerationUnavailable, Show

SERVICE = bus.Service.VOICE


class BusOutbox:
    """Publishes to JetStream with the event id as ``Nats-Msg-Id``, so a republished fact is stored once. While NATS
    is away a publish waits for it: nothing the show decided is lost."""

    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def cue(self, cue: StageCue) -> None:
        await publish(self.broker, wrap(cue, id=cue.cue_id, correlation_id=cue.donation_id), bus.STAGE_CUE)

    async def status(self, status: JobStatus, event_id: str) -> None:
        envelope = wrap(status, id=event_id, correlation_id=status.donation_id)
        await publish(self.broker, envelope, bus.job_status(ReactionKind.VOICE))

    async def report(self, job: VoiceJob, reason: str) -> None:
        """The job, with the reason it failed, in ``dlq.voice`` for the operator."""
        envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
        await dead_letter(
            self.broker,
            service=SERVICE,
            data=envelope.to_json(),
            reason=reason,
            msg_id=f"dlq:voice:{job.job_id}",
            subject=bus.JOBS_VOICE,
            correlation_id=job.donation_id,
        )


def gatekeeper_moderation(broker: NatsBroker, timeout: float) -> Moderate:
    """The gatekeeper's verdict over NATS request/reply; ``ModerationUnavailable`` when it does not answer."""

    async def moderate(text: str) -> Verdict:
        try:
            reply = await request(
                broker,
                bus.Service.GATEKEEPER,
                ModerationRequest(text=text, purpose="speech"),
                subject=bus.MODERATION_CHECK,
                reply=ModerationReply,
                timeout=timeout,
            )
        except ServiceUnavailable as exc:
            raise ModerationUnavailable(str(exc)) from exc
        except Exception as exc:  # an error reply, a broken answer, NATS away: all fail closed
            raise ModerationUnavailable(
                f"no usable verdict from the gatekeeper ({type(exc).__name__}: {exc})"
            ) from exc
        return reply.verdict

    return moderate


def register(broker: NatsBroker, show: Show, *, jobs: Consumer, playback: Consumer) -> None:
    async def on_voice_job(envelope: Envelope[VoiceJob]) -> None:
        await show.accept(envelope.payload)

    async def on_playback(envelope: Envelope[PlaybackAck]) -> None:
        await show.played(envelope.payload)

    subscribe(broker, service=SERVICE, consumer=jobs, model=VoiceJob, handler=on_voice_job)
    subscribe(broker, service=SERVICE, consumer=playback, model=PlaybackAck, handler=on_playback)


def register_controls(broker: NatsBroker, show: Show) -> None:
    """``control.voice.list``, ``.clips``, ``.skip``, ``.pause`` and ``.remove`` (request/reply)."""

    async def on_list(_: QueueList) -> ControlReply:
        snapshot = await show.snapshot()
        return ControlReply(ok=True, data=snapshot.model_dump(mode="json"))

    async def on_clips(query: VoiceClipsQuery) -> ControlReply:
        clips = [clip.model_dump(mode="json") for clip in show.clips(query.limit)]
        return ControlReply(ok=True, data={"clips": clips})

    async def on_skip(_: QueueSkip) -> ControlReply:
        return await show.skip()

    async def on_pause(command: QueuePause) -> ControlReply:
        return await show.pause(command.paused)

    async def on_remove(command: QueueRemove) -> ControlReply:
        return await show.remove(command.item_id)

    respond(broker, SERVICE, QueueList, on_list)
    respond(broker, SERVICE, VoiceClipsQuery, on_clips)
    respond(broker, SERVICE, QueueSkip, on_skip)
    respond(broker, SERVICE, QueuePause, on_pause)
    respond(broker, SERVICE, QueueRemove, on_remove)
