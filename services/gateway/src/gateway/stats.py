"""Today's figures for the dashboard: donations, money in the base currency, reactions by kind, failures.

"Today" is the gateway's local day. The figures are a fold over the day's facts on the bus (``donation.screened``
and ``job.status``), keyed by donation id and job id, so a fact seen twice (the start-up rebuild meeting the live
subscription, a redelivery) counts once. At start-up they are rebuilt from the EVENTS stream, which keeps three days:
a restart loses nothing and needs no state of its own.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ovation_contracts import (
    FINAL_JOB_STATES,
    Approval,
    Decision,
    Envelope,
    EventKind,
    JobState,
    JobStatus,
    Money,
    ReactionKind,
    ScreenedDonation,
    UnknownMessageType,
    bus,
    decode,
)

log = logging.getLogger(__name__)

PAID_KINDS = frozenset({EventKind.DONATION, EventKind.SUPERCHAT, EventKind.GIFT})
DECIDED = frozenset({Approval.APPROVED, Approval.REJECTED})
REBUILD_BATCH = 500


class ReactionCounts(BaseModel):
    """One reaction kind today: how many donations it was routed for, and how its jobs ended."""

    model_config = ConfigDict(extra="forbid")

    routed: int = 0
    in_progress: int = Field(default=0, description="Jobs not finished yet (queued, generating, ...)")
    ready: int = 0
    fallback: int = Field(default=0, description="Finished with the offline fallback")
    failed: int = 0
    skipped: int = 0
    refused: int = 0


class DayStats(BaseModel):
    """``GET /api/v1/stats``: the gateway's local day so far."""

    model_config = ConfigDict(extra="forbid")

    day: date = Field(description="The gateway's local date")
    utc_offset: str = Field(description="The gateway's local offset from UTC, e.g. +03:00")
    complete: bool = Field(
        description="False while the figures are being rebuilt from the stream after a start"
    )
    donations: int = Field(description="Donations, superchats and gifts (whatever the verdict)")
    totals: list[Money] = Field(
        description="Their amount in the base currency (one entry per currency, if the base changed today)"
    )
    events_by_kind: dict[EventKind, int] = Field(description="Every screened event, chat included")
    verdicts: dict[Decision, int]
    held_for_approval: int = Field(description="Waiting for a moderator now")
    reactions: dict[ReactionKind, ReactionCounts]
    failures: int = Field(description="Reaction jobs that failed today")


@dataclass(frozen=True, slots=True)
class _Donation:
    """What the figures need of one event and its reaction jobs. Plain, hashable values: each distinct one is kept
    once and shared by every event that has it (a few hundred combinations in a day), so an event costs its slot in
    the day's table, about 70 bytes, instead of a record of its own."""

    kind: EventKind | None = None
    """None until its ``donation.screened`` is seen (a job status may come first)."""
    decision: Decision | None = None
    approval: Approval | None = None
    reactions: tuple[ReactionKind, ...] = ()
    jobs: tuple[tuple[ReactionKind, JobState], ...] = ()

    def job(self, reaction: ReactionKind) -> JobState | None:
        return next((state for kind, state in self.jobs if kind is reaction), None)

    def with_job(self, reaction: ReactionKind, state: JobState) -> _Donation:
        jobs = tuple(sorted({**dict(self.jobs), reaction: state}.items()))
        return replace(self, jobs=jobs)


_UNSEEN = _Donation()


