"""The Canvas-DSL contract: Draw Stream's plans validate unchanged, and each limit says clearly what broke."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from pydantic import ValidationError

from ovation_contracts.canvas import (
    MAX_CANVAS_SIDE,
    MAX_COORDINATE,
    MAX_COVERAGE,
    MAX_DELAY_MS,
    MAX_GROUP_DEPTH,
    MAX_LINE_WIDTH,
    MAX_PALETTE_COLOURS,
    MAX_PIXELS_POINTS,
    MAX_PLAN_DURATION_MS,
    MAX_POLYGON_POINTS,
    MAX_RADIUS,
    MAX_SHAPE_SIDE,
    MAX_STEP_DURATION_MS,
    MAX_STEPS,
    MAX_TEXT_LENGTH,
    MAX_TOTAL_POINTS,
    MIN_CANVAS_SIDE,
    MIN_COORDINATE,
    TEXT_CHARACTERS,
    Animation,
    AnimationMode,
    CanvasPlan,
    CanvasSpec,
    Ease,
    GroupStep,
    RectStep,
    canvas_plan_json_schema,
    inherit_animation,
    max_timeline_ms,
)
from painter import font

RECT: dict[str, Any] = {"op": "rect", "x": 1, "y": 1, "w": 4, "h": 4, "fill": "#fff"}


def plan_with(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    plan: dict[str, Any] = {"version": "1.0", "canvas": {"w": 16, "h": 16}, "caption": "All for you"}
    plan["steps"] = list(steps) or [RECT]
    plan.update(fields)
    return plan


def nested(depth: int) -> dict[str, Any]:
    step: dict[str, Any] = RECT
    for _ in range(depth):
        step = {"op": "group", "steps": [step]}
    return step


def rejection(data: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        CanvasPlan.model_validate(data)
    return str(caught.value)


def test_reference_plan_validates_unchanged(reference_plan_json: dict[str, Any]) -> None:
    plan = CanvasPlan.model_validate(reference_plan_json)

    assert plan.model_dump(mode="json", exclude_none=True) == reference_plan_json


def test_committed_reference_plan_is_the_shared_one() -> None:
    tests = Path(__file__).resolve().parent
    shared = tests.parents[2].parent / "shared" / "data" / "drawstream_aurora_cabin_plan.json"
    if not shared.exists():
        pytest.skip("no shared/ beside the repository")
    assert (tests / "data" / shared.name).read_bytes() == shared.read_bytes()


def test_the_json_schema_for_the_llm_accepts_the_reference_plan(reference_plan_json: dict[str, Any]) -> None:
    jsonschema.validate(reference_plan_json, canvas_plan_json_schema())


def test_the_json_schema_for_the_llm_rejects_a_bad_colour(reference_plan_json: dict[str, Any]) -> None:
    broken = copy.deepcopy(reference_plan_json)
    broken["canvas"]["bg"] = "#-1F"

    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        jsonschema.validate(broken, canvas_plan_json_schema())


def test_the_json_schema_states_the_timeline_rule() -> None:
    schema = canvas_plan_json_schema()

    assert "shared timeline" in schema["description"]
    assert "delay_ms" in json.dumps(schema["$defs"]["Animation"])


@pytest.mark.parametrize(
    "colour",
    [
        "#-1F",
        "#1_2",
        "# 12345",
        "#+12345",
        "red",
        "fff",
        "#ffff",
        "#12345g",
        "#fff\n",
        "",
        "#",
        "#\uff26\uff26\uff26",
    ],
)
def test_bad_colours_are_rejected_by_name(colour: str) -> None:
    message = rejection(plan_with({**RECT, "fill": colour}))

    assert "colour must be '#rgb' or '#rrggbb'" in message
    assert repr(colour) in message


@pytest.mark.parametrize("colour", ["#fff", "#FFF", "#0b0D26", "#A5F5F4"])
def test_good_colours_are_accepted(colour: str) -> None:
    CanvasPlan.model_validate(plan_with({**RECT, "fill": colour}, canvas={"w": 16, "h": 16, "bg": colour}))


LIMITS: list[tuple[str, dict[str, Any], str]] = [
    ("canvas too small", plan_with(canvas={"w": MIN_CANVAS_SIDE - 1, "h": 16}), "greater than or equal to 8"),
    ("canvas too large", plan_with(canvas={"w": 16, "h": MAX_CANVAS_SIDE + 1}), "less than or equal to 256"),
    ("x beyond the range", plan_with({**RECT, "x": MAX_COORDINATE + 1}), "less than or equal to 512"),
    ("y before the range", plan_with({**RECT, "y": MIN_COORDINATE - 1}), "greater than or equal to -256"),
    ("empty rect", plan_with({**RECT, "w": 0}), "greater than or equal to 1"),
    ("huge rect", plan_with({**RECT, "h": MAX_SHAPE_SIDE + 1}), "less than or equal to 768"),
    (
        "shape without colour",
        plan_with({"op": "rect", "x": 0, "y": 0, "w": 2, "h": 2}),
        "needs a fill colour",
    ),
    (
        "circle of radius 0",
        plan_with({"op": "circle", "cx": 4, "cy": 4, "r": 0, "fill": "#fff"}),
        "greater than or equal to 1",
    ),
    (
        "huge circle",
        plan_with({"op": "circle", "cx": 4, "cy": 4, "r": MAX_RADIUS + 1, "fill": "#fff"}),
        "less than or equal to 256",
    ),
    (
        "line too wide",
        plan_with(
            {"op": "line", "x1": 0, "y1": 0, "x2": 5, "y2": 5, "width": MAX_LINE_WIDTH + 1, "color": "#fff"}
        ),
        "less than or equal to 16",
    ),
    (
        "line without colour",
        plan_with({"op": "line", "x1": 0, "y1": 0, "x2": 5, "y2": 5}),
        "color\n  Field required",
    ),
    (
        "polygon of two points",
        plan_with({"op": "polygon", "points": [[0, 0], [4, 4]], "fill": "#fff"}),
        "at least 3 items",
    ),
    (
        "polygon of too many points",
        plan_with({"op": "polygon", "points": [[i % 16, i // 16] for i in range(257)], "fill": "#fff"}),
        f"at most {MAX_POLYGON_POINTS} items",
    ),
    ("pixels without points", plan_with({"op": "pixels", "points": [], "color": "#fff"}), "at least 1 item"),
    (
        "pixels with too many points",
        plan_with({"op": "pixels", "points": [[1, 1]] * (MAX_PIXELS_POINTS + 1), "color": "#fff"}),
        f"at most {MAX_PIXELS_POINTS} items",
    ),
    (
        "too many points in all",
        plan_with(*[{"op": "pixels", "points": [[1, 1]] * 7_000, "color": "#fff"}] * 3),
        f"the plan has 21000 polygon and pixels points; at most {MAX_TOTAL_POINTS}",
    ),
    (
        "shapes covering too much",
        plan_with(*[{**RECT, "x": 0, "y": 0, "w": 16, "h": 16}] * (MAX_COVERAGE + 1)),
        f"could paint up to 4352 pixels (each step's visible bounding box, added up); at most {MAX_COVERAGE}",
    ),
    (
        "too many steps",
        plan_with(*[RECT] * (MAX_STEPS + 1)),
        "the plan has 501 steps, counting those inside groups",
    ),
    (
        "too many steps inside groups",
        plan_with(*[{"op": "group", "steps": [RECT] * 100}] * 5),
        "the plan has 505 steps",
    ),
    ("groups nested too deep", plan_with(nested(MAX_GROUP_DEPTH + 1)), "groups are nested 5 deep; at most 4"),
    ("empty group", plan_with({"op": "group", "steps": []}), "at least 1 item"),
    (
        "text too long",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "x" * (MAX_TEXT_LENGTH + 1)}),
        f"at most {MAX_TEXT_LENGTH} characters",
    ),
    (
        "text the font cannot draw",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "hi 🙂 ¥"}),
        "text has characters the pixel font cannot draw: '¥', '🙂'",
    ),
    (
        "text with a line break",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "a\nb"}),
        "cannot draw: '\\n'",
    ),
    (
        "text too small",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "a", "size": 3}),
        "greater than or equal",
    ),
    (
        "text too big",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "a", "size": 65}),
        "less than or equal to 64",
    ),
    (
        "unknown font",
        plan_with({"op": "text", "x": 0, "y": 0, "value": "a", "font": "Comic Sans"}),
        "Input should be 'pixel' or 'monospace'",
    ),
    ("caption too long", plan_with(caption="x" * 81), "at most 80 characters"),
    ("palette too long", plan_with(palette=["#fff"] * (MAX_PALETTE_COLOURS + 1)), "at most 32 items"),
    ("unknown version", plan_with(version="2.0"), "Input should be '1.0'"),
    ("unknown field", plan_with(fps=60), "Extra inputs are not permitted"),
    ("unknown op", plan_with({"op": "ellipse", "x": 0}), "does not match any of the expected tags"),
    (
        "steps and a text card",
        plan_with(render_text="hello"),
        "either non-empty steps or a non-empty render_text",
    ),
    ("neither steps nor card", plan_with(steps=[]), "either non-empty steps or a non-empty render_text"),
    ("card too long", plan_with(steps=None, render_text="x" * 281), "at most 280 characters"),
    ("hold too long", plan_with(duration_sec=601), "less than or equal to 600"),
    (
        "duration too long",
        plan_with({**RECT, "animate": {"mode": "fill", "duration_ms": MAX_STEP_DURATION_MS + 1}}),
        "less than or equal to 30000",
    ),
    (
        "duration of 0",
        plan_with({**RECT, "animate": {"mode": "fill", "duration_ms": 0}}),
        "greater than or equal to 1",
    ),
    (
        "negative delay",
        plan_with({**RECT, "animate": {"mode": "fill", "delay_ms": -1}}),
        "greater than or equal to 0",
    ),
    (
        "delay too long",
        plan_with({**RECT, "animate": {"mode": "fill", "delay_ms": MAX_DELAY_MS + 1}}),
        "less than or equal to 60000",
    ),
    (
        "speed too slow",
        plan_with({**RECT, "animate": {"mode": "fill", "speed_px_per_s": 0.5}}),
        "greater than or equal to 1",
    ),
    (
        "duration and speed",
        plan_with({**RECT, "animate": {"mode": "fill", "duration_ms": 500, "speed_px_per_s": 10}}),
        "give animate.duration_ms or animate.speed_px_per_s, not both",
    ),
    ("unknown mode", plan_with({**RECT, "animate": {"mode": "fade"}}), "'stroke', 'fill' or 'pixel_reveal'"),
    ("unknown ease", plan_with({**RECT, "animate": {"mode": "fill", "ease": "bounce"}}), "'ease_in_out'"),
    (
        "timeline too long",
        plan_with(
            {
                "op": "group",
                "animate": {"mode": "fill", "delay_ms": MAX_DELAY_MS},
                "steps": [{**RECT, "animate": {"mode": "fill", "delay_ms": MAX_DELAY_MS}}],
            }
        ),
        f"up to 120700 ms on the timeline (delays plus durations); at most {MAX_PLAN_DURATION_MS} ms",
    ),
    ("a number as text", plan_with({**RECT, "x": "5"}), "Input should be a valid integer"),
    ("a float coordinate", plan_with({**RECT, "x": 5.0}), "Input should be a valid integer"),
    ("a boolean coordinate", plan_with({**RECT, "x": True}), "Input should be a valid integer"),
    (
        "a speed as text",
        plan_with({**RECT, "animate": {"mode": "fill", "speed_px_per_s": "20"}}),
        "Input should be a valid number",
    ),
    (
        "an infinite speed",
        plan_with({**RECT, "animate": {"mode": "fill", "speed_px_per_s": float("inf")}}),
        "Input should be a finite number",
    ),
]


@pytest.mark.parametrize(("data", "message"), [case[1:] for case in LIMITS], ids=[case[0] for case in LIMITS])
def test_each_limit_is_rejected_with_a_clear_message(data: dict[str, Any], message: str) -> None:
    assert message in rejection(data)


def test_limits_at_their_edge_are_accepted() -> None:
    CanvasPlan.model_validate(
        plan_with(
            *[RECT] * (MAX_STEPS - MAX_GROUP_DEPTH - 1),
            nested(MAX_GROUP_DEPTH),
            canvas={"w": MAX_CANVAS_SIDE, "h": MIN_CANVAS_SIDE},
            palette=["#fff"] * MAX_PALETTE_COLOURS,
        )
    )
    CanvasPlan.model_validate(
        plan_with(
            {
                "op": "pixels",
                "points": [[MIN_COORDINATE, MAX_COORDINATE]] * MAX_PIXELS_POINTS,
                "color": "#fff",
            },
            {"op": "pixels", "points": [[0, 0]] * (MAX_TOTAL_POINTS - MAX_PIXELS_POINTS), "color": "#fff"},
        )
    )


def test_models_are_frozen(reference_plan: CanvasPlan) -> None:
    with pytest.raises(ValidationError, match="frozen"):
        reference_plan.caption = "changed"  # type: ignore[misc]


def test_every_character_the_contract_allows_has_a_glyph() -> None:
    assert set(TEXT_CHARACTERS) == set(font.CHARACTERS)


def test_a_group_passes_its_animation_to_children_that_set_none() -> None:
    group = Animation(mode=AnimationMode.STROKE, duration_ms=900, delay_ms=50, ease=Ease.EASE_OUT)

    assert inherit_animation(None, group) == Animation(
        mode=AnimationMode.STROKE, duration_ms=900, ease=Ease.EASE_OUT
    )


def test_a_child_keeps_what_it_sets_and_inherits_the_rest() -> None:
    group = Animation(mode=AnimationMode.STROKE, duration_ms=900, ease=Ease.EASE_OUT)
    child = Animation(mode=AnimationMode.PIXEL_REVEAL, speed_px_per_s=40, delay_ms=100)

    assert inherit_animation(child, group) == Animation(
        mode=AnimationMode.PIXEL_REVEAL, speed_px_per_s=40, delay_ms=100, ease=Ease.EASE_OUT
    )


def test_the_timeline_bound_adds_nested_delays_and_takes_the_longest_step() -> None:
    square = RectStep(op="rect", x=0, y=0, w=2, h=2, fill="#fff")
    plan = CanvasPlan(
        version="1.0",
        canvas=CanvasSpec(w=16, h=16),
        caption="",
        steps=(
            square,
            GroupStep(
                op="group",
                animate=Animation(mode=AnimationMode.FILL, delay_ms=1_000, duration_ms=300),
                steps=(
                    square.model_copy(update={"animate": Animation(mode=AnimationMode.FILL, delay_ms=500)}),
                ),
            ),
        ),
    )

    assert max_timeline_ms(plan) == 1_000 + 500 + 300
