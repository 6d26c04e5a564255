"""Control commands (NATS request/reply on ``control.<service>.<command>``), service health reports and log lines."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue

from .envelope import MessageId, Payload


class QueueSkip(Payload):
    """Skip what is playing or drawing now."""

    TYPE: ClassVar[str] = "control.skip"


class QueueClear(Payload):
    """Remove everything waiting; what is playing now keeps playing."""

    TYPE: ClassVar[str] = "control.clear"


class QueuePause(Payload):
    TYPE: ClassVar[str] = "control.pause"

    paused: bool


class QueueRemove(Payload):
    TYPE: ClassVar[str] = "control.remove"

    item_id: MessageId


class QueueMove(Payload):
    """Move a waiting item: ``by`` -1 is one place earlier, +1 one place later."""

    TYPE: ClassVar[str] = "control.move"

    item_id: MessageId
    by: int = Field(ge=-1000, le=1000)


class CueReplay(Payload):
    """Play a past cue again from its stored artifact; never regenerates anything."""

    TYPE: ClassVar[str] = "control.replay"

    cue_id: MessageId


class QueueList(Payload):
    TYPE: ClassVar[str] = "control.list"


class HealthQuery(Payload):
    TYPE: ClassVar[str] = "control.health"


class ControlReply(Payload):
    """The answer to any control command; ``message`` is written for the streamer."""

    TYPE: ClassVar[str] = "control.reply"

    ok: bool
    message: str = Field(default="", max_length=1000)
    data: JsonValue = None


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    DOWN = "down"


class Check(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ok: bool
    detail: str = Field(default="", max_length=500)


class ServiceHealth(Payload):
    """A service's own view of its health: liveness, readiness and, when not ok, the reasons."""

    TYPE: ClassVar[str] = "service.health"

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    instance: str = Field(max_length=128)
    status: HealthStatus
    live: bool
    ready: bool
    reasons: tuple[str, ...] = ()
    checks: dict[str, Check] = Field(default_factory=dict)
    version: str = "0.1.0"
    started_at: AwareDatetime


class LogLevel(StrEnum):
    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"


class ServiceLog(Payload):
    """A warning or error a service logged, on ``logs.<service>`` for the dashboard (core NATS: not stored).

    ``message`` is redacted (tokens, keys, passwords) and shortened before it leaves the service.
    """

    TYPE: ClassVar[str] = "service.log"

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{0,31}$")
    instance: str = Field(max_length=128)
    level: LogLevel
    logger: str = Field(max_length=200)
    message: str = Field(max_length=2000)
    logged_at: AwareDatetime
    donation_id: MessageId | None = Field(default=None, description="The donation being handled, if any")
    suppressed: int = Field(
        default=0, ge=0, description="Lines the rate limit dropped since the previous published one"
    )
