"""End to end on a real nats-server: the voice service and the gatekeeper (for moderation) as processes, the fake
Boson over loopback, and this test as the widget (it reads the stage cues and reports playback).

A superchat posted during the show is spoken at the next clip boundary and the script then continues where it
stopped; a message the gatekeeper blocks is never spoken; a downgraded job gets a thank-you without its text; no
clip is cued twice; a voice service killed mid-show resumes after a restart without losing or repeating a clip; and
of two voice services side by side only the lease holder runs the show, the other taking over when it is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import nats
import pytest
from faststream.nats import NatsBroker
from nats.js.api import ConsumerConfig, DeliverPolicy
from voice.handlers import gatekeeper_moderation
from voice.lease import TTL
from voice.show import ModerationUnavailable

from ovation_bus import ensure_buckets, ensure_streams
from ovation_contracts import (
    ControlReply,
    EventKind,
    JobState,
    JobStatus,
    Payload,
    PlaybackAck,
    PlaybackState,
    QueueList,
    QueuePause,
    StageCue,
    VoiceClip,
    VoiceClipsQuery,
    VoiceJob,
    VoiceShowSnapshot,
    bus,
    decode,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess
from tests.fakes.boson import FakeBoson

from .conftest import KEY_A, KEY_B, make_job

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(120)]


class Stage:
    """The widget's side of the bus: every stage cue and voice job status, as they are published."""

    def __init__(self, nc: Any) -> None:
        self.nc = nc
        self.cues: list[StageCue] = []
        self.statuses: list[JobStatus] = []

    async def listen(self) -> None:
        async def on_cue(message: Any) -> None:
            cue = decode(message.data, StageCue).payload
            if cue.cue_id not in {c.cue_id for c in self.cues}:  # a re-cue after a restart is the same cue
                self.cues.append(cue)

        async def on_status(message: Any) -> None:
            self.statuses.append(decode(message.data, JobStatus).payload)

        await self.nc.subscribe(bus.STAGE_CUE, cb=on_cue)
        await self.nc.subscribe(bus.job_status("voice"), cb=on_status)

    async def wait(self, condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{what}: not seen within {timeout} s (cues: {[c.message for c in self.cues]})"
                )
            await asyncio.sleep(0.05)

    async def cue(self, number: int) -> StageCue:
        """The ``number``-th cue (1-based), once published."""
        await self.wait(lambda: len(self.cues) >= number, f"cue {number}")
        return self.cues[number - 1]

    async def play(self, cue: StageCue) -> None:
        """Report that the widget played ``cue`` to the end."""
        ack = PlaybackAck(cue_id=cue.cue_id, donation_id=cue.donation_id, state=PlaybackState.ENDED)
        envelope = wrap(ack, id=f"ack:{cue.cue_id}:ended", correlation_id=cue.donation_id)
        await self.nc.jetstream().publish(
            bus.STAGE_PLAYBACK, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
        )

    async def queued(self, job: VoiceJob) -> None:
        await self.wait(
            lambda: any(s.job_id == job.job_id and s.state is JobState.QUEUED for s in self.statuses),
            f"{job.job_id} queued",
        )

    async def send(self, job: VoiceJob) -> None:
        envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
        await self.nc.jetstream().publish(
            bus.JOBS_VOICE,
            envelope.to_json(),
            headers={bus.Header.MSG_ID: envelope.id, bus.Header.CORRELATION_ID: job.donation_id},
        )
        await self.queued(job)

    async def control(self, command: Payload) -> ControlReply:
        """A control command over NATS request/reply, as the gateway sends it."""
        subject = bus.control("voice", command.TYPE.rsplit(".", 1)[-1])
        envelope = wrap(command, id=f"test:{uuid.uuid4().hex}", correlation_id="test")
        message = await self.nc.request(subject, envelope.to_json(), timeout=10)
        reply: ControlReply = decode(message.data, ControlReply).payload
        return reply

    async def clips(self) -> list[VoiceClip]:
        reply = await self.control(VoiceClipsQuery(limit=100))
        assert reply.ok and isinstance(reply.data, dict)
        return [VoiceClip.model_validate(c) for c in reply.data["clips"]]  # type: ignore[union-attr]

    async def stored_cues(self) -> list[str]:
        """The cue ids the EVENTS stream holds, in order: what a widget catching up would get."""
        js = self.nc.jetstream()
        sub = await js.pull_subscribe(
            bus.STAGE_CUE,
            stream=bus.EVENTS.name,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, filter_subject=bus.STAGE_CUE),
        )
        ids: list[str] = []
        with contextlib.suppress(TimeoutError, nats.errors.TimeoutError):
            while True:
                for message in await sub.fetch(50, timeout=1):
                    ids.append(decode(message.data, StageCue).payload.cue_id)
                    await message.ack()
        await sub.unsubscribe()
        return ids


