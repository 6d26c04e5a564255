"""Valid messages for tests and benchmarks, built in one place."""

from __future__ import annotations

from decimal import Decimal

from ovation_contracts import Envelope, Money, VideoJob, job_id, wrap


def video_job(
    donation_id: str,
    *,
    donor_name: str = "Ivan",
    amount: str = "1500",
    message: str | None = "a cat in space",
) -> Envelope[VideoJob]:
    """The video job a donation in roubles gets, in its envelope (id = job id, correlation = donation id)."""
    money = Money(amount=Decimal(amount), currency="RUB")
    job = VideoJob(
        job_id=job_id(donation_id, "video"),
        donation_id=donation_id,
        donor_name=donor_name,
        amount=money,
        amount_base=money,
        message=message,
    )
    return wrap(job, id=job.job_id, correlation_id=donation_id)
