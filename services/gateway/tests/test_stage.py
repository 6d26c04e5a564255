"""The stage's rules: priority then arrival, each cue once, skip/remove/move/pause/clear/replay, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway import stage
from gateway.stage_service import alert_cue
from ovation_contracts import (
    Approval,
    ArtifactRef,
    Conversion,
    CueKind,
    Decision,
    EventKind,
    Money,
    RateSource,
    ReactionKind,
    ScreenedDonation,
    StageCue,
    StageState,
    Verdict,
)

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def cue(
    name: str, priority: int = 100, kind: CueKind = CueKind.ALERT, duration_ms: int | None = None
) -> StageCue:
    artifact = (
        None
        if kind is CueKind.ALERT
        else ArtifactRef(key=f"video/{name}.mp4", content_type="video/mp4", size_bytes=1)
    )
    return StageCue(
        cue_id=name,
        donation_id=f"d:{name}",
        kind=kind,
        reaction=ReactionKind.ALERT,
        priority=priority,
        donor_name=name,
        artifact=artifact,
        duration_ms=duration_ms,
    )


def waiting(state: StageState) -> list[str]:
    return [item.cue.cue_id for item in state.queue]


def build(*cues: StageCue) -> StageState:
    state = StageState()
    for c in cues:
        state = stage.enqueue(state, c)
    return state


def test_higher_priority_first_then_arrival() -> None:
    state = build(cue("a"), cue("b"), cue("super", priority=300), cue("c"), cue("gift", priority=200))
    assert waiting(state) == ["super", "gift", "a", "b", "c"]


def test_a_cue_id_is_taken_once_even_after_it_played() -> None:
    state = stage.advance(build(cue("a")), NOW)
    assert stage.enqueue(state, cue("a")) == state
    state = stage.finish(state, "a")
    assert stage.enqueue(state, cue("a")) == state


def test_one_cue_at_a_time_and_pause_holds_the_next() -> None:
    state = stage.advance(build(cue("a"), cue("b")), NOW)
    assert state.current and state.current.cue.cue_id == "a"
    assert stage.advance(state, NOW) == state
    state = stage.pause(state, True)
    state = stage.advance(stage.finish(state, "a"), NOW)
    assert state.current is None
    assert waiting(state) == ["b"]
    state = stage.advance(stage.pause(state, False), NOW)
    assert state.current and state.current.cue.cue_id == "b"


def test_skip_remove_move_clear() -> None:
    state = stage.advance(build(cue("a"), cue("b"), cue("c"), cue("d")), NOW)
    state = stage.skip(state)
    assert state.current is None
    assert "a" in state.played
    state = stage.move(state, "d", -1)
    assert waiting(state) == ["b", "d", "c"]
    state = stage.move(state, "b", +5)
    assert waiting(state) == ["d", "c", "b"]
    state = stage.remove(state, "c")
    assert waiting(state) == ["d", "b"]
    with pytest.raises(stage.StageError, match="not waiting"):
        stage.remove(state, "zzz")
    assert stage.clear(state).queue == ()
    with pytest.raises(stage.StageError, match="Nothing is playing"):
        stage.skip(state)


def test_a_moved_cue_stays_where_the_moderator_put_it() -> None:
    state = stage.move(build(cue("a"), cue("b")), "b", -1)
    state = stage.enqueue(state, cue("c"))
    assert waiting(state) == ["b", "a", "c"]


def test_replay_puts_a_past_cue_first_without_regenerating() -> None:
    state = stage.finish(stage.advance(build(cue("v", kind=CueKind.VIDEO)), NOW), "v")
    state = stage.enqueue(state, cue("x", priority=300))
    state = stage.replay(state, "v", 1)
    assert waiting(state) == ["v:replay:1", "x"]
    assert state.queue[0].cue.artifact == cue("v", kind=CueKind.VIDEO).artifact
    with pytest.raises(stage.StageError, match="only played cues"):
        stage.replay(state, "never", 2)


def test_deadline_follows_the_media_duration() -> None:
    state = stage.advance(build(cue("v", kind=CueKind.VIDEO, duration_ms=8000)), NOW)
    assert stage.deadline(state) == NOW + timedelta(seconds=8 + stage.MEDIA_GRACE_SECONDS)
    assert stage.deadline(StageState()) is None


def screened(
    approval: Approval, reactions: tuple[ReactionKind, ...] = (ReactionKind.ALERT,)
) -> ScreenedDonation:
    money = Money(amount=1, currency="RUB")  # type: ignore[arg-type]
    return ScreenedDonation(
        donation_id="api:1",
        kind=EventKind.SUPERCHAT,
        source="api",
        donor_name="Anna",
        message=None,
        amount=money,
        amount_base=money,
        conversion=Conversion(rate=1, source=RateSource.IDENTITY, as_of=NOW),  # type: ignore[arg-type]
        verdict=Verdict(decision=Decision.DOWNGRADE),
        reactions=reactions,
        approval=approval,
    )


def test_alert_cues_only_when_routing_chose_one_and_nobody_must_approve() -> None:
    made = alert_cue(screened(Approval.NOT_REQUIRED))
    assert made is not None
    assert (made.cue_id, made.priority, made.message) == ("api:1:alert", 300, None)
    assert alert_cue(screened(Approval.PENDING)) is None
    assert alert_cue(screened(Approval.REJECTED)) is None
    assert alert_cue(screened(Approval.APPROVED)) is not None
    assert alert_cue(screened(Approval.NOT_REQUIRED, reactions=(ReactionKind.VOICE,))) is None
