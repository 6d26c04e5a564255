"""Hard-edged rasterisation of Canvas-DSL steps onto Draw Stream's pixel grid.

Draw Stream drew each step with ``pygame.draw`` (pygame 2.6) onto a canvas-sized surface: rect and polygon
outlines 1 px wide, circles with ``pygame.draw.circle``, lines with ``pygame.draw.line``, points with
``set_at``. The functions here repeat those algorithms in plain Python, quirks included (clipping that rounds
a line's end points, a circle that is ``2 * r`` pixels across, a rect outline that becomes a filled rect when
less than three pixels of it are on the canvas), so a plan's final picture is the one Draw Stream showed,
pixel for pixel; the tests hold them to ``pygame.draw`` itself. Unlike ``pygame.draw`` they also say in which
order the pixels lie along the shape, which is what a stroke animation reveals.

Text is the exception: Draw Stream used an antialiased system font; here it is the pixel font of ``font.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

from ovation_contracts.canvas import (
    CircleStep,
    LeafStep,
    LineStep,
    PixelsStep,
    PolygonStep,
    RectStep,
    TextStep,
    text_scale,
)

from . import font

RGB = tuple[int, int, int]
Pixel = tuple[int, int]


def parse_colour(colour: str) -> RGB:
    """The RGB of a validated ``#rgb`` or ``#rrggbb`` colour; ``#rgb`` doubles each digit."""
    digits = colour[1:]
    if len(digits) == 3:
        digits = "".join(digit * 2 for digit in digits)
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


@dataclass(frozen=True, slots=True)
class RasterisedStep:
    """What one step paints on the canvas.

    ``colours`` holds every canvas pixel the step paints with its final colour (an outline over its own fill).
    ``path`` lists those of them that lie along the shape, in drawing order: a line from its first end, a
    polygon edge by edge, a rect clockwise from its top-left corner, a circle clockwise from the top, text
    column by column, points in list order. Each pixel appears in ``path`` at most once.
    """

    colours: dict[Pixel, RGB]
    path: tuple[Pixel, ...]


def rasterise(step: LeafStep, width: int, height: int) -> RasterisedStep:
    """Rasterise one validated step on a ``width`` x ``height`` canvas, clipped to it."""
    grid = _Grid(width, height)
    colours: dict[Pixel, RGB] = {}
    path: list[Pixel]
    if isinstance(step, RectStep):
        _paint(colours, step.fill, grid.rect_fill(step.x, step.y, step.w, step.h))
        _paint(colours, step.outline, grid.rect_outline(step.x, step.y, step.w, step.h))
        path = list(grid.rect_perimeter(step.x, step.y, step.w, step.h))
    elif isinstance(step, CircleStep):
        _paint(colours, step.fill, grid.circle_fill(step.cx, step.cy, step.r))
        _paint(colours, step.outline, grid.circle_outline(step.cx, step.cy, step.r))
        path = _clockwise_from_top(grid.circle_thin(step.cx, step.cy, step.r), step.cx, step.cy)
    elif isinstance(step, LineStep):
        path = grid.line(step.x1, step.y1, step.x2, step.y2, step.width)
        _paint(colours, step.color, path)
    elif isinstance(step, PolygonStep):
        _paint(colours, step.fill, grid.polygon_fill(step.points))
        outline = grid.polygon_outline(step.points)
        _paint(colours, step.outline, outline)
        path = outline
    elif isinstance(step, PixelsStep):
        path = [point for point in step.points if grid.contains(*point)]
        _paint(colours, step.color, path)
    else:
        path = _writing_order(grid.text(step))
        _paint(colours, step.color, path)
    return RasterisedStep(colours=colours, path=tuple(_unique(pixel for pixel in path if pixel in colours)))


CARD_TEXT_COLOUR = "#FFFFFF"
_CARD_MARGIN = 2
_CARD_SCALES = (3, 2, 1)
_ELLIPSIS = "..."


