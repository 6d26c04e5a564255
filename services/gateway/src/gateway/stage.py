"""The widget stage: one cue at a time, by priority then arrival; skip, remove, move, pause, clear, replay.

Pure functions over ``StageState`` (immutable): each operation returns the new state, so the service can persist
every change before anyone sees it. A cue id is accepted once; a replay is a new cue that points at the same
artifact, so nothing is generated again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ovation_contracts import CueKind, StageCue, StageItem, StageState

MAX_PLAYED = 500
MAX_HISTORY = 200
ALERT_SECONDS = 7.0
MEDIA_GRACE_SECONDS = 10.0
UNKNOWN_MEDIA_SECONDS = 120.0


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
        update={"current": first, "current_since": now, "started": False, "queue": tuple(rest)}
    )


def finish(state: StageState, cue_id: str) -> StageState:
    """The current cue ended, failed or was skipped: remember it, keep it for replay, free the stage."""
    if state.current is None or state.current.cue.cue_id != cue_id:
        return state
    cue = state.current.cue
    return state.model_copy(
        update={
            "current": None,
            "current_since": None,
            "started": False,
            "played": (*state.played, cue.cue_id)[-MAX_PLAYED:],
            "history": (*(c for c in state.history if c.cue_id != cue.cue_id), cue)[-MAX_HISTORY:],
        }
    )


def mark_started(state: StageState, cue_id: str) -> StageState:
    if state.current is None or state.current.cue.cue_id != cue_id or state.started:
        return state
    return state.model_copy(update={"started": True})


def skip(state: StageState) -> StageState:
    if state.current is None:
        raise StageError("Nothing is playing.")
    return finish(state, state.current.cue.cue_id)


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
