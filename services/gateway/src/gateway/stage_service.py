"""The stage as a service: every change persisted in KV, cues pushed to widgets, acks published.

Widgets receive "play" for the current cue and report started / ended / failed. The stage moves on at "ended"
(or "failed"), or at a deadline derived from the cue's duration when no widget reports. A widget that reconnects
while the current cue had already started does not see it again when it was the one playing it, or when the widget
that was is gone: that cue counts as interrupted. A second widget (another OBS scene) that connects while the first
one plays leaves the cue to it.

Two things the show must survive:

- No widget connected (the gateway restarted, OBS reloads its browser source): the current cue waits for a widget
  for up to ``hold_seconds`` since the last one left, and its clock starts again when one connects. Only a stage
  that has had no widget for longer than that moves on by the deadlines alone (the streamer closed OBS).
- NATS away: the stage goes on from memory. A change is saved before anyone is told whenever NATS answers; while it
  does not, the latest state is saved as soon as it is back.

The playback acks are part of the saved state (``StageState.acks``, the outbox): saved together with the change that
made them, published in order, and dropped from the state once NATS stored them. A gateway killed in between sends
them after its restart (the envelope id makes a second copy a duplicate NATS drops).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol

from faststream.nats import NatsBroker
from prometheus_client import Counter, Gauge, Histogram

from ovation_bus import correlated, load, save
from ovation_contracts import (
    Approval,
    CueKind,
    Envelope,
    EventKind,
    PlaybackState,
    ReactionKind,
    ScreenedDonation,
    StageCue,
    StageState,
    bus,
    utc_now,
)

from . import stage

log = logging.getLogger(__name__)

STAGE_LENGTH = Gauge("ovation_gateway_stage_length", "Cues waiting on the widget stage")
CUES = Counter("ovation_gateway_cues_total", "Cues by outcome", ["outcome"])
CUE_LATENCY = Histogram(
    "ovation_gateway_cue_start_seconds",
    "From a cue becoming current to a widget reporting it started",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5),
)
PRIORITY = {EventKind.SUPERCHAT: 300, EventKind.GIFT: 200, EventKind.DONATION: 100, EventKind.CHAT: 0}
WATCH_INTERVAL = 0.25
SAVE_TIMEOUT = 2.0
"""Seconds a change waits for KV before the stage goes on in memory (NATS is away)."""

Publish = Callable[[Envelope[Any], str], Awaitable[object]]


def alert_cue(screened: ScreenedDonation) -> StageCue | None:
    """The alert card a screened donation gets, when routing chose one and nobody must approve it first."""
    if ReactionKind.ALERT not in screened.reactions or screened.approval in (
        Approval.PENDING,
        Approval.REJECTED,
    ):
        return None
    return StageCue(
        cue_id=f"{screened.donation_id}:alert",
        donation_id=screened.donation_id,
        kind=CueKind.ALERT,
        reaction=ReactionKind.ALERT,
        priority=PRIORITY[screened.kind],
        donor_name=screened.donor_name,
        amount=screened.amount,
        message=screened.message,
    )


class StageStore(Protocol):
    """Where the stage is kept between gateway runs (the KV bucket in production)."""

    async def load(self) -> StageState | None: ...

    async def save(self, state: StageState) -> None: ...


class KvStageStore:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def load(self) -> StageState | None:
        return await load(self.broker, StageState)

    async def save(self, state: StageState) -> None:
        await save(self.broker, state)


class StageService:
    def __init__(self, store: StageStore, publish: Publish, *, hold_seconds: float = 30.0) -> None:
        self.store = store
        self.publish = publish
        self.hold_seconds = hold_seconds
        self.state = StageState()
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._version = 0
        self._replays = 0
        self._closed = False
        self._loaded = asyncio.Event()
        """Set once the stored stage is loaded: the consumers start before that, and must not change it sooner."""
        self._unsaved = False
        """The last save failed (NATS away): changes go on in memory until ``flush`` saves the latest state."""
        self._connected: collections.Counter[str | None] = collections.Counter()
        """Widget ids with a stream open now, and how many (None for a widget that did not say)."""
        self._viewers_since: datetime | None = None
        """When the first of the widgets connected now connected; None while there is none."""
        self._away_since = utc_now()
        """When the last widget left (or the gateway started)."""
        self.widgets: dict[str, datetime] = {}
        """Widget id -> its last heartbeat."""

    # Persistence ------------------------------------------------------------------------------------------------
    async def load(self) -> None:
        """Take the stage from the store; every change waits for this (an alert enqueued into the empty stage
        before it would be saved over the stored one, then lost when the stored one is loaded)."""
        async with self._lock:
            state = await self.store.load()
            if state is not None:
                self.state = state
                self._replays = sum(1 for c in self.state.history if ":replay:" in c.cue_id)
                STAGE_LENGTH.set(len(state.queue))
                log.info(
                    "stage restored: %d waiting, paused=%s, %d acks to send",
                    len(self.state.queue),
                    self.state.paused,
                    len(self.state.acks),
                )
            self._loaded.set()
        await self._notify()

    async def apply(self, change: Callable[[StageState], StageState]) -> StageState:
        """Apply ``change`` then start the next cue if the stage is free; saved before anyone is told when NATS
        answers, otherwise kept in memory and saved by ``flush`` when it is back."""
        await self._loaded.wait()
        async with self._lock:
            before = self.state
            after = stage.advance(change(before), utc_now())
            if after == before:
                return after
            self.state = after
            STAGE_LENGTH.set(len(after.queue))
            if not self._unsaved:
                try:
                    await asyncio.wait_for(self.store.save(after), SAVE_TIMEOUT)
                except Exception as exc:
                    self._unsaved = True
                    log.warning("could not save the stage (%r); it goes on in memory until NATS is back", exc)
        await self._notify()
        return after

    async def flush(self) -> bool:
        """Save the latest state if a save failed before; True when nothing is left unsaved."""
        if not self._unsaved:
            return True
        state = self.state
        try:
            await asyncio.wait_for(self.store.save(state), SAVE_TIMEOUT)
        except Exception:
            return False
        if self.state is state:  # otherwise it changed meanwhile: the next flush saves the newer one
            self._unsaved = False
            log.info("the stage is saved again")
        return not self._unsaved

    # Inputs -----------------------------------------------------------------------------------------------------
    async def on_screened(self, screened: ScreenedDonation) -> None:
        cue = alert_cue(screened)
        if cue is not None:
            await self.apply(lambda s: stage.enqueue(s, cue))

    async def on_cue(self, cue: StageCue) -> None:
        await self.apply(lambda s: stage.enqueue(s, cue))

    async def report(
        self, cue_id: str, state: PlaybackState, reason: str | None = None, widget: str | None = None
    ) -> bool:
        """A widget's report; True when it concerned the current cue."""
        now = utc_now()

        def change(before: StageState) -> StageState:
            if state is not PlaybackState.STARTED:
                return stage.finish(before, cue_id, state, now, reason=reason, widget=widget)
            if not before.started and before.current_since:
                CUE_LATENCY.observe((now - before.current_since).total_seconds())
            return stage.mark_started(before, cue_id, now, widget=widget)

        concerned = await self._settle(cue_id, change)
        if concerned and state is not PlaybackState.STARTED:
            CUES.labels(state.value).inc()
        return concerned

    async def _settle(self, cue_id: str, change: Callable[[StageState], StageState]) -> bool:
        """Apply ``change`` if ``cue_id`` is still the current cue when it applies; True when it was."""
        concerned = False

        def guarded(before: StageState) -> StageState:
            nonlocal concerned
            concerned = before.current is not None and before.current.cue.cue_id == cue_id
            return change(before) if concerned else before

        await self.apply(guarded)
        return concerned

    async def send_acks(self) -> None:
        """The outbox: the state's acks, oldest first, each published until NATS stores it, then dropped."""
        await self._loaded.wait()
        while True:
            version = self._version  # read before the state, so an ack added meanwhile is not missed
            if not self.state.acks:
                await self._wait_for_change(version, timeout=15)
                continue
            envelope = self.state.acks[0]
            await self.publish(envelope, bus.STAGE_PLAYBACK)
            await self.apply(functools.partial(stage.sent, ack_id=envelope.id))

    # Operations (dashboard and API) -----------------------------------------------------------------------------
    async def skip(self) -> StageState:
        after = await self.apply(functools.partial(stage.skip, now=utc_now()))
        CUES.labels("skipped").inc()
        return after

    async def replay(self, cue_id: str) -> StageState:
        self._replays += 1
        number = self._replays
        return await self.apply(lambda s: stage.replay(s, cue_id, number))

    def heartbeat(self, widget_id: str) -> None:
        self.widgets[widget_id] = utc_now()
        for stale in [w for w, seen in self.widgets.items() if (utc_now() - seen).total_seconds() > 60]:
            del self.widgets[stale]

    @property
    def viewers(self) -> int:
        """Widgets connected to the stage now."""
        return self._connected.total()

    # Time -------------------------------------------------------------------------------------------------------
    async def watch(self) -> None:
        """Save what could not be saved, and move on from a cue no widget finished in time."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            await self.flush()
            try:
                await self.time_out(utc_now())
            except Exception:  # the next round tries again; a crash here must not stop the stage
                log.exception("the stage watchdog failed; trying again")

    async def time_out(self, now: datetime) -> bool:
        """Move on from the current cue if its time is up; True when it did."""
        current = self.state.current
        if current is None:
            return False
        if self.viewers:
            due = stage.deadline(self.state, watched_since=self._viewers_since)
            reason = "no widget reported its end in time"
        elif (now - self._away_since).total_seconds() < self.hold_seconds:
            return False  # a widget may be on its way back (the gateway restarted, OBS reloads): wait for it
        else:
            due = stage.deadline(self.state)
            reason = "no widget is connected: add the widget URL as a browser source in OBS"
        if due is None or now < due:
            return False
        cue_id = current.cue.cue_id
        with correlated(current.cue.donation_id):
            log.warning("cue %s not finished in time (%s); moving on", cue_id, reason)
        finish = functools.partial(
            stage.finish, cue_id=cue_id, outcome=PlaybackState.FAILED, now=now, reason=reason
        )
        if not await self._settle(cue_id, finish):
            return False  # a widget reported its end meanwhile
        CUES.labels("timeout").inc()
        return True

    def _viewer_joined(self, widget_id: str | None) -> None:
        self._connected[widget_id] += 1
        if self.viewers == 1:
            self._viewers_since = utc_now()

    def _viewer_left(self, widget_id: str | None) -> None:
        self._connected[widget_id] -= 1
        if not self._connected[widget_id]:
            del self._connected[widget_id]
        if not self.viewers:
            self._viewers_since = None
            self._away_since = utc_now()

    # Widgets ----------------------------------------------------------------------------------------------------
    async def widget_stream(
        self, artifact_url: Callable[[str], str], widget_id: str | None = None
    ) -> AsyncIterator[str]:
        """Server-sent events for one widget: ``play`` with the cue to play now, ``idle`` when there is none."""
        while not self._loaded.is_set():  # the gateway just started: what plays is not known yet
            if self._closed:
                return
            await self._wait_for_change(self._version, timeout=1)
        current = self.state.current
        if current is not None and self._seen_by(widget_id):
            # This widget reconnected mid-cue (or the one that played it is gone): never play it twice.
            await self.report(
                current.cue.cue_id, PlaybackState.ENDED, "the widget reconnected while it played", widget_id
            )
        self._viewer_joined(widget_id)
        try:
            yield "retry: 1000\n\n"
            sent: str | None = None
            while not self._closed:
                version = self._version  # read before the state, so a change while we yield is not missed
                current = self.state.current
                cue_id = current.cue.cue_id if current else None
                if cue_id != sent:
                    if current is None:
                        yield "event: idle\ndata: {}\n\n"
                    else:
                        body = current.cue.model_dump(mode="json")
                        if current.cue.artifact is not None:
                            body["url"] = artifact_url(current.cue.artifact.key)
                        yield f"event: play\nid: {current.cue.cue_id}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
                    sent = cue_id
                if not await self._wait_for_change(version, timeout=15):
                    yield ": keepalive\n\n"
        finally:
            self._viewer_left(widget_id)

    def _seen_by(self, widget_id: str | None) -> bool:
        """Whether the current cue counts as seen for a widget connecting now: it started, and either on this
        widget (a reload), on a widget that did not say which it was, or on one that is no longer connected."""
        state = self.state
        if not state.started:
            return False
        player = state.started_by
        return player is None or player == widget_id or player not in self._connected

    async def _wait_for_change(self, version: int, timeout: float) -> bool:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self._version != version), timeout)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        """End every widget stream (at shutdown), so the server does not wait for them."""
        self._closed = True
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._version += 1
            self._changed.notify_all()
