"""The painter's heads-up display: where everything goes (``layout``, pure) and how it looks (``Hud``, pygame).

Draw Stream's HUD drew its status chip under its info panel and its badge over its title at 1920x1080
(PREDECESSORS.md 3.4). Here every element is a rectangle computed up front, the elements never overlap (the
tests check every size the painter supports), and each text is fitted into its own rectangle: its font is
chosen by the rectangle's height and it is cut with "..." at the rectangle's width, so no text can spill over
its neighbour.

Layout, top to bottom: a header (title, status chip, FPS), then the canvas on the left and, on the right, the
"now painting" panel (donor and amount, the moderated message, a progress bar, the hold timer) above the queue
panel (the next five), then the caption in the footer.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, TypeVar

from ovation_contracts import PainterPhase

from .board import Request, StageView

if TYPE_CHECKING:
    import pygame

K = TypeVar("K")
V = TypeVar("V")

Fits = Callable[[str], bool]
"""Whether a line of text fits where it goes."""

QUEUE_ROWS = 5
MIN_WIDTH = 640
MIN_HEIGHT = 360
MAX_TEXT = 300


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in window pixels: ``x``, ``y`` of the top-left corner, ``w`` wide and ``h`` tall."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.right and other.x < self.right and self.y < other.bottom and other.y < self.bottom
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def inset(self, by: int) -> Box:
        return Box(self.x + by, self.y + by, max(0, self.w - 2 * by), max(0, self.h - 2 * by))

    def rows(self, heights: list[int], gap: int = 0) -> list[Box]:
        """Boxes stacked from the top, full width, with ``gap`` between them."""
        boxes, y = [], self.y
        for height in heights:
            boxes.append(Box(self.x, y, self.w, height))
            y += height + gap
        return boxes

    def as_tuple(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h


@dataclass(frozen=True, slots=True)
class HudLayout:
    """Every rectangle of the HUD for one window size. Panels hold elements; elements never overlap."""

    width: int
    height: int
    scale: int
    """Window pixels per canvas pixel."""
    # panels
    header: Box
    frame: Box
    """The canvas with its border."""
    now_panel: Box
    queue_panel: Box
    footer: Box
    # elements
    title: Box
    status: Box
    fps: Box
    canvas: Box
    now_label: Box
    donor: Box
    message: Box
    progress: Box
    timer: Box
    queue_title: Box
    queue_count: Box
    queue_rows: tuple[Box, ...]
    caption: Box

    def panels(self) -> dict[str, Box]:
        return {
            "header": self.header,
            "frame": self.frame,
            "now_panel": self.now_panel,
            "queue_panel": self.queue_panel,
            "footer": self.footer,
        }

    def elements(self) -> dict[str, Box]:
        """Every element that draws something, by name (queue rows as ``queue_row_1`` ...)."""
        found: dict[str, Box] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, Box) and item.name not in self.panels():
                found[item.name] = value
        for index, row in enumerate(self.queue_rows, start=1):
            found[f"queue_row_{index}"] = row
        return found


def layout(
    width: int, height: int, art_width: int = 96, art_height: int = 96, max_scale: int = 8
) -> HudLayout:
    """Place the HUD in a ``width`` x ``height`` window for a canvas of ``art_width`` x ``art_height``.

    The canvas gets the largest whole scale up to ``max_scale`` that leaves the right-hand column at least
    30% of the width; raises ``ValueError`` for a window smaller than ``MIN_WIDTH`` x ``MIN_HEIGHT``.
    """
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        raise ValueError(
            f"the painter window must be at least {MIN_WIDTH}x{MIN_HEIGHT}, got {width}x{height}: "
            "raise PAINTER_WINDOW_WIDTH / PAINTER_WINDOW_HEIGHT"
        )
    pad = max(12, round(min(width, height) * 0.03))
    gap = max(8, pad // 2)
    header_h = max(36, round(height * 0.065))
    footer_h = max(28, round(height * 0.05))
    header = Box(pad, pad, width - 2 * pad, header_h)
    footer = Box(pad, height - pad - footer_h, width - 2 * pad, footer_h)
    middle_top, middle_bottom = header.bottom + gap, footer.y - gap
    middle_h = middle_bottom - middle_top

    border = max(3, pad // 6)
    column_min = max(260, round(width * 0.3))
    scale = min(
        max_scale,
        (middle_h - 2 * border) // art_height,
        (width - 2 * pad - gap - column_min - 2 * border) // art_width,
    )
    scale = max(1, scale)
    frame_w, frame_h = art_width * scale + 2 * border, art_height * scale + 2 * border
    frame = Box(pad, middle_top + max(0, (middle_h - frame_h) // 2), frame_w, frame_h)
    canvas = frame.inset(border)

    column_x = frame.right + pad
    column = Box(column_x, middle_top, width - pad - column_x, middle_h)
    now_h = round(middle_h * 0.5) - gap // 2
    now_panel = Box(column.x, column.y, column.w, now_h)
    queue_panel = Box(column.x, now_panel.bottom + gap, column.w, middle_bottom - now_panel.bottom - gap)

    inner = max(8, pad // 2)
    text_unit = max(14, height // 40)
    now_inner = now_panel.inset(inner)
    label_h, donor_h, timer_h = round(text_unit * 1.0), round(text_unit * 1.5), round(text_unit * 1.0)
    progress_h = max(10, round(height * 0.022))
    small_gap = max(4, inner // 2)
    message_h = now_inner.h - label_h - donor_h - progress_h - timer_h - 4 * small_gap
    now_label, donor, message, progress, timer = now_inner.rows(
        [label_h, donor_h, message_h, progress_h, timer_h], small_gap
    )

    header_inner = header.inset(max(6, inner // 2))
    fps_w = max(90, round(header_inner.w * 0.1))
    title_w = round((header_inner.w - fps_w) * 0.45)
    title = Box(header_inner.x, header_inner.y, title_w, header_inner.h)
    status = Box(
        title.right + gap,
        header_inner.y,
        header_inner.right - fps_w - gap - title.right - gap,
        header_inner.h,
    )
    fps = Box(header_inner.right - fps_w, header_inner.y, fps_w, header_inner.h)

    queue_inner = queue_panel.inset(inner)
    queue_head_h = round(text_unit * 1.3)
    count_w = round(queue_inner.w * 0.4)
    queue_title = Box(queue_inner.x, queue_inner.y, queue_inner.w - count_w - gap, queue_head_h)
    queue_count = Box(queue_inner.right - count_w, queue_inner.y, count_w, queue_head_h)
    rows_top = queue_title.bottom + small_gap
    row_gap = max(2, small_gap // 2)
    row_h = (queue_inner.bottom - rows_top - row_gap * (QUEUE_ROWS - 1)) // QUEUE_ROWS
    queue_rows = tuple(
        Box(queue_inner.x, rows_top + i * (row_h + row_gap), queue_inner.w, row_h) for i in range(QUEUE_ROWS)
    )

    return HudLayout(
        width=width,
        height=height,
        scale=scale,
        header=header,
        frame=frame,
        now_panel=now_panel,
        queue_panel=queue_panel,
        footer=footer,
        title=title,
        status=status,
        fps=fps,
        canvas=canvas,
        now_label=now_label,
        donor=donor,
        message=message,
        progress=progress,
        timer=timer,
        queue_title=queue_title,
        queue_count=queue_count,
        queue_rows=queue_rows,
        caption=footer.inset(max(4, inner // 2)),
    )


@functools.lru_cache(maxsize=1024)
def clean(text: str) -> str:
    """Donor text made safe to draw on one line: no control characters or line breaks, bounded."""
    visible = "".join(" " if unicodedata.category(c).startswith(("C", "Z")) else c for c in text)
    return " ".join(visible.split())[:MAX_TEXT]


def wrap(text: str, fits: Fits, lines: int) -> list[str]:
    """Greedy word wrap of ``text`` into at most ``lines`` lines, each passing ``fits(line)``; the last one
    ends with "..." when text was left over. A word wider than a line is cut by characters."""
    result: list[str] = []
    words = text.split()
    while words and len(result) < lines:
        line = ""
        while words:
            candidate = f"{line} {words[0]}" if line else words[0]
            if fits(candidate):
                line = candidate
                words.pop(0)
            elif not line:
                cut = _longest_prefix(words[0], fits)
                line, words[0] = words[0][:cut], words[0][cut:]
                break
            else:
                break
        result.append(line)
    if words and result:
        result[-1] = ellipsize(result[-1] + " " + " ".join(words), fits)
    return result


def ellipsize(text: str, fits: Fits) -> str:
    """``text`` itself when it fits, else its longest prefix that fits with "..." after it."""
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + "..."):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "..." if low else ""


def _longest_prefix(word: str, fits: Fits) -> int:
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(word[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


# drawing ----------------------------------------------------------------------------------------------------------

FOREGROUND = (241, 245, 255)
SECONDARY = (146, 164, 255)
ACCENT = (109, 124, 255)
ACCENT_BRIGHT = (88, 233, 255)
WARNING = (255, 111, 145)
PANEL = (20, 25, 47, 225)
TRACK = (36, 44, 84)
BACKDROP_TOP = (7, 10, 30)
BACKDROP_BOTTOM = (16, 26, 63)
IDLE_CANVAS = (32, 32, 32)


class Fonts:
    """pygame's bundled font (the same on every machine) at the largest size whose line fits a height."""

    def __init__(self) -> None:
        import pygame

        pygame.font.init()
        self._by_height: dict[tuple[int, bool], pygame.font.Font] = {}
        self._rendered: OrderedDict[tuple[str, int, bool, tuple[int, ...]], pygame.Surface] = OrderedDict()

    def for_height(self, height: int, bold: bool = False) -> pygame.font.Font:
        import pygame

        key = (height, bold)
        if key not in self._by_height:
            size = max(6, height)
            font = pygame.font.Font(None, size)
            while size > 6 and font.get_linesize() > height:
                size -= 1
                font = pygame.font.Font(None, size)
            font.set_bold(bold)
            self._by_height[key] = font
        return self._by_height[key]

    def render(self, text: str, height: int, colour: tuple[int, ...], bold: bool = False) -> pygame.Surface:
        """``text`` rendered antialiased, cached (HUD texts change rarely, frames come 60 times a second)."""
        key = (text, height, bold, colour)
        surface = self._rendered.get(key)
        if surface is None:
            surface = self.for_height(height, bold).render(text, True, colour)
            self._rendered[key] = surface
            if len(self._rendered) > 512:
                self._rendered.popitem(last=False)
        else:
            self._rendered.move_to_end(key)
        return surface


