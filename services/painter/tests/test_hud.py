"""The HUD: a layout whose elements never overlap at the sizes OBS uses, and a window that draws it (a
screenshot under SDL's dummy driver, compared with a golden image and checked region by region)."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovation_contracts import PainterPhase
from painter.board import Board, Request, Showing, StageView, monotonic
from painter.hud import MIN_HEIGHT, MIN_WIDTH, Box, HudLayout, clean, ellipsize, layout, wrap
from painter.planner import OfflinePlanner, card_plan
from painter.render import final_frame
from painter.timeline import build_timeline
from painter.window import PainterWindow, StageRenderer, WindowOptions

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN = os.environ.get("UPDATE_GOLDEN") == "1"

PANEL_OF = {
    "title": "header",
    "status": "header",
    "fps": "header",
    "canvas": "frame",
    "now_label": "now_panel",
    "donor": "now_panel",
    "message": "now_panel",
    "progress": "now_panel",
    "timer": "now_panel",
    "queue_title": "queue_panel",
    "queue_count": "queue_panel",
    "caption": "footer",
}


def check_layout(hud: HudLayout) -> None:
    window = Box(0, 0, hud.width, hud.height)
    panels, elements = hud.panels(), hud.elements()
    for (name_a, a), (name_b, b) in itertools.combinations(panels.items(), 2):
        assert not a.overlaps(b), f"panels {name_a} {a} and {name_b} {b} overlap"
    for (name_a, a), (name_b, b) in itertools.combinations(elements.items(), 2):
        assert not a.overlaps(b), f"{name_a} {a} and {name_b} {b} overlap"
    for name, element in elements.items():
        panel = PANEL_OF.get(name, "queue_panel")
        assert panels[panel].contains(element), f"{name} {element} sticks out of {panel} {panels[panel]}"
        assert element.w > 0 and element.h >= 10, f"{name} is too small to read: {element}"
    for name, panel in panels.items():
        assert window.contains(panel), f"{name} {panel} is outside the {hud.width}x{hud.height} window"
    assert hud.canvas.w == 96 * hud.scale and hud.canvas.h == 96 * hud.scale
    assert len(hud.queue_rows) == 5 and all(row.h >= 2 * 10 for row in hud.queue_rows)
    assert hud.message.h >= 3 * 12, "the message box holds at least three lines"


@pytest.mark.parametrize(("width", "height", "scale"), [(1920, 1080, 8), (1280, 720, 5), (2560, 1440, 8)])
def test_nothing_overlaps_at_the_sizes_obs_captures(width: int, height: int, scale: int) -> None:
    hud = layout(width, height)
    check_layout(hud)
    assert hud.scale == scale


@settings(max_examples=150, deadline=None)
@given(
    width=st.integers(MIN_WIDTH, 3840),
    height=st.integers(MIN_HEIGHT, 2160),
    art=st.sampled_from([64, 96, 128]),
)
def test_nothing_overlaps_at_any_supported_size(width: int, height: int, art: int) -> None:
    hud = layout(width, height, art, art)
    window = Box(0, 0, width, height)
    for (name_a, a), (name_b, b) in itertools.combinations(hud.elements().items(), 2):
        assert not a.overlaps(b), f"{name_a} {a} and {name_b} {b} overlap at {width}x{height}"
    assert all(window.contains(box) for box in hud.panels().values())
    assert hud.canvas.w == art * hud.scale


def test_a_window_too_small_for_the_hud_is_refused_with_the_setting_to_change() -> None:
    with pytest.raises(ValueError, match="PAINTER_WINDOW_WIDTH"):
        layout(320, 240)


def test_texts_are_cut_to_their_box_and_cleaned() -> None:
    def fits(text: str) -> bool:
        return len(text) <= 10

    assert ellipsize("short", fits) == "short"
    assert ellipsize("a much longer line", fits) == "a much..."
    assert wrap("one two three four five six", fits, 2) == ["one two", "three f..."]
    assert wrap("abcdefghijklmnopqrstuvwxyz", fits, 3) == ["abcdefghij", "klmnopqrst", "uvwxyz"]
    assert clean("line\nbreak\u200b and\x00 tab\t") == "line break and tab"


# the window ------------------------------------------------------------------------------------------------------

WIDTH, HEIGHT = 1280, 720


def stage_view(now: float) -> StageView:
    plan = OfflinePlanner().plan("a cat in space", seed=3)
    timeline = build_timeline(plan)
    upcoming = (
        Request("j2", "Anna", "300 RUB", "a red heart"),
        Request(
            "j3", "Bob", "5 USD", "draw a rocket to the moon please, with flames and stars all around it"
        ),
        Request("j4", "Катя", "1000 RUB", "ёлочка"),
        Request("j5", "Nameless", "1 EUR", None),
        Request("j6", "Eve", "700 RUB", "a very long message " * 10),
    )
    return StageView(
        title="Ovation",
        caption="All for you",
        now=Request("j1", "Ivan", "500 RUB", "Нарисуй котика в космосе, пожалуйста!"),
        phase=PainterPhase.HOLDING,
        # finished long ago, so every frame shows the final picture whatever the clock says
        showing=Showing("j1#1", timeline, started_at=now - 3600, hold_until=now + 3600),
        upcoming=upcoming,
        waiting=9,
    )


def screenshot(board: Board) -> pygame.Surface:
    frames: list[pygame.Surface] = []
    window = PainterWindow(board, WindowOptions(width=WIDTH, height=HEIGHT))
    window.run(threading.Event(), max_frames=2, on_frame=lambda screen: frames.append(screen.copy()))
    assert window.frames == 2
    return frames[-1]


def pixels_of(surface: pygame.Surface) -> bytes:
    return pygame.image.tobytes(surface, "RGB")


def test_the_window_draws_the_hud_around_the_picture() -> None:
    board = Board(stage_view(monotonic()))
    shot = screenshot(board)
    hud = layout(WIDTH, HEIGHT)
    fps = pygame.Rect(hud.fps.as_tuple())
    shot.fill((0, 0, 0), fps)  # the only part that changes from run to run

    golden = GOLDEN / "hud_1280x720.png"
    if UPDATE_GOLDEN:
        pygame.image.save(shot, str(golden))
    expected = pygame.image.load(str(golden))
    assert expected.get_size() == shot.get_size()
    got, want = pixels_of(shot), pixels_of(expected)
    different = sum(1 for a, b in zip(got, want, strict=True) if abs(a - b) > 24) // 1
    assert different <= 0.002 * len(got), f"{different} channel values differ from {golden.name}"

    # the canvas is the final picture, each pixel an exact 5 x 5 block
    picture = final_frame(OfflinePlanner().plan("a cat in space", seed=3))
    for x, y in [(0, 0), (48, 40), (95, 95), (30, 70), (60, 20)]:
        on_screen = shot.get_at((hud.canvas.x + x * hud.scale + 2, hud.canvas.y + y * hud.scale + 2))
        assert tuple(on_screen)[:3] == picture.pixel(x, y)

    # a full progress bar ends in the bright accent, and every text stays inside its own box
    bar = hud.progress
    assert tuple(shot.get_at((bar.right - bar.h, bar.y + bar.h // 2)))[:3] == (88, 233, 255)
    renderer = StageRenderer(Board(), WindowOptions(width=WIDTH, height=HEIGHT))
    chrome = renderer.hud._static_chrome()
    boxes = [pygame.Rect(box.as_tuple()) for box in hud.elements().values()]
    for y in range(0, HEIGHT, 2):
        for x in range(0, WIDTH, 2):
            if shot.get_at((x, y)) != chrome.get_at((x, y)):
                assert any(box.collidepoint(x, y) for box in boxes), (
                    f"something was drawn at ({x}, {y}) outside every box"
                )


def test_a_downgraded_request_shows_the_card_and_no_message() -> None:
    now = monotonic()
    card = build_timeline(card_plan("You are too small"))
    view = StageView(
        now=Request("j1", "Ivan", "100 RUB", None),
        phase=PainterPhase.HOLDING,
        showing=Showing("j1#1", card, started_at=now - 1, hold_until=now + 60),
    )
    surface = pygame.Surface((WIDTH, HEIGHT))
    renderer = StageRenderer(Board(view), WindowOptions(width=WIDTH, height=HEIGHT))
    renderer.render(surface, now)
    hud = renderer.layout
    card_pixels = final_frame(card_plan("You are too small"))
    white = [(x, y) for y in range(96) for x in range(96) if card_pixels.pixel(x, y) == (255, 255, 255)]
    assert white, "the card has white letters"
    for x, y in white[:: max(1, len(white) // 20)]:
        assert tuple(surface.get_at((hud.canvas.x + x * hud.scale, hud.canvas.y + y * hud.scale)))[:3] == (
            255,
            255,
            255,
        )


def test_a_picture_that_cannot_be_drawn_is_reported_and_the_window_keeps_going() -> None:
    now = monotonic()
    reports: list[tuple[str, str]] = []
    board = Board()
    board.on_failure(lambda key, error: reports.append((key, error)))

    class Broken:
        width = height = 96
        background = (0, 0, 0)
        duration_ms = 1000

        @property
        def reveals(self) -> tuple[object, ...]:
            raise RuntimeError("this timeline is broken")

    board.publish(StageView(phase=PainterPhase.DRAWING, showing=Showing("bad#1", Broken(), started_at=now)))  # type: ignore[arg-type]
    renderer = StageRenderer(board, WindowOptions(width=WIDTH, height=HEIGHT))
    surface = pygame.Surface((WIDTH, HEIGHT))
    for frame in range(3):
        renderer.render(surface, now + frame / 60)
    assert reports == [("bad#1", "RuntimeError: this timeline is broken")]
    assert tuple(surface.get_at((renderer.layout.canvas.x + 5, renderer.layout.canvas.y + 5)))[:3] == (
        32,
        32,
        32,
    )
