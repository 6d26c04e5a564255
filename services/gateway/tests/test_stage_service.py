"""The stage service when the world misbehaves: NATS away (the show goes on from memory, saved and acknowledged
when NATS is back), the gateway killed before its acks went out (they go out after the restart), reports that
overtake each other, and no widget connected (the current cue waits for one, then its clock starts again)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from gateway import stage
from gateway.stage_service import StageService
from ovation_contracts import CueKind, Envelope, PlaybackState, StageState, bus, utc_now
from ovation_testing import factories


class Store:
    """The KV bucket, which can be away."""

    def __init__(self) -> None:
        self.saved: StageState | None = None
        self.away = False

    async def load(self) -> StageState | None:
        return self.saved

    async def save(self, state: StageState) -> None:
        if self.away:
            raise TimeoutError("nats: timeout")
        self.saved = state


class Outbox:
    """The ack publisher, which waits while NATS is away (ovation_bus.publish retries until it is back)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        self.up = asyncio.Event()
        self.up.set()

    async def __call__(self, envelope: Envelope[Any], subject: str) -> None:
        assert subject == bus.STAGE_PLAYBACK
        await self.up.wait()
        self.sent.append((envelope.payload.cue_id, envelope.payload.state.value))


@pytest.fixture
async def service() -> AsyncIterator[tuple[StageService, Store, Outbox]]:
    store, outbox = Store(), Outbox()
    service = StageService(store, outbox, hold_seconds=30)
    await service.load()
    sender = asyncio.create_task(service.send_acks())
    yield service, store, outbox
    sender.cancel()


def alert(name: str) -> Any:
    """A one-second clip: due 11 s after it becomes current."""
    return factories.media_cue(
        f"{name}:video", f"video/{name}.mp4", kind=CueKind.VIDEO, size=1, duration_ms=1000
    ).payload


async def watch_from_a_widget(service: StageService, widget_id: str | None = None) -> AsyncIterator[str]:
    stream = service.widget_stream(lambda key: key, widget_id)
    assert await anext(stream) == "retry: 1000\n\n"
    return stream


