"""The video service with the fake AIML over loopback: ready videos, every fault ending in a clear status and the
offline card, the budget, and resuming a generation instead of paying for it twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from ovation_contracts import (
    GenerationPhase,
    JobState,
    VideoFallbackReason,
    VideoGeneration,
    VideoSettings,
    utc_now,
)
from tests.fakes.aiml import FileFault
from video.aiml import GenerationRequest
from video.service import artifact_key
from video.store import MemoryRecords

from .conftest import Rig, RigFactory, make_job


async def test_a_job_becomes_a_stored_video_a_ready_status_and_one_cue(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job(message="A dragon made of fireworks")

    assert await rig.service.handle(job) is JobState.READY

    states = rig.outbox.states(job)
    assert states[0] is JobState.QUEUED
    assert JobState.GENERATING in states
    assert states[-2:] == [JobState.DOWNLOADING, JobState.READY]
    ready = rig.outbox.final(job)
    assert ready.progress == 1.0
    assert ready.reason is None
    assert ready.artifact is not None
    assert ready.artifact.key == artifact_key(job.job_id)
    assert await rig.store.get(ready.artifact.key) == rig.fake.video
    [cue] = rig.outbox.cues
    assert cue.cue_id == f"{job.job_id}:cue"
    assert cue.artifact == ready.artifact
    assert cue.duration_ms == ready.artifact.duration_ms
    assert cue.duration_ms is not None
    assert 900 <= cue.duration_ms <= 1100
    assert (ready.artifact.width, ready.artifact.height) == (320, 180)
    assert cue.message == "A dragon made of fireworks"
    assert "A dragon made of fireworks" in rig.fake.bodies[0]["prompt"]
    assert rig.fake.bodies[0]["prompt"].startswith(rig.settings.system_prompt)
    assert rig.scratch_files() == []


async def test_status_events_have_stable_unique_ids(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job()
    await rig.service.handle(job)
    ids = [event_id for event_id, _ in rig.outbox.statuses]
    assert len(ids) == len(set(ids))
    assert ids[0] == f"{job.job_id}:queued"
    assert ids[-1] == f"{job.job_id}:ready"


async def test_the_generation_id_is_stored_before_polling(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.fake.hold = True
    job = make_job()
    task = asyncio.create_task(rig.service.handle(job))
    await rig.fake.wait_for_submissions(1)
    [generation_id] = rig.fake.generations
    await rig.fake.wait_for_polls(generation_id, 1)

    record = await rig.records.get(job.job_id)
    assert record is not None
    assert record.phase is GenerationPhase.GENERATING
    assert record.generation_id == generation_id
    assert record.submitted_at is not None

    rig.fake.release()
    assert await task is JobState.READY


async def test_a_redelivered_job_resumes_the_same_generation_without_paying_again(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    job = make_job()
    assert rig.service.aiml is not None
    generation_id = await rig.service.aiml.submit(GenerationRequest(model="google/veo3", prompt="p"))
    await rig.records.put(
        VideoGeneration(
            job_id=job.job_id,
            donation_id=job.donation_id,
            phase=GenerationPhase.GENERATING,
            generation_id=generation_id,
            submitted_at=utc_now(),
            updated_at=utc_now(),
        )
    )

    assert await rig.service.handle(job) is JobState.READY
    assert rig.fake.submissions == 1
    assert rig.fake.generations[generation_id].polls >= 1
    assert JobState.QUEUED not in rig.outbox.states(job)  # it was queued before the restart
    assert len(rig.outbox.cues) == 1


async def test_a_restart_in_the_middle_of_submitting_is_never_submitted_again(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job()
    await rig.records.put(
        VideoGeneration(
            job_id=job.job_id,
            donation_id=job.donation_id,
            phase=GenerationPhase.SUBMITTING,
            updated_at=utc_now(),
        )
    )
    assert await rig.service.handle(job) is JobState.FALLBACK
    assert rig.fake.submissions == 0
    assert rig.outbox.final(job).reason == VideoFallbackReason.INTERRUPTED


class _SlowWrites(MemoryRecords):
    """Records whose first write of a "submitting" record is stored but reported as failed (a KV write that timed
    out on a busy server and landed anyway)."""

    failed = False

    async def put(self, record: VideoGeneration) -> None:
        await super().put(record)
        if record.phase is GenerationPhase.SUBMITTING and not self.failed:
            self.failed = True
            raise TimeoutError("nats: timeout")


async def test_a_submitting_record_whose_write_failed_is_still_submitted_once(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.service.records = records = _SlowWrites()
    job = make_job()
    with pytest.raises(TimeoutError):
        await rig.service.handle(job)
    assert rig.fake.submissions == 0
    stored = await records.get(job.job_id)
    assert stored is not None and stored.phase is GenerationPhase.SUBMITTING

    assert await rig.service.handle(job) is JobState.READY  # the bus delivers it again
    assert rig.fake.submissions == 1
    assert len(rig.outbox.cues) == 1


async def test_a_job_delivered_again_while_it_runs_waits_for_it_and_pays_once(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job()

    states = await asyncio.gather(*(rig.service.handle(job) for _ in range(3)))

    assert states == [JobState.READY] * 3
    assert rig.fake.submissions == 1
    assert len(rig.outbox.cues) == 1
    assert not rig.service._handling, "nothing is kept for finished jobs"


async def test_a_finished_job_is_not_cued_again(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job()
    await rig.service.handle(job)
    published = len(rig.outbox.statuses)

    assert await rig.service.handle(job) is JobState.READY
    assert len(rig.outbox.statuses) == published
    assert len(rig.outbox.cues) == 1
    assert rig.fake.submissions == 1


async def test_a_finished_job_whose_cue_was_not_confirmed_republishes_the_same_ids(
    make_rig: RigFactory,
) -> None:
    rig = make_rig()
    job = make_job()
    await rig.service.handle(job)
    record = await rig.records.get(job.job_id)
    assert record is not None
    await rig.records.put(record.model_copy(update={"cue_published": False}))

    await rig.service.handle(job)
    assert [c.cue_id for c in rig.outbox.cues] == [f"{job.job_id}:cue"] * 2  # same Nats-Msg-Id: stored once
    assert rig.outbox.statuses[-1][0] == f"{job.job_id}:ready"
    assert rig.fake.submissions == 1


async def test_without_a_key_the_donor_gets_the_card(make_rig: RigFactory) -> None:
    rig = make_rig(with_key=False)
    job = make_job(donor="Olga", message="Привет!")

    assert await rig.service.handle(job) is JobState.FALLBACK

    assert rig.outbox.states(job) == [JobState.QUEUED, JobState.RENDERING, JobState.FALLBACK]
    final = rig.outbox.final(job)
    assert final.reason == "no_key"
    assert "VIDEO_AIML_API_KEY" in final.detail
    assert final.artifact is not None
    assert final.artifact.key == artifact_key(job.job_id, card=True)
    assert (final.artifact.width, final.artifact.height) == (1280, 720)
    [cue] = rig.outbox.cues
    assert cue.artifact == final.artifact
    assert cue.message == "Привет!"
    assert rig.fake.requests["submit"] == 0


async def test_a_downgraded_message_reaches_neither_aiml_nor_the_stage(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job(message="something moderation downgraded", downgraded=True)
    await rig.service.handle(job)
    assert "downgraded" not in rig.fake.bodies[0]["prompt"]
    assert rig.fake.bodies[0]["prompt"].endswith(rig.settings.generic_prompt)
    assert rig.outbox.cues[0].message is None


def _submit_500(rig: Rig) -> None:
    rig.fake.fail_next(500, times=20)


def _submit_401(rig: Rig) -> None:
    rig.fake.fail_next(401, endpoint="submit")


def _submit_timeout(rig: Rig) -> None:
    rig.fake.delay_next(1.0, endpoint="submit")


def _poll_garbage(rig: Rig) -> None:
    rig.fake.garbage_next(times=20, endpoint="poll")


def _poll_timeouts(rig: Rig) -> None:
    rig.fake.delay_next(1.0, times=20, endpoint="poll")


def _generation_error(rig: Rig) -> None:
    rig.fake.fail_generations = "Prompt rejected by the safety system"


def _never_finishes(rig: Rig) -> None:
    rig.fake.hold = True


FAULTS: dict[str, tuple[Any, VideoFallbackReason, str, float]] = {
    # switch, the reason the status gives, words of its detail, the generation timeout
    "submit-5xx": (_submit_500, VideoFallbackReason.AIML_UNAVAILABLE, "gave up after 3 attempts", 3.0),
    "submit-401": (_submit_401, VideoFallbackReason.AIML_REJECTED, "Set VIDEO_AIML_API_KEY", 3.0),
    "submit-timeout": (_submit_timeout, VideoFallbackReason.AIML_UNAVAILABLE, "cannot be paid twice", 3.0),
    "poll-garbage": (_poll_garbage, VideoFallbackReason.AIML_UNAVAILABLE, "not JSON", 3.0),
    "poll-timeouts": (_poll_timeouts, VideoFallbackReason.AIML_UNAVAILABLE, "ReadTimeout", 3.0),
    "generation-error": (
        _generation_error,
        VideoFallbackReason.AIML_FAILED,
        "rejected by the safety system",
        3.0,
    ),
    "never-finishes": (_never_finishes, VideoFallbackReason.TIMEOUT, "VIDEO_GENERATION_TIMEOUT", 0.4),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault", list(FAULTS))
async def test_every_aiml_fault_ends_in_a_clear_status_and_the_card(make_rig: RigFactory, fault: str) -> None:
    switch, reason, words, timeout = FAULTS[fault]
    rig = make_rig(generation_timeout=timeout)
    switch(rig)
    job = make_job()

    assert await rig.service.handle(job) is JobState.FALLBACK

    final = rig.outbox.final(job)
    assert final.state is JobState.FALLBACK
    assert final.reason == reason.value
    assert words in final.detail
    assert final.artifact is not None
    assert final.artifact.key == artifact_key(job.job_id, card=True)
    assert [c.artifact for c in rig.outbox.cues] == [final.artifact]
    assert [p.name for p in rig.stored_files()] == [final.artifact.key.split("/")[1]]
    record = await rig.records.get(job.job_id)
    assert record is not None
    assert record.cue_published
    assert record.reason is reason


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("redirect-private", "169.254.169.254"),
        ("redirect-external", "downloads.example.net"),
        ("oversized", "over VIDEO_DOWNLOAD_MAX_BYTES"),
        ("oversized-chunked", "over VIDEO_DOWNLOAD_MAX_BYTES"),
        ("not-video", "not a video"),
        ("disguised", "not an MP4"),
        ("truncated", "ffmpeg cannot read the file"),
        ("expired", "answered 404"),
    ],
)
async def test_unsafe_or_broken_downloads_never_store_the_file(
    make_rig: RigFactory, fault: FileFault, words: str
) -> None:
    rig = make_rig()
    rig.fake.file_fault = fault
    job = make_job()

    assert await rig.service.handle(job) is JobState.FALLBACK

    final = rig.outbox.final(job)
    assert final.reason == "download"
    assert words in final.detail
    assert not await rig.store.exists(artifact_key(job.job_id))
    assert [p.name for p in rig.stored_files()] == [artifact_key(job.job_id, card=True).split("/")[1]]
    assert rig.scratch_files() == []
    assert rig.outbox.cues[0].artifact == final.artifact


async def test_over_budget_the_third_job_in_an_hour_gets_the_card(make_rig: RigFactory) -> None:
    rig = make_rig(settings=VideoSettings(max_per_hour=2, max_per_day=50, donor_cooldown_seconds=0))
    jobs = [make_job(n, donor=f"donor{n}") for n in (1, 2, 3)]

    states = [await rig.service.handle(job) for job in jobs]

    assert states == [JobState.READY, JobState.READY, JobState.FALLBACK]
    assert rig.fake.submissions == 2
    third = rig.outbox.final(jobs[2])
    assert third.reason == "budget"
    assert "hourly budget of 2" in third.detail
    assert len(rig.outbox.cues) == 3


async def test_donor_cooldown_sends_the_same_donor_the_card(make_rig: RigFactory) -> None:
    rig = make_rig(settings=VideoSettings(max_per_hour=10, max_per_day=50, donor_cooldown_seconds=600))
    first, second = make_job(1, donor="Ivan"), make_job(2, donor="Ivan")
    assert await rig.service.handle(first) is JobState.READY
    assert await rig.service.handle(second) is JobState.FALLBACK
    assert rig.outbox.final(second).reason == "budget"
    assert "cooldown" in rig.outbox.final(second).detail


async def test_a_refused_submission_gives_its_budget_slot_back(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.fake.fail_next(403, endpoint="submit")
    await rig.service.handle(make_job())
    assert rig.budget.ledger.recent == ()


async def test_an_unanswered_submission_keeps_its_budget_slot(make_rig: RigFactory) -> None:
    rig = make_rig()
    rig.fake.delay_next(1.0, endpoint="submit")
    await rig.service.handle(make_job())
    assert len(rig.budget.ledger.recent) == 1  # AIML may have taken (and charged) it


async def test_the_timeout_counts_from_the_submission_not_from_the_restart(make_rig: RigFactory) -> None:
    rig = make_rig(generation_timeout=60.0)
    job = make_job()
    await rig.records.put(
        VideoGeneration(
            job_id=job.job_id,
            donation_id=job.donation_id,
            phase=GenerationPhase.GENERATING,
            generation_id="gone:veo3",
            submitted_at=utc_now() - timedelta(seconds=61),
            updated_at=utc_now(),
        )
    )
    assert await rig.service.handle(job) is JobState.FALLBACK
    assert rig.outbox.final(job).reason == "timeout"
    assert rig.fake.requests["poll"] == 0
