"""The Canvas-DSL: a pixel-art drawing as the planner writes it and the painter animates it.

The field names are Draw Stream's, so its plans (its reference ``aurora_cabin_plan.json`` among them)
validate unchanged. What Draw Stream left open is closed here: colours are ``#rgb`` or ``#rrggbb`` and
nothing else, every number, list and string is bounded, and the timing has one meaning:

* every step sits on one shared timeline that starts when the drawing starts;
* a step starts ``animate.delay_ms`` after its parent starts (the plan, or the group that holds it), so
  ``delay_ms`` is an offset, never a wait after the previous step;
* a step lasts ``animate.duration_ms``, or as long as its pixels take at ``animate.speed_px_per_s``, or
  ``DEFAULT_STEP_DURATION_MS``;
* a group passes its animation (mode, ease, duration or speed) to the children that do not set their own;
  a step with no animation at all is a ``fill`` of ``DEFAULT_STEP_DURATION_MS``, eased linearly;
* steps are painted in document order, so a later step covers an earlier one wherever they overlap.

The painter computes a plan's exact duration before it draws; ``max_timeline_ms`` is the bound the contract
enforces without rasterising.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, StringConstraints, model_validator

CANVAS_DSL_VERSION = "1.0"

MIN_CANVAS_SIDE = 8
MAX_CANVAS_SIDE = 256
DEFAULT_BACKGROUND = "#202020"

MIN_COORDINATE = -MAX_CANVAS_SIDE
"""Shapes may start off the canvas (a sun half out of frame); the painter clips them."""
MAX_COORDINATE = 2 * MAX_CANVAS_SIDE
MAX_SHAPE_SIDE = 3 * MAX_CANVAS_SIDE
MAX_RADIUS = MAX_CANVAS_SIDE
MAX_LINE_WIDTH = 16

MAX_STEPS = 500
"""Every step counts, groups and the steps inside them alike."""
MAX_GROUP_DEPTH = 4
"""A group directly in the plan is at depth 1."""
MAX_POLYGON_POINTS = 256
MAX_PIXELS_POINTS = 10_000
MAX_TOTAL_POINTS = 20_000
"""Polygon corners and ``pixels`` points of the whole plan together."""
MAX_COVERAGE = 16
"""The steps together may paint at most this many times the canvas's pixel count (see ``coverage_bound``)."""

MAX_TEXT_LENGTH = 48
MIN_TEXT_SIZE = 4
MAX_TEXT_SIZE = 64
DEFAULT_TEXT_SIZE = 8
MAX_RENDER_TEXT_LENGTH = 280
MAX_CAPTION_LENGTH = 80
MAX_PALETTE_COLOURS = 32
MAX_HOLD_SECONDS = 600
MAX_SEED = 2**63 - 1

DEFAULT_STEP_DURATION_MS = 700
"""Draw Stream's ``DEFAULT_STEP_DURATION_MS``: how long a step lasts when nothing says otherwise."""
MAX_STEP_DURATION_MS = 30_000
"""Also the cap on a duration derived from ``speed_px_per_s``."""
MAX_DELAY_MS = 60_000
MAX_PLAN_DURATION_MS = 120_000
"""No drawing may take longer than this on the shared timeline (Draw Stream's cabin sample took 92 s)."""
MIN_SPEED_PX_PER_S = 1.0
MAX_SPEED_PX_PER_S = 100_000.0

TEXT_CHARACTERS = (
    "".join(chr(code) for code in range(0x20, 0x7F))
    + "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
    + "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
)
"""Every character the painter's pixel font can draw: printable ASCII and Russian."""
_TEXT_CHARACTER_SET = frozenset(TEXT_CHARACTERS)

COLOUR_PATTERN = r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})$"
_COLOUR = re.compile(r"#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6})")


def _check_colour(value: str) -> str:
    # fullmatch and an explicit class: int(x, 16) also takes "-1F", "1_2" and " 12" (Draw Stream's loophole)
    if _COLOUR.fullmatch(value) is None:
        raise ValueError(f"colour must be '#rgb' or '#rrggbb' in hexadecimal digits, got {value!r}")
    return value


