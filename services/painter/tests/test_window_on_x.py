"""The real painter window on a real X server (Xvfb), not SDL's dummy driver: a screenshot of the X display,
taken while a drawing is in progress, shows every HUD element where the layout put it, the canvas pixel for pixel
at its scale, and nothing drawn outside the elements, whose regions never overlap.

Needs ``Xvfb`` (Debian: ``apt-get install xvfb``); the screenshot is taken through Pillow's XCB support. Without
Xvfb the test fails and says what to install: CI installs it, so it must never be skipped there.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pygame
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageGrab

from ovation_contracts import PainterPhase
from painter.board import Board, Request, Showing, StageView, monotonic
from painter.hud import (
    ACCENT,
    ACCENT_BRIGHT,
    FOREGROUND,
    SECONDARY,
    TRACK,
    Box,
    Hud,
    HudLayout,
    layout,
)
from painter.planner import OfflinePlanner
from painter.render import final_frame, render_frame
from painter.timeline import build_timeline
from painter.window import PainterWindow, WindowOptions

SCREEN = (1920, 1080)
PROGRESS = 0.45
PLAN = OfflinePlanner().plan("a cat in space", seed=3)
TIMELINE = build_timeline(PLAN)
RGB = tuple[int, int, int]


@dataclass(frozen=True)
class FrozenShowing(Showing):
    """A drawing stopped at ``at_ms``: every frame the window draws is the same moment of it."""

    at_ms: float = 0.0

    def elapsed_ms(self, now: float) -> float:
        return self.at_ms


@pytest.fixture(scope="module")
def x_display() -> Iterator[str]:
    """A fresh Xvfb on the first free display number, as large as the largest window tested."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.fail("Xvfb is missing: `apt-get install xvfb` (this test runs the real window on an X server)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [
            xvfb,
            "-displayfd",
            str(write_end),
            "-screen",
            "0",
            f"{SCREEN[0]}x{SCREEN[1]}x24",
            "-nolisten",
            "tcp",
        ],
        pass_fds=(write_end,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    os.close(write_end)
    number = b""
    with os.fdopen(read_end, "rb", buffering=0) as announced:
        while not number.endswith(b"\n"):
            chunk = announced.read(16)
            if not chunk:
                _, errors = server.communicate(timeout=10)
                pytest.fail(f"Xvfb did not start: {errors.decode(errors='replace')[-2000:]}")
            number += chunk
    try:
        yield f":{number.decode().strip()}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def drawing_in_progress() -> StageView:
    return StageView(
        title="Ovation",
        caption="All for you",
        now=Request("j1", "Ivan", "500 RUB", "Нарисуй котика в космосе, пожалуйста!"),
        phase=PainterPhase.DRAWING,
        showing=FrozenShowing(
            "j1#1", TIMELINE, started_at=monotonic(), at_ms=TIMELINE.duration_ms * PROGRESS
        ),
        upcoming=(
            Request("j2", "Anna", "300 RUB", "a red heart"),
            Request("j3", "Bob", "5 USD", "a rocket to the moon, with flames and stars all around it"),
            Request("j4", "Катя", "1000 RUB", "ёлочка"),
            Request("j5", "Nameless", "1 EUR", None),
            Request("j6", "Eve", "700 RUB", "a very long message " * 10),
        ),
        waiting=7,
    )


@dataclass
class Shot:
    screen: Image.Image
    """What the X server shows in the window's area."""
    drawn: Image.Image
    """What the window drew into its surface for that frame."""
    chrome: Image.Image
    """The HUD's static backdrop, panels and frame, as the window converted it."""
    frame: int


def to_image(surface: pygame.Surface) -> Image.Image:
    return Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))


def screenshot(display: str, width: int, height: int, monkeypatch: pytest.MonkeyPatch) -> Shot:
    """Open the real window on ``display`` and take the X display's picture right after a frame is shown."""
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    monkeypatch.setenv("DISPLAY", display)
    monkeypatch.setenv("SDL_VIDEO_WINDOW_POS", "0,0")
    options = WindowOptions(width=width, height=height)
    window = PainterWindow(Board(drawing_in_progress()), options)
    stop = threading.Event()
    shots: list[Shot] = []
    mismatches: list[int] = []

    def on_frame(surface: pygame.Surface) -> None:
        if window.frames < 3:  # the window is mapped and has been drawn whole at least once
            return
        screen = ImageGrab.grab(xdisplay=display).crop((0, 0, width, height))
        drawn = to_image(surface)
        if ImageChops.difference(screen, drawn).getbbox() is not None:
            mismatches.append(window.frames)
            if len(mismatches) >= 30:
                stop.set()
            return
        chrome = to_image(Hud(layout(width, height))._static_chrome())
        shots.append(Shot(screen, drawn, chrome, window.frames))
        stop.set()

    window.run(stop, max_frames=60, on_frame=on_frame)
    assert pygame.display.get_init() is False, "the window closed after its run"
    assert shots, f"the X display never showed what the window drew (frames {mismatches} differed)"
    return shots[0]


