"""The live canvas as a browser page, for OBS setups where window capture is awkward (MISSION F20).

``GET /live`` is a page with nothing but the canvas, scaled with hard edges on a transparent background (an
OBS browser source); ``GET /live/frames`` streams the canvas as server-sent events: a ``frame`` event with the
picture (RGB, base64) whenever it changed, at most ``fps`` times a second, and an empty frame when nothing
is on stage. Each viewer animates the board's current picture itself, exactly as the window does, so a slow
browser never slows the window or the service.

The page is served by the painter next to ``/health``, on ``PAINTER_HTTP_HOST`` (loopback by default); while
bound to loopback it answers only requests addressed to a loopback name (no DNS rebinding).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

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
<canvas id="canvas" width="96" height="96" data-key=""></canvas>
<script src="/live/live.js"></script>
</body>
</html>
"""

SCRIPT = """"use strict";
(function () {
  const canvas = document.getElementById("canvas");
  const context = canvas.getContext("2d");
  function show(frame) {
    canvas.dataset.key = frame.key || "";
    if (!frame.key || !frame.rgb) {
      context.clearRect(0, 0, canvas.width, canvas.height);
      return;
    }
    if (canvas.width !== frame.w || canvas.height !== frame.h) {
      canvas.width = frame.w;
      canvas.height = frame.h;
    }
    const rgb = atob(frame.rgb);
    const image = context.createImageData(frame.w, frame.h);
    for (let source = 0, target = 0; source < rgb.length; source += 3, target += 4) {
      image.data[target] = rgb.charCodeAt(source);
      image.data[target + 1] = rgb.charCodeAt(source + 1);
      image.data[target + 2] = rgb.charCodeAt(source + 2);
      image.data[target + 3] = 255;
    }
    context.putImageData(image, 0, 0);
    canvas.dataset.frames = String(Number(canvas.dataset.frames || "0") + 1);
  }
  // EventSource reconnects by itself when the painter restarts
  const events = new EventSource("/live/frames");
  events.addEventListener("frame", (event) => show(JSON.parse(event.data)));
})();
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
        return Response(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})

    @router.get("/live/frames", summary="The canvas as server-sent events, one 'frame' event per change")
    async def frames(request: Request) -> StreamingResponse:
        check_host(request)
        return StreamingResponse(
            frame_events(board, fps, stop, request.is_disconnected),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return router


async def frame_events(
    board: Board, fps: int, closing: asyncio.Event, disconnected: Callable[[], Awaitable[bool]]
) -> AsyncIterator[bytes]:
    """``frame`` events for one viewer: the picture whenever it changes, an empty frame when nothing shows."""
    key: str | None = ""  # "" until the first event, so a viewer always gets one at once
    animator: Animator | None = None
    broken = False
    shown_ms = -1.0
    last_sent = monotonic()
    yield b"retry: 2000\n\n"
    while not closing.is_set():
        if await disconnected():
            return
        showing = board.view.showing
        now = monotonic()
        event: dict[str, object] | None = None
        if showing is None:
            if key is not None:
                key, animator, event = None, None, {"key": None}
        else:
            if showing.key != key:
                key, shown_ms, broken = showing.key, -1.0, False
                try:
                    animator = Animator(showing.timeline)
                except Exception as exc:
                    broken, animator = True, None
                    event = {"key": key, "error": f"{type(exc).__name__}: {exc}"}
            elapsed = min(showing.elapsed_ms(now), float(showing.timeline.duration_ms))
            if animator is not None and not broken and elapsed != shown_ms:
                try:
                    canvas = animator.advance_to(elapsed)
                except Exception as exc:  # a bad picture ends its animation here, never the stream
                    broken = True
                    event = {"key": key, "error": f"{type(exc).__name__}: {exc}"}
                else:
                    shown_ms = elapsed
                    event = {
                        "key": key,
                        "w": canvas.width,
                        "h": canvas.height,
                        "rgb": base64.b64encode(bytes(canvas.rgb)).decode("ascii"),
                    }
        if event is not None:
            yield f"event: frame\ndata: {json.dumps(event)}\n\n".encode()
            last_sent = now
        elif now - last_sent >= HEARTBEAT_SECONDS:
            yield b": still here\n\n"
            last_sent = now
        try:
            async with asyncio.timeout(1 / fps):
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
