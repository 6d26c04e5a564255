"""The live canvas for browsers, for OBS setups where window capture is awkward (MISSION F20).

Two ways out, fed by the same ``FrameMaker``, which animates the board's current picture exactly as the
window does (the art at its own size, not the upscaled window), so a slow viewer never slows the window:

* on the bus: ``publish_frames`` sends a ``LiveFrame`` on ``live.painter.frame`` (core NATS, not stored)
  whenever the picture changed, at most ``fps`` times a second, an empty frame when nothing is on stage,
  and the current frame again every ``LiveFrame.KEYFRAME_SECONDS``; the gateway serves it to OBS as
  ``/widget/painter``;
* here, next to ``/health``: ``GET /live`` is a page with nothing but the canvas, scaled with hard edges on a
  transparent background, and ``GET /live/frames`` streams the same frames as server-sent events.

The page's script is the one the gateway's page uses (``ovation_contracts.painter.live_canvas_script``). The
page is served on ``PAINTER_HTTP_HOST`` (loopback by default); while bound to loopback it answers only
requests addressed to a loopback name (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from ovation_contracts import LiveFrame
from ovation_contracts.painter import live_canvas_script

from .board import Board, monotonic
from .render import Animator

log = logging.getLogger(__name__)

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
HEARTBEAT_SECONDS = 15.0

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Ovation live canvas</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  html, body { margin: 0; height: 100%; background: transparent; overflow: hidden; }
  body { display: flex; align-items: center; justify-content: center; }
  canvas { width: 100vmin; height: 100vmin; image-rendering: pixelated; image-rendering: crisp-edges; }
</style>
</head>
<body>
<canvas id="canvas" width="96" height="96" data-key="" data-stream="/live/frames"></canvas>
<script src="/live/live.js"></script>
</body>
</html>
"""


