"""The pygame window OBS captures: the animated canvas, scaled with hard edges, inside the HUD, at 60 FPS.

``StageRenderer`` draws one frame of a ``StageView`` onto any surface, so tests and the benchmark use it
without a window. ``PainterWindow`` owns the display and runs the frame loop; it must run on the main thread
(SDL's requirement on macOS, and the only thread that may pump window events everywhere), while the service's
asyncio loop runs on another thread (see ``__main__``).

The renderer never dies: a picture that cannot be drawn is reported once through the board (the service skips
it) and the canvas shows empty; any other error in a frame is logged, at most once per second, and the next
frame is drawn as usual.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from .board import Board, Showing
from .hud import Fonts, Hud, HudLayout, layout
from .render import Animator, PixelCanvas

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WindowOptions:
    width: int = 1920
    height: int = 1080
    art_width: int = 96
    art_height: int = 96
    max_scale: int = 8
    fps: int = 60
    title: str = "Ovation painter"


class StageRenderer:
    """Draws frames of the stage; keeps the animation of the picture on screen between frames."""

    def __init__(self, board: Board, options: WindowOptions, fonts: Fonts | None = None) -> None:
        self.board = board
        self.options = options
        self.layout: HudLayout = layout(
            options.width, options.height, options.art_width, options.art_height, options.max_scale
        )
        self.hud = Hud(self.layout, fonts)
        self._key: str | None = None
        self._animator: Animator | None = None
        self._broken: str | None = None
        self._scaled: pygame.Surface | None = None
        self._shown_ms = -1.0
        self._last_error_at = 0.0

    def render(self, surface: pygame.Surface, now: float, fps: float = 0.0) -> list[pygame.Rect] | None:
        """Draw the board's current view as it is at ``now`` (``time.monotonic()``).

        Returns the rectangles that changed, or None when the whole surface did (see ``Hud.draw``).
        """
        view = self.board.view
        try:
            canvas = self._canvas(view.showing, now)
            showing = view.showing
            progress = showing.progress(now) if showing is not None and canvas is not None else 0.0
            hold_left = (
                max(0.0, showing.hold_until - now)
                if showing is not None and showing.hold_until is not None
                else None
            )
            return self.hud.draw(
                surface, view, canvas, progress=progress, hold_seconds_left=hold_left, fps=fps
            )
        except Exception:
            if now - self._last_error_at >= 1.0:
                log.exception("a frame of the painter window failed; drawing the next one")
                self._last_error_at = now
            return None

    def _canvas(self, showing: Showing | None, now: float) -> pygame.Surface | None:
        if showing is None:
            return None
        if showing.key != self._key:
            self._key, self._broken, self._animator, self._shown_ms = showing.key, None, None, -1.0
            try:
                self._animator = Animator(showing.timeline)
            except Exception as exc:
                self._fail(showing.key, exc)
        if self._broken is not None or self._animator is None:
            return None
        elapsed = min(showing.elapsed_ms(now), float(showing.timeline.duration_ms))
        if elapsed == self._shown_ms and self._scaled is not None:
            return self._scaled  # the finished picture, or a frame in which nothing moved on
        try:
            pixels = self._animator.advance_to(elapsed)
            self._shown_ms = elapsed
            return self._upload(pixels)
        except Exception as exc:
            self._fail(showing.key, exc)
            return None

    def _upload(self, pixels: PixelCanvas) -> pygame.Surface:
        """The canvas scaled with hard edges into a surface kept between frames (no big allocation per frame)."""
        small = pygame.image.frombuffer(bytes(pixels.rgb), (pixels.width, pixels.height), "RGB")
        display = pygame.display.get_surface()
        if display is not None:
            small = small.convert(display)  # the cheap 96 x 96 conversion, so the big blit is a plain copy
        scaled_size = (self.layout.canvas.w, self.layout.canvas.h)
        if self._scaled is None or self._scaled.get_bitsize() != small.get_bitsize():
            self._scaled = pygame.Surface(scaled_size, 0, small)
        pygame.transform.scale(small, scaled_size, self._scaled)
        return self._scaled

    def _fail(self, key: str, exc: Exception) -> None:
        self._broken = f"{type(exc).__name__}: {exc}"
        log.error("cannot draw the picture %s, reporting it: %s", key, self._broken, exc_info=exc)
        self.board.report_failure(key, self._broken)


class PainterWindow:
    """The display and its frame loop. ``run`` blocks until ``stop`` is set (or the window is closed)."""

    def __init__(
        self, board: Board, options: WindowOptions, on_close: Callable[[], None] | None = None
    ) -> None:
        self.board = board
        self.options = options
        self.on_close = on_close
        self.frames = 0

    def run(
        self,
        stop: threading.Event,
        *,
        max_frames: int | None = None,
        on_frame: Callable[[pygame.Surface], None] | None = None,
    ) -> None:
        """Open the window and draw frames until ``stop`` is set, the window is closed, or ``max_frames``.

        ``on_frame`` sees every finished frame (tests take screenshots with it).
        """
        pygame.display.init()
        pygame.font.init()
        try:
            screen = pygame.display.set_mode((self.options.width, self.options.height))
            pygame.display.set_caption(self.options.title)
            renderer = StageRenderer(self.board, self.options)
            clock = pygame.time.Clock()
            while not stop.is_set() and (max_frames is None or self.frames < max_frames):
                for event in pygame.event.get():
                    if event.type == pygame.QUIT:
                        log.info("the painter window was closed; stopping the painter")
                        if self.on_close is not None:
                            self.on_close()
                        stop.set()
                dirty = renderer.render(screen, time.monotonic(), clock.get_fps())
                if dirty is None:
                    pygame.display.flip()
                else:
                    pygame.display.update(dirty)
                if on_frame is not None:
                    on_frame(screen)
                self.frames += 1
                clock.tick(self.options.fps)
        finally:
            pygame.display.quit()
