"""The stage as a service: every change persisted in KV before it is shown, cues pushed to widgets, acks published.

Widgets receive "play" for the current cue and report started / ended / failed. The stage moves on at "ended"
(or "failed"), or at a deadline derived from the cue's duration when no widget reports (the page is gone). A widget
that reconnects while the current cue had already started does not see it again: that cue counts as interrupted.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

from faststream.nats import NatsBroker
from nats.js.errors import KeyDeletedError, KeyNotFoundError
from prometheus_client import Counter, Gauge, Histogram

from ovation_bus import key_value
from ovation_contracts import (
    Approval,
    CueKind,
    Envelope,
    EventKind,
    PlaybackAck,
    PlaybackState,
    ReactionKind,
    ScreenedDonation,
    StageCue,
    StageState,
    bus,
    utc_now,
    wrap,
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


class StageService:
    def __init__(self, broker: NatsBroker, publish: Publish) -> None:
        self.broker = broker
        self.publish = publish
        self.state = StageState()
        self._lock = asyncio.Lock()
        self._changed = asyncio.Condition()
        self._version = 0
        self._replays = 0
        self._closed = False
        self.widgets: dict[str, datetime] = {}
        """Widget id -> its last heartbeat."""

    # Persistence ------------------------------------------------------------------------------------------------
    async def load(self) -> None:
        kv = await key_value(self.broker, StageState.BUCKET)
        try:
            entry = await kv.get(StageState.KEY)
        except (KeyNotFoundError, KeyDeletedError):
            return
        if entry.value:
            self.state = StageState.model_validate_json(entry.value)
            self._replays = sum(1 for c in self.state.history if ":replay:" in c.cue_id)
            log.info("stage restored: %d waiting, paused=%s", len(self.state.queue), self.state.paused)

    async def apply(self, change: Callable[[StageState], StageState]) -> StageState:
        """Apply ``change`` then start the next cue if the stage is free; persist before anyone is told."""
        async with self._lock:
            before = self.state
            after = stage.advance(change(before), utc_now())
            if after == before:
                return after
            kv = await key_value(self.broker, StageState.BUCKET)
            await kv.put(StageState.KEY, after.model_dump_json().encode())
            self.state = after
            STAGE_LENGTH.set(len(after.queue))
        async with self._changed:
            self._version += 1
            self._changed.notify_all()
        return after

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
        current = self.state.current
        if current is None or current.cue.cue_id != cue_id:
            return False
        if state is PlaybackState.STARTED:
            if self.state.current_since:
                CUE_LATENCY.observe((utc_now() - self.state.current_since).total_seconds())
            await self.apply(lambda s: stage.mark_started(s, cue_id))
        else:
            await self.apply(lambda s: stage.finish(s, cue_id))
            CUES.labels(state.value).inc()
        await self._acknowledge(current.cue, state, reason, widget)
        return True

    async def _acknowledge(
        self, cue: StageCue, state: PlaybackState, reason: str | None, widget: str | None
    ) -> None:
        ack = PlaybackAck(
            cue_id=cue.cue_id, donation_id=cue.donation_id, state=state, reason=reason, widget_id=widget
        )
        await self.publish(
            wrap(ack, id=f"{cue.cue_id}:{state.value}", correlation_id=cue.donation_id), bus.STAGE_PLAYBACK
        )

    # Operations (dashboard and API) -----------------------------------------------------------------------------
    async def skip(self) -> StageState:
        current = self.state.current
        after = await self.apply(stage.skip)
        if current is not None:
            CUES.labels("skipped").inc()
            await self._acknowledge(current.cue, PlaybackState.SKIPPED, "skipped by the streamer", None)
        return after

    async def replay(self, cue_id: str) -> StageState:
        self._replays += 1
        number = self._replays
        return await self.apply(lambda s: stage.replay(s, cue_id, number))

    def heartbeat(self, widget_id: str) -> None:
        self.widgets[widget_id] = utc_now()
        for stale in [w for w, seen in self.widgets.items() if (utc_now() - seen).total_seconds() > 60]:
            del self.widgets[stale]

    # Time -------------------------------------------------------------------------------------------------------
    async def watch(self) -> None:
        """Move on from a cue no widget finished in time (the page is gone, or the media never ended)."""
        while True:
            await asyncio.sleep(WATCH_INTERVAL)
            due = stage.deadline(self.state)
            current = self.state.current
            if due is not None and current is not None and utc_now() >= due:
                cue_id = current.cue.cue_id
                log.warning("no widget finished cue %s in time; moving on", cue_id)
                await self.apply(functools.partial(stage.finish, cue_id=cue_id))
                CUES.labels("timeout").inc()
                await self._acknowledge(
                    current.cue, PlaybackState.FAILED, "no widget reported its end in time", None
                )

    # Widgets ----------------------------------------------------------------------------------------------------
    async def widget_stream(self, artifact_url: Callable[[str], str]) -> AsyncIterator[str]:
        """Server-sent events for one widget: ``play`` with the cue to play now, ``idle`` when there is none."""
        current = self.state.current
        if current is not None and self.state.started:
            # This widget (re)connected mid-cue: that cue was seen already; never play it twice.
            await self.report(
                current.cue.cue_id, PlaybackState.ENDED, "the widget reconnected while it played"
            )
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
        asyncio.get_running_loop().create_task(self._wake())

    async def _wake(self) -> None:
        async with self._changed:
            self._version += 1
            self._changed.notify_all()
