"""The spend budget: per hour, per day, per-donor cooldown; reservations, releases and a ledger that stays small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ovation_contracts import BudgetEntry, VideoBudgetLedger, VideoSettings
from video.budget import donor_key, release, reserve

from .conftest import make_job

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TWO_AN_HOUR = VideoSettings(max_per_hour=2, max_per_day=5, donor_cooldown_seconds=0)


def run(
    ledger: VideoBudgetLedger, numbers: list[int], settings: VideoSettings, now: datetime = NOW
) -> list[bool]:
    allowed = []
    for number in numbers:
        decision, ledger = reserve(ledger, make_job(number, donor=f"donor{number}"), settings, now)
        allowed.append(decision.allowed)
    return allowed


def test_third_generation_in_an_hour_is_over_budget_with_a_clear_reason() -> None:
    ledger = VideoBudgetLedger()
    for number in (1, 2):
        decision, ledger = reserve(ledger, make_job(number, donor=f"d{number}"), TWO_AN_HOUR, NOW)
        assert decision.allowed
    decision, after = reserve(ledger, make_job(3, donor="d3"), TWO_AN_HOUR, NOW + timedelta(minutes=5))

    assert not decision.allowed
    assert "hourly budget of 2" in decision.detail
    assert "max_per_hour" in decision.detail
    assert "13:00 UTC" in decision.detail
    assert len(after.recent) == 2


def test_an_hour_later_the_hourly_budget_frees_but_the_day_counts_on() -> None:
    ledger = VideoBudgetLedger(
        recent=tuple(
            BudgetEntry(job_id=f"old:{i}:video", at=NOW - timedelta(minutes=61 + i)) for i in range(4)
        )
    )
    decision, ledger = reserve(ledger, make_job(1), TWO_AN_HOUR, NOW)
    assert decision.allowed
    assert sum(ledger.hourly.values()) == 4  # folded into hourly counts
    assert len(ledger.recent) == 1
    decision, _ = reserve(ledger, make_job(2, donor="Olga"), TWO_AN_HOUR, NOW)
    assert not decision.allowed
    assert "daily budget of 5" in decision.detail


def test_generations_older_than_a_day_are_forgotten() -> None:
    ledger = VideoBudgetLedger(hourly={int((NOW - timedelta(hours=30)).timestamp()) // 3600 * 3600: 50})
    decision, ledger = reserve(ledger, make_job(1), TWO_AN_HOUR, NOW)
    assert decision.allowed
    assert len(ledger.hourly) == 0


def test_donor_cooldown_refuses_the_same_donor_but_not_another() -> None:
    settings = VideoSettings(max_per_hour=10, max_per_day=10, donor_cooldown_seconds=300)
    ledger = VideoBudgetLedger()
    _, ledger = reserve(ledger, make_job(1, donor="Ivan"), settings, NOW)

    again, _ = reserve(ledger, make_job(2, donor=" IVAN "), settings, NOW + timedelta(seconds=100))
    other, _ = reserve(ledger, make_job(3, donor="Olga"), settings, NOW + timedelta(seconds=100))
    later, _ = reserve(ledger, make_job(4, donor="Ivan"), settings, NOW + timedelta(seconds=301))

    assert not again.allowed
    assert "cooldown" in again.detail
    assert "donor_cooldown_seconds" in again.detail
    assert other.allowed
    assert later.allowed


def test_without_a_cooldown_a_donor_is_never_refused_even_by_a_reservation_made_just_after_now() -> None:
    """Two videos for one donor, reserved concurrently: the second job read the clock, then lost the compare-and-set
    to the first, which stored a later time. CI's streamer's day gave that donor the card ("less than 0 s ago")."""
    settings = VideoSettings(max_per_hour=10, max_per_day=10, donor_cooldown_seconds=0)
    first, second = make_job(1, donor="Mike_T"), make_job(2, donor="Mike_T")
    _, ledger = reserve(VideoBudgetLedger(), first, settings, NOW + timedelta(milliseconds=3))

    decision, _ = reserve(ledger, second, settings, NOW)

    assert decision.allowed, decision.detail


def test_a_job_holding_a_reservation_is_not_counted_twice() -> None:
    job = make_job(1)
    _, ledger = reserve(VideoBudgetLedger(), job, TWO_AN_HOUR, NOW)
    decision, again = reserve(ledger, job, TWO_AN_HOUR, NOW)
    assert decision.allowed
    assert again.recent == ledger.recent


def test_release_gives_the_slot_and_the_donor_cooldown_back() -> None:
    settings = VideoSettings(max_per_hour=1, max_per_day=1, donor_cooldown_seconds=600)
    job = make_job(1)
    _, ledger = reserve(VideoBudgetLedger(), job, settings, NOW)
    ledger = release(ledger, job)

    assert ledger.recent == ()
    assert donor_key(job) not in ledger.donors
    assert run(ledger, [1], settings) == [True]


def test_zero_limit_switches_generation_off() -> None:
    decision, _ = reserve(VideoBudgetLedger(), make_job(), VideoSettings(max_per_hour=0), NOW)
    assert not decision.allowed
    assert "switched off" in decision.detail


def test_ledger_stays_small_with_large_limits() -> None:
    settings = VideoSettings(max_per_hour=10_000, max_per_day=100_000, donor_cooldown_seconds=0)
    ledger = VideoBudgetLedger()
    for hour in range(30):
        moment = NOW + timedelta(hours=hour)
        for number in range(50):
            _, ledger = reserve(ledger, make_job(hour * 100 + number, donor=str(number)), settings, moment)
    assert len(ledger.recent) <= 100  # the last hour, one by one
    assert len(ledger.hourly) <= 25  # the rest of the day, per hour
    assert ledger.count_since(NOW + timedelta(hours=29) - timedelta(days=1)) >= 24 * 50
