"""Ingest's sources and the commands the gateway sends them (NATS request/reply on ``control.ingest.<command>``)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .audience import MAX_MESSAGE_CHARS, MAX_NAME_CHARS, ChatKind
from .envelope import Payload
from .money import CurrencyCode


class SourceState(StrEnum):
    DISABLED = "disabled"
    """Not configured: nothing to connect to."""
    CONNECTING = "connecting"
    CATCHING_UP = "catching_up"
    CONNECTED = "connected"
    POLLING = "polling"
    """The realtime channel is down; donations are fetched through REST meanwhile."""
    NEEDS_REAUTHORISATION = "needs_reauthorisation"
    """The platform refused the token and it could not be refreshed: the streamer must connect again."""


class SourceStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    state: SourceState
    detail: str = Field(default="", max_length=1000, description="What is happening, for the streamer")
    last_donation_at: AwareDatetime | None = None
    lag_seconds: float | None = Field(default=None, description="From payment to publication, last donation")
    published: int = 0
    duplicates_skipped: int = 0
    errors: dict[str, int] = Field(default_factory=dict)


class SourcesQuery(Payload):
    TYPE: ClassVar[str] = "ingest.sources"


class TestConnection(Payload):
    """Check the credentials against the platform now and say what it answered."""

    TYPE: ClassVar[str] = "ingest.test-connection"

    __test__ = False  # not a pytest test class, whatever its name


class OAuthStart(Payload):
    """Begin DonationAlerts' authorisation: the reply's data is ``{"authorize_url": ...}``."""

    TYPE: ClassVar[str] = "ingest.oauth-start"


class OAuthFinish(Payload):
    """The callback's ``code`` and ``state``; the state must be one issued, unused and unexpired."""

    TYPE: ClassVar[str] = "ingest.oauth-finish"

    code: str = Field(min_length=1, max_length=2000)
    state: str = Field(min_length=1, max_length=200)


class SetAccessToken(Payload):
    """Use a pasted DonationAlerts access token instead of the OAuth round trip."""

    TYPE: ClassVar[str] = "ingest.set-token"

    access_token: str = Field(min_length=8, max_length=4000, pattern=r"^[\x21-\x7e]+$", repr=False)


class DisconnectSource(Payload):
    TYPE: ClassVar[str] = "ingest.disconnect"


class SubmitDonation(Payload):
    """A donation entered through the API (a test donation from the dashboard, say, or an interrupt)."""

    TYPE: ClassVar[str] = "ingest.submit-donation"

    donor: str = Field(default="Test donor", min_length=1, max_length=MAX_NAME_CHARS)
    amount: Decimal = Field(gt=0, max_digits=20, decimal_places=8)
    currency: CurrencyCode = "RUB"
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    is_test: bool = True
    persona: str | None = Field(
        default=None,
        max_length=64,
        description="The persona it is addressed to: the gatekeeper has it spoken",
    )


class SubmitChat(Payload):
    """A chat message, superchat or gift entered through the API."""

    TYPE: ClassVar[str] = "ingest.submit-chat"

    kind: ChatKind
    author: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    amount: Decimal | None = Field(default=None, gt=0, max_digits=20, decimal_places=8)
    currency: CurrencyCode | None = None
    gift_name: str | None = Field(default=None, max_length=100)
    gift_count: int | None = Field(default=None, ge=1, le=100_000)
    persona: str | None = Field(default=None, max_length=64)


class OAuthState(BaseModel):
    """An issued OAuth ``state``, kept until used once or expired."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    expires_at: AwareDatetime
