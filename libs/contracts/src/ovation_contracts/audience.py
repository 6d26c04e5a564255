"""What the audience sends: donations and chat events (chat messages, superchats, gifts)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AwareDatetime, Field, HttpUrl, model_validator

from .envelope import MessageId, Payload
from .money import Money

SourceName = Annotated[
    str,
    Field(
        pattern=r"^[a-z][a-z0-9-]{0,31}$",
        description="Where it came from: donationalerts, simulator, api, ...",
    ),
]
UpstreamId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._\-]+$")]

MAX_MESSAGE_CHARS = 2000
MAX_NAME_CHARS = 100


def global_id(source: str, upstream_id: str | int) -> str:
    """The stable id of a donation or chat event across the whole system: ``<source>:<upstream id>``."""
    return f"{source}:{upstream_id}"


class MessageType(StrEnum):
    TEXT = "text"
    AUDIO = "audio"


class Donation(Payload):
    """One donation as it arrived, normalised. Its ``id`` is the correlation id of everything it causes."""

    TYPE: ClassVar[str] = "donation.received"

    id: MessageId = Field(description="Global id, `<source>:<upstream_id>`")
    source: SourceName
    upstream_id: UpstreamId
    donor_name: str | None = Field(max_length=MAX_NAME_CHARS, description="None when the donor is anonymous")
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    message_type: MessageType = MessageType.TEXT
    audio_url: HttpUrl | None = None
    amount: Money
    amount_in_user_currency: Money | None = Field(
        default=None,
        description="The upstream's own conversion to the streamer's currency, when it gives one",
    )
    created_at: AwareDatetime = Field(description="When the donor paid, UTC")
    received_at: AwareDatetime = Field(description="When Ovation received it, UTC")
    is_test: bool = False
    persona: str | None = Field(
        default=None,
        max_length=64,
        description="The persona it is addressed to, if any: a request to be spoken (an API interrupt)",
    )

    @model_validator(mode="after")
    def _id_is_source_and_upstream(self) -> Donation:
        if self.id != global_id(self.source, self.upstream_id):
            raise ValueError(f"id must be '{global_id(self.source, self.upstream_id)}', got {self.id!r}")
        return self

    @property
    def display_name(self) -> str:
        return self.donor_name or "Anonymous"


class ChatKind(StrEnum):
    CHAT = "chat"
    SUPERCHAT = "superchat"
    GIFT = "gift"


class ChatEvent(Payload):
    """A chat message, a superchat (a paid message) or a gift, from a platform, the simulator or the API."""

    TYPE: ClassVar[str] = "chat.received"

    id: MessageId = Field(description="Global id, `<source>:<upstream_id>`")
    kind: ChatKind
    source: SourceName
    upstream_id: UpstreamId
    author: str = Field(min_length=1, max_length=MAX_NAME_CHARS)
    message: str = Field(default="", max_length=MAX_MESSAGE_CHARS)
    amount: Money | None = Field(default=None, description="What a superchat or gift is worth, if known")
    gift_name: str | None = Field(default=None, max_length=100)
    gift_count: int | None = Field(default=None, ge=1, le=100_000)
    persona: str | None = Field(
        default=None, max_length=64, description="The persona it is addressed to, if any"
    )
    created_at: AwareDatetime
    received_at: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> ChatEvent:
        if self.id != global_id(self.source, self.upstream_id):
            raise ValueError(f"id must be '{global_id(self.source, self.upstream_id)}', got {self.id!r}")
        if self.kind is ChatKind.GIFT and not self.gift_name:
            raise ValueError("a gift needs gift_name")
        return self