def rasterise_card(text: str, width: int, height: int) -> RasterisedStep:
    """A text card: ``text`` word-wrapped in white pixel letters, centred, as large as fits (up to 3x).

    Text that does not fit even at 1x is cut after the last line that fits and ends with "...".
    """
    scale, lines = _card_layout(text, width - 2 * _CARD_MARGIN, height - 2 * _CARD_MARGIN)
    block_height = len(lines) * font.CELL_HEIGHT * scale - scale
    top = (height - block_height) // 2
    grid = _Grid(width, height)
    pixels: list[Pixel] = []
    for row, line in enumerate(lines):
        left = (width - font.text_width(line, scale)) // 2
        pixels += grid.clipped(font.glyph_pixels(line, left, top + row * font.CELL_HEIGHT * scale, scale))
    colours: dict[Pixel, RGB] = {}
    _paint(colours, CARD_TEXT_COLOUR, pixels)
    return RasterisedStep(colours=colours, path=tuple(_writing_order(pixels)))


def _card_layout(text: str, width: int, height: int) -> tuple[int, list[str]]:
    for scale in _CARD_SCALES:
        columns, rows = _card_capacity(width, height, scale)
        lines = _wrap(text, columns)
        if columns > 0 and len(lines) <= rows:
            return scale, lines
    columns, rows = _card_capacity(width, height, 1)
    lines = _wrap(text, columns)[:rows]
    if not lines or columns < len(_ELLIPSIS):
        return 1, lines
    lines[-1] = lines[-1][: columns - len(_ELLIPSIS)].rstrip() + _ELLIPSIS
    return 1, lines


def _card_capacity(width: int, height: int, scale: int) -> tuple[int, int]:
    """How many characters fit on a line and how many lines fit, at ``scale``."""
    # the last glyph and the last line need no gap after them
    return (width + scale) // (font.CELL_WIDTH * scale), (height + scale) // (font.CELL_HEIGHT * scale)


def _wrap(text: str, columns: int) -> list[str]:
    """Greedy word wrap to ``columns`` characters; a word longer than a line is cut into pieces."""
    if columns <= 0:
        return []
    lines: list[str] = []
    line = ""
    for whole_word in text.split():
        word = whole_word
        while len(word) > columns:
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:columns])
            word = word[columns:]
        if not line:
            line = word
        elif len(line) + 1 + len(word) <= columns:
            line = f"{line} {word}"
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _paint(colours: dict[Pixel, RGB], colour: str | None, pixels: Iterable[Pixel]) -> None:
    if colour is None:
        return
    rgb = parse_colour(colour)
    for pixel in pixels:
        colours[pixel] = rgb


def _unique(pixels: Iterable[Pixel]) -> Iterator[Pixel]:
    seen: set[Pixel] = set()
    for pixel in pixels:
        if pixel not in seen:
            seen.add(pixel)
            yield pixel


def _clockwise_from_top(pixels: Iterable[Pixel], cx: int, cy: int) -> list[Pixel]:
    def angle(pixel: Pixel) -> tuple[int, Fraction]:
        # offsets of the pixel's centre from the circle's centre (cx, cy is a pixel corner), doubled: never 0
        dx, dy = 2 * (pixel[0] - cx) + 1, 2 * (pixel[1] - cy) + 1
        return (0 if dx > 0 else 1), Fraction(dy, dx)

    return sorted(set(pixels), key=angle)


def _writing_order(pixels: Iterable[Pixel]) -> list[Pixel]:
    return sorted(set(pixels))


def _c_div(numerator: int, denominator: int) -> int:
    """Integer division truncated towards zero, as C does it."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def _c_round(value: float) -> int:
    """pygame's rounding of a clipped end point: half away from zero, then truncated."""
    return int(value - 0.5) if value < 0 else int(value + 0.5)


def _sign(value: int, otherwise: int) -> int:
    return 1 if value > 0 else -1 if value < 0 else otherwise


