"""Whatever the validator accepts, the renderer draws without failing, and its announced duration holds."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from ovation_contracts.canvas import (
    MAX_CANVAS_SIDE,
    MAX_COORDINATE,
    MAX_LINE_WIDTH,
    MAX_RADIUS,
    MAX_SHAPE_SIDE,
    MIN_COORDINATE,
    TEXT_CHARACTERS,
    CanvasPlan,
    coverage_bound,
    max_timeline_ms,
)
from painter.render import Animator, final_frame, render_frame
from painter.timeline import build_timeline

coordinates = st.one_of(st.integers(-10, 40), st.integers(MIN_COORDINATE, MAX_COORDINATE))
points = st.lists(coordinates, min_size=2, max_size=2)
hex_digits = "0123456789abcdefABCDEF"
colours = st.one_of(
    st.text(hex_digits, min_size=3, max_size=3), st.text(hex_digits, min_size=6, max_size=6)
).map(lambda digits: f"#{digits}")
maybe_colour = st.one_of(st.none(), colours)

animations = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"mode": st.sampled_from(["stroke", "fill", "pixel_reveal"])},
        optional={
            "ease": st.sampled_from(["linear", "ease_in", "ease_out", "ease_in_out", None]),
            "delay_ms": st.one_of(st.none(), st.integers(0, 3_000)),
            "duration_ms": st.integers(1, 3_000),
        },
    ),
    st.fixed_dictionaries(
        {"mode": st.sampled_from(["stroke", "fill", "pixel_reveal"]), "speed_px_per_s": st.floats(1, 5_000)},
        optional={"delay_ms": st.integers(0, 3_000)},
    ),
)


def shape(op: str, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"op": st.just(op), **fields}, optional={"animate": animations})


def outlined(op: str, **fields: Any) -> st.SearchStrategy[dict[str, Any]]:
    colours_of = st.tuples(maybe_colour, maybe_colour).filter(lambda pair: pair != (None, None))
    return st.tuples(shape(op, **fields), colours_of).map(
        lambda drawn: {**drawn[0], "fill": drawn[1][0], "outline": drawn[1][1]}
    )


leaf_steps = st.one_of(
    outlined(
        "rect",
        x=coordinates,
        y=coordinates,
        w=st.one_of(st.integers(1, 12), st.integers(1, MAX_SHAPE_SIDE)),
        h=st.one_of(st.integers(1, 12), st.integers(1, MAX_SHAPE_SIDE)),
    ),
    outlined(
        "circle", cx=coordinates, cy=coordinates, r=st.one_of(st.integers(1, 10), st.integers(1, MAX_RADIUS))
    ),
    shape(
        "line",
        x1=coordinates,
        y1=coordinates,
        x2=coordinates,
        y2=coordinates,
        width=st.integers(1, MAX_LINE_WIDTH),
        color=colours,
    ),
    outlined("polygon", points=st.lists(points, min_size=3, max_size=8)),
    shape("pixels", points=st.lists(points, min_size=1, max_size=40), color=colours),
    shape(
        "text",
        x=coordinates,
        y=coordinates,
        value=st.text(TEXT_CHARACTERS, min_size=1, max_size=12),
        size=st.integers(4, 64),
        color=colours,
    ),
)


def steps_nested(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """A step, possibly a group holding groups up to ``depth`` deep."""
    if depth == 0:
        return leaf_steps
    return st.one_of(
        leaf_steps, shape("group", steps=st.lists(steps_nested(depth - 1), min_size=1, max_size=3))
    )


steps = steps_nested(3)
plans = st.fixed_dictionaries(
    {
        "version": st.just("1.0"),
        "canvas": st.fixed_dictionaries(
            {"w": st.integers(8, 40), "h": st.integers(8, 40)}, optional={"bg": colours}
        ),
        "caption": st.text(max_size=20),
        "steps": st.lists(steps, min_size=1, max_size=5),
    }
)
cards = st.fixed_dictionaries(
    {
        "version": st.just("1.0"),
        "canvas": st.fixed_dictionaries({"w": st.integers(8, MAX_CANVAS_SIDE), "h": st.integers(8, 64)}),
        "caption": st.just(""),
        "render_text": st.text(TEXT_CHARACTERS, min_size=1, max_size=280),
    }
)


@settings(max_examples=120, deadline=None)
@given(data=plans, moments=st.lists(st.floats(0, 12_000, allow_nan=False), max_size=6))
def test_an_accepted_plan_renders_and_its_duration_bounds_the_animation(
    data: dict[str, Any], moments: list[float]
) -> None:
    try:
        plan = CanvasPlan.model_validate(data)
    except ValidationError as error:
        # the generator keeps every field in range; only the whole-plan coverage limit can be crossed
        if "could paint up to" not in str(error):
            raise
        reject()
    timeline = build_timeline(plan)
    final = final_frame(plan)

    assert timeline.duration_ms <= max_timeline_ms(plan)
    assert sum(len(reveal.pixels) for reveal in timeline.reveals) <= coverage_bound(plan)
    assert all(reveal.end_ms <= timeline.duration_ms for reveal in timeline.reveals)
    assert render_frame(timeline, timeline.duration_ms) == final
    assert render_frame(timeline, timeline.duration_ms + 1_000) == final
    animator = Animator(timeline)
    for t_ms in sorted(moments):
        assert animator.advance_to(t_ms) == render_frame(timeline, t_ms)
    assert animator.advance_to(timeline.duration_ms) == final


@settings(max_examples=40, deadline=None)
@given(data=cards)
def test_an_accepted_text_card_renders_at_once(data: dict[str, Any]) -> None:
    plan = CanvasPlan.model_validate(data)
    timeline = build_timeline(plan)

    assert timeline.duration_ms == 0
    assert render_frame(timeline, 0) == final_frame(plan)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.sampled_from(["#-1F", "#1_2", "# 12345", "#+12345", "#fff", "fill", "group", "rect", "1.0"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.data())
def test_a_mangled_reference_plan_is_rejected_or_rendered_never_crashes(
    choice: st.DataObject, reference_plan_json: dict[str, Any]
) -> None:
    data = copy.deepcopy(reference_plan_json)
    target = choice.draw(st.sampled_from(_paths(data)[1:]))
    parent = data
    for key in target[:-1]:
        parent = parent[key]
    parent[target[-1]] = choice.draw(json_values)

    try:
        plan = CanvasPlan.model_validate(data)
    except ValidationError:
        return
    final_frame(plan)
