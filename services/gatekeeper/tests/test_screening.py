"""What a screened event turns into: jobs with ids from the donation, the addressed persona, no message when
downgraded, nothing while waiting for approval."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from gatekeeper.currency import ExchangeRates
from gatekeeper.moderation import Moderator
from gatekeeper.screening import Screener, Screening, jobs_for
from ovation_contracts import (
    Approval,
    ApprovalMode,
    ChatEvent,
    ChatKind,
    Decision,
    Donation,
    ModerationSettings,
    Money,
    ReactionKind,
    RoutingRules,
    VoiceJob,
    bus,
)

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


async def screener(http: httpx.AsyncClient, settings: ModerationSettings | None = None) -> Screener:
    async def rules() -> RoutingRules:
        return RoutingRules()

    async def moderation() -> ModerationSettings:
        return settings or ModerationSettings()

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


def interrupt(message: str, persona: str | None = "sasha") -> Donation:
    """What the gateway's POST /api/v1/audio/interrupt with kind=donation enters: 1 RUB, addressed."""
    return Donation(
        id="api:i1",
        source="api",
        upstream_id="i1",
        donor_name="viewer",
        message=message,
        amount=Money(amount=Decimal(1), currency="RUB"),
        persona=persona,
        created_at=NOW,
        received_at=NOW,
    )


def chat(message: str) -> ChatEvent:
    return ChatEvent(
        id="api:c1",
        kind=ChatKind.CHAT,
        source="api",
        upstream_id="c1",
        author="viewer",
        message=message,
        persona="nova",
        created_at=NOW,
        received_at=NOW,
    )


def voice_jobs(screening: Screening) -> list[VoiceJob]:
    jobs = [job.payload for subject, job in screening.jobs if subject == bus.JOBS_VOICE]
    assert all(isinstance(job, VoiceJob) for job in jobs)
    return jobs


async def test_an_addressed_donation_below_the_voice_threshold_is_spoken_by_its_persona() -> None:
    async with httpx.AsyncClient() as http:
        screening = await (await screener(http)).screen(interrupt("Sasha, say hello to my mum!"))
    assert screening.screened.persona == "sasha"
    assert screening.screened.reactions == (ReactionKind.ALERT, ReactionKind.VOICE)
    [job] = voice_jobs(screening)
    assert (job.persona, job.job_id, job.message) == ("sasha", "api:i1:voice", "Sasha, say hello to my mum!")
    assert {subject for subject, _ in screening.jobs} == {bus.JOBS_VOICE}, "1 RUB: no drawing, no video"


async def test_without_a_persona_the_same_donation_follows_the_threshold() -> None:
    async with httpx.AsyncClient() as http:
        screening = await (await screener(http)).screen(interrupt("hello", persona=None))
    assert screening.screened.reactions == (ReactionKind.ALERT,)
    assert screening.jobs == ()
    async with httpx.AsyncClient() as http:
        empty = await (await screener(http)).screen(interrupt("hello", persona=""))
    assert empty.screened.persona is None and empty.jobs == (), "an empty persona addresses nobody"


async def test_an_addressed_chat_message_is_spoken_and_a_blocked_one_is_not() -> None:
    async with httpx.AsyncClient() as http:
        spoken = await (await screener(http)).screen(chat("Nova, what is your favourite song?"))
        blocked = await (await screener(http)).screen(chat("I will kill you"))
    assert spoken.screened.reactions == (ReactionKind.VOICE,)
    [job] = voice_jobs(spoken)
    assert (job.persona, job.kind.value, job.priority) == ("nova", "chat", 0)

    assert blocked.screened.verdict.decision is Decision.BLOCK
    assert (blocked.screened.reactions, blocked.jobs) == ((), ())
    assert blocked.screened.persona == "nova"


async def test_an_addressed_message_waits_for_approval_like_any_other() -> None:
    async with httpx.AsyncClient() as http:
        held = await (await screener(http, ModerationSettings(approval=ApprovalMode.ALL))).screen(
            interrupt("Sasha, tell a joke")
        )
    assert held.screened.approval is Approval.PENDING
    assert held.jobs == ()
    approved = jobs_for(held.screened.model_copy(update={"approval": Approval.APPROVED}))
    assert [(subject, job.payload.persona) for subject, job in approved] == [(bus.JOBS_VOICE, "sasha")]
