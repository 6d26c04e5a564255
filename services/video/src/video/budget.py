"""The spend budget: generations per hour and per day, and a cooldown per donor.

A generation is counted when it is about to be submitted (a reservation), so replicas racing for the last slot
cannot both pay; a submission AIML did not accept gives its slot back. The ledger lives in KV (see ``store.py``),
so the budget survives restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ovation_contracts import BudgetEntry, VideoBudgetLedger, VideoJob, VideoSettings


def donor_key(job: VideoJob) -> str:
    """Who the cooldown applies to: the donor's name (case-insensitive) on the donation's source."""
    source = job.donation_id.split(":", 1)[0]
    return f"{source}:{' '.join(job.donor_name.casefold().split())}"


@dataclass(frozen=True, slots=True)
class BudgetDecision:
    allowed: bool
    detail: str = ""
    """For a refusal: which limit, when it frees, and which setting raises it (written for the streamer)."""


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M UTC")


def decide(
    ledger: VideoBudgetLedger, job: VideoJob, settings: VideoSettings, now: datetime
) -> BudgetDecision:
    """Whether ``job`` may start a paid generation now. A job already holding a reservation always may."""
    if ledger.holds(job.job_id):
        return BudgetDecision(True)
    hour_ago, day_ago = now - timedelta(hours=1), now - timedelta(days=1)
    if settings.max_per_hour == 0 or settings.max_per_day == 0:
        return BudgetDecision(
            False,
            "generated videos are switched off (a limit is 0 in the video settings); "
            "raise max_per_hour and max_per_day to generate again",
        )
    in_hour = ledger.count_since(hour_ago)
    if in_hour >= settings.max_per_hour:
        oldest = min((e.at for e in ledger.recent if e.at >= hour_ago), default=now)
        return BudgetDecision(
            False,
            f"the hourly budget of {settings.max_per_hour} generated videos is used up; the next one is "
            f"possible at about {_clock(oldest + timedelta(hours=1))}. Raise max_per_hour in the video "
            "settings to allow more",
        )
    in_day = ledger.count_since(day_ago)
    if in_day >= settings.max_per_day:
        return BudgetDecision(
            False,
            f"the daily budget of {settings.max_per_day} generated videos is used up. Raise max_per_day in "
            "the video settings to allow more",
        )
    last = ledger.donors.get(donor_key(job))
    cooldown = timedelta(seconds=settings.donor_cooldown_seconds)
    # No cooldown is no cooldown: a replica or a concurrent job may have stored a reservation later than ``now``.
    if cooldown and last is not None and now - last < cooldown:
        return BudgetDecision(
            False,
            f"{job.donor_name} got a generated video less than {settings.donor_cooldown_seconds} s ago "
            f"(donor cooldown; next one possible at {_clock(last + cooldown)}). Lower "
            "donor_cooldown_seconds in the video settings to allow it",
        )
    return BudgetDecision(True)


def reserve(
    ledger: VideoBudgetLedger, job: VideoJob, settings: VideoSettings, now: datetime
) -> tuple[BudgetDecision, VideoBudgetLedger]:
    """The decision, and the ledger to store: compacted, with ``job`` counted when it is allowed."""
    ledger = ledger.compacted(now, settings.donor_cooldown_seconds)
    decision = decide(ledger, job, settings, now)
    if not decision.allowed or ledger.holds(job.job_id):
        return decision, ledger
    donors = {**ledger.donors, donor_key(job): now}
    recent = (*ledger.recent, BudgetEntry(job_id=job.job_id, at=now))
    return decision, ledger.model_copy(update={"recent": recent, "donors": donors})


def release(ledger: VideoBudgetLedger, job: VideoJob) -> VideoBudgetLedger:
    """The ledger without ``job``'s reservation (AIML never accepted it, so nothing was spent)."""
    entries = [e for e in ledger.recent if e.job_id == job.job_id]
    if not entries:
        return ledger
    donors = dict(ledger.donors)
    key = donor_key(job)
    if donors.get(key) in {e.at for e in entries}:
        del donors[key]
    recent = tuple(e for e in ledger.recent if e.job_id != job.job_id)
    return ledger.model_copy(update={"recent": recent, "donors": donors})