def live_router(
    board: Board, *, fps: int = 30, host: str = "127.0.0.1", closing: asyncio.Event | None = None
) -> APIRouter:
    """The page and its frame stream for ``board``. ``closing`` ends every open stream (at shutdown)."""
    router = APIRouter(tags=["live canvas"])
    check_host = _host_check(host)
    stop = closing or asyncio.Event()

    @router.get("/live", response_class=HTMLResponse, summary="The live canvas, for an OBS browser source")
    async def page(request: Request) -> HTMLResponse:
        check_host(request)
        return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})

    @router.get("/live/live.js", summary="The live canvas's script")
    async def script(request: Request) -> Response:
        check_host(request)
        return Response(
            live_canvas_script(), media_type="text/javascript", headers={"Cache-Control": "no-store"}
        )

    @router.get("/live/frames", summary="The canvas as server-sent events, one 'frame' event per change")
    async def frames(request: Request) -> StreamingResponse:
        check_host(request)
        return StreamingResponse(
            frame_events(board, fps, stop, request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


class FrameMaker:
    """Frames of the board's picture, animated as the window animates it (one maker per viewer)."""

    def __init__(self, board: Board) -> None:
        self.board = board
        self.frame = LiveFrame()
        """The last frame made."""
        self._key: str | None = ""  # "" until the first frame, so a viewer always gets one at once
        self._animator: Animator | None = None
        self._broken = False
        self._shown_ms = -1.0

    def advance(self, now: float) -> LiveFrame | None:
        """The frame at ``now`` (``time.monotonic()``) when it differs from the last one, else None."""
        showing = self.board.view.showing
        if showing is None:
            if self._key is None:
                return None
            self._key, self._animator = None, None
            return self._made(LiveFrame())
        frame: LiveFrame | None = None
        if showing.key != self._key:
            self._key, self._shown_ms, self._broken = showing.key, -1.0, False
            try:
                self._animator = Animator(showing.timeline)
            except Exception as exc:
                self._broken, self._animator = True, None
                frame = self._failed(showing.key, exc)
        elapsed = min(showing.elapsed_ms(now), float(showing.timeline.duration_ms))
        if self._animator is not None and not self._broken and elapsed != self._shown_ms:
            try:
                canvas = self._animator.advance_to(elapsed)
            except Exception as exc:  # a bad picture ends its animation here, never the stream
                self._broken = True
                return self._made(self._failed(showing.key, exc))
            self._shown_ms = elapsed
            pixels = base64.b64encode(canvas.rgb).decode("ascii")
            if pixels != self.frame.rgb or showing.key != self.frame.key:
                frame = LiveFrame(key=showing.key, w=canvas.width, h=canvas.height, rgb=pixels)
        return self._made(frame) if frame is not None else None

    def _made(self, frame: LiveFrame) -> LiveFrame:
        self.frame = frame
        return frame

    @staticmethod
    def _failed(key: str, exc: Exception) -> LiveFrame:
        return LiveFrame(key=key, error=f"{type(exc).__name__}: {exc}"[:500])


async def frame_events(
    board: Board, fps: int, closing: asyncio.Event, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[bytes]:
    """``frame`` events for one viewer: the picture whenever it changes, an empty frame when nothing shows."""
    maker = FrameMaker(board)
    last_sent = monotonic()
    yield b"retry: 2000\n\n"
    while not closing.is_set():
        if await disconnected():
            return
        now = monotonic()
        frame = maker.advance(now)
        if frame is not None:
            yield f"event: frame\ndata: {frame.model_dump_json()}\n\n".encode()
            last_sent = now
        elif now - last_sent >= HEARTBEAT_SECONDS:
            yield b": still here\n\n"
            last_sent = now
        await _pause(closing, 1 / fps)


SendFrame = Callable[[LiveFrame], Awaitable[bool]]
"""Publish one frame; False when it could not go out (NATS is away): it is not worth a retry."""


async def publish_frames(
    board: Board,
    send: SendFrame,
    *,
    fps: int,
    closing: asyncio.Event | None = None,
    keyframe_seconds: float = LiveFrame.KEYFRAME_SECONDS,
) -> None:
    """Publish the board's picture until ``closing`` is set (or the task is cancelled): each change (at most
    ``fps`` a second), an empty frame when nothing is on stage, and the current frame again every
    ``keyframe_seconds`` or as soon as a frame could not be sent, so a viewer that came late (or missed some)
    has the right picture soon."""
    closing = closing or asyncio.Event()
    maker = FrameMaker(board)
    sent_at = float("-inf")
    missed = False
    while not closing.is_set():
        now = monotonic()
        frame = maker.advance(now)
        if frame is not None or missed or now - sent_at >= keyframe_seconds:
            try:
                delivered = await send(maker.frame)
            except Exception as exc:
                if not missed:  # once per outage, not once per frame
                    log.warning("could not publish a live frame, sending the current one again next: %r", exc)
                delivered = False
            missed = not delivered
            if delivered:
                sent_at = monotonic()  # the next keyframe counts from the send, not from this tick's start
        await _pause(closing, 1 / fps)


async def _pause(closing: asyncio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``closing`` is set meanwhile."""
    try:
        async with asyncio.timeout(seconds):
            await closing.wait()
    except TimeoutError:
        pass


def _host_check(bound_host: str) -> Callable[[Request], None]:
    loopback = bound_host in LOOPBACK_NAMES

    def check(request: Request) -> None:
        if not loopback:
            return
        name = _host_name(request.headers.get("host", ""))
        if name not in LOOPBACK_NAMES:
            raise HTTPException(
                status_code=403,
                detail=f"the painter serves its live canvas to loopback addresses only (asked for {name!r}); "
                "open it as http://127.0.0.1:<PAINTER_HTTP_PORT>/live",
            )

    return check


def _host_name(header: str) -> str:
    """The name in a Host header, without its port: ``127.0.0.1``, ``localhost``, ``[::1]``."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]
