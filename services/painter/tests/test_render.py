"""Frames and pictures held to golden PNGs: the reference plan, each op in each mode, each ease, a card."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pygame
import pytest

from ovation_contracts.canvas import CanvasPlan
from painter.render import (
    Animator,
    PixelCanvas,
    encode_png,
    filmstrip,
    final_frame,
    render_frame,
    save_png,
    to_surface,
)
from painter.timeline import build_timeline

Golden = Callable[[str, PixelCanvas], None]

DURATION_MS = 800
FIVE_MOMENTS = [0, 200, 400, 600, 800]
"""t = 0, a quarter, the middle, three quarters and the end of each sample step."""

SAMPLE_STEPS: dict[str, dict[str, Any]] = {
    "rect": {"op": "rect", "x": 3, "y": 4, "w": 18, "h": 14, "fill": "#3A7BD5", "outline": "#F2C35B"},
    "circle": {"op": "circle", "cx": 12, "cy": 12, "r": 9, "fill": "#F8F3C3", "outline": "#F2994A"},
    "line": {"op": "line", "x1": 2, "y1": 20, "x2": 21, "y2": 3, "width": 3, "color": "#6AF2F0"},
    "polygon": {
        "op": "polygon",
        "points": [[12, 1], [15, 9], [23, 9], [17, 14], [19, 22], [12, 17], [5, 22], [7, 14], [1, 9], [9, 9]],
        "fill": "#F2C35B",
        "outline": "#A86D3F",
    },
    "pixels": {
        "op": "pixels",
        "points": [[x, 4 + (x * 7) % 16] for x in range(2, 22)] + [[x, 21] for x in range(2, 22, 2)],
        "color": "#A5F5F4",
    },
    "text": {"op": "text", "x": 1, "y": 8, "value": "Ура!", "color": "#FFFFFF"},  # noqa: RUF001 - Russian
    "group": {
        "op": "group",
        "steps": [
            {"op": "rect", "x": 2, "y": 14, "w": 20, "h": 8, "fill": "#603F2B"},
            {"op": "polygon", "points": [[1, 14], [12, 4], [22, 14]], "fill": "#3D252A"},
            {"op": "circle", "cx": 19, "cy": 4, "r": 3, "fill": "#F8F3C3"},
            # its own timing: starts 200 ms after the group and takes half as long
            {
                "op": "rect", "x": 9, "y": 16, "w": 5, "h": 6, "fill": "#F2C35B",
                "animate": {"mode": "fill", "delay_ms": 200, "duration_ms": 400},
            },
        ],
    },
}  # fmt: skip


def sample_plan(step: dict[str, Any], mode: str, ease: str = "linear") -> CanvasPlan:
    return CanvasPlan.model_validate(
        {
            "version": "1.0",
            "canvas": {"w": 24, "h": 24, "bg": "#101820"},
            "caption": "sample",
            "steps": [{**step, "animate": {"mode": mode, "duration_ms": DURATION_MS, "ease": ease}}],
        }
    )


def test_the_reference_plan_final_frame_matches_its_golden(
    reference_plan: CanvasPlan, golden: Golden
) -> None:
    golden("aurora_cabin_final", final_frame(reference_plan))


def test_the_golden_of_the_reference_plan_is_what_draw_stream_drew(
    reference_plan: CanvasPlan,
    drawstream: Callable[[CanvasPlan], PixelCanvas],
    png_reader: Callable[[Path], PixelCanvas],
) -> None:
    # the golden is not just our own output frozen: pygame.draw, called as Draw Stream called it, agrees
    assert png_reader(Path(__file__).parent / "golden" / "aurora_cabin_final.png") == drawstream(
        reference_plan
    )


def test_the_reference_plan_animates_as_its_golden_filmstrip(
    reference_plan: CanvasPlan, golden: Golden
) -> None:
    golden(
        "aurora_cabin_timeline", filmstrip(build_timeline(reference_plan), [0, 150, 300, 450, 600, 750, 900])
    )


@pytest.mark.parametrize("mode", ["stroke", "fill", "pixel_reveal"])
@pytest.mark.parametrize("op", list(SAMPLE_STEPS))
def test_each_op_in_each_mode_matches_its_golden_filmstrip(op: str, mode: str, golden: Golden) -> None:
    timeline = build_timeline(sample_plan(SAMPLE_STEPS[op], mode))

    assert timeline.duration_ms == DURATION_MS
    golden(f"{op}_{mode}", filmstrip(timeline, FIVE_MOMENTS))


@pytest.mark.parametrize("ease", ["linear", "ease_in", "ease_out", "ease_in_out"])
def test_each_ease_matches_its_golden_filmstrip(ease: str, golden: Golden) -> None:
    timeline = build_timeline(sample_plan(SAMPLE_STEPS["rect"], "fill", ease))

    golden(f"rect_fill_{ease}", filmstrip(timeline, range(0, DURATION_MS + 1, 100)))


def test_a_text_card_matches_its_golden(golden: Golden) -> None:
    plan = CanvasPlan.model_validate(
        {"version": "1.0", "canvas": {"w": 96, "h": 96}, "caption": "", "render_text": "You are too small"}
    )

    golden("card_you_are_too_small", final_frame(plan))


def test_the_first_and_last_moments_are_the_background_and_the_final_picture(
    reference_plan: CanvasPlan,
) -> None:
    timeline = build_timeline(reference_plan)

    assert render_frame(timeline, 0) == PixelCanvas(96, 96, (0x0B, 0x0D, 0x26))
    assert render_frame(timeline, timeline.duration_ms) == final_frame(reference_plan)
    assert render_frame(timeline, timeline.duration_ms + 60_000) == final_frame(reference_plan)


RED_CANVAS = {"op": "rect", "x": 0, "y": 0, "w": 8, "h": 8, "fill": "#f00"}
BLUE_SQUARE = {"op": "rect", "x": 2, "y": 2, "w": 4, "h": 4, "fill": "#00f"}


def test_a_later_step_stays_on_top_even_when_an_earlier_one_finishes_after_it() -> None:
    plan = CanvasPlan.model_validate(
        {
            "version": "1.0",
            "canvas": {"w": 8, "h": 8},
            "caption": "",
            "steps": [
                {**RED_CANVAS, "animate": {"mode": "fill", "delay_ms": 500}},
                {**BLUE_SQUARE, "animate": {"mode": "fill", "duration_ms": 100}},
            ],
        }
    )  # fmt: skip
    animator = Animator(build_timeline(plan))

    assert animator.advance_to(200).pixel(3, 3) == (0, 0, 255)
    assert animator.advance_to(2_000).pixel(3, 3) == (0, 0, 255)
    assert animator.canvas.pixel(0, 0) == (255, 0, 0)


def test_the_animator_gives_the_same_frames_as_drawing_from_scratch(reference_plan: CanvasPlan) -> None:
    timeline = build_timeline(reference_plan)
    animator = Animator(timeline)

    for t_ms in [*range(0, 950, 16), 450, 100, 899, 900]:  # forwards at 60 fps, then jumps back and forth
        assert animator.advance_to(t_ms) == render_frame(timeline, t_ms), t_ms
    assert animator.finished


def test_the_animator_refuses_a_time_that_is_not_a_number(reference_plan: CanvasPlan) -> None:
    with pytest.raises(ValueError, match="got NaN"):
        Animator(build_timeline(reference_plan)).advance_to(float("nan"))


def test_save_png_writes_the_final_picture_scaled_with_hard_edges(
    reference_plan: CanvasPlan, tmp_path: Path, png_reader: Callable[[Path], PixelCanvas]
) -> None:
    final = final_frame(reference_plan)

    written = png_reader(save_png(reference_plan, tmp_path / "cabin.png", scale=8))

    assert (written.width, written.height) == (768, 768)
    for x, y in [(0, 0), (16, 16), (48, 60), (95, 95), (52, 84)]:
        for dx, dy in [(0, 0), (7, 7), (3, 5)]:
            assert written.pixel(8 * x + dx, 8 * y + dy) == final.pixel(x, y)


def test_encode_png_refuses_a_scale_it_cannot_make() -> None:
    with pytest.raises(ValueError, match="scale must be between 1 and 32"):
        encode_png(PixelCanvas(8, 8, (0, 0, 0)), scale=0)


def test_to_surface_gives_the_window_a_scaled_pygame_surface(reference_plan: CanvasPlan) -> None:
    final = final_frame(reference_plan)

    surface = to_surface(final, scale=4)

    assert surface.get_size() == (384, 384)
    assert tuple(surface.get_at((4 * 16 + 3, 4 * 16)))[:3] == final.pixel(16, 16)
    assert tuple(pygame.Surface.get_at(to_surface(final), (95, 95)))[:3] == final.pixel(95, 95)