class DailyStats:
    """The day's facts, folded. ``now`` gives the local time (``tz`` None: the machine's own time zone).

    Events are keyed by the 64-bit hash of their donation id, not the id itself: the table holds a day of events in
    a tenth of the memory (a collision, about one in 10^7 days of a million events, would merge two in the figures).
    An amount joins the totals when its donation is first screened: a later screening of it (a moderator's
    decision) changes what is routed, not the money.
    """

    def __init__(self, tz: tzinfo | None = None, now: Callable[[], datetime] | None = None) -> None:
        self._tz = tz
        self._now = now or (lambda: datetime.now(self._tz).astimezone(self._tz))
        self.day = self._today()
        self._events: dict[int, _Donation] = {}
        self._totals: dict[str, Decimal] = {}
        self._shared: dict[_Donation, _Donation] = {}
        self.complete = False

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self._tz)

    def _today(self) -> date:
        return self._local(self._now()).date()

    def start_of_day(self) -> datetime:
        """Local midnight of today, as an aware datetime."""
        now = self._local(self._now())
        return now.replace(hour=0, minute=0, second=0, microsecond=0)

    def _roll(self, day: date) -> None:
        if day > self.day:
            self.day = day
            self._events.clear()
            self._totals.clear()
            self._shared.clear()

    def receive(self, envelope: Envelope[Any]) -> bool:
        """Count one fact; False when it is not one of today's screened donations or job statuses."""
        self._roll(self._today())
        if self._local(envelope.occurred_at).date() != self.day:
            return False
        payload = envelope.payload
        if isinstance(payload, ScreenedDonation):
            self._screen(payload)
            return True
        if isinstance(payload, JobStatus):
            self._status(payload)
            return True
        return False

    def receive_bytes(self, data: bytes) -> bool:
        try:
            envelope = decode(data)
        except (ValidationError, UnknownMessageType):
            return False
        return self.receive(envelope)

    def _store(self, key: int, event: _Donation) -> None:
        self._events[key] = self._shared.setdefault(event, event)

    def _screen(self, screened: ScreenedDonation) -> None:
        key = hash(screened.donation_id)
        known = self._events.get(key, _UNSEEN)
        # A moderator's decision is final: the original "pending" event arriving late must not undo it.
        if known.approval in DECIDED and screened.approval not in DECIDED:
            return
        if known.kind is None and screened.kind in PAID_KINDS:
            currency = sys.intern(screened.amount_base.currency)
            self._totals[currency] = self._totals.get(currency, Decimal(0)) + screened.amount_base.amount
        self._store(
            key,
            replace(
                known,
                kind=screened.kind,
                decision=screened.verdict.decision,
                approval=screened.approval,
                reactions=screened.reactions,
            ),
        )

    def _status(self, status: JobStatus) -> None:
        key = hash(status.donation_id)
        known = self._events.get(key, _UNSEEN)
        if known.job(status.reaction) in FINAL_JOB_STATES and status.state not in FINAL_JOB_STATES:
            return  # a late progress report after the end
        self._store(key, known.with_job(status.reaction, status.state))

    def snapshot(self) -> DayStats:
        self._roll(self._today())
        screened = [event for event in self._events.values() if event.kind is not None]
        reactions = {kind: ReactionCounts() for kind in ReactionKind}
        for event in screened:
            if event.approval in (Approval.PENDING, Approval.REJECTED):
                continue
            for kind in event.reactions:
                reactions[kind].routed += 1
        outcome = {
            JobState.READY: "ready",
            JobState.FALLBACK: "fallback",
            JobState.FAILED: "failed",
            JobState.SKIPPED: "skipped",
            JobState.REFUSED: "refused",
        }
        failures = 0
        for event in self._events.values():
            for reaction, state in event.jobs:
                counts = reactions[reaction]
                field = outcome.get(state, "in_progress")
                setattr(counts, field, getattr(counts, field) + 1)
                failures += state is JobState.FAILED
        offset = self._local(self._now()).utcoffset() or timedelta(0)
        return DayStats(
            day=self.day,
            utc_offset=_format_offset(offset),
            complete=self.complete,
            donations=sum(1 for event in screened if event.kind in PAID_KINDS),
            totals=[
                Money(amount=amount, currency=currency) for currency, amount in sorted(self._totals.items())
            ],
            events_by_kind=dict(Counter(event.kind for event in screened)),
            verdicts=dict(Counter(event.decision for event in screened)),
            held_for_approval=sum(1 for event in screened if event.approval is Approval.PENDING),
            reactions=reactions,
            failures=failures,
        )


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


async def rebuild_today(js: JetStreamContext, stats: DailyStats, *, idle_timeout: float = 2.0) -> int:
    """Fold today's screened donations and job statuses from the EVENTS stream into ``stats``; returns how many
    messages were read. Live facts may arrive meanwhile: each is counted once whichever way it comes."""
    # Two hours early: a daylight-saving change or a slow clock must not cut the morning off; older facts are ignored.
    since = stats.start_of_day() - timedelta(hours=2)
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_TIME,
        opt_start_time=since,
        ack_policy=AckPolicy.NONE,
        filter_subjects=[bus.DONATION_SCREENED, bus.JOB_STATUS],
        inactive_threshold=60.0,
        mem_storage=True,
    )
    subscription = await js.pull_subscribe(bus.DONATION_SCREENED, stream=bus.EVENTS.name, config=config)
    read = 0
    info = await subscription.consumer_info()
    try:
        pending = info.num_pending or 0
        while read < pending:
            try:
                messages = await subscription.fetch(min(REBUILD_BATCH, pending - read), timeout=idle_timeout)
            except TimeoutError:
                break  # removed by the stream's limits meanwhile
            for message in messages:
                stats.receive_bytes(message.data)
            read += len(messages)
    finally:
        await subscription.unsubscribe()
        with contextlib.suppress(Exception):  # else it goes by itself once inactive
            await js.delete_consumer(bus.EVENTS.name, info.name)
    stats.complete = True
    log.info("rebuilt today's figures from %d stored events", read)
    return read