@dataclass(slots=True)
class _Walk:
    """Bresenham's walk from (x, y) as pygame's ``draw_line_width`` does it."""

    x: int
    y: int
    dx: int
    dy: int
    sx: int
    sy: int
    err: int

    @classmethod
    def between(cls, x1: int, y1: int, x2: int, y2: int) -> _Walk:
        dx, dy = abs(x2 - x1), abs(y2 - y1)
        return cls(
            x1, y1, dx, dy, 1 if x1 < x2 else -1, 1 if y1 < y2 else -1, _c_div(dx if dx > dy else -dy, 2)
        )

    def step(self) -> tuple[int, int]:
        """Move one pixel on; how far x and y moved (each -1, 0 or 1)."""
        before, moved_x, moved_y = self.err, 0, 0
        if before > -self.dx:
            self.err -= self.dy
            self.x += self.sx
            moved_x = self.sx
        if before < self.dy:
            self.err += self.dx
            self.y += self.sy
            moved_y = self.sy
        return moved_x, moved_y


class _Grid:
    """pygame 2.6's drawing algorithms on a surface whose clip rect is the whole canvas."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height

    def contains(self, x: int, y: int) -> bool:
        return 0 <= x < self.width and 0 <= y < self.height

    def clipped(self, pixels: Iterable[Pixel]) -> list[Pixel]:
        return [pixel for pixel in pixels if self.contains(*pixel)]

    def _span(self, x1: int, y: int, x2: int) -> list[Pixel]:
        """A horizontal run between x1 and x2 inclusive, clipped (``drawhorzlineclip``)."""
        if not 0 <= y < self.height:
            return []
        left, right = max(min(x1, x2), 0), min(max(x1, x2), self.width - 1)
        return [(x, y) for x in range(left, right + 1)]

    # rect: SDL_FillRect on the clipped rect, or pygame's draw_rect for a 1 px outline

    def _clip_rect(self, x: int, y: int, w: int, h: int) -> tuple[int, int, int, int] | None:
        left, top = max(x, 0), max(y, 0)
        right, bottom = min(x + w, self.width), min(y + h, self.height)
        if right <= left or bottom <= top:
            return None
        return left, top, right - left, bottom - top

    def rect_fill(self, x: int, y: int, w: int, h: int) -> list[Pixel]:
        clipped = self._clip_rect(x, y, w, h)
        if clipped is None:
            return []
        left, top, w, h = clipped
        return [(column, row) for row in range(top, top + h) for column in range(left, left + w)]

    def rect_outline(self, x: int, y: int, w: int, h: int) -> list[Pixel]:
        clipped = self._clip_rect(x, y, w, h)
        if clipped is None:
            return []
        # pygame fills the clipped rect instead when the outline would not leave a hole in what is visible
        if clipped[2] <= 2 or clipped[3] <= 2:
            return self.rect_fill(x, y, w, h)
        right, bottom = x + w - 1, y + h - 1
        pixels = self._span(x, y, right) + self._span(x, bottom, right)
        for row in range(y + 1, bottom):
            pixels += self._span(x, row, x) + self._span(right, row, right)
        return pixels

    def rect_perimeter(self, x: int, y: int, w: int, h: int) -> Iterator[Pixel]:
        right, bottom = x + w - 1, y + h - 1
        yield from ((column, y) for column in range(x, right + 1))
        yield from ((right, row) for row in range(y + 1, bottom + 1))
        yield from ((column, bottom) for column in range(right - 1, x - 1, -1))
        yield from ((x, row) for row in range(bottom - 1, y, -1))

    # circle: midpoint circles 2r pixels across (draw_circle_filled, draw_circle_bresenham_thin)

    def _circle_visible(self, cx: int, cy: int, r: int) -> bool:
        return -r <= cx <= self.width + r and -r <= cy <= self.height + r

    def circle_fill(self, cx: int, cy: int, r: int) -> list[Pixel]:
        if not self._circle_visible(cx, cy, r):
            return []
        pixels: list[Pixel] = []
        f, ddf_x, ddf_y, x, y = 1 - r, 0, -2 * r, 0, r
        while x < y:
            if f >= 0:
                y -= 1
                ddf_y += 2
                f += ddf_y
            x += 1
            ddf_x += 2
            f += ddf_x + 1
            if f >= 0:
                pixels += self._span(cx - x, cy + y - 1, cx + x - 1)
                pixels += self._span(cx - x, cy - y, cx + x - 1)
            pixels += self._span(cx - y, cy + x - 1, cx + y - 1)
            pixels += self._span(cx - y, cy - x, cx + y - 1)
        return pixels

    def circle_thin(self, cx: int, cy: int, r: int) -> list[Pixel]:
        if not self._circle_visible(cx, cy, r):
            return []
        pixels: list[Pixel] = []
        f, ddf_x, ddf_y, x, y = 1 - r, 0, -2 * r, 0, r
        while x < y:
            if f >= 0:
                y -= 1
                ddf_y += 2
                f += ddf_y
            x += 1
            ddf_x += 2
            f += ddf_x + 1
            pixels += [
                (cx + x - 1, cy + y - 1),
                (cx - x, cy + y - 1),
                (cx + x - 1, cy - y),
                (cx - x, cy - y),
                (cx + y - 1, cy + x - 1),
                (cx + y - 1, cy - x),
                (cx - y, cy + x - 1),
                (cx - y, cy - x),
            ]
        return self.clipped(pixels)

    def circle_outline(self, cx: int, cy: int, r: int) -> list[Pixel]:
        # pygame caps the width at the radius and fills when they are equal: a 1 px outline of r = 1 is a disc
        return self.circle_fill(cx, cy, r) if r == 1 else self.circle_thin(cx, cy, r)

    # lines: Liang-Barsky clipping with rounding, then Bresenham (clip_line, draw_line, draw_line_width)

    def _clip_line(self, x1: int, y1: int, x2: int, y2: int) -> tuple[int, int, int, int] | None:
        p1 = x1 - x2
        p2 = -p1
        p3 = y1 - y2
        p4 = -p3
        q1 = x1
        q2 = self.width - x1
        q3 = y1
        q4 = self.height - y1
        if (p1 == 0 and q1 < 0) or (p2 == 0 and q2 < 0) or (p3 == 0 and q3 < 0) or (p4 == 0 and q4 < 0):
            return None
        nmax, pmin = 0.0, 1.0
        if p1:
            r1, r2 = q1 / p1, q2 / p2
            if p1 < 0:
                nmax, pmin = max(nmax, r1), min(pmin, r2)
            else:
                nmax, pmin = max(nmax, r2), min(pmin, r1)
        if p3:
            r1, r2 = q3 / p3, q4 / p4
            if p3 < 0:
                nmax, pmin = max(nmax, r1), min(pmin, r2)
            else:
                nmax, pmin = max(nmax, r2), min(pmin, r1)
        if nmax > pmin:
            return None
        return (
            x1 + _c_round(p2 * nmax),
            y1 + _c_round(p4 * nmax),
            x1 + _c_round(p2 * pmin),
            y1 + _c_round(p4 * pmin),
        )

    @staticmethod
    def _bresenham(x1: int, y1: int, x2: int, y2: int) -> list[Pixel]:
        if y1 == y2:
            step = 1 if x1 < x2 else -1
            return [(x1 + step * offset, y1) for offset in range(abs(x1 - x2) + 1)]
        if x1 == x2:
            step = 1 if y1 < y2 else -1
            return [(x1, y1 + step * offset) for offset in range(abs(y1 - y2) + 1)]
        walk = _Walk.between(x1, y1, x2, y2)
        pixels: list[Pixel] = []
        while walk.x != x2 or walk.y != y2:
            pixels.append((walk.x, walk.y))
            walk.step()
        pixels.append((x2, y2))
        return pixels

    def line(self, x1: int, y1: int, x2: int, y2: int, width: int) -> list[Pixel]:
        """``pygame.draw.line``: pixels in order from (x1, y1), each cross-section top-down or left-right."""
        end_x, end_y = x2, y2
        grows_in_x = abs(x1 - x2) <= abs(y1 - y2)
        # the error term starts from the unclipped line, as in pygame
        walk = _Walk.between(x1, y1, x2, y2)
        clipped = self._clip_line(x1, y1, x2, y2)
        if clipped is None:
            return []
        walk.x, walk.y, x2, y2 = clipped
        if width == 1:
            return self.clipped(self._bresenham(walk.x, walk.y, x2, y2))
        centre = walk.x if grows_in_x else walk.y
        low, high = centre - (width - 1) // 2, centre + width // 2

        def cross_section() -> list[Pixel]:
            if grows_in_x:
                return self._span(low, walk.y, high)
            return self.clipped((walk.x, row) for row in range(low, high + 1))

        def advance() -> None:
            nonlocal low, high
            moved_x, moved_y = walk.step()
            shift = moved_x if grows_in_x else moved_y
            low, high = low + shift, high + shift

        def visible() -> bool:
            if grows_in_x:
                return walk.y != end_y and (self.contains(low, walk.y) or self.contains(high, walk.y))
            return walk.x != end_x and (self.contains(walk.x, low) or self.contains(walk.x, high))

        pixels: list[Pixel] = []
        # pygame stops by itself; the guard only makes sure a mistake here could never hang the renderer
        guard = 4 * (walk.dx + walk.dy + width) + 16
        while guard > 0 and (
            _sign(walk.x - x2, walk.sx) != walk.sx or _sign(walk.y - y2, walk.sy) != walk.sy
        ):
            guard -= 1
            pixels += cross_section()
            advance()
        # then on towards the unclipped end for as long as the thick line still touches the canvas
        while guard > 0 and visible():
            guard -= 1
            pixels += cross_section()
            advance()
        pixels += cross_section()
        return pixels

    # polygon: pygame's scanline fill (draw_fillpoly) and closed 1 px lines

    def polygon_fill(self, points: tuple[tuple[int, int], ...]) -> list[Pixel]:
        xs = [x for x, _ in points]
        ys = [y for _, y in points]
        top, bottom = min(ys), max(ys)
        if top == bottom:
            return self._span(min(xs), top, max(xs))
        pixels: list[Pixel] = []
        count = len(points)
        for row in range(top, bottom + 1):
            crossings: list[int] = []
            for index in range(count):
                previous = index - 1 if index else count - 1
                y1, y2 = ys[previous], ys[index]
                if y1 < y2:
                    x1, x2 = xs[previous], xs[index]
                elif y1 > y2:
                    y1, y2, x1, x2 = ys[index], ys[previous], xs[index], xs[previous]
                else:
                    continue
                if y1 <= row < y2 or (row == bottom and y2 == bottom):
                    # pygame computes this in doubles and truncates towards zero; Python floats are doubles
                    crossings.append(int((row - y1) * (x2 - x1) / (y2 - y1) + x1))
            crossings.sort()
            for pair in range(0, len(crossings) - 1, 2):
                pixels += self._span(crossings[pair], row, crossings[pair + 1])
        # horizontal edges strictly inside the polygon's height that the scan above can miss
        for index in range(count):
            previous = index - 1 if index else count - 1
            if top < ys[index] < bottom and ys[previous] == ys[index]:
                pixels += self._span(xs[index], ys[index], xs[previous])
        return pixels

    def polygon_outline(self, points: tuple[tuple[int, int], ...]) -> list[Pixel]:
        pixels: list[Pixel] = []
        for index in range(1, len(points)):
            pixels += self.line(*points[index - 1], *points[index], 1)
        pixels += self.line(*points[-1], *points[0], 1)
        return pixels

    def text(self, step: TextStep) -> list[Pixel]:
        return self.clipped(font.glyph_pixels(step.value, step.x, step.y, text_scale(step.size)))
