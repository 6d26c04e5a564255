"""Scale-out: two replicas each of video, painter and voice share one durable consumer per service.

Every job is done by exactly one replica, exactly once (every status of a job comes from one replica, its final
state once, and JetStream never had to deliver a job twice), and both replicas of each service take a share. Which
replica did the work is read from the ``Ovation-Producer`` header every service puts on what it publishes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest

from ovation_contracts import (
    FINAL_JOB_STATES,
    Envelope,
    JobState,
    PainterJob,
    PainterQueueState,
    VoiceJob,
    bus,
)
from ovation_testing import factories

from .conftest import Deployment, Recorder, reaction_job

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(240)]

JOBS_EACH = 6


@dataclass(frozen=True)
class Worker:
    service: str
    subject: str
    purpose: str
    """The durable consumer is ``<service>-<purpose>``."""
    done: frozenset[JobState]
    """A job is done here once one of these states is published."""
    intake: frozenset[JobState]
    """The states the replica that took the job publishes (the voice show, led by one replica, does the rest)."""


ALL_STATES = frozenset(JobState)
WORKERS = (
    Worker("video", bus.JOBS_VIDEO, "render", FINAL_JOB_STATES, ALL_STATES),
    Worker("painter", bus.JOBS_PAINTER, "draw", FINAL_JOB_STATES, ALL_STATES),
    # The show is paused: a voice job ends this test queued, taken into the show state by one replica.
    Worker("voice", bus.JOBS_VOICE, "speak", frozenset({JobState.QUEUED}), frozenset({JobState.QUEUED})),
)


async def test_two_replicas_of_each_worker_share_one_consumer_and_do_no_job_twice(
    deployment: Deployment, recorder: Recorder
) -> None:
    jobs: dict[str, list[Envelope[Any]]] = {
        "video": [factories.video_job(f"scale:{n}") for n in range(JOBS_EACH)],
        "painter": [reaction_job(PainterJob, f"scale:{n}", "painter") for n in range(JOBS_EACH)],
        "voice": [reaction_job(VoiceJob, f"scale:{n}", "voice") for n in range(JOBS_EACH)],
    }
    ids = {service: {e.id for e in envelopes} for service, envelopes in jobs.items()}
    js = recorder.client.jetstream()
    for worker in WORKERS:
        for envelope in jobs[worker.service]:
            headers = {bus.Header.MSG_ID: envelope.id, bus.Header.CORRELATION_ID: envelope.correlation_id}
            await js.publish(worker.subject, envelope.to_json(), headers=headers)

    def done(worker: Worker) -> set[str]:
        return {s.job_id for s, _ in recorder.statuses(ids[worker.service]) if s.state in worker.done}

    await recorder.until(
        lambda: all(done(w) == ids[w.service] for w in WORKERS), "every job done", timeout=120
    )
    await asyncio.sleep(1.0)  # time for a duplicate to show up

    for worker in WORKERS:
        service = worker.service
        statuses = recorder.statuses(ids[service])
        finals = Counter(s.job_id for s, _ in statuses if s.state in worker.done)
        assert set(finals.values()) == {1}, f"{service}: a job was done more than once: {finals}"
        takers: dict[str, set[str]] = {}
        for status, producer in statuses:
            if status.state in worker.intake:
                takers.setdefault(status.job_id, set()).add(producer)
        assert all(len(t) == 1 for t in takers.values()), f"{service}: a job taken by two replicas: {takers}"
        share = Counter(next(iter(t)) for t in takers.values())
        assert set(share) == set(deployment.replicas(service)), (
            f"{service}: not both replicas worked: {share}"
        )

        info = await js.consumer_info(bus.JOBS.name, bus.durable(service, worker.purpose))
        assert info.num_redelivered == 0, f"{service}: JetStream delivered a job twice"
        assert (info.num_pending, info.num_ack_pending) == (0, 0)

    # The products: a card per video job and a PNG per painter job, in the shared artifact store.
    for status, _ in recorder.statuses(ids["video"] | ids["painter"]):
        if status.state in FINAL_JOB_STATES:
            assert status.artifact is not None, status
            assert (deployment.artifacts / status.artifact.key).stat().st_size == status.artifact.size_bytes

    # Each painter keeps its own queue in KV: the jobs each drew, and no job in both.
    kv = await js.key_value(PainterQueueState.BUCKET)
    drawn: list[set[str]] = []
    for name in deployment.replicas("painter"):
        queue = PainterQueueState.model_validate_json((await kv.get(PainterQueueState.key_for(name))).value)
        drawn.append(set(queue.recent_job_ids) & ids["painter"])
    assert drawn[0] | drawn[1] == ids["painter"] and not drawn[0] & drawn[1], drawn
