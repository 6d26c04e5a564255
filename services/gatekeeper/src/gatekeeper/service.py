"""What the gatekeeper does with each event, and with a moderator's decision, in plain async Python."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ovation_contracts import (
    Approval,
    ApprovalDecision,
    ChatEvent,
    ControlReply,
    Donation,
    Envelope,
    ModerationReply,
    ModerationRequest,
    ModerationSettings,
    Reviewer,
    ScreenedDonation,
    bus,
    wrap,
)

from .screening import Screener, jobs_for
from .store import GatekeeperStore, as_data

log = logging.getLogger(__name__)

Publish = Callable[[Envelope[Any], str], Awaitable[object]]


def screened_envelope(screened: ScreenedDonation, suffix: str = "screened") -> Envelope[ScreenedDonation]:
    return wrap(screened, id=f"{screened.donation_id}:{suffix}", correlation_id=screened.donation_id)


class Gatekeeper:
    def __init__(self, screener: Screener, store: GatekeeperStore, publish: Publish) -> None:
        self.screener = screener
        self.store = store
        self.publish = publish

    async def handle(self, event: Donation | ChatEvent) -> ScreenedDonation:
        """Screen once, then publish the screened event and its jobs (again, identically, on a redelivery)."""
        screened = await self.store.decision(event.id)
        if screened is None:
            screening = await self.screener.screen(event)
            screened = await self.store.keep_decision(screening.screened)
        if screened.approval is Approval.PENDING:
            await self.store.add_pending(screened)
        await self.publish(screened_envelope(screened), bus.DONATION_SCREENED)
        for subject, job in jobs_for(screened):
            await self.publish(job, subject)
        log.info(
            "screened: %s, reactions %s",
            screened.verdict.decision.value,
            ",".join(r.value for r in screened.reactions) or "none",
            extra={"approval": screened.approval.value},
        )
        return screened

    async def pending(self) -> ControlReply:
        return ControlReply(ok=True, data={"pending": as_data(await self.store.pending())})

    async def decide(self, decision: ApprovalDecision) -> ControlReply:
        waiting = await self.store.take_pending(decision.donation_id)
        if waiting is None:
            return ControlReply(
                ok=False, message=f"{decision.donation_id} is not waiting for approval (already decided?)."
            )
        outcome = Approval.APPROVED if decision.approve else Approval.REJECTED
        verdict = waiting.verdict.model_copy(
            update={"reviewed_by": (*waiting.verdict.reviewed_by, Reviewer.MODERATOR)}
        )
        decided = waiting.model_copy(update={"approval": outcome, "verdict": verdict})
        await self.store.replace_decision(decided)
        await self.publish(screened_envelope(decided, outcome.value), bus.DONATION_SCREENED)
        for subject, job in jobs_for(decided):
            await self.publish(job, subject)
        log.info("donation %s %s by a moderator", decision.donation_id, outcome.value)
        return ControlReply(
            ok=True, message=f"{outcome.value.capitalize()}.", data=decided.model_dump(mode="json")
        )

    async def moderate(self, request: ModerationRequest, settings: ModerationSettings) -> ModerationReply:
        """For text another service will speak or show (an LLM's line, a caption): the same rules, failing closed."""
        return ModerationReply(verdict=await self.screener.verdict(request.text, None, settings))