def near(pixel: RGB, colour: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour[:3], strict=False))


def count_near(image: Image.Image, box: Box, colour: tuple[int, ...]) -> int:
    data = image.crop((box.x, box.y, box.right, box.bottom)).tobytes()
    return sum(1 for pixel in zip(data[0::3], data[1::3], data[2::3], strict=True) if near(pixel, colour))


def check_regions_do_not_overlap(hud: HudLayout) -> None:
    window = Box(0, 0, hud.width, hud.height)
    for group in (hud.panels(), hud.elements()):
        for (name_a, a), (name_b, b) in itertools.combinations(group.items(), 2):
            assert not a.overlaps(b), f"{name_a} {a} and {name_b} {b} overlap at {hud.width}x{hud.height}"
        for name, box in group.items():
            assert window.contains(box) and box.w > 0 and box.h > 0, f"{name} {box} is not in the window"


EXPECTED_INK: dict[str, tuple[tuple[int, ...], ...]] = {
    "title": (FOREGROUND,),
    "status": (ACCENT, FOREGROUND),
    "fps": (SECONDARY,),
    "now_label": (SECONDARY,),
    "donor": (FOREGROUND,),
    "message": (FOREGROUND,),
    "progress": (ACCENT_BRIGHT, TRACK),
    "timer": (SECONDARY,),
    "queue_title": (SECONDARY,),
    "queue_count": (SECONDARY,),
    "caption": (FOREGROUND,),
    **{f"queue_row_{n}": (ACCENT_BRIGHT, FOREGROUND) for n in range(1, 6)},
}
"""The colours each element is drawn in: the screenshot must show them inside the element's region."""


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_a_screenshot_of_the_real_window_shows_each_hud_region_where_the_layout_put_it(
    x_display: str, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    hud = layout(width, height)
    check_regions_do_not_overlap(hud)
    shot = screenshot(x_display, width, height, monkeypatch)
    screen = shot.screen
    elements = hud.elements()
    assert set(EXPECTED_INK) | {"canvas"} == set(elements), "every element of the HUD is checked"

    # the canvas: the drawing at 45%, every canvas pixel an exact block of scale x scale screen pixels
    picture = render_frame(TIMELINE, TIMELINE.duration_ms * PROGRESS)
    assert picture.rgb != final_frame(PLAN).rgb, "the drawing is still in progress"
    canvas = hud.canvas
    expected = Image.frombytes("RGB", (picture.width, picture.height), bytes(picture.rgb)).resize(
        (canvas.w, canvas.h), Image.Resampling.NEAREST
    )
    on_screen = screen.crop((canvas.x, canvas.y, canvas.right, canvas.bottom))
    assert ImageChops.difference(on_screen, expected).getbbox() is None, (
        f"the canvas on screen is not the drawing at {PROGRESS:.0%} scaled {hud.scale}x"
    )

    # every other element shows what it is drawn with, in its own region
    for name, colours in EXPECTED_INK.items():
        box = elements[name]
        for colour in colours:
            assert count_near(screen, box, colour) >= 4, f"{name} {box} shows nothing in {colour}"
    bar = hud.progress
    filled = round(bar.w * PROGRESS)
    middle = bar.y + bar.h // 2
    assert screen.getpixel((bar.x + filled // 2, middle)) == ACCENT_BRIGHT, "the bar is filled to 45%"
    assert screen.getpixel((bar.x + filled + (bar.w - filled) // 2, middle)) == TRACK, "and empty after"

    # outside the elements the screen is the static HUD exactly: nothing spills over a region's edge
    masked_screen, masked_chrome = screen.copy(), shot.chrome.copy()
    for image in (masked_screen, masked_chrome):
        draw = ImageDraw.Draw(image)
        for box in elements.values():
            draw.rectangle((box.x, box.y, box.right - 1, box.bottom - 1), fill=(255, 0, 255))
    spill = ImageChops.difference(masked_screen, masked_chrome).getbbox()
    assert spill is None, f"something was drawn outside every element, within {spill}"
