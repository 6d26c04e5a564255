"""Painter test fixtures: no display, the reference plan, golden images, and Draw Stream's own way of drawing.

The reference plan is Draw Stream's ``aurora_cabin_plan.json``. Its shared copy lives in ``../shared/data``
beside the repository; a byte-identical copy is committed in ``tests/data`` so the tests also run in a clone
without ``shared/`` beside it. Tests that need the plan run once per copy that exists, and one test checks
that the two copies have not drifted apart.

Golden PNGs live in ``tests/golden``. To accept new pictures after a deliberate change, run
``UPDATE_GOLDEN=1 uv run pytest services/painter/tests`` and look at every PNG that changed before committing;
it refuses to run under CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame
import pytest

from ovation_contracts.canvas import (
    CanvasPlan,
    CircleStep,
    LeafStep,
    LineStep,
    PixelsStep,
    PolygonStep,
    RectStep,
)
from painter.raster import RGB, Pixel, parse_colour
from painter.render import PixelCanvas, encode_png

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parents[2]
REFERENCE_PLAN = "drawstream_aurora_cabin_plan.json"
COMMITTED_DATA = TESTS / "data"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
GOLDEN = TESTS / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"


@pytest.fixture(params=["committed", "shared"])
def reference_plan_path(request: pytest.FixtureRequest) -> Path:
    """The reference plan: the copy committed with the tests, and the one in ``../shared/data`` if there."""
    folder = COMMITTED_DATA if request.param == "committed" else SHARED_DATA
    path = folder / REFERENCE_PLAN
    if not path.exists():
        pytest.skip(f"{path} is not there (no shared/ beside the repository)")
    return path


@pytest.fixture
def reference_plan_json(reference_plan_path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(reference_plan_path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def reference_plan(reference_plan_path: Path) -> CanvasPlan:
    return CanvasPlan.model_validate_json(reference_plan_path.read_bytes())


def load_png(path: Path) -> PixelCanvas:
    """A PNG read back through pygame (SDL_image), not through our own encoder."""
    surface = pygame.image.load(str(path))
    canvas = PixelCanvas(surface.get_width(), surface.get_height(), (0, 0, 0))
    canvas.rgb[:] = pygame.image.tobytes(surface, "RGB")
    return canvas


def _differences(expected: PixelCanvas, actual: PixelCanvas) -> list[str]:
    found = []
    for y in range(expected.height):
        for x in range(expected.width):
            if expected.pixel(x, y) != actual.pixel(x, y):
                found.append(f"({x}, {y}): golden {expected.pixel(x, y)}, now {actual.pixel(x, y)}")
    return found


@pytest.fixture
def golden(tmp_path: Path) -> Callable[[str, PixelCanvas], None]:
    """Compare a picture with ``golden/<name>.png`` pixel for pixel (or rewrite it under UPDATE_GOLDEN=1)."""

    def check(name: str, actual: PixelCanvas) -> None:
        path = GOLDEN / f"{name}.png"
        if UPDATE_GOLDEN:
            if os.environ.get("CI"):
                pytest.fail("UPDATE_GOLDEN=1 must never be set in CI: goldens are reviewed, not regenerated")
            path.write_bytes(encode_png(actual))
            return
        assert path.exists(), f"no golden image {path.name}; create it with UPDATE_GOLDEN=1 and review it"
        expected = load_png(path)
        assert (expected.width, expected.height) == (actual.width, actual.height), f"{name}: size changed"
        if expected != actual:
            seen = tmp_path / f"{name}.actual.png"
            seen.write_bytes(encode_png(actual, 8))
            differences = _differences(expected, actual)
            shown = "\n  ".join(differences[:10])
            pytest.fail(f"{name}: {len(differences)} pixels differ (now: {seen}):\n  {shown}")

    return check


def draw_like_drawstream(plan: CanvasPlan) -> PixelCanvas:
    """The final picture as Draw Stream's renderer made it: a SRCALPHA layer per step, ``pygame.draw``, blit.

    Written from PREDECESSORS.md section 3.2 and Draw Stream's ``StepPreparer``: groups are flattened, each
    step is drawn on a transparent canvas-sized surface and blitted onto the base in order.
    """
    width, height = plan.canvas.w, plan.canvas.h
    base = pygame.Surface((width, height), pygame.SRCALPHA)
    base.fill(parse_colour(plan.canvas.bg))

    def leaves(steps: Any) -> Any:
        for step in steps:
            if step.op == "group":
                yield from leaves(step.steps)
            else:
                yield step

    for step in leaves(plan.steps or ()):
        layer = pygame.Surface((width, height), pygame.SRCALPHA)
        draw_step_with_pygame(layer, step)
        base.blit(layer, (0, 0))
    canvas = PixelCanvas(width, height, (0, 0, 0))
    canvas.rgb[:] = pygame.image.tobytes(base, "RGB")
    return canvas


def draw_step_with_pygame(surface: pygame.Surface, step: LeafStep) -> None:
    """One step drawn with exactly the ``pygame.draw`` calls Draw Stream made for it."""
    if isinstance(step, RectStep):
        rect = pygame.Rect(step.x, step.y, step.w, step.h)
        if step.fill:
            pygame.draw.rect(surface, parse_colour(step.fill), rect)
        if step.outline:
            pygame.draw.rect(surface, parse_colour(step.outline), rect, width=1)
    elif isinstance(step, CircleStep):
        if step.fill:
            pygame.draw.circle(surface, parse_colour(step.fill), (step.cx, step.cy), step.r)
        if step.outline:
            pygame.draw.circle(surface, parse_colour(step.outline), (step.cx, step.cy), step.r, width=1)
    elif isinstance(step, LineStep):
        pygame.draw.line(
            surface, parse_colour(step.color), (step.x1, step.y1), (step.x2, step.y2), step.width
        )
    elif isinstance(step, PolygonStep):
        if step.fill:
            pygame.draw.polygon(surface, parse_colour(step.fill), step.points)
        if step.outline:
            pygame.draw.polygon(surface, parse_colour(step.outline), step.points, width=1)
    elif isinstance(step, PixelsStep):
        for point in step.points:
            surface.set_at(point, parse_colour(step.color))
    else:
        raise AssertionError(f"Draw Stream drew {step.op} with a system font; there is nothing to compare")


def pygame_pixels(step: LeafStep, width: int, height: int) -> dict[Pixel, RGB]:
    """What ``pygame.draw`` paints for one step: every opaque pixel of its layer, with its colour."""
    layer = pygame.Surface((width, height), pygame.SRCALPHA)
    draw_step_with_pygame(layer, step)
    painted: dict[Pixel, RGB] = {}
    for y in range(height):
        for x in range(width):
            colour = layer.get_at((x, y))
            if colour.a:
                painted[(x, y)] = (colour.r, colour.g, colour.b)
    return painted


@pytest.fixture(scope="session")
def drawstream() -> Callable[[CanvasPlan], PixelCanvas]:
    """``draw_like_drawstream``, for tests."""
    return draw_like_drawstream


@pytest.fixture(scope="session")
def pygame_draw() -> Callable[[LeafStep, int, int], dict[Pixel, RGB]]:
    """``pygame_pixels``, for tests."""
    return pygame_pixels


@pytest.fixture(scope="session")
def png_reader() -> Callable[[Path], PixelCanvas]:
    """``load_png``, for tests."""
    return load_png
