"""The painter queue: priority then arrival, a bounded size that refuses the least, operator controls, and a
state that rebuilds the same queue after a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ovation_contracts import Money, PainterJob, PainterQueueState
from painter.queue import Admission, PaintQueue, QueueItemNotFound

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def job(n: int | str, priority: int = 0) -> PainterJob:
    money = Money(amount=Decimal(300), currency="RUB")
    return PainterJob(
        job_id=f"sim:{n}:painter",
        donation_id=f"sim:{n}",
        donor_name=f"donor {n}",
        amount=money,
        amount_base=money,
        message=f"picture {n}",
        priority=priority,
    )


def order(queue: PaintQueue) -> list[str]:
    return [item.job.donation_id for item in queue.waiting]


def test_requests_wait_by_priority_then_by_arrival() -> None:
    queue = PaintQueue()
    for n, priority in [(1, 0), (2, 5), (3, 0), (4, 5), (5, 9)]:
        assert queue.offer(job(n, priority), NOW).admission is Admission.QUEUED
    assert order(queue) == ["sim:5", "sim:2", "sim:4", "sim:1", "sim:3"]
    assert queue.position("sim:4:painter") == 2


def test_a_full_queue_refuses_the_newcomer_when_nobody_waiting_ranks_lower() -> None:
    queue = PaintQueue(max_size=2)
    queue.offer(job(1, 3), NOW)
    queue.offer(job(2, 3), NOW)
    offer = queue.offer(job(3, 3), NOW)
    assert offer.admission is Admission.REFUSED
    assert "full (2 waiting, at most 2)" in offer.reason
    assert order(queue) == ["sim:1", "sim:2"]
    assert queue.knows("sim:3:painter")  # a redelivery of the refused job is not queued later


def test_a_full_queue_bumps_the_lowest_priority_newest_request_for_a_higher_one() -> None:
    queue = PaintQueue(max_size=3)
    for n, priority in [(1, 0), (2, 0), (3, 5)]:
        queue.offer(job(n, priority), NOW)
    offer = queue.offer(job(4, 1), NOW)
    assert offer.admission is Admission.QUEUED
    assert offer.bumped is not None and offer.bumped.job.donation_id == "sim:2"
    assert order(queue) == ["sim:3", "sim:4", "sim:1"]


def test_the_drawing_on_screen_does_not_count_towards_the_size() -> None:
    queue = PaintQueue(max_size=1)
    queue.offer(job(1), NOW)
    assert queue.start_next() is not None
    assert queue.offer(job(2), NOW).admission is Admission.QUEUED
    assert len(queue) == 1


def test_a_job_is_never_queued_twice() -> None:
    queue = PaintQueue()
    queue.offer(job(1), NOW)
    assert queue.offer(job(1), NOW).admission is Admission.DUPLICATE
    queue.start_next()
    assert queue.offer(job(1), NOW).admission is Admission.DUPLICATE
    queue.finish_active()
    assert queue.offer(job(1), NOW).admission is Admission.DUPLICATE
    assert len(queue) == 0


def test_clear_keeps_the_drawing_on_screen() -> None:
    queue = PaintQueue()
    for n in range(1, 5):
        queue.offer(job(n), NOW)
    active = queue.start_next()
    removed = queue.clear()
    assert [item.job.donation_id for item in removed] == ["sim:2", "sim:3", "sim:4"]
    assert queue.active == active and len(queue) == 0


def test_pause_stops_the_next_request_from_starting() -> None:
    queue = PaintQueue()
    queue.offer(job(1), NOW)
    queue.pause(True)
    assert queue.start_next() is None
    queue.pause(False)
    assert queue.start_next() is not None
    assert queue.start_next() is None  # one at a time


def test_remove_and_move_waiting_requests() -> None:
    queue = PaintQueue()
    for n in range(1, 5):
        queue.offer(job(n), NOW)
    assert queue.move("sim:4:painter", -2) == 1
    assert order(queue) == ["sim:1", "sim:4", "sim:2", "sim:3"]
    assert queue.move("sim:1:painter", 100) == 3
    assert queue.move("sim:3:painter", -100) == 0
    assert order(queue) == ["sim:3", "sim:4", "sim:2", "sim:1"]
    queue.remove("sim:2:painter")
    assert order(queue) == ["sim:3", "sim:4", "sim:1"]
    with pytest.raises(QueueItemNotFound, match="sim:2:painter"):
        queue.remove("sim:2:painter")
    with pytest.raises(QueueItemNotFound):
        queue.move("nobody", 1)


def test_the_state_rebuilds_the_same_queue_after_a_restart() -> None:
    queue = PaintQueue(max_size=4)
    for n, priority in [(1, 0), (2, 3), (3, 0)]:
        queue.offer(job(n, priority), NOW)
    queue.start_next()
    queue.offer(job(4, 0), NOW)
    queue.pause(True)
    stored = PainterQueueState.model_validate_json(queue.state().model_dump_json())
    again = PaintQueue(stored, max_size=4)
    assert again.state() == queue.state()
    assert again.active is not None and again.active.job.donation_id == "sim:2"
    assert again.paused and order(again) == ["sim:1", "sim:3", "sim:4"]
    assert again.offer(job(5, 0), NOW).item is not None
    assert again.waiting[-1].arrival > max(item.arrival for item in queue.waiting)
    assert again.offer(job(2), NOW).admission is Admission.DUPLICATE


def test_only_the_latest_finished_jobs_are_remembered() -> None:
    queue = PaintQueue()
    for n in range(600):
        queue.offer(job(n), NOW)
        queue.start_next()
        queue.finish_active()
    assert len(queue.state().recent_job_ids) == 500
    assert not queue.knows("sim:0:painter") and queue.knows("sim:599:painter")
