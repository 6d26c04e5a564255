"""Frames of a plan at any moment: a plain RGB pixel buffer, a pygame Surface, or a PNG.

The window draws with an ``Animator``, which paints only the pixels that appeared since its last frame,
so a frame costs what changed rather than the whole canvas. ``render_frame`` draws any moment from scratch,
and ``final_frame`` / ``save_png`` give the finished picture. Everything but ``to_surface`` is plain Python,
so the browser view and the PNG export need no display.
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ovation_contracts.canvas import CanvasPlan

from .raster import RGB
from .timeline import Timeline, build_timeline

if TYPE_CHECKING:
    import pygame

MAX_PNG_SCALE = 32


@dataclass(init=False, repr=False, slots=True)
class PixelCanvas:
    """A ``width`` x ``height`` RGB picture, 3 bytes per pixel, row by row from the top-left."""

    width: int
    height: int
    rgb: bytearray

    def __init__(self, width: int, height: int, background: RGB) -> None:
        self.width = width
        self.height = height
        self.rgb = bytearray(bytes(background) * (width * height))

    def pixel(self, x: int, y: int) -> RGB:
        offset = 3 * (y * self.width + x)
        return self.rgb[offset], self.rgb[offset + 1], self.rgb[offset + 2]

    def __repr__(self) -> str:
        return f"PixelCanvas({self.width}x{self.height})"


class Animator:
    """Plays one timeline forwards, frame by frame, onto its own ``PixelCanvas``.

    Asking for an earlier moment than the last one starts over from the background, so any sequence of
    times is correct; a rising one is cheap.
    """

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self._restart()

    def _restart(self) -> None:
        timeline = self.timeline
        self.canvas = PixelCanvas(timeline.width, timeline.height, timeline.background)
        self._shown = [0] * len(timeline.reveals)
        # which step painted each pixel (-1: none), so a step revealed late never covers a later step
        self._painter = array("i", [-1]) * (timeline.width * timeline.height)
        self._last_ms = float("-inf")

    def advance_to(self, t_ms: float) -> PixelCanvas:
        """The frame at ``t_ms`` from the start of the drawing (the same canvas object, updated)."""
        if math.isnan(t_ms):
            raise ValueError("t_ms must be a time in milliseconds, got NaN")
        if t_ms < self._last_ms:
            self._restart()
        self._last_ms = t_ms
        width, rgb, painter = self.timeline.width, self.canvas.rgb, self._painter
        for index, reveal in enumerate(self.timeline.reveals):
            shown, now = self._shown[index], reveal.shown(t_ms)
            if now <= shown:
                continue
            for (x, y), colour in zip(reveal.pixels[shown:now], reveal.colours[shown:now], strict=True):
                cell = y * width + x
                if painter[cell] <= index:
                    painter[cell] = index
                    rgb[3 * cell : 3 * cell + 3] = bytes(colour)
            self._shown[index] = now
        return self.canvas

    @property
    def finished(self) -> bool:
        """Whether the last frame asked for is the final picture."""
        return self._last_ms >= self.timeline.duration_ms


def render_frame(timeline: Timeline, t_ms: float) -> PixelCanvas:
    """The frame at ``t_ms``, drawn from scratch; from ``timeline.duration_ms`` on it is the final picture."""
    return Animator(timeline).advance_to(t_ms)


def final_frame(plan: CanvasPlan) -> PixelCanvas:
    """The finished picture of a validated plan."""
    timeline = build_timeline(plan)
    return render_frame(timeline, timeline.duration_ms)


FILMSTRIP_GAP_COLOUR: RGB = (255, 0, 255)


def filmstrip(timeline: Timeline, times_ms: Sequence[float]) -> PixelCanvas:
    """The frames at ``times_ms`` side by side, left to right, 1 px of magenta between them, for review."""
    frames = [render_frame(timeline, t_ms) for t_ms in times_ms]
    width, height = timeline.width, timeline.height
    strip = PixelCanvas(max(0, len(frames) * (width + 1) - 1), height, FILMSTRIP_GAP_COLOUR)
    for index, frame in enumerate(frames):
        left = index * (width + 1)
        for y in range(height):
            target = 3 * (y * strip.width + left)
            strip.rgb[target : target + 3 * width] = frame.rgb[3 * y * width : 3 * (y + 1) * width]
    return strip


def encode_png(canvas: PixelCanvas, scale: int = 1) -> bytes:
    """The canvas as an 8-bit RGB PNG, each pixel a ``scale`` x ``scale`` block (hard edges, no smoothing)."""
    if not 1 <= scale <= MAX_PNG_SCALE:
        raise ValueError(f"scale must be between 1 and {MAX_PNG_SCALE}, got {scale}")
    stride = 3 * canvas.width
    rows = bytearray()
    for y in range(canvas.height):
        row = canvas.rgb[y * stride : (y + 1) * stride]
        if scale > 1:
            row = bytearray(b"".join(bytes(row[x : x + 3]) * scale for x in range(0, stride, 3)))
        rows += (b"\x00" + row) * scale  # filter type 0: the row as it is
    header = struct.pack(">IIBBBBB", canvas.width * scale, canvas.height * scale, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def save_png(plan: CanvasPlan, path: Path | str, scale: int = 1) -> Path:
    """Write the finished picture of ``plan`` to ``path`` as a PNG (see ``encode_png``); returns the path."""
    target = Path(path)
    target.write_bytes(encode_png(final_frame(plan), scale))
    return target


def to_surface(canvas: PixelCanvas, scale: int = 1) -> pygame.Surface:
    """The canvas as a new pygame Surface, each pixel a ``scale`` x ``scale`` block (nearest neighbour)."""
    import pygame

    surface = pygame.image.frombytes(bytes(canvas.rgb), (canvas.width, canvas.height), "RGB")
    if scale == 1:
        return surface
    return pygame.transform.scale(surface, (canvas.width * scale, canvas.height * scale))
