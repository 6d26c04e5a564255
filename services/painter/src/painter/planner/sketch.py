"""A small builder for Canvas-DSL plans drawn by hand: shapes in a 96 x 96 design space, paced on one timeline.

Each shape is placed on the shared timeline at the sketch's clock, which then moves on by ``after``
milliseconds, so a drawing unfolds shape by shape while earlier shapes are still appearing. Coordinates are
given for a 96-pixel canvas and scaled to the real one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ovation_contracts.canvas import CANVAS_DSL_VERSION, CanvasPlan

DESIGN_SIDE = 96

Anim = dict[str, Any]


class Sketch:
    """Steps in painting order, each with its ``animate``; ``plan()`` validates them into a ``CanvasPlan``."""

    def __init__(
        self,
        width: int = DESIGN_SIDE,
        height: int = DESIGN_SIDE,
        background: str = "#202020",
        *,
        tempo: float = 1.0,
    ) -> None:
        self.tempo = tempo
        """Every duration and gap is multiplied by this."""
        self.width = width
        self.height = height
        self.background = background
        self.steps: list[dict[str, Any]] = []
        self.clock_ms = 0

    # coordinates ----------------------------------------------------------------------------------------------

    def x(self, value: float) -> int:
        return round(value * self.width / DESIGN_SIDE)

    def y(self, value: float) -> int:
        return round(value * self.height / DESIGN_SIDE)

    def side(self, value: float, *, vertical: bool = False) -> int:
        return max(1, self.y(value) if vertical else self.x(value))

    def point(self, x: float, y: float) -> list[int]:
        return [self.x(x), self.y(y)]

    # timing ---------------------------------------------------------------------------------------------------

    def pause(self, milliseconds: int) -> None:
        """Let the next shape start this much later."""
        self.clock_ms += round(milliseconds * self.tempo)

    def _add(
        self, step: dict[str, Any], mode: str, duration: int, after: int, ease: str | None
    ) -> dict[str, Any]:
        animate: Anim = {
            "mode": mode,
            "duration_ms": max(1, round(duration * self.tempo)),
            "delay_ms": self.clock_ms,
        }
        if ease is not None:
            animate["ease"] = ease
        step["animate"] = animate
        self.steps.append(step)
        self.pause(after)
        return step

    # shapes ---------------------------------------------------------------------------------------------------

    def rect(  # noqa: PLR0917 - the shape's geometry and colours, in the DSL's order
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: str | None = None,
        outline: str | None = None,
        *,
        mode: str = "fill",
        duration: int = 500,
        after: int = 200,
        ease: str | None = None,
    ) -> dict[str, Any]:
        step: dict[str, Any] = {
            "op": "rect",
            "x": self.x(x),
            "y": self.y(y),
            "w": self.side(w),
            "h": self.side(h, vertical=True),
        }
        _colours(step, fill, outline)
        return self._add(step, mode, duration, after, ease)

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: str | None = None,
        outline: str | None = None,
        *,
        mode: str = "fill",
        duration: int = 500,
        after: int = 200,
        ease: str | None = None,
    ) -> dict[str, Any]:
        step: dict[str, Any] = {"op": "circle", "cx": self.x(cx), "cy": self.y(cy), "r": self.side(r)}
        _colours(step, fill, outline)
        return self._add(step, mode, duration, after, ease)

    def line(  # noqa: PLR0917 - the shape's geometry and colour, in the DSL's order
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        color: str,
        width: int = 1,
        *,
        mode: str = "stroke",
        duration: int = 400,
        after: int = 150,
        ease: str | None = None,
    ) -> dict[str, Any]:
        step: dict[str, Any] = {
            "op": "line",
            "x1": self.x(x1),
            "y1": self.y(y1),
            "x2": self.x(x2),
            "y2": self.y(y2),
            "width": max(1, min(16, round(width * self.width / DESIGN_SIDE))),
            "color": color,
        }
        return self._add(step, mode, duration, after, ease)

    def polygon(
        self,
        points: Iterable[tuple[float, float]],
        fill: str | None = None,
        outline: str | None = None,
        *,
        mode: str = "fill",
        duration: int = 500,
        after: int = 200,
        ease: str | None = None,
    ) -> dict[str, Any]:
        step: dict[str, Any] = {"op": "polygon", "points": [self.point(x, y) for x, y in points]}
        _colours(step, fill, outline)
        return self._add(step, mode, duration, after, ease)

    def pixels(
        self,
        points: Iterable[tuple[float, float]],
        color: str,
        *,
        mode: str = "pixel_reveal",
        duration: int = 600,
        after: int = 150,
        ease: str | None = None,
    ) -> dict[str, Any] | None:
        unique: list[list[int]] = []
        for x, y in points:
            point = self.point(x, y)
            if point not in unique and 0 <= point[0] < self.width and 0 <= point[1] < self.height:
                unique.append(point)
        if not unique:
            return None
        return self._add({"op": "pixels", "points": unique, "color": color}, mode, duration, after, ease)

    def canvas_pixels(
        self,
        points: Iterable[tuple[int, int]],
        color: str,
        *,
        mode: str = "fill",
        duration: int = 600,
        after: int = 150,
    ) -> dict[str, Any] | None:
        """Points at real canvas coordinates (for shapes computed pixel by pixel), off-canvas ones dropped."""
        unique = list(
            dict.fromkeys((x, y) for x, y in points if 0 <= x < self.width and 0 <= y < self.height)
        )
        if not unique:
            return None
        step = {"op": "pixels", "points": [list(point) for point in unique], "color": color}
        return self._add(step, mode, duration, after, None)

    def text(
        self,
        x: int,
        y: int,
        value: str,
        color: str,
        size: int = 8,
        *,
        mode: str = "stroke",
        duration: int = 900,
        after: int = 400,
    ) -> dict[str, Any]:
        """Text at real canvas coordinates (text does not scale with the design space)."""
        step: dict[str, Any] = {"op": "text", "x": x, "y": y, "value": value, "color": color, "size": size}
        return self._add(step, mode, duration, after, None)

    # result ---------------------------------------------------------------------------------------------------

    def plan(self, caption: str = "", *, palette: Iterable[str] = ()) -> CanvasPlan:
        """The validated plan; raises ``pydantic.ValidationError`` if a shape broke the contract's limits."""
        colours = list(dict.fromkeys(palette))[:32]
        return CanvasPlan.model_validate(
            {
                "version": CANVAS_DSL_VERSION,
                "canvas": {"w": self.width, "h": self.height, "bg": self.background},
                "caption": caption,
                "palette": colours or None,
                "steps": self.steps,
            }
        )


def _colours(step: dict[str, Any], fill: str | None, outline: str | None) -> None:
    if fill is not None:
        step["fill"] = fill
    if outline is not None:
        step["outline"] = outline
