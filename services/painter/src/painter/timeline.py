"""One shared timeline for a plan: when each step starts, how long it lasts, in which order its pixels appear.

The rules are the contract's (``ovation_contracts.canvas``): a step starts ``delay_ms`` after its parent
starts, lasts ``duration_ms`` (or its pixel count at ``speed_px_per_s``, or ``DEFAULT_STEP_DURATION_MS``),
and a group passes its animation to the children that set none. So the duration of a plan is known before
the first frame: it is the end of the step that ends last.

Within its time a step shows the first ``floor(ease(progress) * n)`` of its ``n`` pixels, in the order its
mode gives:

* ``fill``: row by row from the top, each row left to right (a scanline sweep);
* ``stroke``: along the shape first (see ``RasterisedStep.path``), then whatever is left by scanline;
* ``pixel_reveal``: a ``pixels`` step in list order, any other step in a fixed scattered order (a dissolve).

Every pixel is shown in its final colour, so whatever the mode and the moment, a finished step looks exactly
as it does in the final picture.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ovation_contracts.canvas import (
    DEFAULT_STEP_DURATION_MS,
    MAX_STEP_DURATION_MS,
    Animation,
    AnimationMode,
    CanvasPlan,
    CanvasStep,
    Ease,
    GroupStep,
    LeafStep,
    PixelsStep,
    delay_ms,
    inherit_animation,
)

from .raster import RGB, Pixel, RasterisedStep, parse_colour, rasterise, rasterise_card

EASINGS: dict[Ease, Callable[[float], float]] = {
    Ease.LINEAR: lambda progress: progress,
    Ease.EASE_IN: lambda progress: progress**3,
    Ease.EASE_OUT: lambda progress: 1 - (1 - progress) ** 3,
    Ease.EASE_IN_OUT: lambda progress: 4 * progress**3 if progress < 0.5 else 1 - (2 - 2 * progress) ** 3 / 2,
}
"""Each maps time progress in [0, 1] to reveal progress in [0, 1], rising, 0 at 0 and 1 at 1."""


@dataclass(frozen=True, slots=True)
class Reveal:
    """One drawing step on the timeline: its pixels in the order they appear, each in its final colour."""

    start_ms: int
    duration_ms: int
    mode: AnimationMode
    ease: Ease
    pixels: tuple[Pixel, ...]
    colours: tuple[RGB, ...]

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.duration_ms

    def shown(self, t_ms: float) -> int:
        """How many of ``pixels`` are showing at ``t_ms``: none before the start, all from the end on."""
        if t_ms >= self.end_ms:
            return len(self.pixels)
        if t_ms <= self.start_ms:
            return 0
        eased = EASINGS[self.ease]((t_ms - self.start_ms) / self.duration_ms)
        return min(len(self.pixels), max(0, math.floor(eased * len(self.pixels))))


@dataclass(frozen=True, slots=True)
class Timeline:
    """A plan ready to animate: the canvas, and its steps in painting order (later cover earlier)."""

    width: int
    height: int
    background: RGB
    reveals: tuple[Reveal, ...]
    duration_ms: int
    """When the last step has finished: at this time and after, the frame is the final picture."""

    def progress(self, t_ms: float) -> float:
        """How far the drawing is at ``t_ms``, from 0 to 1 (1 for a plan with nothing to wait for)."""
        if self.duration_ms <= 0:
            return 1.0
        return min(1.0, max(0.0, t_ms / self.duration_ms))


def build_timeline(plan: CanvasPlan) -> Timeline:
    """Place every step of a validated plan on the timeline; never raises for a plan the contract accepted.

    A ``render_text`` plan becomes a text card shown at once: its duration is 0.
    """
    width, height = plan.canvas.w, plan.canvas.h
    if plan.render_text:
        card = rasterise_card(plan.render_text, width, height)
        reveals: tuple[Reveal, ...] = (_reveal(card, 0, 0, AnimationMode.FILL, Ease.LINEAR),)
    else:
        reveals = tuple(_place(plan.steps or (), 0, None, width, height))
    return Timeline(
        width=width,
        height=height,
        background=parse_colour(plan.canvas.bg),
        reveals=reveals,
        duration_ms=max((reveal.end_ms for reveal in reveals), default=0),
    )


def _place(
    steps: tuple[CanvasStep, ...], start_ms: int, inherited: Animation | None, width: int, height: int
) -> Iterator[Reveal]:
    for step in steps:
        animation = inherit_animation(step.animate, inherited)
        starts = start_ms + delay_ms(step)
        if isinstance(step, GroupStep):
            yield from _place(step.steps, starts, animation, width, height)
        else:
            yield _place_leaf(step, starts, animation, width, height)


def _place_leaf(
    step: LeafStep, start_ms: int, animation: Animation | None, width: int, height: int
) -> Reveal:
    rasterised = rasterise(step, width, height)
    count = len(rasterised.colours)
    if animation is None:
        return _reveal(rasterised, start_ms, DEFAULT_STEP_DURATION_MS, AnimationMode.FILL, Ease.LINEAR)
    if animation.duration_ms is not None:
        duration = animation.duration_ms
    elif animation.speed_px_per_s is not None:
        duration = min(MAX_STEP_DURATION_MS, max(1, math.ceil(count * 1000 / animation.speed_px_per_s)))
    else:
        duration = DEFAULT_STEP_DURATION_MS
    ease = animation.ease or Ease.LINEAR
    return _reveal(
        rasterised, start_ms, duration, animation.mode, ease, is_pixels=isinstance(step, PixelsStep)
    )


def _reveal(
    rasterised: RasterisedStep,
    start_ms: int,
    duration_ms: int,
    mode: AnimationMode,
    ease: Ease,
    *,
    is_pixels: bool = False,
) -> Reveal:
    order = reveal_order(rasterised, mode, is_pixels=is_pixels)
    return Reveal(
        start_ms=start_ms,
        duration_ms=duration_ms,
        mode=mode,
        ease=ease,
        pixels=tuple(order),
        colours=tuple(rasterised.colours[pixel] for pixel in order),
    )


def reveal_order(rasterised: RasterisedStep, mode: AnimationMode, *, is_pixels: bool = False) -> list[Pixel]:
    """Every pixel of a rasterised step, once each, in the order ``mode`` reveals them."""
    if mode is AnimationMode.STROKE or (mode is AnimationMode.PIXEL_REVEAL and is_pixels):
        along = set(rasterised.path)
        return list(rasterised.path) + sorted(
            (pixel for pixel in rasterised.colours if pixel not in along), key=_scanline
        )
    if mode is AnimationMode.PIXEL_REVEAL:
        return sorted(rasterised.colours, key=_scattered)
    return sorted(rasterised.colours, key=_scanline)


def _scanline(pixel: Pixel) -> tuple[int, int]:
    return pixel[1], pixel[0]


def _scattered(pixel: Pixel) -> tuple[int, Pixel]:
    # a fixed integer hash (murmur3's finaliser): the same dissolve on every run and every machine
    value = (pixel[1] * 65_537 + pixel[0] + 0x9E3779B9) & 0xFFFFFFFF
    value ^= value >> 16
    value = (value * 0x85EBCA6B) & 0xFFFFFFFF
    value ^= value >> 13
    value = (value * 0xC2B2AE35) & 0xFFFFFFFF
    value ^= value >> 16
    return value, pixel