@pytest.fixture
async def boson() -> AsyncIterator[FakeBoson]:
    async with FakeBoson(keys=(KEY_A, KEY_B)) as fake:
        fake.seconds_per_char = 0.01
        yield fake


@pytest.fixture
async def stage(nats_server: NatsServer) -> AsyncIterator[Stage]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    await ensure_streams(js)
    await ensure_buckets(js)
    watcher = Stage(client)
    await watcher.listen()
    yield watcher
    await client.drain()


@contextlib.asynccontextmanager
async def running(*processes: ServiceProcess) -> AsyncIterator[None]:
    # Started together, from threads: this event loop must keep serving the fake Boson meanwhile.
    try:
        await asyncio.gather(*(asyncio.to_thread(p.start, timeout=90) for p in processes))
        yield
    finally:
        await asyncio.gather(*(asyncio.to_thread(p.stop) for p in processes))


def gatekeeper(nats_server: NatsServer, workdir: Path) -> ServiceProcess:
    return ServiceProcess(
        "gatekeeper",
        workdir,
        {
            "OVATION_NATS_URL": nats_server.url,
            "OVATION_LOG_FORMAT": "text",
            "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
        },
        "GATEKEEPER_HTTP_PORT",
    )


def voice(
    nats_server: NatsServer, workdir: Path, boson: FakeBoson, keys: tuple[str, ...] = (KEY_A, KEY_B)
) -> ServiceProcess:
    return ServiceProcess(
        "voice",
        workdir,
        {
            "OVATION_NATS_URL": nats_server.url,
            "OVATION_LOG_FORMAT": "text",
            "OVATION_ARTIFACTS_BACKEND": "local",
            "OVATION_ARTIFACTS_DIR": str(workdir / "artifacts"),
            "VOICE_BOSON_API_KEYS": ",".join(keys),
            "VOICE_BOSON_BASE_URL": boson.base_url,
            "VOICE_BOSON_TIMEOUT": "10",
            "VOICE_LLM_PROVIDER": "none",
            "VOICE_ACK_WAIT": "5",
        },
        "VOICE_HTTP_PORT",
    )