def _check_text(value: str) -> str:
    unsupported = sorted({character for character in value if character not in _TEXT_CHARACTER_SET})
    if unsupported:
        shown = ", ".join(repr(character) for character in unsupported[:10])
        raise ValueError(
            f"text has characters the pixel font cannot draw: {shown}; "
            "use printable ASCII or Russian letters (TEXT_CHARACTERS)"
        )
    return value


Colour = Annotated[
    str,
    Strict(),
    AfterValidator(_check_colour),
    Field(json_schema_extra={"pattern": COLOUR_PATTERN}, examples=["#0B0D26", "#FFF"]),
]
"""A hex colour, ``#rgb`` or ``#rrggbb``; ``#rgb`` means ``#rrggbb`` with each digit doubled."""

Coordinate = Annotated[int, Strict(), Field(ge=MIN_COORDINATE, le=MAX_COORDINATE)]
"""A pixel position; (0, 0) is the top-left pixel of the canvas, y grows downwards."""

Point = tuple[Coordinate, Coordinate]

ShapeSide = Annotated[int, Strict(), Field(ge=1, le=MAX_SHAPE_SIDE)]

TextLine = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH), AfterValidator(_check_text)
]
"""Text for a ``text`` step: one line, in characters the pixel font draws."""

CardText = Annotated[
    str, Strict(), StringConstraints(max_length=MAX_RENDER_TEXT_LENGTH), AfterValidator(_check_text)
]
"""Text for a ``render_text`` card, word-wrapped by the painter."""


class AnimationMode(StrEnum):
    STROKE = "stroke"
    """Traced along its outline (a line from its start, a circle clockwise from the top), then filled."""
    FILL = "fill"
    """Swept in row by row, top to bottom, each row left to right."""
    PIXEL_REVEAL = "pixel_reveal"
    """A ``pixels`` step shows its points in list order; any other step dissolves in, pixel by pixel."""


class Ease(StrEnum):
    LINEAR = "linear"
    EASE_IN = "ease_in"
    EASE_OUT = "ease_out"
    EASE_IN_OUT = "ease_in_out"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Animation(_Model):
    """How one step (or every step of a group) appears on the shared timeline."""

    mode: AnimationMode = Field(
        description=(
            "stroke: traced along the shape's outline, then filled; fill: swept in row by row from the top; "
            "pixel_reveal: a pixels step shows its points in list order, any other step dissolves in"
        )
    )
    duration_ms: Annotated[int, Strict()] | None = Field(
        default=None,
        ge=1,
        le=MAX_STEP_DURATION_MS,
        description="How long the step takes to appear. Give this or speed_px_per_s, not both.",
    )
    speed_px_per_s: Annotated[float, Strict()] | None = Field(
        default=None,
        allow_inf_nan=False,
        ge=MIN_SPEED_PX_PER_S,
        le=MAX_SPEED_PX_PER_S,
        description="Pixels revealed per second; the duration follows from the step's pixel count.",
    )
    delay_ms: Annotated[int, Strict()] | None = Field(
        default=None,
        ge=0,
        le=MAX_DELAY_MS,
        description=(
            "When the step starts, counted from the start of its parent (the plan, or its group): "
            "an offset on the shared timeline, not a pause after the previous step. Missing means 0."
        ),
    )
    ease: Ease | None = Field(default=None, description="Missing means the group's ease, else linear.")

    @model_validator(mode="after")
    def _one_way_to_time(self) -> Animation:
        if self.duration_ms is not None and self.speed_px_per_s is not None:
            raise ValueError("give animate.duration_ms or animate.speed_px_per_s, not both")
        return self


class _Step(_Model):
    animate: Animation | None = None


class _Outlined(_Step):
    fill: Colour | None = None
    outline: Colour | None = Field(default=None, description="A 1-pixel outline drawn over the fill")

    @model_validator(mode="after")
    def _draws_something(self) -> _Outlined:
        if self.fill is None and self.outline is None:
            raise ValueError("a shape needs a fill colour, an outline colour or both")
        return self


class RectStep(_Outlined):
    op: Literal["rect"]
    x: Coordinate
    y: Coordinate
    w: ShapeSide
    h: ShapeSide


class CircleStep(_Outlined):
    """A disc ``2 * r`` pixels across, centred on the corner between pixels (cx - 1, cy - 1) and (cx, cy)."""

    op: Literal["circle"]
    cx: Coordinate
    cy: Coordinate
    r: Annotated[int, Strict()] = Field(ge=1, le=MAX_RADIUS)


