"""Every name on the bus, in one place: subjects, streams, KV buckets, headers, durable consumers, services.

Subjects read broad to narrow: ``donations.received.<source>``, ``chat.<kind>.<source>``, ``jobs.<service>.<action>``
(work queues), ``events.<domain>.<fact>`` (facts for anyone), ``dlq.<service>`` and ``control.<service>.<command>``
(request/reply, not stored), ``live.<service>.<what>`` (core NATS, never stored: a frame is stale a moment later)
and ``logs.<service>`` (warnings and errors for the dashboard; core NATS, never stored).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

# Services -------------------------------------------------------------------------------------------------------


class Service(StrEnum):
    INGEST = "ingest"
    GATEKEEPER = "gatekeeper"
    VIDEO = "video"
    PAINTER = "painter"
    VOICE = "voice"
    GATEWAY = "gateway"


# Subjects -------------------------------------------------------------------------------------------------------

DONATIONS_RECEIVED = "donations.received.>"
CHAT_RECEIVED = "chat.>"


def donation_received(source: str) -> str:
    return f"donations.received.{source}"


def chat_received(kind: str, source: str) -> str:
    return f"chat.{kind}.{source}"


JOBS_VIDEO = "jobs.video.render"
JOBS_PAINTER = "jobs.painter.draw"
JOBS_VOICE = "jobs.voice.speak"

DONATION_SCREENED = "events.donation.screened"
STAGE_CUE = "events.stage.cue"
STAGE_PLAYBACK = "events.stage.playback"
JOB_STATUS = "events.job.>"
HEALTH = "events.health.>"


def job_status(reaction: str) -> str:
    return f"events.job.{reaction}"


def health(service: str) -> str:
    return f"events.health.{service}"


def dlq(service: str) -> str:
    return f"dlq.{service}"


def control(service: str, command: str) -> str:
    return f"control.{service}.{command}"


LOGS = "logs.>"
"""Every service's recent warnings and errors: core NATS only, never stored (a line missed in an outage is gone)."""


def logs(service: str) -> str:
    return f"logs.{service}"


MODERATION_CHECK = control(Service.GATEKEEPER, "moderate")

LIVE_PAINTER_FRAME = "live.painter.frame"
"""The painter's live canvas, frame by frame (``LiveFrame``): core NATS, no stream stores ``live.>``."""

# Streams --------------------------------------------------------------------------------------------------------

Retention = Literal["limits", "workqueue", "interest"]

DAY = 24 * 3600


@dataclass(frozen=True, slots=True)
class StreamSpec:
    """A JetStream stream, declared from here by every service that uses it (the same config each time)."""

    name: str
    subjects: tuple[str, ...]
    retention: Retention
    max_age_seconds: float
    duplicate_window_seconds: float
    description: str
    max_msg_size: int = 1024 * 1024


DONATIONS = StreamSpec(
    name="DONATIONS",
    subjects=("donations.>", "chat.>"),
    retention="limits",
    max_age_seconds=365 * DAY,
    duplicate_window_seconds=3600,
    description="Everything the audience sent, kept for history and replay",
)
JOBS = StreamSpec(
    name="JOBS",
    subjects=("jobs.>",),
    retention="workqueue",
    max_age_seconds=2 * DAY,
    duplicate_window_seconds=3600,
    description="Reaction jobs, each taken by one worker",
)
EVENTS = StreamSpec(
    name="EVENTS",
    subjects=("events.>",),
    retention="limits",
    max_age_seconds=3 * DAY,
    duplicate_window_seconds=600,
    description="Facts for anyone: verdicts, job status, stage cues, playback, health",
)
DLQ = StreamSpec(
    name="DLQ",
    subjects=("dlq.>",),
    retention="limits",
    max_age_seconds=30 * DAY,
    duplicate_window_seconds=600,
    description="Messages a service could not handle, with the reason in headers",
)
STREAMS: tuple[StreamSpec, ...] = (DONATIONS, JOBS, EVENTS, DLQ)