async def test_a_superchat_interrupts_at_the_next_clip_and_moderation_guards_every_spoken_word(
    nats_server: NatsServer, stage: Stage, boson: FakeBoson, tmp_path: Path
) -> None:
    service = voice(nats_server, tmp_path, boson)
    async with running(gatekeeper(nats_server, tmp_path), service):
        first = await stage.cue(1)
        await stage.play(first)
        second = await stage.cue(2)

        superchat = make_job(
            1, kind=EventKind.SUPERCHAT, donor="Olga", amount="1000", message="Greetings from Riga!"
        )
        await stage.send(superchat)
        await stage.play(second)
        interrupt = await stage.cue(3)
        await stage.play(interrupt)
        resumed = await stage.cue(4)

        blocked = make_job(2, donor="Petr", message="I hope you die")
        await stage.send(blocked)
        await stage.play(resumed)
        refused = await stage.cue(5)
        await stage.play(refused)

        sixth = await stage.cue(6)
        downgraded = make_job(3, donor="Anna", message="secret words", downgraded=True)
        await stage.send(downgraded)
        await stage.play(sixth)
        thanked = await stage.cue(7)
        await stage.play(thanked)
        await stage.cue(8)
        clips = await stage.clips()
        health = service.health()
        stored = await stage.stored_cues()
        paused = await stage.control(QueuePause(paused=True))
        listed = await stage.control(QueueList())

    opening = "Hello, hello, and welcome to the stream! I'm Nova, and I'll be keeping you company today."
    assert first.message == opening  # moderated and allowed, not a filler: the show waited for the gatekeeper
    assert interrupt.donation_id == superchat.donation_id
    assert "Greetings from Riga" in (interrupt.message or "") and "Olga" in (interrupt.message or "")
    assert interrupt.artifact is not None and interrupt.priority == superchat.priority
    assert refused.donation_id == blocked.donation_id and "Petr" in (refused.message or "")
    assert thanked.donation_id == downgraded.donation_id and "Anna" in (thanked.message or "")
    spoken = " ".join(boson.spoken(succeeded=False))
    assert "hope you die" not in spoken and "secret" not in spoken
    assert not any("hope you die" in (c.message or "") or "secret" in (c.message or "") for c in stage.cues)

    script = [c.item_id for c in reversed(clips) if c.kind.value == "script"]
    assert script == [f"line:0:{n}" for n in range(len(script))]  # in order, none lost, none twice
    assert [c.item_id for c in reversed(clips)][2] == superchat.job_id
    assert len(stored) == len(set(stored)) == len(stage.cues)
    assert {s.state for s in stage.statuses if s.job_id == superchat.job_id} >= {
        JobState.QUEUED,
        JobState.GENERATING,
        JobState.READY,
    }
    assert health["status"] == "ok", health
    assert paused.ok and listed.ok and isinstance(listed.data, dict)
    snapshot = VoiceShowSnapshot.model_validate(listed.data)
    assert snapshot.paused and snapshot.host == "nova" and len(snapshot.on_stage) == 1


async def test_a_voice_service_killed_mid_show_resumes_without_losing_or_repeating_a_clip(
    nats_server: NatsServer, stage: Stage, boson: FakeBoson, tmp_path: Path
) -> None:
    service = voice(nats_server, tmp_path, boson)
    async with running(gatekeeper(nats_server, tmp_path), service):
        for number in (1, 2):
            await stage.play(await stage.cue(number))
        on_stage = await stage.cue(3)
        waiting = make_job(4, kind=EventKind.GIFT, donor="Ivan", message=None)
        await stage.send(waiting)
        await asyncio.to_thread(service.stop, signal.SIGKILL)
        await stage.play(on_stage)  # the widget finishes the clip while the service is down
        await asyncio.to_thread(service.start)
        gift = await stage.cue(4)
        await stage.play(gift)
        await stage.play(await stage.cue(5))
        await stage.cue(6)
        clips = await stage.clips()
        stored = await stage.stored_cues()

    assert gift.donation_id == waiting.donation_id
    items = [c.item_id for c in reversed(clips)]
    assert items[:3] == ["line:0:0", "line:0:1", "line:0:2"]
    assert items[3] == waiting.job_id
    assert items[4:] == ["line:0:3", "line:0:4"]
    assert len(stored) == len(set(stored)) == 6


def leadership(service: ServiceProcess) -> str:
    """What the instance's health says of the show's lease: "leader: ...", "standby: ..." or "starting: ..."."""
    checks: Any = service.health()["checks"]
    return str(checks["leadership"]["detail"])