async def until(check: Any, timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # noqa: ASYNC110 - filled by the service's own tasks
            await asyncio.sleep(0.01)


async def test_while_nats_is_away_the_show_goes_on_and_is_saved_and_acknowledged_when_it_is_back(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, store, outbox = service
    await stage_service.on_cue(alert("a"))
    await stage_service.on_cue(alert("b"))
    assert store.saved is not None and store.saved.current is not None

    store.away, outbox.up = True, asyncio.Event()
    for report in (PlaybackState.STARTED, PlaybackState.ENDED):
        async with asyncio.timeout(10):  # the widget's report is answered through the outage
            assert await stage_service.report("a:video", report, widget="obs")
    assert stage_service.state.current is not None and stage_service.state.current.cue.cue_id == "b:video"
    assert store.saved.current.cue.cue_id == "a:video", "nothing could be saved"
    assert outbox.sent == []
    assert not await stage_service.flush()

    assert [a.id for a in stage_service.state.acks] == ["a:video:started", "a:video:ended"]

    store.away = False
    outbox.up.set()
    await until(lambda: not stage_service.state.acks)
    assert outbox.sent == [("a:video", "started"), ("a:video", "ended")]  # in order
    assert await stage_service.flush()
    assert store.saved == stage_service.state


async def test_acks_saved_before_a_kill_are_sent_after_the_restart(
    service: tuple[StageService, Store, Outbox],
) -> None:
    """The gateway saved "started" and was killed before NATS stored the ack: the restarted gateway sends it."""
    before, store, outbox = service
    await before.on_cue(alert("a"))
    outbox.up.clear()  # the publish is under way when the gateway dies
    assert await before.report("a:video", PlaybackState.STARTED, widget="obs")
    assert store.saved is not None and [a.id for a in store.saved.acks] == ["a:video:started"]

    again = Outbox()
    after = StageService(store, again)
    await after.load()
    sender = asyncio.create_task(after.send_acks())
    await until(lambda: bool(again.sent) and not after.state.acks)
    sender.cancel()
    assert again.sent == [("a:video", "started")]
    assert store.saved.acks == (), "sent acks leave the saved outbox"
    assert after.state.started, "the restored cue still counts as started"


async def test_an_end_that_overtakes_its_start_still_records_one_start(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, _, outbox = service
    await stage_service.on_cue(alert("a"))
    await stage_service.on_cue(alert("b"))
    assert await stage_service.report("a:video", PlaybackState.ENDED, widget="obs")
    assert not await stage_service.report("a:video", PlaybackState.STARTED, widget="obs")
    await until(lambda: len(outbox.sent) == 2)
    assert outbox.sent == [("a:video", "started"), ("a:video", "ended")]


async def test_a_change_while_the_stage_is_unsaved_is_saved_by_the_next_flush(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, store, _ = service
    store.away = True
    await stage_service.on_cue(alert("a"))
    store.away = False
    await stage_service.on_cue(alert("b"))  # not saved by itself: the stage knows it is behind
    assert store.saved is None
    assert await stage_service.flush()
    assert store.saved == stage_service.state
    assert [item.cue.cue_id for item in store.saved.queue] == ["b:video"]
    await stage_service.on_cue(alert("c"))  # saved at once again
    assert store.saved == stage_service.state


async def test_a_second_widget_leaves_the_cue_to_the_one_playing_it_and_a_reload_ends_it(
    service: tuple[StageService, Store, Outbox],
) -> None:
    """Two browser sources (two OBS scenes): the second connecting must not end what the first plays; the first
    reloading must not play it twice."""
    stage_service, _, outbox = service
    await stage_service.on_cue(alert("a"))
    await stage_service.on_cue(alert("b"))
    first = await watch_from_a_widget(stage_service, "widget-one")
    assert (await anext(first)).startswith("event: play\nid: a:video\n")
    assert await stage_service.report("a:video", PlaybackState.STARTED, widget="widget-one")

    second = await watch_from_a_widget(stage_service, "widget-two")
    assert (await anext(second)).startswith("event: play\nid: a:video\n"), "it still plays"
    assert stage_service.state.current is not None and stage_service.state.current.cue.cue_id == "a:video"

    await first.aclose()
    again = await watch_from_a_widget(stage_service, "widget-one")  # the first widget reloads
    assert (await anext(again)).startswith("event: play\nid: b:video\n"), "a:video is not played twice"
    await until(lambda: ("a:video", "ended") in outbox.sent)
    assert outbox.sent == [("a:video", "started"), ("a:video", "ended")]
    await second.aclose()
    await again.aclose()


async def test_a_cue_whose_widget_is_gone_counts_as_seen_by_the_next_widget(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, _, outbox = service
    await stage_service.on_cue(alert("a"))
    gone = await watch_from_a_widget(stage_service, "widget-old")
    await anext(gone)
    assert await stage_service.report("a:video", PlaybackState.STARTED, widget="widget-old")
    await gone.aclose()  # OBS restarted: its browser source comes back with a new id
    new = await watch_from_a_widget(stage_service, "widget-new")
    assert stage_service.state.current is None, "what played when OBS closed is not played again"
    await until(lambda: len(outbox.sent) == 2)
    assert outbox.sent == [("a:video", "started"), ("a:video", "ended")]
    await new.aclose()


async def test_without_a_widget_the_current_cue_waits_then_plays_in_full_when_one_connects(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, _, outbox = service
    await stage_service.on_cue(alert("a"))
    due = stage.deadline(stage_service.state)
    assert due is not None

    # Past its deadline, but no widget has been here: the cue waits (hold_seconds since the gateway started).
    assert not await stage_service.time_out(due + timedelta(seconds=15))
    assert stage_service.state.current is not None

    stream = await watch_from_a_widget(stage_service)
    assert stage_service.viewers == 1
    assert (await anext(stream)).startswith("event: play\nid: a:video\n")
    # The clock started again when the widget connected: the cue's whole length is left.
    length = due - stage_service.state.current_since  # type: ignore[operator]
    assert not await stage_service.time_out(utc_now() + length - timedelta(seconds=1))
    assert await stage_service.time_out(utc_now() + length + timedelta(seconds=1))
    await until(lambda: bool(outbox.sent))
    assert outbox.sent == [("a:video", "failed")]
    await stream.aclose()
    assert stage_service.viewers == 0


async def test_a_stage_without_a_widget_for_longer_than_the_hold_moves_on_by_the_deadlines(
    service: tuple[StageService, Store, Outbox],
) -> None:
    stage_service, _, outbox = service
    stream = await watch_from_a_widget(stage_service)
    await stream.aclose()  # the streamer closed OBS
    await stage_service.on_cue(alert("a"))
    due = stage.deadline(stage_service.state)
    assert due is not None
    left = utc_now()
    assert not await stage_service.time_out(left + timedelta(seconds=29)), "within the hold"
    assert await stage_service.time_out(max(due, left + timedelta(seconds=31)))
    await until(lambda: bool(outbox.sent))
    assert outbox.sent == [("a:video", "failed")]
    assert stage_service.state.current is None


async def test_an_event_that_arrives_before_the_stage_is_loaded_waits_for_it() -> None:
    """The consumers start before the gateway loads the stored stage: an alert taken into the empty stage first
    would be saved over the stored one and lost when it is loaded."""
    store = Store()
    before = StageService(store, Outbox())
    await before.load()
    await before.on_cue(alert("a"))
    await before.on_cue(alert("b"))

    after = StageService(store, Outbox())  # the gateway restarted
    early = asyncio.create_task(after.on_cue(alert("c")))
    stream = after.widget_stream(lambda key: key)
    first = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.05)
    assert not early.done() and not first.done()
    await after.load()
    await early
    assert await first == "retry: 1000\n\n"
    assert (await anext(stream)).startswith("event: play\nid: a:video\n")
    assert [item.cue.cue_id for item in after.state.queue] == ["b:video", "c:video"]
    assert store.saved == after.state
    await stream.aclose()


async def test_the_watchdog_keeps_going_when_a_round_fails(
    service: tuple[StageService, Store, Outbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    stage_service, _, _ = service
    rounds = 0

    async def flaky(now: object) -> bool:
        nonlocal rounds
        rounds += 1
        raise TimeoutError("nats: timeout")

    monkeypatch.setattr(stage_service, "time_out", flaky)
    monkeypatch.setattr("gateway.stage_service.WATCH_INTERVAL", 0.01)
    watchdog = asyncio.create_task(stage_service.watch())
    await until(lambda: rounds >= 3)
    assert not watchdog.done()
    watchdog.cancel()