def stream_for(subject: str) -> StreamSpec:
    """The stream that stores a subject; raises if none does (a typo, or a subject that is not stored)."""
    for spec in STREAMS:
        for pattern in spec.subjects:
            if _matches(pattern, subject):
                return spec
    raise LookupError(f"no stream stores subject {subject!r}")


def _matches(pattern: str, subject: str) -> bool:
    p_tokens, s_tokens = pattern.split("."), subject.split(".")
    for i, part in enumerate(p_tokens):
        if part == ">":
            return len(s_tokens) > i
        if i >= len(s_tokens) or (part != "*" and part != s_tokens[i]):
            return False
    return len(p_tokens) == len(s_tokens)


# KV buckets -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KvSpec:
    """A JetStream key-value bucket for state that must survive restarts."""

    name: str
    history: int
    description: str
    ttl_seconds: float | None = None


KV_SETTINGS = "ovation-settings"
KV_SECRETS = "ovation-secrets"
KV_CURSORS = "ovation-cursors"
KV_QUEUES = "ovation-queues"
KV_JOBS = "ovation-jobs"
KV_SCREENINGS = "ovation-screenings"
KV_LEASES = "ovation-leases"
KV_BUCKETS: tuple[KvSpec, ...] = (
    KvSpec(KV_SETTINGS, history=10, description="Runtime settings edited from the dashboard"),
    KvSpec(KV_SECRETS, history=1, description="Tokens; never returned by any API"),
    KvSpec(KV_CURSORS, history=5, description="Per-source ingest cursors: the last upstream id published"),
    KvSpec(KV_QUEUES, history=5, description="Queue order and paused flags of the stage, painter and voice"),
    KvSpec(KV_JOBS, history=5, description="Generator job state: AIML generation ids, the video budget"),
    KvSpec(
        KV_SCREENINGS,
        history=1,
        description="The gatekeeper's decision per donation, so a redelivery reproduces it exactly",
        ttl_seconds=30 * DAY,
    ),
    KvSpec(
        KV_LEASES,
        history=1,
        description="Who does the work only one replica may do (the voice show): renewed by the holder, "
        "gone when it stops renewing",
        # The lease term: a holder renews well within it; when it dies, a standby takes over once it lapses.
        ttl_seconds=6.0,
    ),
)


def kv_spec(name: str) -> KvSpec:
    for spec in KV_BUCKETS:
        if spec.name == name:
            return spec
    raise LookupError(f"no KV bucket named {name!r}")


# Headers --------------------------------------------------------------------------------------------------------


class Header(StrEnum):
    MSG_ID = "Nats-Msg-Id"
    """JetStream's dedupe key; always the envelope id."""
    CORRELATION_ID = "Ovation-Correlation-Id"
    TYPE = "Ovation-Type"
    PRODUCER = "Ovation-Producer"
    """The service and replica that published the message (``video:host-1234``), on everything a service sends."""
    DLQ_REASON = "Ovation-Dlq-Reason"
    DLQ_SERVICE = "Ovation-Dlq-Service"
    DLQ_SUBJECT = "Ovation-Dlq-Subject"
    DLQ_STREAM = "Ovation-Dlq-Stream"
    DLQ_SEQUENCE = "Ovation-Dlq-Sequence"
    DLQ_DELIVERIES = "Ovation-Dlq-Deliveries"
    DLQ_TRUNCATED = "Ovation-Dlq-Truncated"
    """The original size in bytes, when the message was too big to be kept whole in the DLQ beside its reason."""


# Durable consumers ----------------------------------------------------------------------------------------------


def durable(service: str, purpose: str) -> str:
    """Durable consumer names are ``<service>-<purpose>``; replicas share one and split the work."""
    name = f"{service}-{purpose}"
    if len(name) > 32 or not name.replace("-", "").isalnum():
        raise ValueError(f"durable name {name!r} must be alphanumeric with dashes and at most 32 characters")
    return name