class Hud:
    """Draws the HUD of one ``HudLayout`` around a canvas surface."""

    def __init__(self, hud_layout: HudLayout, fonts: Fonts | None = None) -> None:
        self.layout = hud_layout
        self.fonts = fonts or Fonts()
        self._chrome: pygame.Surface | None = None
        self._last_surface: pygame.Surface | None = None
        self._elements = list(hud_layout.elements().values())
        self._fitted: OrderedDict[tuple[str, int, int, bool], str] = OrderedDict()
        self._wrapped: OrderedDict[tuple[str, int, int], list[str]] = OrderedDict()

    def draw(
        self,
        surface: pygame.Surface,
        view: StageView,
        canvas: pygame.Surface | None,
        *,
        progress: float,
        hold_seconds_left: float | None,
        fps: float,
    ) -> list[pygame.Rect] | None:
        """One frame: the static chrome, the canvas (or an empty one), and every text of ``view``.

        Drawing again on the same surface only repaints the elements (nothing is ever drawn outside them, the
        tests check it); returns the rectangles repainted, or None when the whole surface was.
        """
        import pygame

        box = self.layout
        chrome = self._static_chrome()
        dirty: list[pygame.Rect] | None = None
        if surface is self._last_surface:
            dirty = [pygame.Rect(element.as_tuple()) for element in self._elements]
            for rect in dirty:
                surface.blit(chrome, rect.topleft, area=rect)
        else:
            surface.blit(chrome, (0, 0))
            self._last_surface = surface
        if canvas is not None:
            surface.blit(canvas, (box.canvas.x, box.canvas.y))
        else:
            surface.fill(IDLE_CANVAS, pygame.Rect(box.canvas.as_tuple()))

        self._text(surface, view.title, box.title, FOREGROUND, bold=True)
        self._chip(surface, clean(view.status), box.status, WARNING if view.paused else ACCENT)
        self._text(surface, f"{fps:4.0f} FPS", box.fps, SECONDARY, align="right")

        self._text(surface, "NOW PAINTING", box.now_label, SECONDARY, bold=True)
        if view.now is not None:
            self._text(
                surface, clean(f"{view.now.donor} — {view.now.amount}"), box.donor, FOREGROUND, bold=True
            )
            if view.now.message:
                self._paragraph(surface, clean(view.now.message), box.message, FOREGROUND)
            else:
                self._text(
                    surface, "Thank you for your support!", box.message.rows([box.donor.h])[0], SECONDARY
                )
        else:
            self._text(surface, "Nobody yet", box.donor, SECONDARY)
            self._text(
                surface, "Send a donation with your idea!", box.message.rows([box.donor.h])[0], SECONDARY
            )
        self._progress(surface, progress if view.now is not None else 0.0)
        self._text(surface, self._timer_text(view, progress, hold_seconds_left), box.timer, SECONDARY)

        self._text(surface, "UP NEXT", box.queue_title, SECONDARY, bold=True)
        self._text(surface, f"{view.waiting} waiting", box.queue_count, SECONDARY, align="right")
        for index, row in enumerate(box.queue_rows):
            if index < len(view.upcoming):
                self._queue_row(surface, index + 1, view.upcoming[index], row)
            elif index == 0:
                self._text(surface, "No requests waiting", row.rows([row.h // 2])[0], SECONDARY)
        self._text(surface, clean(view.caption), box.caption, FOREGROUND, align="center", bold=True)
        return dirty

    # pieces ---------------------------------------------------------------------------------------------------

    @staticmethod
    def _timer_text(view: StageView, progress: float, hold_seconds_left: float | None) -> str:
        if view.phase is PainterPhase.PLANNING:
            return "Planning the picture..."
        if view.phase is PainterPhase.DRAWING:
            return f"Drawing... {math.floor(progress * 100)}%"
        if view.phase is PainterPhase.HOLDING and hold_seconds_left is not None:
            return f"On screen for {math.ceil(hold_seconds_left)} s more"
        return ""

    def _static_chrome(self) -> pygame.Surface:
        """The backdrop, the panels and the canvas frame: drawn once per layout."""
        import pygame

        if self._chrome is not None:
            return self._chrome
        box = self.layout
        chrome = pygame.Surface((box.width, box.height))
        for y in range(box.height):
            t = y / max(1, box.height - 1)
            colour = tuple(round(a + (b - a) * t) for a, b in zip(BACKDROP_TOP, BACKDROP_BOTTOM, strict=True))
            chrome.fill(colour, pygame.Rect(0, y, box.width, 1))
        panels = pygame.Surface((box.width, box.height), pygame.SRCALPHA)
        radius = max(6, box.header.h // 5)
        for panel in (box.header, box.now_panel, box.queue_panel, box.footer):
            pygame.draw.rect(panels, PANEL, pygame.Rect(panel.as_tuple()), border_radius=radius)
        chrome.blit(panels, (0, 0))
        pygame.draw.rect(chrome, ACCENT, pygame.Rect(box.frame.as_tuple()), border_radius=max(2, radius // 2))
        pygame.draw.rect(
            chrome, TRACK, pygame.Rect(box.progress.as_tuple()), border_radius=box.progress.h // 2
        )
        self._chrome = chrome.convert() if pygame.display.get_surface() is not None else chrome
        return self._chrome

    def _text(
        self,
        surface: pygame.Surface,
        text: str,
        box: Box,
        colour: tuple[int, ...],
        *,
        bold: bool = False,
        align: str = "left",
    ) -> None:
        if not text or box.w <= 0 or box.h <= 0:
            return
        key = (text, box.w, box.h, bold)
        fitted = self._fitted.get(key)
        if fitted is None:
            font = self.fonts.for_height(box.h, bold)
            fitted = ellipsize(text, lambda candidate: font.size(candidate)[0] <= box.w)
            _remember(self._fitted, key, fitted)
        if not fitted:
            return
        rendered = self.fonts.render(fitted, box.h, colour, bold)
        x = box.x
        if align == "right":
            x = box.right - rendered.get_width()
        elif align == "center":
            x = box.x + (box.w - rendered.get_width()) // 2
        y = box.y + (box.h - rendered.get_height()) // 2
        surface.blit(rendered, (x, y), area=(0, 0, box.w, box.h))

    def _paragraph(self, surface: pygame.Surface, text: str, box: Box, colour: tuple[int, ...]) -> None:
        line_h = max(12, self.layout.donor.h * 3 // 4)
        lines_fit = max(1, box.h // line_h)
        font = self.fonts.for_height(line_h)
        for index, line in enumerate(
            wrap(text, lambda candidate: font.size(candidate)[0] <= box.w, lines_fit)
        ):
            self._text(surface, line, Box(box.x, box.y + index * line_h, box.w, line_h), colour)

    def _chip(self, surface: pygame.Surface, text: str, box: Box, colour: tuple[int, ...]) -> None:
        import pygame

        text_h = max(10, box.h * 3 // 5)
        font = self.fonts.for_height(text_h, True)
        padding = text_h // 2
        fitted = ellipsize(text, lambda candidate: font.size(candidate)[0] <= box.w - 2 * padding)
        if not fitted:
            return
        chip_w = min(box.w, font.size(fitted)[0] + 2 * padding)
        chip_h = min(box.h, text_h + padding // 2)
        chip = Box(box.x + (box.w - chip_w) // 2, box.y + (box.h - chip_h) // 2, chip_w, chip_h)
        pygame.draw.rect(surface, colour, pygame.Rect(chip.as_tuple()), border_radius=chip.h // 2)
        inside = Box(chip.x + padding, chip.y + (chip.h - text_h) // 2, chip.w - 2 * padding, text_h)
        self._text(surface, fitted, inside, FOREGROUND, bold=True, align="center")

    def _progress(self, surface: pygame.Surface, progress: float) -> None:
        import pygame

        bar = self.layout.progress
        filled = round(bar.w * max(0.0, min(1.0, progress)))
        if filled > 0:
            pygame.draw.rect(
                surface, ACCENT_BRIGHT, pygame.Rect(bar.x, bar.y, filled, bar.h), border_radius=bar.h // 2
            )

    def _queue_row(self, surface: pygame.Surface, number: int, request: Request, row: Box) -> None:
        top_h = row.h * 11 // 20
        top, bottom = row.rows([top_h, row.h - top_h])
        badge_w = min(top_h, row.w // 8)
        self._text(surface, f"{number}.", Box(top.x, top.y, badge_w, top.h), ACCENT_BRIGHT, bold=True)
        self._text(
            surface,
            clean(f"{request.donor} — {request.amount}"),
            Box(top.x + badge_w, top.y, top.w - badge_w, top.h),
            FOREGROUND,
            bold=True,
        )
        if request.message:
            self._text(
                surface,
                clean(request.message),
                Box(bottom.x + badge_w, bottom.y, bottom.w - badge_w, bottom.h),
                SECONDARY,
            )


def _remember(cache: OrderedDict[K, V], key: K, value: V, size: int = 512) -> None:
    cache[key] = value
    if len(cache) > size:
        cache.popitem(last=False)
