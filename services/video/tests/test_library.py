"""The video library: list newest first with the budget in use, replay without regenerating, delete."""

from __future__ import annotations

from typing import Any

from ovation_contracts import VideoBudgetLedger, VideoSettings
from video.library import VideoLibrary, job_of

from .conftest import Rig, RigFactory, make_job


def library(rig: Rig) -> VideoLibrary:
    async def ledger() -> VideoBudgetLedger:
        return rig.budget.ledger

    async def settings() -> VideoSettings:
        return rig.settings

    return VideoLibrary(
        records=rig.records, artifacts=rig.store, outbox=rig.outbox, ledger=ledger, load_settings=settings
    )


def test_any_id_of_a_job_leads_to_the_job() -> None:
    assert job_of("da:1:video") == "da:1:video"
    assert job_of("da:1:video:cue") == "da:1:video"
    assert job_of("da:1:video:replay:abc123") == "da:1:video"


async def test_list_shows_every_stored_video_newest_first_with_the_budget(make_rig: RigFactory) -> None:
    rig = make_rig()
    first, second = make_job(1, donor="Ivan"), make_job(2, donor="Olga")
    await rig.service.handle(first)
    await rig.service.handle(second)

    reply = await library(rig).list()

    assert reply.ok
    assert reply.message == "2 videos in the library"
    data: Any = reply.data
    assert [v["job_id"] for v in data["videos"]] == [second.job_id, first.job_id]
    assert data["latest"]["donor_name"] == "Olga"
    assert data["latest"]["state"] == "ready"
    assert data["budget"]["this_hour"] == 2
    assert data["budget"]["max_per_hour"] == rig.settings.max_per_hour


async def test_replay_cues_the_stored_file_again_without_generating(make_rig: RigFactory) -> None:
    rig = make_rig()
    job = make_job()
    await rig.service.handle(job)
    [original] = rig.outbox.cues

    reply = await library(rig).replay(original.cue_id)

    assert reply.ok
    assert "Ivan" in reply.message
    replayed = rig.outbox.cues[-1]
    assert replayed.cue_id != original.cue_id
    assert replayed.cue_id.startswith(f"{job.job_id}:replay:")
    assert replayed.model_copy(update={"cue_id": original.cue_id}) == original
    assert rig.fake.submissions == 1


async def test_delete_removes_the_file_and_then_replay_says_why_it_cannot(make_rig: RigFactory) -> None:
    rig = make_rig(with_key=False)
    job = make_job()
    await rig.service.handle(job)
    videos = library(rig)

    deleted = await videos.remove(job.job_id)
    assert deleted.ok
    assert rig.stored_files() == []
    assert (await videos.list()).message == "0 videos in the library"
    again = await videos.replay(f"{job.job_id}:cue")
    assert not again.ok
    assert "deleted" in again.message
    assert not (await videos.remove(job.job_id)).ok

    assert await rig.service.handle(job) is not None  # a redelivery after the delete does not redo the job
    assert len(rig.outbox.cues) == 1


async def test_replay_of_a_file_gone_from_the_store_is_refused_with_the_reason(make_rig: RigFactory) -> None:
    rig = make_rig(with_key=False)
    job = make_job()
    await rig.service.handle(job)
    for path in rig.stored_files():
        path.unlink()
    reply = await library(rig).replay(job.job_id)
    assert not reply.ok
    assert "gone from the artifact store" in reply.message
