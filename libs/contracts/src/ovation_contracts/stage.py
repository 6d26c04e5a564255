"""The widget stage: cues to play on stream, and the widget's report of what it played."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from . import bus
from .artifacts import ArtifactRef
from .envelope import Envelope, MessageId, Payload
from .gate import ReactionKind
from .money import Money
from .settings import KvDocument


class CueKind(StrEnum):
    ALERT = "alert"
    VIDEO = "video"
    AUDIO = "audio"


class StageCue(Payload):
    """Something ready to be played on the OBS widget, one at a time, by priority then arrival."""

    TYPE: ClassVar[str] = "stage.cue"

    cue_id: MessageId
    donation_id: MessageId
    kind: CueKind
    reaction: ReactionKind
    priority: int = Field(default=0, ge=0, le=1000)
    donor_name: str = Field(max_length=100)
    amount: Money | None = None
    message: str | None = Field(default=None, max_length=2000, description="Moderated; None when hidden")
    artifact: ArtifactRef | None = Field(
        default=None, description="The video or audio to play; None for an alert"
    )
    duration_ms: int | None = Field(default=None, ge=0, description="How long it plays, when known")


class PlaybackState(StrEnum):
    STARTED = "started"
    ENDED = "ended"
    FAILED = "failed"
    SKIPPED = "skipped"


class PlaybackAck(Payload):
    """What a widget reports about a cue."""

    TYPE: ClassVar[str] = "stage.playback"

    cue_id: MessageId
    donation_id: MessageId
    state: PlaybackState
    reason: str | None = Field(default=None, max_length=500)
    widget_id: str | None = Field(default=None, max_length=64)


class StageItem(BaseModel):
    """A cue in the stage's queue; ``arrival`` orders cues of equal priority."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cue: StageCue
    arrival: int = Field(ge=0)


class StageState(KvDocument):
    """The widget stage, kept in KV (``ovation-queues`` / ``stage``) so a gateway restart loses and doubles nothing."""

    BUCKET: ClassVar[str] = bus.KV_QUEUES
    KEY: ClassVar[str] = "stage"

    queue: tuple[StageItem, ...] = ()
    current: StageItem | None = None
    current_since: AwareDatetime | None = None
    started: bool = Field(default=False, description="A widget reported that the current cue started")
    started_by: str | None = Field(
        default=None, max_length=64, description="The widget that reported the current cue's start"
    )
    paused: bool = False
    next_arrival: int = 0
    played: tuple[str, ...] = Field(
        default=(), description="Recent cue ids that ended, failed or were skipped"
    )
    history: tuple[StageCue, ...] = Field(default=(), description="Recent cues, newest last, for replay")
    acks: tuple[Envelope[PlaybackAck], ...] = Field(
        default=(),
        description="Playback acks not yet stored on EVENTS, oldest first: saved with the change that made them and "
        "published from here, so a gateway restart or a NATS outage loses none (the outbox)",
    )
