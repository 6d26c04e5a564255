"""What the gatekeeper decides for one donation or chat event: verdict, amount in the base currency, reactions, jobs.

Pure logic apart from what it is given (the moderator, the rates, the settings loaders). The decision is made once:
the service stores it per donation, and a redelivery rebuilds exactly the same screened event and jobs from it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from prometheus_client import Counter

from ovation_contracts import (
    Approval,
    ApprovalMode,
    ChatEvent,
    CheckedField,
    Decision,
    Donation,
    Envelope,
    EventKind,
    ModerationSettings,
    Money,
    PainterJob,
    ReactionJob,
    ReactionKind,
    RoutingRules,
    ScreenedDonation,
    Verdict,
    VideoJob,
    VoiceJob,
    bus,
    job_id,
    wrap,
)

from .currency import ExchangeRates, to_base
from .moderation import Moderator, failed_closed_verdict
from .routing import choose_reactions

log = logging.getLogger(__name__)

VERDICTS = Counter("ovation_gatekeeper_verdicts_total", "Verdicts, by decision", ["decision"])
FAILED_CLOSED = Counter(
    "ovation_gatekeeper_failed_closed_total", "Moderation errors answered with a strict verdict"
)

PRIORITY = {EventKind.SUPERCHAT: 300, EventKind.GIFT: 200, EventKind.DONATION: 100, EventKind.CHAT: 0}
JOB_TYPES: dict[ReactionKind, tuple[type[ReactionJob], str]] = {
    ReactionKind.VIDEO: (VideoJob, bus.JOBS_VIDEO),
    ReactionKind.PAINTER: (PainterJob, bus.JOBS_PAINTER),
    ReactionKind.VOICE: (VoiceJob, bus.JOBS_VOICE),
}
ANONYMOUS = "Anonymous"
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")

SecondOpinion = Callable[[str, Verdict], Awaitable[Verdict]]


@dataclass(frozen=True)
class Screening:
    screened: ScreenedDonation
    jobs: tuple[tuple[str, Envelope[Any]], ...]
    """(subject, envelope) of each job to publish; empty while the donation waits for approval."""


def event_kind(event: Donation | ChatEvent) -> EventKind:
    return EventKind.DONATION if isinstance(event, Donation) else EventKind(event.kind.value)


def approval_needed(settings: ModerationSettings, verdict: Verdict) -> bool:
    if verdict.decision is Decision.BLOCK:
        return False  # nothing would react anyway
    if settings.approval is ApprovalMode.ALL:
        return True
    return settings.approval is ApprovalMode.FLAGGED and (
        verdict.decision is not Decision.ALLOW or verdict.uncertain
    )


def language_of(text: str | None) -> str | None:
    if not text:
        return None
    return "ru" if _CYRILLIC.search(text) else "en"


def jobs_for(screened: ScreenedDonation) -> tuple[tuple[str, Envelope[Any]], ...]:
    """One job per chosen reaction (the alert is the stage's, from the screened event), ids derived from the donation."""
    if screened.approval is Approval.PENDING or screened.approval is Approval.REJECTED:
        return ()
    jobs: list[tuple[str, Envelope[Any]]] = []
    for reaction in screened.reactions:
        if reaction not in JOB_TYPES:
            continue
        model, subject = JOB_TYPES[reaction]
        addressed = {"persona": screened.persona} if model is VoiceJob else {}
        job = model(
            **addressed,
            job_id=job_id(screened.donation_id, reaction),
            donation_id=screened.donation_id,
            kind=screened.kind,
            donor_name=screened.donor_name,
            amount=screened.amount,
            amount_base=screened.amount_base,
            message=screened.message,
            downgraded=screened.verdict.decision is Decision.DOWNGRADE,
            priority=PRIORITY[screened.kind],
            language=language_of(screened.message),
        )
        jobs.append((subject, wrap(job, id=job.job_id, correlation_id=screened.donation_id)))
    return tuple(jobs)


class Screener:
    def __init__(
        self,
        moderator: Moderator,
        rates: ExchangeRates,
        load_rules: Callable[[], Awaitable[RoutingRules]],
        load_moderation: Callable[[], Awaitable[ModerationSettings]],
        second_opinion: SecondOpinion | None = None,
    ) -> None:
        self.base_moderator = moderator
        self.rates = rates
        self.load_rules = load_rules
        self.load_moderation = load_moderation
        self.second_opinion = second_opinion
        self._lists: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
        self._moderator = moderator

    def moderator_for(self, settings: ModerationSettings) -> Moderator:
        lists = (settings.blocked_terms, settings.allowed_terms)
        if lists != self._lists:
            self._moderator = self.base_moderator.with_settings(settings)
            self._lists = lists
        return self._moderator

    async def verdict(self, message: str, donor_name: str | None, settings: ModerationSettings) -> Verdict:
        try:
            verdict = self.moderator_for(settings).check(message, donor_name)
        except Exception as exc:  # moderation fails closed, visibly
            log.exception("moderation failed; the message is dropped from every reaction")
            FAILED_CLOSED.inc()
            verdict = failed_closed_verdict(exc)
        if verdict.uncertain and settings.llm_second_opinion and self.second_opinion is not None and message:
            verdict = await self.second_opinion(message, verdict)
        VERDICTS.labels(verdict.decision.value).inc()
        return verdict

    async def screen(self, event: Donation | ChatEvent) -> Screening:
        settings = await self.load_moderation()
        rules = await self.load_rules()
        kind = event_kind(event)
        donor = event.donor_name if isinstance(event, Donation) else event.author
        verdict = await self.verdict(event.message, donor, settings)
        amount = (
            event.amount
            if event.amount is not None
            else Money(amount=Decimal(0), currency=rules.base_currency)
        )
        upstream = event.amount_in_user_currency if isinstance(event, Donation) else None
        amount_base, conversion = await to_base(amount, rules.base_currency, self.rates, upstream)
        persona = event.persona or None
        reactions = choose_reactions(
            rules,
            kind=kind,
            source=event.source,
            amount_base=amount_base.amount,
            has_message=bool(event.message.strip()) or kind is EventKind.GIFT,
            verdict=verdict,
            addressed=persona is not None,
        )
        name_flagged = any(span.field is CheckedField.DONOR_NAME for span in verdict.spans)
        screened = ScreenedDonation(
            donation_id=event.id,
            kind=kind,
            source=event.source,
            donor_name=ANONYMOUS if name_flagged or not donor else donor,
            message=event.message if verdict.decision is Decision.ALLOW and event.message else None,
            amount=amount,
            amount_base=amount_base,
            conversion=conversion,
            verdict=verdict,
            reactions=reactions,
            approval=Approval.PENDING if approval_needed(settings, verdict) else Approval.NOT_REQUIRED,
            persona=persona,
        )
        return Screening(screened, jobs_for(screened))


__all__ = ["Screener", "Screening", "approval_needed", "event_kind", "jobs_for", "language_of"]