async def test_of_two_voice_services_one_runs_the_show_and_the_other_takes_over_when_it_is_killed(
    nats_server: NatsServer, stage: Stage, boson: FakeBoson, tmp_path: Path
) -> None:
    # Side by side on one machine and one NATS; each its own Boson key, so the fake tells who made each clip.
    one = voice(nats_server, tmp_path / "one", boson, keys=(KEY_A,))
    two = voice(nats_server, tmp_path / "two", boson, keys=(KEY_B,))
    for service in (one, two):
        service.env["VOICE_LEASE_POLL"] = "0.5"
    key = {id(one): KEY_A, id(two): KEY_B}
    async with running(gatekeeper(nats_server, tmp_path), one, two):
        for number in (1, 2):
            await stage.play(await stage.cue(number))
        roles = {id(s): leadership(s) for s in (one, two)}
        leader, standby = (one, two) if roles[id(one)].startswith("leader") else (two, one)
        third = await stage.cue(3)
        # Jobs reach either instance (one durable consumer): the standby takes its share into the show state.
        superchat = make_job(1, kind=EventKind.SUPERCHAT, donor="Olga", amount="900", message="Hi from Riga")
        gift = make_job(2, kind=EventKind.GIFT, donor="Ivan", amount="50", message=None)
        for job in (superchat, gift):
            await stage.send(job)
        await stage.play(third)
        for number in (4, 5):
            await stage.play(await stage.cue(number))
        on_stage = await stage.cue(6)
        await asyncio.sleep(1.0)  # what the standby would make meanwhile, were it running a show too
        speakers_before = {r.key for r in boson.requests if r.kind == "speech"}

        assert leader.process is not None
        await asyncio.to_thread(leader.stop, signal.SIGKILL)
        killed = time.monotonic()
        await stage.play(on_stage)  # the widget finishes the clip while no instance runs the show
        seventh = await stage.cue(7)
        took_over = time.monotonic() - killed
        await stage.play(seventh)
        await stage.play(await stage.cue(8))
        await stage.cue(9)
        clips = await stage.clips()
        stored = await stage.stored_cues()
        after = leadership(standby)
        speakers_after = {r.key for r in boson.requests if r.kind == "speech"} - speakers_before

    assert roles[id(leader)].startswith("leader: this instance")
    assert roles[id(standby)].startswith("standby: ") and "runs the show" in roles[id(standby)]
    assert speakers_before == {key[id(leader)]}  # only the lease holder made clips
    assert speakers_after == {key[id(standby)]}  # then the standby, from where the show was
    assert took_over < 6 + 0.5 + 5  # the lease's TTL, one poll, and time to make a clip (generous)
    assert after.startswith("leader: this instance")
    items = [c.item_id for c in reversed(clips)]
    assert items[3:5] == [superchat.job_id, gift.job_id]
    script = [i for i in items if i.startswith("line:")]
    assert script == [f"line:0:{n}" for n in range(len(script))] and len(script) == 7  # in order, none lost
    assert len(stored) == len(set(stored)) == len(stage.cues) == 9  # no clip cued twice


async def test_after_a_nats_outage_longer_than_the_lease_the_show_goes_on_where_it_was(
    nats_server: NatsServer, stage: Stage, boson: FakeBoson, tmp_path: Path
) -> None:
    service = voice(nats_server, tmp_path, boson)
    async with running(gatekeeper(nats_server, tmp_path), service):
        for number in (1, 2):
            await stage.play(await stage.cue(number))
        on_stage = await stage.cue(3)
        before = leadership(service)
        await asyncio.to_thread(nats_server.stop)
        await asyncio.sleep(TTL + 2)  # the holder cannot renew: it stands down before its lease may lapse
        during = leadership(service)
        await asyncio.to_thread(nats_server.start)
        await stage.wait(lambda: bool(stage.nc.is_connected), "the widget back on NATS")
        deadline = time.monotonic() + 20
        while True:  # the widget reports the end of the clip once its publish goes through
            try:
                await stage.play(on_stage)
                break
            except (nats.errors.Error, TimeoutError):
                assert time.monotonic() < deadline, "the widget could not report playback after the outage"
                await asyncio.sleep(0.5)
        fourth = await stage.cue(4)
        await stage.play(fourth)
        await stage.cue(5)
        clips = await stage.clips()
        stored = await stage.stored_cues()
        after = leadership(service)

    assert before.startswith("leader:") and during.startswith("standby:") and after.startswith("leader:")
    assert [c.item_id for c in reversed(clips)] == [f"line:0:{n}" for n in range(5)]  # none lost, none twice
    assert len(stored) == len(set(stored)) == 5


async def test_without_a_gatekeeper_moderation_fails_closed_at_once(nats_server: NatsServer) -> None:
    broker = NatsBroker(nats_server.url)
    await broker.connect()
    moderate = gatekeeper_moderation(broker, timeout=2.0)
    started = time.monotonic()
    with pytest.raises(ModerationUnavailable, match="gatekeeper"):
        await moderate("Hello!")
    assert time.monotonic() - started < 2.5
    await broker.stop()
