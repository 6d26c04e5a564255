"""The widget stage: one cue at a time, by priority then arrival; skip, remove, move, pause, clear, replay.

Pure functions over ``StageState`` (immutable): each operation returns the new state, so the service can persist
every change before anyone sees it. A cue id is accepted once; a replay is a new cue that points at the same
artifact, so nothing is generated again.

What the stage tells the world (a cue started, ended, failed, was skipped) is part of the state too: the change
appends its playback ack to ``acks``, the outbox, and both are saved together. The service publishes the outbox and
drops what NATS stored (``sent``), so no ack is lost between a change and its publish.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ovation_contracts import (
    CueKind,
    Envelope,
    PlaybackAck,
    PlaybackState,
    StageCue,
    StageItem,
    StageState,
    wrap,
)

MAX_PLAYED = 500
MAX_HISTORY = 200
ALERT_SECONDS = 7.0
MEDIA_GRACE_SECONDS = 10.0
UNKNOWN_MEDIA_SECONDS = 120.0
MAX_ACKS = 1000
"""Unsent acks kept at most (NATS away for a long time); the oldest go first, so the stored stage stays small."""


class StageError(ValueError):
    """An operation that cannot apply (an unknown cue, say); the message is for the streamer."""


def known(state: StageState, cue_id: str) -> bool:
    if state.current and state.current.cue.cue_id == cue_id:
        return True
    return cue_id in state.played or any(item.cue.cue_id == cue_id for item in state.queue)


def enqueue(state: StageState, cue: StageCue) -> StageState:
    """Insert a cue after every waiting cue of equal or higher priority, unless this id was seen before (a
    redelivered event adds nothing). The queue's order is explicit from then on, so a moderator's moves stay."""
    if known(state, cue.cue_id):
        return state
    position = next(
        (n for n, item in enumerate(state.queue) if item.cue.priority < cue.priority), len(state.queue)
    )
    item = StageItem(cue=cue, arrival=state.next_arrival)
    queue = (*state.queue[:position], item, *state.queue[position:])
    return state.model_copy(update={"queue": queue, "next_arrival": state.next_arrival + 1})


def advance(state: StageState, now: datetime) -> StageState:
    """Start the next cue when nothing plays and the stage is not paused."""
    if state.current is not None or state.paused or not state.queue:
        return state
    first, *rest = state.queue
    return state.model_copy(
        update={
            "current": first,
            "current_since": now,
            "started": False,
            "started_by": None,
            "queue": tuple(rest),
        }
    )


def finish(
    state: StageState,
    cue_id: str,
    outcome: PlaybackState,
    now: datetime,
    *,
    reason: str | None = None,
    widget: str | None = None,
) -> StageState:
    """The current cue ended, failed or was skipped: remember it, keep it for replay, free the stage, and say so.

    A widget reports "ended" only for a cue it played, so an end without a recorded start records the start too:
    the two reports can overtake each other on their way (a slow network, a busy gateway), and a start that
    arrives after its end no longer concerns the current cue."""
    if state.current is None or state.current.cue.cue_id != cue_id:
        return state
    cue = state.current.cue
    acks = [_ack(cue, outcome, now, reason, widget)]
    if outcome is PlaybackState.ENDED and not state.started:
        acks.insert(0, _ack(cue, PlaybackState.STARTED, now, None, widget))
    return state.model_copy(
        update={
            "current": None,
            "current_since": None,
            "started": False,
            "started_by": None,
            "played": (*state.played, cue.cue_id)[-MAX_PLAYED:],
            "history": (*(c for c in state.history if c.cue_id != cue.cue_id), cue)[-MAX_HISTORY:],
            "acks": _queued(state, *acks),
        }
    )


def mark_started(state: StageState, cue_id: str, now: datetime, *, widget: str | None = None) -> StageState:
    if state.current is None or state.current.cue.cue_id != cue_id or state.started:
        return state
    ack = _ack(state.current.cue, PlaybackState.STARTED, now, None, widget)
    return state.model_copy(update={"started": True, "started_by": widget, "acks": _queued(state, ack)})


def sent(state: StageState, ack_id: str) -> StageState:
    """NATS stored this ack: it leaves the outbox."""
    return state.model_copy(update={"acks": tuple(a for a in state.acks if a.id != ack_id)})


def _queued(state: StageState, *acks: Envelope[PlaybackAck]) -> tuple[Envelope[PlaybackAck], ...]:
    """The outbox with ``acks`` added, bounded: the oldest go first."""
    return (*state.acks, *acks)[-MAX_ACKS:]


def _ack(
    cue: StageCue, outcome: PlaybackState, now: datetime, reason: str | None, widget: str | None
) -> Envelope[PlaybackAck]:
    ack = PlaybackAck(
        cue_id=cue.cue_id, donation_id=cue.donation_id, state=outcome, reason=reason, widget_id=widget
    )
    return wrap(ack, id=f"{cue.cue_id}:{outcome.value}", correlation_id=cue.donation_id, occurred_at=now)


def skip(state: StageState, now: datetime) -> StageState:
    if state.current is None:
        raise StageError("Nothing is playing.")
    return finish(
        state, state.current.cue.cue_id, PlaybackState.SKIPPED, now, reason="skipped by the streamer"
    )


def remove(state: StageState, cue_id: str) -> StageState:
    if not any(item.cue.cue_id == cue_id for item in state.queue):
        raise StageError(f"{cue_id} is not waiting in the queue.")
    return state.model_copy(update={"queue": tuple(i for i in state.queue if i.cue.cue_id != cue_id)})


def move(state: StageState, cue_id: str, by: int) -> StageState:
    """Move a waiting cue ``by`` places (negative is earlier)."""
    queue = list(state.queue)
    index = next((n for n, item in enumerate(queue) if item.cue.cue_id == cue_id), None)
    if index is None:
        raise StageError(f"{cue_id} is not waiting in the queue.")
    item = queue.pop(index)
    queue.insert(max(0, min(len(queue), index + by)), item)
    return state.model_copy(update={"queue": tuple(queue)})


def pause(state: StageState, paused: bool) -> StageState:
    return state.model_copy(update={"paused": paused})


def clear(state: StageState) -> StageState:
    """Remove everything waiting; what is playing now keeps playing."""
    return state.model_copy(update={"queue": ()})


def replay(state: StageState, cue_id: str, replay_number: int) -> StageState:
    """Queue a past cue again, first in line, from its stored artifact."""
    past = next(
        (c for c in reversed(state.history) if c.cue_id == cue_id or c.cue_id.split(":replay:")[0] == cue_id),
        None,
    )
    if past is None:
        raise StageError(f"{cue_id} is not among the recent cues; only played cues can be replayed.")
    top = max((i.cue.priority for i in state.queue), default=past.priority)
    again = past.model_copy(
        update={
            "cue_id": f"{past.cue_id.split(':replay:')[0]}:replay:{replay_number}",
            "priority": min(1000, top + 1),
        }
    )
    return enqueue(state, again)


def deadline(state: StageState, watched_since: datetime | None = None) -> datetime | None:
    """When the current cue counts as over even without an "ended" (the widget page is gone). The clock runs from
    when the cue became current, or from ``watched_since`` (a widget connected) when that is later."""
    if state.current is None or state.current_since is None:
        return None
    cue = state.current.cue
    if cue.kind is CueKind.ALERT:
        seconds = (cue.duration_ms / 1000 if cue.duration_ms else ALERT_SECONDS) + MEDIA_GRACE_SECONDS
    else:
        seconds = (cue.duration_ms / 1000 if cue.duration_ms else UNKNOWN_MEDIA_SECONDS) + MEDIA_GRACE_SECONDS
    since = max(state.current_since, watched_since) if watched_since else state.current_since
    return since + timedelta(seconds=seconds)
