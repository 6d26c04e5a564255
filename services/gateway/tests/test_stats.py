"""Today's figures: each donation and job counted once, in the base currency, on the gateway's local day."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from gateway import stats as stats_module
from gateway.stats import DailyStats
from ovation_contracts import (
    Approval,
    Conversion,
    Decision,
    Envelope,
    EventKind,
    JobState,
    JobStatus,
    Money,
    RateSource,
    ReactionKind,
    ScreenedDonation,
    Verdict,
    job_id,
    wrap,
)

MOSCOW = timezone(timedelta(hours=3))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def at(hour: int, minute: int = 0, day: int = 21) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=MOSCOW)


def screened(
    donation_id: str,
    *,
    amount: str = "500",
    currency: str = "RUB",
    base: str | None = None,
    kind: EventKind = EventKind.DONATION,
    decision: Decision = Decision.ALLOW,
    approval: Approval = Approval.NOT_REQUIRED,
    reactions: tuple[ReactionKind, ...] = (ReactionKind.ALERT,),
    when: datetime | None = None,
    suffix: str = "screened",
) -> Envelope[ScreenedDonation]:
    payload = ScreenedDonation(
        donation_id=donation_id,
        kind=kind,
        source="api",
        donor_name="Anna",
        message=None,
        amount=Money(amount=Decimal(amount), currency=currency),
        amount_base=Money(amount=Decimal(base or amount), currency="RUB"),
        conversion=Conversion(rate=Decimal(1), source=RateSource.IDENTITY, as_of=at(10)),
        verdict=Verdict(decision=decision),
        reactions=reactions,
        approval=approval,
    )
    return wrap(payload, id=f"{donation_id}:{suffix}", correlation_id=donation_id, occurred_at=when or at(12))


def status(
    donation_id: str, reaction: ReactionKind, state: JobState, *, when: datetime | None = None
) -> Envelope[JobStatus]:
    payload = JobStatus(
        job_id=job_id(donation_id, reaction),
        donation_id=donation_id,
        reaction=reaction,
        state=state,
    )
    return wrap(
        payload, id=f"{payload.job_id}:{state.value}", correlation_id=donation_id, occurred_at=when or at(12)
    )


def stats_at(now: datetime) -> tuple[DailyStats, Clock]:
    clock = Clock(now)
    return DailyStats(tz=MOSCOW, now=clock), clock


def feed(stats: DailyStats, *envelopes: Envelope[Any]) -> None:
    for envelope in envelopes:
        stats.receive(envelope)


def test_donations_and_their_total_in_the_base_currency() -> None:
    stats, _ = stats_at(at(18))
    feed(
        stats,
        screened("api:1", amount="500"),
        screened("api:2", amount="10", currency="USD", base="920.50"),
        screened("api:3", amount="300", kind=EventKind.SUPERCHAT, decision=Decision.BLOCK),
        screened("api:4", amount="0", kind=EventKind.CHAT, reactions=()),
    )
    today = stats.snapshot()
    assert today.day.isoformat() == "2026-11-21"
    assert today.utc_offset == "+03:00"
    assert today.donations == 3, "donations, superchats and gifts; chat is not a donation"
    assert today.totals == [Money(amount=Decimal("1720.50"), currency="RUB")], "blocked money still arrived"
    assert today.events_by_kind == {EventKind.DONATION: 2, EventKind.SUPERCHAT: 1, EventKind.CHAT: 1}
    assert today.verdicts == {Decision.ALLOW: 3, Decision.BLOCK: 1}


def test_the_same_fact_twice_counts_once() -> None:
    stats, _ = stats_at(at(18))
    donation = screened("api:1", reactions=(ReactionKind.ALERT, ReactionKind.VIDEO))
    ready = status("api:1", ReactionKind.VIDEO, JobState.READY)
    feed(stats, donation, ready, donation, ready)
    today = stats.snapshot()
    assert today.donations == 1
    assert today.totals == [Money(amount=Decimal(500), currency="RUB")]
    assert today.reactions[ReactionKind.VIDEO].routed == 1
    assert today.reactions[ReactionKind.VIDEO].ready == 1


def test_reactions_by_kind_with_how_their_jobs_ended() -> None:
    stats, _ = stats_at(at(18))
    everything = (ReactionKind.ALERT, ReactionKind.VIDEO, ReactionKind.PAINTER, ReactionKind.VOICE)
    feed(
        stats,
        screened("api:1", reactions=everything),
        screened("api:2", reactions=(ReactionKind.ALERT, ReactionKind.VIDEO)),
        status("api:1", ReactionKind.VIDEO, JobState.QUEUED),
        status("api:1", ReactionKind.VIDEO, JobState.GENERATING),
        status("api:1", ReactionKind.VIDEO, JobState.FALLBACK),
        status("api:2", ReactionKind.VIDEO, JobState.GENERATING),
        status("api:1", ReactionKind.PAINTER, JobState.FAILED),
        status("api:1", ReactionKind.VOICE, JobState.READY),
    )
    today = stats.snapshot()
    assert today.reactions[ReactionKind.ALERT].routed == 2
    video = today.reactions[ReactionKind.VIDEO]
    assert (video.routed, video.fallback, video.in_progress, video.failed) == (2, 1, 1, 0)
    assert today.reactions[ReactionKind.PAINTER].failed == 1
    assert today.reactions[ReactionKind.VOICE].ready == 1
    assert today.failures == 1


def test_a_late_progress_report_does_not_reopen_a_finished_job() -> None:
    stats, _ = stats_at(at(18))
    feed(
        stats,
        status("api:1", ReactionKind.PAINTER, JobState.READY, when=at(12, 5)),
        status("api:1", ReactionKind.PAINTER, JobState.PLANNING, when=at(12, 1)),
    )
    painter = stats.snapshot().reactions[ReactionKind.PAINTER]
    assert (painter.ready, painter.in_progress) == (1, 0)


def test_held_donations_count_when_a_moderator_decides_and_a_late_original_does_not_undo_it() -> None:
    stats, _ = stats_at(at(18))
    held = screened("api:1", reactions=(ReactionKind.ALERT, ReactionKind.VOICE), approval=Approval.PENDING)
    feed(stats, held)
    today = stats.snapshot()
    assert today.held_for_approval == 1
    assert today.reactions[ReactionKind.ALERT].routed == 0, "nothing is routed while a moderator decides"
    approved = screened(
        "api:1",
        reactions=held.payload.reactions,
        approval=Approval.APPROVED,
        suffix="approved",
        when=at(12, 3),
    )
    feed(stats, approved, held)  # the rebuild may deliver the original after the live decision
    today = stats.snapshot()
    assert today.held_for_approval == 0
    assert today.reactions[ReactionKind.VOICE].routed == 1
    assert today.donations == 1


def test_only_the_local_day_counts_and_midnight_starts_a_new_one() -> None:
    stats, clock = stats_at(at(23, 50))
    feed(
        stats,
        screened("api:yesterday", when=at(23, 59, day=20)),
        screened("api:1", when=at(0, 10)),  # 21:10 UTC the day before: still today in Moscow
        screened("api:2", when=at(23, 40)),
    )
    assert stats.snapshot().donations == 2
    clock.now = at(0, 5, day=22)
    assert stats.snapshot().donations == 0
    assert stats.snapshot().day.isoformat() == "2026-11-22"
    feed(stats, screened("api:late", when=at(23, 55)))
    assert stats.snapshot().donations == 0, "a fact of yesterday arriving late is not today's"
    feed(stats, screened("api:3", when=at(0, 6, day=22)))
    assert stats.snapshot().donations == 1


def test_start_of_day_is_local_midnight() -> None:
    stats, _ = stats_at(at(9, 30))
    assert stats.start_of_day() == at(0, 0)


def test_a_change_of_base_currency_during_the_day_gives_one_total_per_currency() -> None:
    stats, _ = stats_at(at(18))
    feed(stats, screened("api:1", amount="500"))
    euro = screened("api:2", amount="5")
    euro = wrap(
        euro.payload.model_copy(update={"amount_base": Money(amount=Decimal(5), currency="EUR")}),
        id=euro.id,
        correlation_id=euro.correlation_id,
        occurred_at=euro.occurred_at,
    )
    feed(stats, euro)
    assert [str(total) for total in stats.snapshot().totals] == ["5 EUR", "500 RUB"]


def test_invalid_bytes_are_ignored() -> None:
    stats, _ = stats_at(at(18))
    assert stats.receive_bytes(b"not json") is False
    assert stats.receive_bytes(screened("api:1").to_json()) is True
    assert stats.snapshot().donations == 1


def test_a_busy_day_costs_about_a_hundred_bytes_an_event() -> None:
    """A soak at 5 donations/s grew the gateway by 650 bytes a donation; the figures now keep a shared value and a
    hash per event (the bound is deterministic: tracemalloc counts allocations, not time)."""
    stats, _ = stats_at(at(18))
    everything = (ReactionKind.ALERT, ReactionKind.VIDEO, ReactionKind.PAINTER, ReactionKind.VOICE)
    facts = [
        fact.to_json()
        for n in range(5000)
        for fact in (
            screened(f"donationalerts:{30530030 + n}", amount=str(100 + n), reactions=everything),
            *(status(f"donationalerts:{30530030 + n}", kind, JobState.READY) for kind in everything[1:]),
        )
    ]
    tracemalloc.start()
    try:
        for data in facts:
            stats.receive_bytes(data)
        kept = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(True, stats_module.__file__)])
    finally:
        tracemalloc.stop()
    per_event = sum(stat.size for stat in kept.statistics("filename")) / 5000
    assert per_event < 120, f"{per_event:.0f} bytes an event"
    today = stats.snapshot()
    assert today.donations == 5000
    assert today.reactions[ReactionKind.VOICE].ready == 5000
    assert today.totals == [Money(amount=Decimal(sum(range(100, 5100))), currency="RUB")]
