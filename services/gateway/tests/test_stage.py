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
    PlaybackState,
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
    state = stage.finish(state, "a", PlaybackState.ENDED, NOW)
    assert stage.enqueue(state, cue("a")) == state


def test_one_cue_at_a_time_and_pause_holds_the_next() -> None:
    state = stage.advance(build(cue("a"), cue("b")), NOW)
    assert state.current and state.current.cue.cue_id == "a"
    assert stage.advance(state, NOW) == state
    state = stage.pause(state, True)
    state = stage.advance(stage.finish(state, "a", PlaybackState.ENDED, NOW), NOW)
    assert state.current is None
    assert waiting(state) == ["b"]
    state = stage.advance(stage.pause(state, False), NOW)
    assert state.current and state.current.cue.cue_id == "b"


def test_skip_remove_move_clear() -> None:
    state = stage.advance(build(cue("a"), cue("b"), cue("c"), cue("d")), NOW)
    state = stage.skip(state, NOW)
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
        stage.skip(state, NOW)


def acks(state: StageState) -> list[tuple[str, str, str | None]]:
    return [(a.payload.cue_id, a.payload.state.value, a.payload.reason) for a in state.acks]


def test_every_outcome_leaves_its_ack_in_the_outbox_until_it_is_sent() -> None:
    state = stage.advance(build(cue("a"), cue("b")), NOW)
    state = stage.mark_started(state, "a", NOW, widget="obs")
    assert stage.mark_started(state, "a", NOW) == state, "a second start says nothing new"
    state = stage.advance(stage.finish(state, "a", PlaybackState.ENDED, NOW, widget="obs"), NOW)
    state = stage.skip(state, NOW)
    assert acks(state) == [
        ("a", "started", None),
        ("a", "ended", None),
        ("b", "skipped", "skipped by the streamer"),
    ]
    first = state.acks[0]
    assert first.id == "a:started" and first.correlation_id == "d:a" and first.payload.widget_id == "obs"
    state = stage.sent(state, "a:started")
    assert [a.id for a in state.acks] == ["a:ended", "b:skipped"]


def test_an_end_without_a_recorded_start_records_the_start_first() -> None:
    """The widget reports "ended" only for a cue it played; its "started" may arrive later, or never."""
    state = stage.advance(build(cue("a"), cue("b")), NOW)
    state = stage.advance(stage.finish(state, "a", PlaybackState.ENDED, NOW), NOW)
    assert acks(state) == [("a", "started", None), ("a", "ended", None)]
    assert stage.mark_started(state, "a", NOW) == state, "the late start no longer concerns the stage"
    failed = stage.finish(state, "b", PlaybackState.FAILED, NOW, reason="media error 4")
    assert acks(failed)[2:] == [("b", "failed", "media error 4")], "a failure is no start"


def test_a_report_about_another_cue_changes_nothing() -> None:
    state = stage.advance(build(cue("a")), NOW)
    assert stage.finish(state, "zzz", PlaybackState.ENDED, NOW) == state
    assert stage.mark_started(state, "zzz", NOW) == state


def test_the_outbox_is_bounded_oldest_first() -> None:
    state = StageState()
    for n in range(stage.MAX_ACKS + 5):
        state = stage.finish(
            stage.advance(stage.enqueue(state, cue(f"c{n}")), NOW), f"c{n}", PlaybackState.FAILED, NOW
        )
    assert len(state.acks) == stage.MAX_ACKS
    assert state.acks[-1].id == f"c{stage.MAX_ACKS + 4}:failed"


def test_a_moved_cue_stays_where_the_moderator_put_it() -> None:
    state = stage.move(build(cue("a"), cue("b")), "b", -1)
    state = stage.enqueue(state, cue("c"))
    assert waiting(state) == ["b", "a", "c"]


def test_replay_puts_a_past_cue_first_without_regenerating() -> None:
    state = stage.finish(
        stage.advance(build(cue("v", kind=CueKind.VIDEO)), NOW), "v", PlaybackState.ENDED, NOW
    )
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
