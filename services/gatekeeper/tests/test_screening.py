"""What a screened event turns into: jobs with ids from the donation, the addressed persona, no message when
downgraded, nothing while waiting for approval."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from gatekeeper.currency import ExchangeRates
from gatekeeper.moderation import Moderator
from gatekeeper.screening import Screener, jobs_for
from ovation_contracts import (
    Approval,
    ChatEvent,
    ChatKind,
    Decision,
    ModerationSettings,
    Money,
    RoutingRules,
    VoiceJob,
    bus,
)

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


async def screener(http: httpx.AsyncClient) -> Screener:
    async def rules() -> RoutingRules:
        return RoutingRules()

    async def moderation() -> ModerationSettings:
        return ModerationSettings()

    return Screener(Moderator(), ExchangeRates(http, url="http://127.0.0.1:1/"), rules, moderation)


def superchat(message: str) -> ChatEvent:
    return ChatEvent(
        id="api:s1",
        kind=ChatKind.SUPERCHAT,
        source="api",
        upstream_id="s1",
        author="Anna",
        message=message,
        amount=Money(amount=Decimal(500), currency="RUB"),
        persona="baron",
        created_at=NOW,
        received_at=NOW,
    )


async def test_a_superchat_reaches_the_persona_it_addressed() -> None:
    async with httpx.AsyncClient() as http:
        screening = await (await screener(http)).screen(superchat("Baron, sing us something!"))
    voice = [job for subject, job in screening.jobs if subject == bus.JOBS_VOICE]
    assert len(voice) == 1
    payload = voice[0].payload
    assert isinstance(payload, VoiceJob)
    assert (payload.persona, payload.job_id, payload.priority) == ("baron", "api:s1:voice", 300)
    assert payload.message == "Baron, sing us something!"


async def test_a_downgraded_superchat_keeps_its_jobs_without_the_message() -> None:
    async with httpx.AsyncClient() as http:
        screening = await (await screener(http)).screen(superchat("fuck you baron"))
    assert screening.screened.verdict.decision is Decision.DOWNGRADE
    assert screening.jobs
    assert all(job.payload.message is None and job.payload.downgraded for _, job in screening.jobs)


def test_nothing_is_published_while_a_donation_waits_for_approval() -> None:
    from ovation_contracts import Conversion, EventKind, RateSource, ReactionKind, ScreenedDonation, Verdict

    money = Money(amount=Decimal(2000), currency="RUB")
    screened = ScreenedDonation(
        donation_id="api:a1",
        kind=EventKind.DONATION,
        source="api",
        donor_name="Anna",
        message="hi",
        amount=money,
        amount_base=money,
        conversion=Conversion(rate=Decimal(1), source=RateSource.IDENTITY, as_of=NOW),
        verdict=Verdict(decision=Decision.ALLOW),
        reactions=tuple(ReactionKind),
        approval=Approval.PENDING,
    )
    assert jobs_for(screened) == ()
    assert len(jobs_for(screened.model_copy(update={"approval": Approval.APPROVED}))) == 3