class LineStep(_Step):
    op: Literal["line"]
    x1: Coordinate
    y1: Coordinate
    x2: Coordinate
    y2: Coordinate
    width: Annotated[int, Strict()] = Field(default=1, ge=1, le=MAX_LINE_WIDTH)
    color: Colour


class PolygonStep(_Outlined):
    op: Literal["polygon"]
    points: tuple[Point, ...] = Field(min_length=3, max_length=MAX_POLYGON_POINTS)


class PixelsStep(_Step):
    op: Literal["pixels"]
    points: tuple[Point, ...] = Field(min_length=1, max_length=MAX_PIXELS_POINTS)
    color: Colour


class TextStep(_Step):
    """One line of text in the painter's pixel font, its top-left corner at (x, y)."""

    op: Literal["text"]
    x: Coordinate
    y: Coordinate
    value: TextLine
    font: Literal["pixel", "monospace"] | None = Field(
        default=None,
        description="Always the built-in pixel font; 'monospace' is accepted from Draw Stream plans",
    )
    size: Annotated[int, Strict()] = Field(
        default=DEFAULT_TEXT_SIZE,
        ge=MIN_TEXT_SIZE,
        le=MAX_TEXT_SIZE,
        description="Line height in pixels, rounded to a multiple of 8 (at least 8); see text_scale",
    )
    color: Colour = "#FFFFFF"


class GroupStep(_Step):
    """Steps that share a start (the group's delay) and, unless they set their own, the group's animation."""

    op: Literal["group"]
    steps: tuple[CanvasStep, ...] = Field(min_length=1)


CanvasStep = Annotated[
    RectStep | CircleStep | LineStep | PolygonStep | PixelsStep | TextStep | GroupStep,
    Field(discriminator="op"),
]
LeafStep = RectStep | CircleStep | LineStep | PolygonStep | PixelsStep | TextStep
"""A step that draws pixels itself (anything but a group)."""


class CanvasSpec(_Model):
    w: Annotated[int, Strict()] = Field(ge=MIN_CANVAS_SIDE, le=MAX_CANVAS_SIDE)
    h: Annotated[int, Strict()] = Field(ge=MIN_CANVAS_SIDE, le=MAX_CANVAS_SIDE)
    bg: Colour = DEFAULT_BACKGROUND


class CanvasPlan(_Model):
    """A whole drawing: either ``steps`` to animate or a ``render_text`` card, never both."""

    version: Literal["1.0"]
    canvas: CanvasSpec
    caption: str = Field(max_length=MAX_CAPTION_LENGTH, description="Shown under the drawing")
    palette: tuple[Colour, ...] | None = Field(default=None, max_length=MAX_PALETTE_COLOURS)
    seed: Annotated[int, Strict()] | None = Field(default=None, ge=-MAX_SEED - 1, le=MAX_SEED)
    steps: tuple[CanvasStep, ...] | None = None
    render_text: CardText | None = Field(default=None, description="A text card instead of a drawing")
    duration_sec: Annotated[int, Strict()] | None = Field(
        default=None, ge=1, le=MAX_HOLD_SECONDS, description="How long the finished picture stays on screen"
    )

    @model_validator(mode="after")
    def _within_limits(self) -> CanvasPlan:
        has_steps = bool(self.steps)
        has_text = bool(self.render_text)
        if has_steps == has_text:
            raise ValueError("a plan needs either non-empty steps or a non-empty render_text, not both")
        steps = self.steps or ()
        count = sum(1 for _ in walk_steps(steps))
        if count > MAX_STEPS:
            raise ValueError(f"the plan has {count} steps, counting those inside groups; at most {MAX_STEPS}")
        depth = max(
            (inside + 1 for step, inside in walk_steps(steps) if isinstance(step, GroupStep)), default=0
        )
        if depth > MAX_GROUP_DEPTH:
            raise ValueError(f"groups are nested {depth} deep; at most {MAX_GROUP_DEPTH}")
        points = sum(
            len(step.points) for step, _ in walk_steps(steps) if isinstance(step, PolygonStep | PixelsStep)
        )
        if points > MAX_TOTAL_POINTS:
            raise ValueError(f"the plan has {points} polygon and pixels points; at most {MAX_TOTAL_POINTS}")
        covered, most = coverage_bound(self), MAX_COVERAGE * self.canvas.w * self.canvas.h
        if covered > most:
            raise ValueError(
                f"the steps could paint up to {covered} pixels (each step's visible bounding box, added up); "
                f"at most {MAX_COVERAGE} times the canvas, {most}"
            )
        latest = max_timeline_ms(self)
        if latest > MAX_PLAN_DURATION_MS:
            raise ValueError(
                f"the plan could take up to {latest} ms on the timeline (delays plus durations); "
                f"at most {MAX_PLAN_DURATION_MS} ms"
            )
        return self


