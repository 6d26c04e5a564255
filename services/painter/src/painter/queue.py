"""The painter's play queue: pure logic, no I/O. The service stores ``state()`` in KV after every change.

Rules (MISSION F18, and Draw Stream's queue done right, PREDECESSORS.md 2.2.5):

* waiting requests play by priority, higher first, then in order of arrival; an operator's move overrides that;
* at most ``max_size`` requests wait (the drawing on screen does not count); when a request arrives at a full
  queue, the lowest-priority request, the newest among equals, is refused: the newcomer itself unless it
  outranks someone waiting, who is then bumped out;
* ``clear`` empties the waiting list and keeps the drawing on screen; ``skip`` is the service's business
  (it ends the drawing), ``finish_active`` records it here;
* ``paused`` stops the next request from starting; the drawing on screen finishes;
* a job id seen before (waiting, on screen or finished lately) is never queued twice.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ovation_contracts import PainterJob, PainterQueueItem, PainterQueueState
from ovation_contracts.painter import MAX_RECENT_JOB_IDS

DEFAULT_MAX_QUEUE = 32
PREVIEW_SIZE = 5


class Admission(StrEnum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    """Already waiting, on screen, or finished lately: nothing changes."""
    REFUSED = "refused"
    """The queue is full of requests that outrank (or tie with and arrived before) this one."""


@dataclass(frozen=True, slots=True)
class Offer:
    """What ``PaintQueue.offer`` did with a job."""

    admission: Admission
    item: PainterQueueItem | None = None
    position: int | None = None
    """0 is next to play."""
    bumped: PainterQueueItem | None = None
    """A request that was waiting and was refused to make room for this one."""
    reason: str = ""


class QueueItemNotFound(LookupError):
    """No waiting request has this job id."""


class PaintQueue:
    """The waiting requests, the one on screen, the paused flag, and the ids finished lately."""

    def __init__(self, state: PainterQueueState | None = None, *, max_size: int = DEFAULT_MAX_QUEUE) -> None:
        state = state or PainterQueueState()
        self.max_size = max_size
        self.paused = state.paused
        self.active: PainterQueueItem | None = state.active
        self.waiting: list[PainterQueueItem] = list(state.waiting)
        self._next_arrival = max(
            [state.next_arrival, *(item.arrival + 1 for item in self._all_items())], default=0
        )
        self._recent: deque[str] = deque(state.recent_job_ids, maxlen=MAX_RECENT_JOB_IDS)

    # reading --------------------------------------------------------------------------------------------------

    def _all_items(self) -> list[PainterQueueItem]:
        return ([self.active] if self.active else []) + self.waiting

    def knows(self, job_id: str) -> bool:
        """Whether the job is waiting, on screen, or finished lately."""
        return job_id in self._recent or any(item.job_id == job_id for item in self._all_items())

    def position(self, job_id: str) -> int | None:
        """0 for the next to play; None when the job is not waiting."""
        for index, item in enumerate(self.waiting):
            if item.job_id == job_id:
                return index
        return None

    def preview(self, count: int = PREVIEW_SIZE) -> tuple[PainterQueueItem, ...]:
        """The next ``count`` requests, next first."""
        return tuple(self.waiting[:count])

    def __len__(self) -> int:
        """How many requests wait (the one on screen is not counted)."""
        return len(self.waiting)

    @property
    def full(self) -> bool:
        return len(self.waiting) >= self.max_size

    def state(self) -> PainterQueueState:
        """Everything needed to rebuild this queue after a restart."""
        return PainterQueueState(
            paused=self.paused,
            active=self.active,
            waiting=tuple(self.waiting),
            next_arrival=self._next_arrival,
            recent_job_ids=tuple(self._recent),
        )

    # changing -------------------------------------------------------------------------------------------------

    def offer(self, job: PainterJob, now: datetime) -> Offer:
        """Queue a job in its place, refusing the lowest-priority newest request when the queue is full."""
        if self.knows(job.job_id):
            return Offer(Admission.DUPLICATE, reason="this job is already queued, on screen or finished")
        item = PainterQueueItem(job=job, arrival=self._next_arrival, enqueued_at=now)
        self._next_arrival += 1
        bumped: PainterQueueItem | None = None
        if self.full:
            lowest = min(self.waiting, key=lambda waiting: (waiting.job.priority, -waiting.arrival))
            if job.priority <= lowest.job.priority:
                self._remember(job.job_id)
                return Offer(
                    Admission.REFUSED,
                    reason=(
                        f"the painter queue is full ({len(self.waiting)} waiting, at most {self.max_size}) "
                        "and every waiting request has the same or a higher priority"
                    ),
                )
            self.waiting.remove(lowest)
            self._remember(lowest.job_id)
            bumped = lowest
        index = next(
            (i for i, waiting in enumerate(self.waiting) if waiting.job.priority < job.priority),
            len(self.waiting),
        )
        self.waiting.insert(index, item)
        return Offer(Admission.QUEUED, item=item, position=index, bumped=bumped)

    def start_next(self) -> PainterQueueItem | None:
        """Put the next request on screen; None while paused, while something is on screen, or when empty."""
        if self.paused or self.active is not None or not self.waiting:
            return None
        self.active = self.waiting.pop(0)
        return self.active

    def finish_active(self) -> PainterQueueItem | None:
        """The request on screen is done (drawn, skipped or failed); remember its id."""
        finished, self.active = self.active, None
        if finished is not None:
            self._remember(finished.job_id)
        return finished

    def clear(self) -> list[PainterQueueItem]:
        """Remove every waiting request; the one on screen stays. Returns what was removed."""
        removed, self.waiting = self.waiting, []
        for item in removed:
            self._remember(item.job_id)
        return removed

    def remove(self, job_id: str) -> PainterQueueItem:
        """Remove one waiting request."""
        index = self.position(job_id)
        if index is None:
            raise QueueItemNotFound(f"no waiting painter request has job id {job_id!r}")
        item = self.waiting.pop(index)
        self._remember(item.job_id)
        return item

    def move(self, job_id: str, by: int) -> int:
        """Move a waiting request ``by`` places (negative is earlier); returns its new position (0 is next)."""
        index = self.position(job_id)
        if index is None:
            raise QueueItemNotFound(f"no waiting painter request has job id {job_id!r}")
        target = max(0, min(len(self.waiting) - 1, index + by))
        self.waiting.insert(target, self.waiting.pop(index))
        return target

    def pause(self, paused: bool) -> None:
        self.paused = paused

    def _remember(self, job_id: str) -> None:
        if job_id not in self._recent:
            self._recent.append(job_id)
