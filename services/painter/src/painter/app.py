"""The painter's composition root: runtime, planners, artifact store, the show, the bus handlers, health.

The show (``Painter.run``) and the bus handlers run on the service's asyncio loop. What is on stage goes to
``board``, which the window reads from the main thread (see ``__main__``); headless, nobody reads it and the
show runs on the clock all the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from faststream.nats import NatsBroker
from pydantic import ValidationError

from ovation_artifacts import make_store
from ovation_bus import ServiceRuntime, load, load_or_create, publish, save
from ovation_contracts import (
    Check,
    JobState,
    JobStatus,
    LiveFrame,
    PainterQueueState,
    PainterSettings,
    ReactionKind,
    bus,
    wrap,
)

from .board import Board
from .config import PainterConfig
from .handlers import register_controls, register_jobs
from .live import live_router, publish_frames
from .planner import DrawingPlanner, LlmPlanner, OfflinePlanner, OllamaOptions
from .service import Painter, PainterOptions, PainterPorts

log = logging.getLogger(__name__)


def create_app(
    config: PainterConfig | None = None,
    board: Board | None = None,
    window_check: Callable[[], Check] | None = None,
) -> FastAPI:
    config = config or PainterConfig()
    board = board or Board()
    runtime = ServiceRuntime(bus.Service.PAINTER)
    kv = BusAdapters(runtime.broker, PainterQueueState.key_for(runtime.settings.instance))
    planner = make_planner(config)
    painter = Painter(
        planner,
        board,
        PainterPorts(kv.publish_status, kv.save_state, kv.load_settings, make_store()),
        PainterOptions(
            title=config.title,
            art_width=config.canvas_size,
            art_height=config.canvas_size,
            time_scale=config.time_scale,
            png_scale=config.png_scale,
        ),
    )

    @runtime.on_ready
    async def restore() -> None:
        await painter.restore(await kv.load_queue(), await kv.load_settings())

    @runtime.background("show")
    async def show() -> None:
        await painter.run()

    closing = asyncio.Event()
    runtime.on_shutdown(closing.set)  # open live-canvas streams end, so the shutdown need not wait for them
    live_fps = min(config.fps, config.live_fps)

    @runtime.background("live-frames")
    async def live_frames() -> None:
        # until the runtime stops: a shutdown lets the drawing on screen finish, and the browser views see it
        await publish_frames(board, kv.publish_frame, fps=live_fps)

    register_jobs(runtime.broker, painter)
    register_controls(runtime.broker, painter)
    runtime.health.add_check("planner", lambda: planner_check(config, planner))
    runtime.health.add_check("window", window_check or (lambda: Check(ok=True, detail="headless")))

    app = runtime.http_app(title="Ovation painter")
    app.include_router(live_router(board, fps=live_fps, host=config.http_host, closing=closing))
    runtime_lifespan = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(served: Any) -> AsyncIterator[None]:
        async with runtime_lifespan(served):
            try:
                yield
            finally:
                # before the runtime stops the broker: the drawing on screen finishes and its status goes out
                if painter.restored.is_set():
                    await painter.finish(config.shutdown_grace)
                await painter.close()
                await planner.aclose()

    app.router.lifespan_context = lifespan
    app.state.painter = painter
    return app


def make_planner(config: PainterConfig) -> DrawingPlanner:
    """The offline planner, behind the LLM planner when ``PAINTER_OLLAMA_URL`` is set."""
    side = config.canvas_size
    llm = None
    if config.ollama_url:
        options = OllamaOptions(
            base_url=config.ollama_url,
            model=config.ollama_model,
            timeout=config.ollama_timeout,
            retries=config.ollama_retries,
        )
        llm = LlmPlanner(options, width=side, height=side)
    return DrawingPlanner(OfflinePlanner(side, side), llm)


def planner_check(config: PainterConfig, planner: DrawingPlanner) -> Check:
    """Degraded while the LLM fails (the offline planner draws meanwhile); ok otherwise."""
    if planner.llm is None:
        return Check(ok=True, detail="offline planner (no PAINTER_OLLAMA_URL)")
    if planner.last_llm_failure is not None:
        return Check(
            ok=False,
            detail=f"the LLM failed, drawing with the offline planner: {planner.last_llm_failure}"[:500],
        )
    return Check(
        ok=True, detail=f"LLM {config.ollama_model} at {config.ollama_url}, offline planner as fallback"
    )


def status_id(status: JobStatus) -> str:
    """The idempotency key of a status: one per job and state (and per tenth of progress while rendering)."""
    if status.state is JobState.RENDERING and status.progress is not None:
        return f"{status.job_id}:status:{status.state.value}:{round(status.progress * 100)}"
    return f"{status.job_id}:status:{status.state.value}"


class BusAdapters:
    """The painter's statuses, queue and settings on NATS (JetStream and KV), and its live frames (core NATS).
    The queue is this replica's own, under ``queue_key``; the settings are shared by every replica."""

    def __init__(self, broker: NatsBroker, queue_key: str = PainterQueueState.KEY) -> None:
        self.broker = broker
        self.queue_key = queue_key
        self._frames = itertools.count(1)

    async def publish_frame(self, frame: LiveFrame) -> bool:
        """One live frame, fire and forget; False while NATS is away (a stale frame is not worth a buffer)."""
        connection = self.broker.connection
        if not connection.is_connected:
            return False
        envelope = wrap(
            frame, id=f"painter:frame:{next(self._frames)}", correlation_id=LiveFrame.CORRELATION_ID
        )
        await connection.publish(bus.LIVE_PAINTER_FRAME, envelope.to_json())
        return True

    async def publish_status(self, status: JobStatus) -> None:
        envelope = wrap(status, id=status_id(status), correlation_id=status.donation_id)
        await publish(self.broker, envelope, bus.job_status(ReactionKind.PAINTER))

    async def save_state(self, state: PainterQueueState) -> None:
        await save(self.broker, state, self.queue_key)

    async def load_queue(self) -> PainterQueueState | None:
        try:
            return await load(self.broker, PainterQueueState, self.queue_key)
        except ValidationError as exc:
            log.error(
                "the painter queue stored in KV (%s/%s) cannot be read, starting with an empty queue: %s",
                PainterQueueState.BUCKET,
                self.queue_key,
                exc,
            )
            return None

    async def load_settings(self) -> PainterSettings:
        """The settings the dashboard edits; the defaults are stored at the very first start."""
        try:
            return await load_or_create(self.broker, PainterSettings())
        except ValidationError as exc:
            log.error(
                "the painter settings in KV are invalid, using the defaults until they are fixed: %s", exc
            )
            return PainterSettings()
