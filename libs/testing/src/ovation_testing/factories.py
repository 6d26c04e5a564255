"""Valid messages for tests and benchmarks, built in one place."""

from __future__ import annotations

from decimal import Decimal

from ovation_contracts import (
    Approval,
    ArtifactRef,
    Conversion,
    CueKind,
    Decision,
    Donation,
    Envelope,
    EventKind,
    JobState,
    JobStatus,
    Money,
    RateSource,
    ReactionKind,
    ScreenedDonation,
    StageCue,
    Verdict,
    VideoJob,
    job_id,
    utc_now,
    wrap,
)


def video_job(
    donation_id: str,
    *,
    donor_name: str = "Ivan",
    amount: str = "1500",
    message: str | None = "a cat in space",
) -> Envelope[VideoJob]:
    """The video job a donation in roubles gets, in its envelope (id = job id, correlation = donation id)."""
    money = Money(amount=Decimal(amount), currency="RUB")
    job = VideoJob(
        job_id=job_id(donation_id, "video"),
        donation_id=donation_id,
        donor_name=donor_name,
        amount=money,
        amount_base=money,
        message=message,
    )
    return wrap(job, id=job.job_id, correlation_id=donation_id)


def screened_alert(
    donation_id: str, *, donor_name: str = "Anna", amount: str = "500", message: str | None = "Hello stream!"
) -> Envelope[ScreenedDonation]:
    """A screened donation that routing sent to the alert, in its envelope."""
    money = Money(amount=Decimal(amount), currency="RUB")
    screened = ScreenedDonation(
        donation_id=donation_id,
        kind=EventKind.DONATION,
        source="api",
        donor_name=donor_name,
        message=message,
        amount=money,
        amount_base=money,
        conversion=Conversion(rate=Decimal(1), source=RateSource.IDENTITY, as_of=utc_now()),
        verdict=Verdict(decision=Decision.ALLOW),
        reactions=(ReactionKind.ALERT,),
    )
    return wrap(screened, id=f"{donation_id}:screened", correlation_id=donation_id)


def donation(
    upstream_id: str, *, source: str = "api", donor_name: str = "Anna", amount: str = "500", message: str = ""
) -> Envelope[Donation]:
    """A donation in roubles as ingest publishes it (id and correlation id = ``<source>:<upstream_id>``)."""
    now = utc_now()
    payload = Donation(
        id=f"{source}:{upstream_id}",
        source=source,
        upstream_id=upstream_id,
        donor_name=donor_name,
        message=message,
        amount=Money(amount=Decimal(amount), currency="RUB"),
        created_at=now,
        received_at=now,
    )
    return wrap(payload, id=payload.id, correlation_id=payload.id)


def screened(
    donation_id: str,
    *,
    reactions: tuple[ReactionKind, ...],
    decision: Decision = Decision.ALLOW,
    reason: str = "",
    approval: Approval = Approval.NOT_REQUIRED,
    donor_name: str = "Anna",
    amount: str = "500",
    message: str | None = "Hello stream!",
    suffix: str = "screened",
) -> Envelope[ScreenedDonation]:
    """The gatekeeper's screened event for a donation in roubles (``suffix``: screened, approved or rejected)."""
    money = Money(amount=Decimal(amount), currency="RUB")
    payload = ScreenedDonation(
        donation_id=donation_id,
        kind=EventKind.DONATION,
        source=donation_id.split(":", 1)[0],
        donor_name=donor_name,
        message=message,
        amount=money,
        amount_base=money,
        conversion=Conversion(rate=Decimal(1), source=RateSource.IDENTITY, as_of=utc_now()),
        verdict=Verdict(decision=decision, reason=reason),
        reactions=reactions,
        approval=approval,
    )
    return wrap(payload, id=f"{donation_id}:{suffix}", correlation_id=donation_id)


def job_status(
    donation_id: str,
    reaction: ReactionKind,
    state: JobState,
    *,
    progress: float | None = None,
    reason: str | None = None,
) -> Envelope[JobStatus]:
    """A reaction job's status event, with an id unique to its state and progress."""
    payload = JobStatus(
        job_id=job_id(donation_id, reaction),
        donation_id=donation_id,
        reaction=reaction,
        state=state,
        progress=progress,
        reason=reason,
    )
    suffix = f"{state.value}:{progress}" if progress is not None else state.value
    return wrap(payload, id=f"{payload.job_id}:{suffix}", correlation_id=donation_id)


def media_cue(
    cue_id: str, key: str, *, kind: CueKind, size: int, duration_ms: int | None = None, priority: int = 100
) -> Envelope[StageCue]:
    """A stage cue for a stored video or audio clip, as the video and voice services publish them."""
    donation_id = cue_id.rsplit(":", 1)[0]
    cue = StageCue(
        cue_id=cue_id,
        donation_id=donation_id,
        kind=kind,
        reaction=ReactionKind.VIDEO if kind is CueKind.VIDEO else ReactionKind.VOICE,
        priority=priority,
        donor_name="Boris",
        amount=Money(amount=Decimal(1500), currency="RUB"),
        artifact=ArtifactRef(
            key=key, content_type="video/mp4" if kind is CueKind.VIDEO else "audio/wav", size_bytes=size
        ),
        duration_ms=duration_ms,
    )
    return wrap(cue, id=cue_id, correlation_id=donation_id)


def wav_tone(seconds: float = 0.8, frequency: float = 660.0, rate: int = 16_000) -> bytes:
    """A short sine tone as a real WAV file."""
    import io
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(12_000 * math.sin(2 * math.pi * frequency * n / rate)))
        for n in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()
