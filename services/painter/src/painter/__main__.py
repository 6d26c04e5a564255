"""``python -m painter``: run the painter service, with its window on the main thread unless headless.

Headless (``PAINTER_HEADLESS=true``, or no display on Linux), this is every other service: uvicorn on the main thread, the service's
asyncio loop inside it. With a window, SDL wants the window on the main thread (macOS insists, and window events
are pumped by the thread that made the window), so the roles swap:

* the main thread runs the pygame window at 60 FPS and owns the signal handlers;
* a second thread runs uvicorn and, in it, the service's asyncio loop (NATS, the queue, the show);
* they share one ``Board``: the service publishes immutable snapshots, the window reads the latest each frame.

SIGINT/SIGTERM (or closing the window) asks uvicorn to stop; its shutdown lets the drawing on screen finish
(the window keeps showing it), stores the queue, and ends the service thread, which then closes the window.
A window that cannot open (no display) is logged and reported by ``/health``; the painter goes on headless.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import uvicorn

from ovation_bus import ServiceRuntime, serve
from ovation_contracts import Check

from .app import create_app
from .board import Board
from .config import PainterConfig

log = logging.getLogger("painter")


def main() -> None:
    config = PainterConfig()
    window, why = config.window_wanted()
    if not window:
        check = Check(ok=True, detail=f"headless: {why}")
        serve(create_app(config, window_check=lambda: check), host=config.http_host, port=config.http_port)
        return
    sys.exit(run_with_window(config))


class _WindowState:
    def __init__(self) -> None:
        self.check = Check(ok=False, detail="opening the window")

    def __call__(self) -> Check:
        return self.check


def run_with_window(config: PainterConfig) -> int:
    board = Board()
    window_state = _WindowState()
    app = create_app(config, board, window_check=window_state)
    runtime: ServiceRuntime = app.state.runtime
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.http_host,
            port=config.http_port,
            log_config=None,
            lifespan="on",
            timeout_graceful_shutdown=5,
            proxy_headers=False,
        )
    )
    service_done = threading.Event()
    failed: list[BaseException] = []

    def serve_service() -> None:
        try:
            server.run()
        except BaseException as exc:  # SystemExit from uvicorn when the port is taken, say
            failed.append(exc)
        finally:
            service_done.set()

    def request_stop(*_: object) -> None:
        runtime.begin_shutdown()
        server.should_exit = True

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if server.should_exit and signum == signal.SIGINT:
            server.force_exit = True
        request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    thread = threading.Thread(target=serve_service, name="painter-service")
    thread.start()
    _show_window(config, board, window_state, service_done, request_stop)
    thread.join()
    if failed or not server.started:
        log.error("the painter service stopped with an error: %r", failed[0] if failed else "did not start")
        return 1
    return 0


def _show_window(
    config: PainterConfig,
    board: Board,
    state: _WindowState,
    service_done: threading.Event,
    request_stop: object,
) -> None:
    from .window import PainterWindow, WindowOptions

    options = WindowOptions(
        width=config.window_width,
        height=config.window_height,
        art_width=config.canvas_size,
        art_height=config.canvas_size,
        max_scale=config.window_scale,
        fps=config.fps,
        title=f"{config.title} painter",
    )
    assert callable(request_stop)
    window = PainterWindow(board, options, on_close=request_stop)
    try:
        state.check = Check(ok=True, detail=f"open, {options.width}x{options.height} at {options.fps} FPS")
        window.run(service_done)
    except Exception as exc:  # pygame.error without a display: the painter goes on without its window
        state.check = Check(
            ok=False,
            detail=f"cannot open the window ({exc}); set DISPLAY (X11/WSLg) or PAINTER_HEADLESS=true",
        )
        log.error("cannot open the painter window, going on without it: %s", exc)
        service_done.wait()
    else:
        state.check = Check(ok=False, detail="the window was closed")


if __name__ == "__main__":
    main()
