"""Rasterisation: the same pixels as Draw Stream's ``pygame.draw`` calls, plus the order along each shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ovation_contracts.canvas import (
    MAX_COORDINATE,
    MAX_LINE_WIDTH,
    MAX_RADIUS,
    MAX_SHAPE_SIDE,
    MIN_COORDINATE,
    CanvasPlan,
    CircleStep,
    LeafStep,
    LineStep,
    PixelsStep,
    PolygonStep,
    RectStep,
    TextStep,
    text_scale,
)
from painter.raster import RGB, Pixel, parse_colour, rasterise, rasterise_card
from painter.render import final_frame

PygameDraw = Callable[[LeafStep, int, int], dict[Pixel, RGB]]

# coordinates mostly near a small canvas, sometimes anywhere the contract allows (clipping matters there)
coordinates = st.one_of(
    st.integers(-12, 40), st.integers(-12, 40), st.integers(MIN_COORDINATE, MAX_COORDINATE)
)
colours = st.sampled_from(["#ff0000", "#0f0", None])
points = st.tuples(coordinates, coordinates)


@st.composite
def fill_and_outline(draw: st.DrawFn) -> dict[str, Any]:
    fill, outline = draw(colours), draw(st.sampled_from(["#00f", "#ffff00", None]))
    return {"fill": fill or ("#ff0000" if outline is None else None), "outline": outline}


sides = st.one_of(st.integers(1, 8), st.integers(1, MAX_SHAPE_SIDE))
radii = st.one_of(st.integers(1, 8), st.integers(1, MAX_RADIUS))
leaf_steps: st.SearchStrategy[LeafStep] = st.one_of(
    st.builds(
        lambda x, y, w, h, colours: RectStep(op="rect", x=x, y=y, w=w, h=h, **colours),
        coordinates, coordinates, sides, sides, fill_and_outline(),
    ),
    st.builds(
        lambda cx, cy, r, colours: CircleStep(op="circle", cx=cx, cy=cy, r=r, **colours),
        coordinates, coordinates, radii, fill_and_outline(),
    ),
    st.builds(
        lambda a, b, w: LineStep(op="line", x1=a[0], y1=a[1], x2=b[0], y2=b[1], width=w, color="#abc"),
        points, points, st.one_of(st.just(1), st.integers(1, MAX_LINE_WIDTH)),
    ),
    st.builds(
        lambda corners, colours: PolygonStep(op="polygon", points=corners, **colours),
        st.lists(points, min_size=3, max_size=9).map(tuple), fill_and_outline(),
    ),
    st.builds(
        lambda listed: PixelsStep(op="pixels", points=listed, color="#123456"),
        st.lists(points, min_size=1, max_size=30).map(tuple),
    ),
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(step=leaf_steps, width=st.integers(8, 40), height=st.integers(8, 40))
def test_every_shape_paints_exactly_what_pygame_draw_paints(
    step: LeafStep, width: int, height: int, pygame_draw: PygameDraw
) -> None:
    assert rasterise(step, width, height).colours == pygame_draw(step, width, height)


@settings(max_examples=200, deadline=None)
@given(step=leaf_steps, width=st.integers(8, 40), height=st.integers(8, 40))
def test_the_path_lists_painted_pixels_once_each(step: LeafStep, width: int, height: int) -> None:
    rasterised = rasterise(step, width, height)

    assert len(set(rasterised.path)) == len(rasterised.path)
    assert set(rasterised.path) <= set(rasterised.colours)
    assert all(0 <= x < width and 0 <= y < height for x, y in rasterised.colours)


def test_the_reference_plan_is_drawn_as_draw_stream_drew_it(
    reference_plan: CanvasPlan, drawstream: Callable[[CanvasPlan], Any]
) -> None:
    assert final_frame(reference_plan) == drawstream(reference_plan)


def test_hex_colours_expand_short_forms() -> None:
    assert parse_colour("#0B0D26") == (11, 13, 38)
    assert parse_colour("#fA0") == (255, 170, 0)


def test_an_outline_is_painted_over_its_own_fill() -> None:
    rect = RectStep(op="rect", x=1, y=1, w=4, h=3, fill="#f00", outline="#00f")

    colours = rasterise(rect, 8, 8).colours

    assert colours[(1, 1)] == colours[(4, 3)] == (0, 0, 255)
    assert colours[(2, 2)] == colours[(3, 2)] == (255, 0, 0)
    assert len(colours) == 12


def test_a_rect_is_traced_clockwise_from_its_top_left_corner() -> None:
    rect = RectStep(op="rect", x=2, y=2, w=3, h=3, outline="#fff")

    assert rasterise(rect, 8, 8).path == ((2, 2), (3, 2), (4, 2), (4, 3), (4, 4), (3, 4), (2, 4), (2, 3))


def test_an_outline_mostly_off_the_canvas_becomes_a_filled_rect_as_in_pygame() -> None:
    rect = RectStep(op="rect", x=-10, y=2, w=12, h=5, outline="#fff")

    assert set(rasterise(rect, 8, 8).colours) == {(x, y) for x in (0, 1) for y in range(2, 7)}


def test_a_circle_is_2r_pixels_across_and_traced_clockwise_from_the_top() -> None:
    circle = CircleStep(op="circle", cx=16, cy=16, r=6, outline="#fff")

    rasterised = rasterise(circle, 32, 32)
    xs = [x for x, _ in rasterised.colours]
    ys = [y for _, y in rasterised.colours]

    assert (min(xs), max(xs), min(ys), max(ys)) == (10, 21, 10, 21)
    first, quarter = rasterised.path[0], rasterised.path[len(rasterised.path) // 4]
    assert first[1] == 10  # the top row
    assert first[0] >= 16  # right of the centre line
    assert quarter[0] == 21  # a quarter of the way round: the right-hand side


def test_a_one_pixel_outline_of_radius_one_is_a_small_disc_as_in_pygame() -> None:
    circle = CircleStep(op="circle", cx=3, cy=3, r=1, outline="#fff")

    assert set(rasterise(circle, 8, 8).colours) == {(2, 2), (3, 2), (2, 3), (3, 3)}


def test_a_line_runs_from_its_first_end() -> None:
    line = LineStep(op="line", x1=7, y1=1, x2=1, y2=4, color="#fff")

    path = rasterise(line, 8, 8).path

    assert path[0] == (7, 1)
    assert path[-1] == (1, 4)
    assert [x for x, _ in path] == sorted((x for x, _ in path), reverse=True)


def test_a_thick_line_grows_across_its_direction() -> None:
    line = LineStep(op="line", x1=1, y1=4, x2=6, y2=4, width=3, color="#fff")

    assert set(rasterise(line, 8, 8).colours) == {(x, y) for x in range(1, 7) for y in (3, 4, 5)}


def test_a_polygon_is_traced_edge_by_edge_in_the_order_of_its_points() -> None:
    triangle = PolygonStep(op="polygon", points=((1, 1), (6, 1), (1, 6)), outline="#fff")

    path = rasterise(triangle, 8, 8).path

    assert path[:6] == tuple((x, 1) for x in range(1, 7))
    assert path[-1] == (1, 2)


def test_points_keep_their_order_and_drop_repeats_and_those_off_the_canvas() -> None:
    pixels = PixelsStep(op="pixels", points=((5, 5), (-1, 2), (1, 1), (5, 5), (9, 0), (2, 7)), color="#fff")

    assert rasterise(pixels, 8, 8).path == ((5, 5), (1, 1), (2, 7))


def test_text_is_drawn_in_the_pixel_font_column_by_column() -> None:
    text = TextStep(op="text", x=1, y=2, value="HI", size=8)

    rasterised = rasterise(text, 16, 12)

    assert (1, 2) in rasterised.colours  # the H's top-left
    assert (5, 8) in rasterised.colours  # the H's bottom-right
    assert {x for x, _ in rasterised.colours} == {
        1,
        2,
        3,
        4,
        5,
        8,
        9,
        10,
    }  # the I has no ink in its first column
    assert rasterised.path == tuple(sorted(rasterised.path))
    assert rasterised.colours[(1, 2)] == (255, 255, 255)


@pytest.mark.parametrize(("size", "scale"), [(4, 1), (8, 1), (11, 1), (12, 2), (16, 2), (20, 3), (64, 8)])
def test_text_size_picks_a_whole_pixel_scale(size: int, scale: int) -> None:
    assert text_scale(size) == scale


def test_russian_lowercase_is_drawn_as_small_capitals() -> None:
    lower = rasterise(TextStep(op="text", x=0, y=0, value="ж"), 8, 8).colours
    upper = rasterise(TextStep(op="text", x=0, y=0, value="Ж"), 8, 8).colours

    assert lower
    assert lower == upper


def test_a_card_fits_its_text_as_large_as_it_can_centred() -> None:
    card = rasterise_card("You are too small", 96, 96)

    xs = [x for x, _ in card.colours]
    ys = [y for _, y in card.colours]
    assert abs((min(xs) + max(xs)) - 95) <= 2  # centred within a pixel either way
    assert abs((min(ys) + max(ys)) - 95) <= 8
    assert max(xs) - min(xs) > 48  # larger than the 1x font would be


def test_a_card_too_long_for_the_canvas_is_cut_with_an_ellipsis() -> None:
    # 32 x 16 holds one line of four characters at 1x
    assert rasterise_card("word " * 60, 32, 16) == rasterise_card("w...", 32, 16)


def test_a_card_too_narrow_for_a_larger_scale_uses_1x() -> None:
    plain = rasterise(TextStep(op="text", x=0, y=0, value="Hi"), 16, 16)

    assert len(rasterise_card("Hi", 16, 16).colours) == len(plain.colours)


def test_a_blank_card_draws_nothing_and_does_not_fail() -> None:
    assert rasterise_card("   ", 8, 8).colours == {}
