"""The show, in memory with the fake Boson over loopback: it runs by itself, makes audio only a little ahead,
interrupts by priority at the next clip boundary, resumes the script where it stopped, fails closed on
moderation, gives up on a failing interrupt after a bounded number of attempts, and survives a restart."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from voice.offline import Espeak
from voice.personas import PersonaBook, Voice
from voice.show import interrupt_order
from voice.state import MemoryShowStore, PendingInterrupt
from voice.studio import Recording
from voice.writer import Writer

from ovation_contracts import EventKind, JobState, PlaybackState, StageCue, VoiceJob, VoiceSettings
from tests.fakes.boson import FakeBoson

from .conftest import FakeModeration, Rig, RigFactory, make_job
from .test_writer import ScriptedLlm

pytestmark = pytest.mark.timeout(60)


def script_texts(personas: PersonaBook, host: str) -> list[str]:
    return [line.text for line in personas.script_of(personas.host([host]))]


async def play(rig: Rig, count: int) -> list[StageCue]:
    """Let the widget play ``count`` more clips, one after the other; returns those clips."""
    played: list[StageCue] = []
    for _ in range(count):
        cues = await rig.cues(len(rig.outbox.cues) + (0 if _on_stage(rig) else 1))
        current = next(c for c in cues if c.cue_id in _on_stage(rig))
        await rig.ended(current)
        played.append(current)
    return played


def _on_stage(rig: Rig) -> set[str]:
    return {s.clip.clip_id for s in rig.show.state.on_stage}


def test_interrupts_are_ordered_superchat_gift_donation_chat_then_priority_amount_arrival() -> None:
    jobs = [
        (make_job(1, kind=EventKind.CHAT, amount="0"), 1),
        (make_job(2, kind=EventKind.DONATION, amount="100"), 2),
        (make_job(3, kind=EventKind.DONATION, amount="900"), 3),
        (make_job(4, kind=EventKind.GIFT, amount="10"), 4),
        (make_job(5, kind=EventKind.SUPERCHAT, amount="50"), 5),
        (make_job(6, kind=EventKind.SUPERCHAT, amount="50"), 6),
        (make_job(7, kind=EventKind.DONATION, amount="100", priority=10), 7),
    ]
    pending = [PendingInterrupt(job=job, arrival=arrival) for job, arrival in jobs]
    order = [p.arrival for p in sorted(pending, key=interrupt_order)]
    assert order == [5, 6, 4, 7, 3, 2, 1]


async def test_the_show_runs_its_script_by_itself_in_order(
    make_rig: RigFactory, personas: PersonaBook
) -> None:
    rig = make_rig()
    rig.start()
    played = await play(rig, 5)
    assert [c.message for c in played] == [_spoken(t) for t in script_texts(personas, "nova")[:5]]
    assert all(c.kind.value == "audio" and c.artifact and c.duration_ms for c in played)
    assert len({c.cue_id for c in played}) == 5


def _spoken(text: str) -> str:
    from voice.speech import normalise

    return normalise(text, language="en")


async def test_audio_is_made_at_most_lookahead_clips_ahead_of_playback(
    make_rig: RigFactory, fake: FakeBoson
) -> None:
    rig = make_rig(lookahead=3)
    rig.start()
    await rig.cues(1)
    await asyncio.sleep(0.3)  # time enough to make many clips, were it allowed
    assert len(fake.spoken()) == 3
    assert len(rig.outbox.cues) == 1  # one clip handed to the widget at a time
    await play(rig, 1)
    await rig.cues(2)
    await rig.until(lambda: len(fake.spoken()) == 4, what="one more clip made")
    await asyncio.sleep(0.2)
    assert len(fake.spoken()) == 4


@pytest.mark.parametrize("lookahead", [1, 2, 3])
async def test_a_flood_of_interrupts_never_makes_more_than_lookahead_clips_ahead_of_playback(
    make_rig: RigFactory, fake: FakeBoson, personas: PersonaBook, lookahead: int
) -> None:
    fake.seconds_per_char = 0.0005  # short clips: this test makes forty of them
    rig = make_rig(lookahead=lookahead, cue_window=1)
    made: list[str] = []
    played: list[StageCue] = []
    worst = 0
    record = rig.studio.record

    async def counted(text: str, voice: Voice) -> Recording:
        nonlocal worst
        recording = await record(text, voice)
        made.append(text)
        worst = max(worst, len(made) - len(played))  # made and not yet played, right after each clip is made
        return recording

    rig.studio.record = counted  # type: ignore[method-assign]
    rig.start()
    await rig.cues(1)
    await rig.until(lambda: len(made) == lookahead, what="the look-ahead made")

    def superchat(number: int) -> VoiceJob:
        # Each outranks every one before it: each would be "the best waiting interrupt" when it arrives.
        return make_job(number, kind=EventKind.SUPERCHAT, donor=f"Donor{number}", amount=str(100 + number))

    flood = [superchat(n) for n in range(30)]
    for job in flood[:20]:
        await rig.show.accept(job)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)  # time enough to make all twenty, were it allowed
    assert len(made) == lookahead and len(fake.spoken()) == lookahead  # nothing played: nothing more made
    assert rig.show.made_ahead() == lookahead

    while len(played) < 32:  # the widget plays everything; ten more superchats arrive in the middle
        cue = next(c for c in await rig.cues(len(played) + 1) if c.cue_id not in {p.cue_id for p in played})
        played.append(cue)
        await rig.ended(cue)
        if len(played) == 5:
            for job in flood[20:]:
                await rig.show.accept(job)
        assert rig.show.made_ahead() <= lookahead
    assert worst <= lookahead

    spoken = [c.donation_id for c in played]
    assert all(spoken.count(job.donation_id) == 1 for job in flood)  # every one spoken, once
    first_twenty = [c.donation_id for c in played if c.donation_id in {j.donation_id for j in flood[:20]}]
    assert first_twenty[:4] == [j.donation_id for j in reversed(flood[16:20])]  # best first
    script = [c.message for c in played if c.donation_id.startswith("voice-show:")]
    assert (
        script == [_spoken(t) for t in script_texts(personas, "nova")][: len(script)]
    )  # in order, none twice


async def test_interrupts_play_at_the_next_boundary_by_priority_and_the_script_resumes(
    make_rig: RigFactory, personas: PersonaBook
) -> None:
    rig = make_rig()
    rig.start()
    [first] = await rig.cues(1)
    jobs = {
        "chat": make_job(1, kind=EventKind.CHAT, amount="0", message="hi all"),
        "donation": make_job(2, kind=EventKind.DONATION, amount="500"),
        "gift": make_job(3, kind=EventKind.GIFT, amount="50", message=None),
        "small superchat": make_job(4, kind=EventKind.SUPERCHAT, amount="100"),
        "big superchat": make_job(5, kind=EventKind.SUPERCHAT, amount="1000"),
    }
    for job in jobs.values():
        await rig.show.accept(job)
    played = await play(rig, 7)

    assert played[0] == first
    by_job = {job.donation_id: name for name, job in jobs.items()}
    order = [by_job.get(c.donation_id, c.message) for c in played[1:6]]
    assert order == ["big superchat", "small superchat", "gift", "donation", "chat"]
    script = [_spoken(t) for t in script_texts(personas, "nova")]
    assert [first.message, played[6].message] == script[:2]  # resumed at the next line, none lost
    for job in jobs.values():
        assert rig.outbox.states(job) == [JobState.QUEUED, JobState.GENERATING, JobState.READY]
    ready = [s for _, s in rig.outbox.statuses if s.state is JobState.READY]
    assert all(s.artifact is not None for s in ready)


async def test_a_blocked_message_is_never_spoken(make_rig: RigFactory, fake: FakeBoson) -> None:
    rig = make_rig()
    rig.start()
    await rig.cues(1)
    job = make_job(kind=EventKind.SUPERCHAT, message="this is forbidden talk")
    await rig.show.accept(job)
    played = await play(rig, 2)

    spoken = played[1].message or ""
    assert "forbidden" not in spoken and "Ivan" in spoken
    assert not any("forbidden" in text for text in fake.spoken(succeeded=False))
    assert any("forbidden" in text for text in rig.moderation.checked)  # it was checked, and refused
    [(_, ready)] = [(i, s) for i, s in rig.outbox.statuses if s.state is JobState.READY]
    assert "without the message" in ready.detail


async def test_a_downgraded_job_gets_a_thank_you_without_its_text(
    make_rig: RigFactory, fake: FakeBoson
) -> None:
    rig = make_rig()
    rig.start()
    await rig.cues(1)
    job = make_job(message="do not read this", downgraded=True)
    await rig.show.accept(job)
    played = await play(rig, 2)
    assert "Ivan" in (played[1].message or "") and "five hundred roubles" in (played[1].message or "")
    assert not any("do not read" in text for text in fake.spoken(succeeded=False) + rig.moderation.checked)


async def test_without_the_gatekeeper_only_safe_lines_of_the_show_are_spoken(
    make_rig: RigFactory, fake: FakeBoson
) -> None:
    moderation = FakeModeration()
    moderation.down = True
    rig = make_rig(moderation=moderation)
    rig.start()
    await rig.cues(1)
    job = make_job(donor="Ivan", message="Hello stream!")
    await rig.show.accept(job)
    played = await play(rig, 3)

    fillers = {Writer.filler("en", str(n)) for n in range(50)}
    assert {played[0].message, played[2].message} <= fillers
    assert played[1].message == "Thank you so much for the five hundred roubles, it means a lot!"
    assert not any("Ivan" in t or "Hello stream" in t for t in fake.spoken(succeeded=False))
    assert rig.outbox.states(job)[-1] is JobState.FALLBACK
    assert rig.show.moderation_health().ok is False
    assert "gatekeeper does not answer" in rig.show.moderation_health().detail


async def test_a_failing_interrupt_is_retried_a_bounded_number_of_times_then_reported(
    make_rig: RigFactory, fake: FakeBoson
) -> None:
    rig = make_rig(interrupt_attempts=3, line_attempts=50)
    rig.studio.espeak = Espeak("no-such-espeak-binary")
    rig.studio.boson_pause = 0.0
    rig.start()
    await rig.cues(1)
    fake.outage = 503  # Boson fails, and there is no offline voice: nothing can speak
    job = make_job(kind=EventKind.SUPERCHAT)
    await rig.show.accept(job)
    await play(rig, 1)  # the look-ahead was full: the end of the clip on stage makes room for the superchat
    await rig.until(lambda: bool(rig.outbox.reports), what="the job reported")
    await asyncio.sleep(0.3)

    assert rig.outbox.states(job) == [
        JobState.QUEUED,
        JobState.GENERATING,
        JobState.GENERATING,
        JobState.GENERATING,
        JobState.FAILED,
    ]
    [(reported, reason)] = rig.outbox.reports
    assert reported == job and "gave up after 3 attempts" in reason and "espeak-ng" in reason
    assert rig.show.state.interrupts == [] and job.job_id in rig.show.state.finished_jobs
    assert not rig.show.health().ok
    # Never looped: no more attempts at it, and the show goes on once a voice is back.
    fake.outage = None
    await play(rig, 2)
    assert sum(1 for t in fake.spoken() if "Ivan" in t) == 0
    await rig.show.accept(job)  # a redelivery of the failed job is not tried again
    assert rig.outbox.states(job)[-1] is JobState.FAILED


async def test_a_restart_resumes_without_losing_or_repeating_a_clip(
    make_rig: RigFactory, personas: PersonaBook
) -> None:
    store = MemoryShowStore()
    first = make_rig(store=store)
    first.start()
    before = await play(first, 3)
    on_stage = (await first.cues(4))[3]
    job = make_job(kind=EventKind.SUPERCHAT)
    await first.show.accept(job)
    await first.stop()  # the service dies with clip 4 on stage and a superchat waiting

    second = make_rig(store=store)
    second.start()
    [again] = await second.cues(1)
    assert again == on_stage  # cued again with the same id: the stream and the widget drop the duplicate
    after = await play(second, 4)

    script = [_spoken(t) for t in script_texts(personas, "nova")]
    spoken = [c.message for c in before + after]
    assert spoken[:4] == script[:4]
    assert "Ivan" in (spoken[4] or "")
    assert spoken[5:] == script[4:6]
    assert len({c.cue_id for c in before + after}) == 7


async def test_a_redelivered_job_is_spoken_once(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.start()
    await rig.cues(1)
    job = make_job()
    await rig.show.accept(job)
    await rig.show.accept(job)
    played = await play(rig, 3)
    await rig.show.accept(job)
    played += await play(rig, 1)
    assert sum(1 for c in played if c.donation_id == job.donation_id) == 1
    assert rig.outbox.states(job).count(JobState.QUEUED) == 1


async def test_pause_holds_the_show_and_resume_continues_where_it_was(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.start()
    await play(rig, 1)
    second = (await rig.cues(2))[1]
    reply = await rig.show.pause(True)
    assert reply.ok and not rig.settings.show_running
    await rig.ended(second)
    await asyncio.sleep(0.3)
    assert len(rig.outbox.cues) == 2 and not rig.show.state.on_stage
    assert "paused" in rig.show.health().detail
    await rig.show.pause(False)
    await rig.cues(3)
    assert rig.settings == VoiceSettings(active_personas=("nova",), show_running=True)


async def test_skip_frees_the_stage_without_an_acknowledgement(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.start()
    [first] = await rig.cues(1)
    reply = await rig.show.skip()
    assert reply.ok and first.cue_id in reply.message
    await rig.cues(2)
    assert rig.show.clips()[1].playback is PlaybackState.SKIPPED


async def test_a_started_clip_never_reported_ended_counts_as_played_after_its_grace(
    make_rig: RigFactory, fake: FakeBoson
) -> None:
    fake.seconds_per_char = 0.002
    rig = make_rig(playback_grace=0.1)
    rig.start()
    [first] = await rig.cues(1)
    await rig.ended(first, PlaybackState.STARTED)
    await rig.cues(2, timeout=5 + (first.duration_ms or 0) / 1000)


async def test_the_llm_continues_the_show_when_the_script_ends(
    make_rig: RigFactory, personas: PersonaBook, fake: FakeBoson
) -> None:
    llm = ScriptedLlm("A new line about tea.\nAnother line about scones.")
    rig = make_rig(
        writer=Writer(llm), settings=VoiceSettings(active_personas=("baron",)), continuation_lines=2
    )
    rig.start()
    script = script_texts(personas, "baron")
    played = await play(rig, len(script) + 2)
    assert [c.message for c in played[-2:]] == ["A new line about tea.", "Another line about scones."]
    system, user = llm.prompts[0]
    assert "The Baron" in system and "<recent_lines>" in user
    assert "Civilisation depends on it" in user  # the lines just spoken are its context


async def test_a_full_voice_queue_refuses_more_interrupts(make_rig: RigFactory) -> None:
    rig = make_rig(max_interrupts=1)
    await rig.show.load()
    await rig.show.accept(make_job(1))
    await rig.show.accept(make_job(2))
    assert rig.outbox.states(make_job(2)) == [JobState.REFUSED]


async def test_controls_list_the_show_and_remove_a_waiting_interrupt(make_rig: RigFactory) -> None:
    rig = make_rig()
    await rig.show.load()
    job = make_job(amount="750")
    await rig.show.accept(job)
    snapshot = await rig.show.snapshot()
    assert snapshot.host == "nova" and not snapshot.paused
    assert [i.item_id for i in snapshot.interrupts] == [job.job_id]
    assert snapshot.interrupts[0].amount is not None and snapshot.interrupts[0].amount.amount == Decimal(750)
    removed = await rig.show.remove(job.job_id)
    assert removed.ok and rig.outbox.states(job)[-1] is JobState.SKIPPED
    assert not (await rig.show.remove(job.job_id)).ok