GroupStep.model_rebuild()
CanvasPlan.model_rebuild()


def walk_steps(steps: tuple[CanvasStep, ...], depth: int = 0) -> Iterator[tuple[CanvasStep, int]]:
    """Every step in painting order, each with its group depth: 0 for a step directly in the plan."""
    for step in steps:
        yield step, depth
        if isinstance(step, GroupStep):
            yield from walk_steps(step.steps, depth + 1)


def text_scale(size: int) -> int:
    """How many canvas pixels across one pixel of the 5x7 font takes at a text ``size``: size / 8, rounded."""
    return max(1, (size + 4) // 8)


def coverage_bound(plan: CanvasPlan) -> int:
    """An upper bound on how many pixels the plan's steps paint, a pixel counted once per step painting it.

    Each step counts the part of its bounding box that is on the canvas (a ``pixels`` step its distinct points
    on the canvas, a line at most two cross-sections per pixel of its length): cheap, and never too low.
    """
    width, height = plan.canvas.w, plan.canvas.h

    def visible(left: int, top: int, right: int, bottom: int) -> int:
        """Pixels of the box [left, right) x [top, bottom) that are on the canvas."""
        return max(0, min(right, width) - max(left, 0)) * max(0, min(bottom, height) - max(top, 0))

    total = 0
    for step, _ in walk_steps(plan.steps or ()):
        if isinstance(step, RectStep):
            total += visible(step.x, step.y, step.x + step.w, step.y + step.h)
        elif isinstance(step, CircleStep):
            total += visible(step.cx - step.r, step.cy - step.r, step.cx + step.r, step.cy + step.r)
        elif isinstance(step, LineStep):
            left, right = min(step.x1, step.x2) - step.width, max(step.x1, step.x2) + step.width + 1
            top, bottom = min(step.y1, step.y2) - step.width, max(step.y1, step.y2) + step.width + 1
            length = max(abs(step.x2 - step.x1), abs(step.y2 - step.y1)) + 2
            total += min(visible(left, top, right, bottom), 2 * length * step.width)
        elif isinstance(step, PolygonStep):
            xs, ys = [x for x, _ in step.points], [y for _, y in step.points]
            total += visible(min(xs), min(ys), max(xs) + 1, max(ys) + 1)
        elif isinstance(step, PixelsStep):
            total += len({(x, y) for x, y in step.points if 0 <= x < width and 0 <= y < height})
        elif isinstance(step, TextStep):
            cell = 8 * text_scale(step.size)
            total += visible(step.x, step.y, step.x + cell * len(step.value), step.y + cell)
    return total


def delay_ms(step: CanvasStep) -> int:
    """How long after its parent starts the step starts: ``animate.delay_ms``, 0 when missing."""
    if step.animate is None or step.animate.delay_ms is None:
        return 0
    return step.animate.delay_ms


def inherit_animation(own: Animation | None, inherited: Animation | None) -> Animation | None:
    """The animation a step runs with: its own, completed field by field from its group's.

    Mode comes from the step when it has ``animate``; duration or speed (as a pair), and ease, come from the
    step when it sets them, else from the group. The delay is always the step's own: a group's delay places
    the group, and its children count from there.
    """
    if own is None:
        return None if inherited is None else inherited.model_copy(update={"delay_ms": None})
    if inherited is None:
        return own
    timed_by_own = own.duration_ms is not None or own.speed_px_per_s is not None
    return own.model_copy(
        update={
            "duration_ms": own.duration_ms if timed_by_own else inherited.duration_ms,
            "speed_px_per_s": own.speed_px_per_s if timed_by_own else inherited.speed_px_per_s,
            "ease": own.ease if own.ease is not None else inherited.ease,
        }
    )


def max_timeline_ms(plan: CanvasPlan) -> int:
    """The latest any step can finish, taking a speed-timed step at ``MAX_STEP_DURATION_MS``.

    The painter's exact duration (which knows each step's pixel count) is never larger.
    """

    def latest(steps: tuple[CanvasStep, ...], start: int, inherited: Animation | None) -> int:
        end = start
        for step in steps:
            animation = inherit_animation(step.animate, inherited)
            begins = start + delay_ms(step)
            if isinstance(step, GroupStep):
                end = max(end, latest(step.steps, begins, animation))
            elif animation is not None and animation.duration_ms is not None:
                end = max(end, begins + animation.duration_ms)
            elif animation is not None and animation.speed_px_per_s is not None:
                end = max(end, begins + MAX_STEP_DURATION_MS)
            else:
                end = max(end, begins + DEFAULT_STEP_DURATION_MS)
        return end

    return latest(plan.steps or (), 0, None)


def canvas_plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``CanvasPlan``, for the planner to hand to the LLM as its output format.

    It carries every field limit and the colour pattern; the whole-plan limits (``MAX_STEPS``,
    ``MAX_GROUP_DEPTH``, ``MAX_TOTAL_POINTS``, ``MAX_PLAN_DURATION_MS``) are stated in its description and
    enforced by validation.
    """
    schema = CanvasPlan.model_json_schema()
    schema["$id"] = "https://ovation.invalid/schemas/canvas/plan.json"
    schema["title"] = f"Canvas-DSL plan (v{CANVAS_DSL_VERSION})"
    schema["description"] = (
        f"A pixel-art drawing on a canvas of {MIN_CANVAS_SIDE} to {MAX_CANVAS_SIDE} px a side. Steps are "
        "painted in order, later over earlier. Each step starts animate.delay_ms after its parent (the plan "
        "or its group) starts, on one shared timeline, and lasts animate.duration_ms (default "
        f"{DEFAULT_STEP_DURATION_MS}). At most {MAX_STEPS} steps, groups nested at most {MAX_GROUP_DEPTH} "
        f"deep, {MAX_TOTAL_POINTS} points in all, shapes covering at most {MAX_COVERAGE} times the canvas, "
        f"and {MAX_PLAN_DURATION_MS} ms from the start to the end of the last step."
    )
    return schema


__all__ = [
    "CANVAS_DSL_VERSION",
    "COLOUR_PATTERN",
    "DEFAULT_BACKGROUND",
    "DEFAULT_STEP_DURATION_MS",
    "DEFAULT_TEXT_SIZE",
    "MAX_CANVAS_SIDE",
    "MAX_CAPTION_LENGTH",
    "MAX_COORDINATE",
    "MAX_COVERAGE",
    "MAX_DELAY_MS",
    "MAX_GROUP_DEPTH",
    "MAX_HOLD_SECONDS",
    "MAX_LINE_WIDTH",
    "MAX_PALETTE_COLOURS",
    "MAX_PIXELS_POINTS",
    "MAX_PLAN_DURATION_MS",
    "MAX_POLYGON_POINTS",
    "MAX_RADIUS",
    "MAX_RENDER_TEXT_LENGTH",
    "MAX_SEED",
    "MAX_SHAPE_SIDE",
    "MAX_SPEED_PX_PER_S",
    "MAX_STEPS",
    "MAX_STEP_DURATION_MS",
    "MAX_TEXT_LENGTH",
    "MAX_TEXT_SIZE",
    "MAX_TOTAL_POINTS",
    "MIN_CANVAS_SIDE",
    "MIN_COORDINATE",
    "MIN_SPEED_PX_PER_S",
    "MIN_TEXT_SIZE",
    "TEXT_CHARACTERS",
    "Animation",
    "AnimationMode",
    "CanvasPlan",
    "CanvasSpec",
    "CanvasStep",
    "CircleStep",
    "Colour",
    "Coordinate",
    "Ease",
    "GroupStep",
    "LeafStep",
    "LineStep",
    "PixelsStep",
    "Point",
    "PolygonStep",
    "RectStep",
    "TextStep",
    "canvas_plan_json_schema",
    "coverage_bound",
    "delay_ms",
    "inherit_animation",
    "max_timeline_ms",
    "text_scale",
    "walk_steps",
]
