"""What the gatekeeper decides: the moderation verdict, the conversion to the base currency and the reactions."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .audience import ChatKind, SourceName
from .envelope import MessageId, Payload
from .money import Money


class Decision(StrEnum):
    ALLOW = "allow"
    DOWNGRADE = "downgrade"
    """Thank the donor, but drop the message from every reaction."""
    BLOCK = "block"
    """No reaction at all beyond the record."""


class Category(StrEnum):
    SEXUAL = "sexual"
    PROFANITY = "profanity"
    SLURS = "slurs"
    VIOLENCE = "violence"
    SELF_HARM = "self_harm"
    SPAM = "spam"
    PERSONAL_DATA = "personal_data"
    PROMPT_INJECTION = "prompt_injection"


class CheckedField(StrEnum):
    MESSAGE = "message"
    DONOR_NAME = "donor_name"


class Span(BaseModel):
    """Where in the checked text a rule matched (character offsets into the original text)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: CheckedField = CheckedField.MESSAGE
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    category: Category
    rule: str = Field(default="", max_length=200, description="Which list entry or pattern matched")


class Reviewer(StrEnum):
    RULES = "rules"
    LLM = "llm"
    MODERATOR = "moderator"


class Verdict(BaseModel):
    """A moderation verdict a moderator can read: what was decided, why, and where."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    decision: Decision
    categories: tuple[Category, ...] = ()
    spans: tuple[Span, ...] = ()
    reason: str = Field(default="", max_length=1000)
    uncertain: bool = Field(
        default=False, description="The rules could not decide; a second opinion may follow"
    )
    failed_closed: bool = Field(
        default=False, description="Moderation itself failed, so the verdict is strict"
    )
    reviewed_by: tuple[Reviewer, ...] = (Reviewer.RULES,)


class ModerationRequest(Payload):
    """Text another service wants checked before it is spoken or shown (NATS request/reply)."""

    TYPE: ClassVar[str] = "moderation.request"

    text: str = Field(max_length=10_000)
    purpose: str = Field(default="speech", max_length=40, description="speech, caption, prompt, name")


class ModerationReply(Payload):
    TYPE: ClassVar[str] = "moderation.reply"

    verdict: Verdict


class ReactionKind(StrEnum):
    ALERT = "alert"
    VOICE = "voice"
    PAINTER = "painter"
    VIDEO = "video"


class RateSource(StrEnum):
    IDENTITY = "identity"
    """Already in the base currency."""
    UPSTREAM = "upstream"
    """The donation platform's own converted amount."""
    LIVE = "live"
    CACHE = "cache"
    BUNDLED = "bundled"
    """The table shipped with Ovation, used when no rate service answers."""
    UNKNOWN = "unknown"
    """A currency no table knows: counted as zero for routing (an alert, nothing paid for), never as roubles."""


class Conversion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rate: Decimal = Field(ge=0, description="Base currency units per one unit of the original currency")
    source: RateSource
    as_of: AwareDatetime


class Approval(StrEnum):
    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class EventKind(StrEnum):
    DONATION = "donation"
    SUPERCHAT = ChatKind.SUPERCHAT.value
    GIFT = ChatKind.GIFT.value
    CHAT = ChatKind.CHAT.value


class ScreenedDonation(Payload):
    """One per donation or chat event: the verdict, the amount in the base currency and the reactions chosen."""

    TYPE: ClassVar[str] = "donation.screened"

    donation_id: MessageId
    kind: EventKind
    source: SourceName
    donor_name: str = Field(max_length=100, description="Safe to show: 'Anonymous' when the name was not")
    message: str | None = Field(max_length=2000, description="Safe to show; None when downgraded or blocked")
    amount: Money
    amount_base: Money
    conversion: Conversion
    verdict: Verdict
    reactions: tuple[ReactionKind, ...]
    approval: Approval = Approval.NOT_REQUIRED
    persona: str | None = Field(
        default=None,
        max_length=64,
        description="The persona the event addressed; it gets the voice whenever the voice rule is enabled",
    )


class ApprovalsQuery(Payload):
    """List the donations waiting for a moderator (reply data: ``{"pending": [ScreenedDonation, ...]}``)."""

    TYPE: ClassVar[str] = "gatekeeper.approvals"


class ApprovalDecision(Payload):
    """A moderator's decision on one waiting donation: approved ones are routed as usual, rejected ones get nothing."""

    TYPE: ClassVar[str] = "gatekeeper.decide"

    donation_id: MessageId
    approve: bool


class ConvertAmount(Payload):
    """Convert an amount to the base currency (reply data: ``{"amount": ..., "currency": ..., "source": ...}``)."""

    TYPE: ClassVar[str] = "gatekeeper.convert"

    amount: Money
