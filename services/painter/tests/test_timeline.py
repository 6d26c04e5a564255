"""The shared timeline: delays are offsets, durations are known up front, groups pass their animation on."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovation_contracts.canvas import (
    DEFAULT_STEP_DURATION_MS,
    MAX_STEP_DURATION_MS,
    AnimationMode,
    CanvasPlan,
    Ease,
    walk_steps,
)
from painter.timeline import EASINGS, Reveal, Timeline, build_timeline

RECT: dict[str, Any] = {"op": "rect", "x": 0, "y": 0, "w": 4, "h": 4, "fill": "#fff"}


def timeline_of(*steps: dict[str, Any], size: int = 16) -> Timeline:
    return build_timeline(
        CanvasPlan.model_validate(
            {"version": "1.0", "canvas": {"w": size, "h": size}, "caption": "", "steps": list(steps)}
        )
    )


def animated(step: dict[str, Any], **animate: Any) -> dict[str, Any]:
    return {**step, "animate": {"mode": "fill", **animate}}


def test_the_reference_plan_takes_900_ms(reference_plan: CanvasPlan) -> None:
    timeline = build_timeline(reference_plan)

    # every step starts at 0; the group's 900 ms is passed to its five steps, the rest take the default 700 ms
    assert timeline.duration_ms == 900
    assert len(timeline.reveals) == 19
    assert sorted({reveal.duration_ms for reveal in timeline.reveals}) == [DEFAULT_STEP_DURATION_MS, 900]


def test_draw_stream_played_the_reference_plan_step_after_step(reference_plan: CanvasPlan) -> None:
    leaves = [step for step, _ in walk_steps(reference_plan.steps or ()) if step.op != "group"]

    # Draw Stream dropped the group's animation and waited for each step: 19 x 700 ms
    assert len(leaves) * DEFAULT_STEP_DURATION_MS == 13_300


def image_to_canvas_plan() -> dict[str, Any]:
    """A plan shaped like Draw Stream's ImageToCanvas output for its cabin sample (PREDECESSORS.md 3.2).

    41 ``pixels`` chunks of at most 220 points, 7,879 points in all; chunk k waits 70 * k ms and lasts
    450 + 2 * n ms. Draw Stream played the delays one after another: 34.2 s of steps plus 57.4 s of delays.
    """
    sizes = [220] * 35 + [30] * 5 + [29]
    cells = iter((x, y) for y in range(96) for x in range(96))
    steps = [
        {
            "op": "pixels",
            "color": "#A5F5F4",
            "points": [next(cells) for _ in range(size)],
            "animate": {
                "mode": "pixel_reveal",
                "duration_ms": 450 + 2 * size,
                "delay_ms": 70 * k,
                "ease": "ease_in_out",
            },
        }
        for k, size in enumerate(sizes)
    ]
    return {"version": "1.0", "canvas": {"w": 96, "h": 96}, "caption": "All for you", "steps": steps}


def test_cumulative_delays_are_start_offsets_not_waits() -> None:
    data = image_to_canvas_plan()
    timeline = build_timeline(CanvasPlan.model_validate(data))

    draw_stream_ms = sum(s["animate"]["duration_ms"] + s["animate"]["delay_ms"] for s in data["steps"])
    assert sum(len(s["points"]) for s in data["steps"]) == 7_879
    assert draw_stream_ms == 91_608
    assert timeline.duration_ms == 70 * 40 + 450 + 2 * 29
    assert timeline.duration_ms == max(reveal.end_ms for reveal in timeline.reveals)


def test_steps_without_delay_start_together() -> None:
    timeline = timeline_of(RECT, RECT)

    assert [reveal.start_ms for reveal in timeline.reveals] == [0, 0]
    assert timeline.duration_ms == DEFAULT_STEP_DURATION_MS


def test_a_delay_is_counted_from_the_start_of_the_plan() -> None:
    timeline = timeline_of(animated(RECT, duration_ms=500), animated(RECT, duration_ms=500, delay_ms=300))

    assert [(reveal.start_ms, reveal.end_ms) for reveal in timeline.reveals] == [(0, 500), (300, 800)]
    assert timeline.duration_ms == 800


def test_a_delay_inside_a_group_is_counted_from_the_start_of_the_group() -> None:
    timeline = timeline_of(
        {
            "op": "group",
            "animate": {"mode": "stroke", "delay_ms": 1_000},
            "steps": [
                RECT,
                animated(RECT, delay_ms=250),
                {
                    "op": "group",
                    "animate": {"mode": "fill", "delay_ms": 100},
                    "steps": [animated(RECT, delay_ms=5)],
                },
            ],
        }
    )

    assert [reveal.start_ms for reveal in timeline.reveals] == [1_000, 1_250, 1_105]


def test_a_group_passes_its_animation_to_its_steps() -> None:
    # the group Draw Stream turned into {fill, 700 ms, 0} (PREDECESSORS.md 3.2)
    timeline = timeline_of(
        {
            "op": "group",
            "animate": {"mode": "stroke", "duration_ms": 900, "delay_ms": 50, "ease": "ease_out"},
            "steps": [RECT, {"op": "line", "x1": 0, "y1": 0, "x2": 5, "y2": 5, "color": "#fff"}],
        }
    )

    for reveal in timeline.reveals:
        assert (reveal.mode, reveal.start_ms, reveal.duration_ms, reveal.ease) == (
            AnimationMode.STROKE,
            50,
            900,
            Ease.EASE_OUT,
        )


def test_a_step_in_a_group_can_set_its_own_animation() -> None:
    timeline = timeline_of(
        {
            "op": "group",
            "animate": {"mode": "stroke", "duration_ms": 900},
            "steps": [{**RECT, "animate": {"mode": "pixel_reveal", "duration_ms": 200}}],
        }
    )

    (reveal,) = timeline.reveals
    assert (reveal.mode, reveal.duration_ms, reveal.ease) == (AnimationMode.PIXEL_REVEAL, 200, Ease.LINEAR)


def test_speed_sets_the_duration_from_the_pixel_count() -> None:
    line = {"op": "line", "x1": 0, "y1": 5, "x2": 39, "y2": 5, "color": "#fff"}

    timeline = timeline_of(animated(line, speed_px_per_s=20), animated(line, speed_px_per_s=1), size=40)

    assert [reveal.duration_ms for reveal in timeline.reveals] == [2_000, MAX_STEP_DURATION_MS]


def test_a_step_entirely_off_the_canvas_still_has_its_place_on_the_timeline() -> None:
    timeline = timeline_of(animated({**RECT, "x": 200}, duration_ms=400, delay_ms=100))

    (reveal,) = timeline.reveals
    assert (reveal.pixels, reveal.start_ms, reveal.end_ms) == ((), 100, 500)


def test_fill_sweeps_rows_from_the_top() -> None:
    (reveal,) = timeline_of(animated({**RECT, "w": 3, "h": 2})).reveals

    assert reveal.pixels == ((0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1))


def test_stroke_traces_the_outline_before_the_inside() -> None:
    (reveal,) = timeline_of(animated({**RECT, "w": 3, "h": 3}, mode="stroke")).reveals

    assert reveal.pixels == ((0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (0, 1), (1, 1))


def test_pixel_reveal_shows_points_in_list_order() -> None:
    points = [[5, 5], [1, 1], [3, 0], [0, 7]]
    pixels = {"op": "pixels", "points": points, "color": "#fff"}

    (reveal,) = timeline_of(animated(pixels, mode="pixel_reveal")).reveals

    assert reveal.pixels == tuple(tuple(point) for point in points)


def test_pixel_reveal_dissolves_a_shape_in_a_fixed_scattered_order() -> None:
    square = {**RECT, "w": 8, "h": 8}

    (dissolve,) = timeline_of(animated(square, mode="pixel_reveal")).reveals
    (again,) = timeline_of(animated(square, mode="pixel_reveal")).reveals
    (sweep,) = timeline_of(animated(square)).reveals

    assert dissolve.pixels == again.pixels
    assert sorted(dissolve.pixels) == sorted(sweep.pixels)
    assert dissolve.pixels[:8] != sweep.pixels[:8]
    assert len({y for _, y in dissolve.pixels[:16]}) > 4  # the first pixels are spread over many rows


def test_a_reveal_shows_nothing_before_its_start_and_everything_from_its_end() -> None:
    (reveal,) = timeline_of(animated({**RECT, "w": 10, "h": 10}, duration_ms=1_000, delay_ms=500)).reveals

    assert [reveal.shown(t) for t in (0, 500, 750, 1_000, 1_499, 1_500, 9_999)] == [
        0,
        0,
        25,
        50,
        99,
        100,
        100,
    ]


@pytest.mark.parametrize(
    ("ease", "at_half", "at_quarter"),
    [("linear", 50, 25), ("ease_in", 12, 1), ("ease_out", 87, 57), ("ease_in_out", 50, 6)],
)
def test_easing_shapes_how_fast_pixels_appear(ease: str, at_half: int, at_quarter: int) -> None:
    (reveal,) = timeline_of(animated({**RECT, "w": 10, "h": 10}, duration_ms=1_000, ease=ease)).reveals

    assert (reveal.shown(500), reveal.shown(250)) == (at_half, at_quarter)


@given(
    ease=st.sampled_from(list(Ease)),
    earlier=st.floats(0, 1, allow_nan=False),
    later=st.floats(0, 1, allow_nan=False),
)
def test_every_easing_rises_from_0_to_1(ease: Ease, earlier: float, later: float) -> None:
    earlier, later = sorted((earlier, later))

    assert EASINGS[ease](0.0) == 0.0
    assert EASINGS[ease](1.0) == 1.0
    assert 0.0 <= EASINGS[ease](earlier) <= EASINGS[ease](later) <= 1.0


def test_a_text_card_is_shown_at_once() -> None:
    timeline = build_timeline(
        CanvasPlan.model_validate(
            {"version": "1.0", "canvas": {"w": 96, "h": 96}, "caption": "", "render_text": "Слишком мало"}
        )
    )

    assert timeline.duration_ms == 0
    assert timeline.progress(0) == 1.0
    (card,) = timeline.reveals
    assert card.shown(0) == len(card.pixels) > 0


def test_progress_runs_from_0_to_1_over_the_duration() -> None:
    timeline = timeline_of(animated(RECT, duration_ms=400))

    assert [timeline.progress(t) for t in (-5, 0, 100, 400, 1_000)] == [0.0, 0.0, 0.25, 1.0, 1.0]


def test_reveals_keep_the_painting_order_of_the_plan() -> None:
    first = {**RECT, "fill": "#f00"}
    second = animated({**RECT, "fill": "#0f0"}, delay_ms=0, duration_ms=100)
    grouped = {"op": "group", "steps": [{**RECT, "fill": "#00f"}]}

    timeline = timeline_of(first, second, grouped)

    assert [reveal.colours[0] for reveal in timeline.reveals] == [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    assert isinstance(timeline.reveals[0], Reveal)
