"""The offline planner: a recognisable drawing for common requests, with no LLM and no network.

It reads the (moderated) request for a subject, a setting and a colour, in English and Russian, and draws the
subject by hand with Canvas-DSL shapes on a background for the setting: "a cat in space", "красная машина
ночью", "write 'GG WP'". Anything it does not recognise becomes a pleasant landscape. The same request with the
same seed always gives the same plan; the seed varies the details (stars, clouds, fur colour).

A drawing is paced on the shared timeline to take a few seconds: the background first, then the subject part
by part, then the finishing touches.
"""

# The word lists are Russian, and several Russian letters look like Latin ones.
# ruff: noqa: RUF001

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from ovation_contracts.canvas import TEXT_CHARACTERS, CanvasPlan

from .sketch import Sketch


class Setting(StrEnum):
    DAY = "day"
    NIGHT = "night"
    SPACE = "space"
    SEA = "sea"
    UNDERWATER = "underwater"
    WINTER = "winter"
    SUNSET = "sunset"


@dataclass(frozen=True, slots=True)
class Words:
    """How a thing is asked for: English words (a plural ``s`` is allowed), Russian forms and stems."""

    english: tuple[str, ...] = ()
    russian: tuple[str, ...] = ()
    """Whole word forms (``кот``, ``кота``): for short stems that would also match unrelated words."""
    stems: tuple[str, ...] = ()
    """Word beginnings (``собак`` matches собака, собаку, собачка...)."""

    def match(self, token: str) -> bool:
        if token in self.english or (token.endswith("s") and token[:-1] in self.english):
            return True
        return token in self.russian or any(token.startswith(stem) for stem in self.stems)


@dataclass(frozen=True, slots=True)
class Look:
    """What the subject is drawn with: a colour the viewer asked for, and a seeded source of variety."""

    rng: random.Random
    colour: str | None
    setting: Setting
    ground: int | None
    """The y (in the 96 design space) where the ground starts, None in space."""


Draw = Callable[[Sketch, Look], None]


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    words: Words
    draw: Draw
    setting: Setting = Setting.DAY


@dataclass(frozen=True, slots=True)
class Request:
    """What the offline planner understood of a request."""

    subject: Subject | None
    setting: Setting | None
    colour: str | None
    text: str | None
    """Words to write, when the viewer asked for text."""


# colours ----------------------------------------------------------------------------------------------------------


def shade(colour: str, amount: float) -> str:
    """``colour`` lighter (amount > 0, towards white) or darker (amount < 0, towards black)."""
    red, green, blue = (int(colour[i : i + 2], 16) for i in (1, 3, 5))

    def channel(value: int) -> int:
        moved = value + (255 - value) * amount if amount > 0 else value * (1 + amount)
        return max(0, min(255, round(moved)))

    return f"#{channel(red):02X}{channel(green):02X}{channel(blue):02X}"


COLOURS: dict[str, Words] = {
    "#E53935": Words(english=("red",), stems=("красн",)),
    "#FB8C00": Words(english=("orange", "ginger"), stems=("оранж", "рыж")),
    "#FDD835": Words(english=("yellow",), stems=("желт",)),
    "#43A047": Words(english=("green",), stems=("зелен", "зелён")),
    "#1E88E5": Words(english=("blue",), stems=("сини", "синя", "синее", "синего", "синем", "голуб")),
    "#8E24AA": Words(english=("purple", "violet"), stems=("фиолет", "пурпур", "сиренев")),
    "#F06292": Words(english=("pink",), stems=("розов",)),
    "#FAFAFA": Words(
        english=("white",), stems=("белый", "белая", "белое", "белые", "белого", "белой", "белень")
    ),
    "#263238": Words(english=("black",), stems=("черн", "чёрн")),
    "#9E9E9E": Words(
        english=("grey", "gray"), stems=("серый", "серая", "серое", "серые", "серого", "серой", "серень")
    ),
    "#8D6E63": Words(english=("brown",), stems=("коричн",)),
    "#FFC107": Words(english=("gold", "golden"), stems=("золот",)),
}

SETTINGS: dict[Setting, Words] = {
    Setting.SPACE: Words(
        english=("space", "cosmos", "galaxy", "universe", "planet", "astronaut"),
        stems=("космос", "космич", "галакт", "вселен", "планет", "космонавт", "астронавт"),
    ),
    Setting.NIGHT: Words(english=("night", "midnight", "nighttime"), stems=("ночь", "ночн", "ночью")),
    Setting.SEA: Words(
        english=("sea", "ocean", "beach", "seaside"), stems=("море", "морск", "океан", "пляж")
    ),
    Setting.UNDERWATER: Words(english=("underwater", "aquarium"), stems=("аквариум", "подвод")),
    Setting.WINTER: Words(english=("winter", "snow", "snowy"), stems=("зим", "снег", "снеж")),
    Setting.SUNSET: Words(
        english=("sunset", "sunrise", "evening", "dusk", "dawn"), stems=("закат", "рассвет", "вечер")
    ),
    Setting.DAY: Words(english=("day", "daytime", "summer", "sunny"), stems=("летн", "лето", "летом")),
}


# backgrounds ------------------------------------------------------------------------------------------------------


def _sky(sketch: Sketch, bands: Iterable[tuple[str, float, float]]) -> None:
    for colour, top, height in bands:
        sketch.rect(0, top, 96, height, colour, duration=450, after=120)


def _hills(sketch: Sketch, far: str, near: str, ground: float) -> None:
    sketch.polygon([(-4, ground + 1), (20, ground - 16), (46, ground + 1)], far, duration=500, after=120)
    sketch.polygon([(36, ground + 1), (70, ground - 20), (100, ground + 1)], far, duration=500, after=120)
    sketch.rect(0, ground, 96, 96 - ground, near, duration=500, after=200)


def _clouds(sketch: Sketch, rng: random.Random, count: int = 2) -> None:
    for index in range(count):
        x = rng.uniform(10, 30) + index * 44
        y = rng.uniform(10, 20)
        sketch.circle(x, y, 5, "#FFFFFF", duration=350, after=60)
        sketch.circle(x + 7, y - 2, 6, "#FFFFFF", duration=350, after=60)
        sketch.circle(x + 14, y, 5, "#FFFFFF", duration=350, after=120)


def _stars(sketch: Sketch, rng: random.Random, count: int, bottom: float, colour: str = "#FFFFFF") -> None:
    points = [(rng.uniform(1, 95), rng.uniform(1, bottom)) for _ in range(count)]
    sketch.pixels(points, colour, duration=900, after=150)


def background(sketch: Sketch, setting: Setting, rng: random.Random) -> int | None:
    """Draw the setting; returns where its ground starts (None in space and under water)."""
    if setting is Setting.NIGHT:
        sketch.background = "#0B1026"
        _sky(sketch, [("#141C3C", 24, 24), ("#1F2C4F", 48, 28)])
        _stars(sketch, rng, 26, 46)
        _hills(sketch, "#1B2A3F", "#16302A", 76)
        return 76
    if setting is Setting.SPACE:
        sketch.background = "#070818"
        sketch.circle(rng.uniform(20, 76), rng.uniform(20, 76), 26, "#120E2E", duration=600, after=150)
        _stars(sketch, rng, 40, 95)
        _stars(sketch, rng, 8, 95, "#FFE082")
        planet_x, planet_y = rng.choice([(14, 16), (82, 14), (80, 82), (14, 80)])
        sketch.circle(planet_x, planet_y, 9, "#7E57C2", "#4527A0", duration=500, after=120)
        sketch.line(
            planet_x - 14, planet_y + 4, planet_x + 14, planet_y - 4, "#FFCC80", duration=300, after=200
        )
        return None
    if setting is Setting.SEA:
        sketch.background = "#8FD3FF"
        _sky(sketch, [("#A8DEFF", 30, 30)])
        _clouds(sketch, rng, 2)
        sketch.rect(0, 58, 96, 22, "#1E88E5", duration=500, after=120)
        waves = [(x + (y % 2) * 3, y) for y in range(61, 78, 4) for x in range(2, 96, 9)]
        sketch.pixels(waves, "#90CAF9", duration=700, after=120)
        sketch.rect(0, 78, 96, 18, "#F4D58D", duration=500, after=200)
        return 80
    if setting is Setting.UNDERWATER:
        sketch.background = "#0D47A1"
        _sky(sketch, [("#1565C0", 0, 30), ("#1976D2", 0, 12)])
        sketch.rect(0, 84, 96, 12, "#E6C88A", duration=500, after=120)
        for x in (10, 22, 78, 88):
            height = rng.uniform(18, 30)
            sketch.line(x, 85, x + rng.choice((-3, 3)), 85 - height, "#2E7D32", 2, duration=600, after=80)
        _stars(sketch, rng, 10, 60, "#64B5F6")
        return 84
    if setting is Setting.WINTER:
        sketch.background = "#B3D9F2"
        _sky(sketch, [("#CFE8F7", 30, 46)])
        _hills(sketch, "#E3EEF5", "#FAFAFA", 76)
        return 76
    if setting is Setting.SUNSET:
        sketch.background = "#FF7E5F"
        _sky(sketch, [("#FD9A6A", 24, 18), ("#FEB47B", 42, 16), ("#FFD194", 58, 18)])
        sketch.circle(72, 62, 10, "#FFF3C4", duration=500, after=120)
        _hills(sketch, "#6B3E5E", "#3E2F5B", 76)
        return 76
    sketch.background = "#8FD3FF"
    _sky(sketch, [("#A8DEFF", 36, 24), ("#C4E9FF", 60, 16)])
    _clouds(sketch, rng, 2)
    _hills(sketch, "#8BC34A", "#5FA83A", 76)
    return 76


# subjects ---------------------------------------------------------------------------------------------------------


def draw_cat(sketch: Sketch, look: Look) -> None:
    fur = look.colour or look.rng.choice(["#F4A340", "#9E9E9E", "#3A3A3A", "#F5F5F5"])
    dark, light = shade(fur, -0.45), shade(fur, 0.35)
    pink = "#F48FB1"
    sketch.line(57, 75, 73, 70, fur, 3, after=60)
    sketch.line(73, 70, 76, 56, fur, 3, after=150)
    sketch.circle(48, 66, 15, fur, dark, mode="stroke", duration=700, after=300)
    sketch.circle(42, 80, 4, light, dark, after=80)
    sketch.circle(55, 80, 4, light, dark, after=200)
    sketch.polygon([(36, 37), (37, 19), (47, 30)], fur, dark, mode="stroke", after=100)
    sketch.polygon([(50, 30), (60, 19), (61, 37)], fur, dark, mode="stroke", after=150)
    sketch.circle(49, 42, 13, fur, dark, mode="stroke", duration=700, after=300)
    sketch.polygon([(38, 32), (38, 24), (44, 30)], pink, after=60)
    sketch.polygon([(53, 30), (59, 24), (59, 32)], pink, after=200)
    sketch.rect(41, 38, 4, 5, "#7CD44C", after=60)
    sketch.rect(52, 38, 4, 5, "#7CD44C", after=60)
    sketch.rect(42, 38, 2, 5, "#111111", after=60)
    sketch.rect(53, 38, 2, 5, "#111111", after=200)
    sketch.polygon([(46, 46), (51, 46), (48, 48)], pink, after=100)
    sketch.pixels([(47, 49), (46, 50), (50, 49), (51, 50)], dark, duration=300, after=150)
    for y1, y2 in ((45, 46), (49, 49)):
        sketch.line(31, y1, 42, y2, "#EEEEEE", after=80)
        sketch.line(55, y2, 66, y1, "#EEEEEE", after=80)


def draw_dog(sketch: Sketch, look: Look) -> None:
    fur = look.colour or look.rng.choice(["#C68642", "#8B5A2B", "#E8C39E"])
    dark, light, ear = shade(fur, -0.45), shade(fur, 0.4), shade(fur, -0.3)
    sketch.line(60, 72, 72, 60, fur, 3, after=150)
    sketch.circle(48, 68, 14, fur, dark, mode="stroke", duration=700, after=300)
    sketch.circle(42, 81, 4, light, dark, after=80)
    sketch.circle(55, 81, 4, light, dark, after=200)
    sketch.circle(49, 42, 13, fur, dark, mode="stroke", duration=700, after=300)
    sketch.polygon([(38, 31), (31, 33), (27, 48), (31, 55), (37, 48)], ear, dark, mode="stroke", after=100)
    sketch.polygon([(60, 31), (67, 33), (71, 48), (67, 55), (61, 48)], ear, dark, mode="stroke", after=200)
    sketch.circle(49, 50, 6, light, after=150)
    sketch.rect(41, 37, 3, 4, "#1A1A1A", after=60)
    sketch.rect(53, 37, 3, 4, "#1A1A1A", after=60)
    sketch.pixels([(41, 37), (53, 37)], "#FFFFFF", duration=200, after=100)
    sketch.polygon([(45, 45), (52, 45), (48, 49)], "#1A1A1A", after=100)
    sketch.line(48, 49, 48, 52, dark, after=80)
    sketch.rect(47, 53, 3, 4, "#E8697D", after=200)
    sketch.rect(38, 55, 21, 3, "#D32F2F", after=100)
    sketch.circle(49, 60, 2, "#FFD54F", after=100)


def draw_house(sketch: Sketch, look: Look) -> None:
    wall = look.colour or look.rng.choice(["#E8C07D", "#C97B5A", "#F2E2C4"])
    dark = shade(wall, -0.5)
    sketch.rect(60, 26, 7, 16, "#8D4B3A", after=150)
    sketch.rect(24, 48, 48, 30, wall, dark, mode="stroke", duration=800, after=350)
    sketch.polygon(
        [(18, 50), (48, 22), (78, 50)], "#A33B2F", "#6D231B", mode="stroke", duration=800, after=350
    )
    sketch.rect(42, 60, 12, 18, "#6D4C41", "#3E2723", after=150)
    sketch.pixels([(51, 69)], "#FFD54F", duration=100, after=100)
    for x in (28, 58):
        sketch.rect(x, 55, 10, 10, "#FFE082", "#5D4037", after=80)
        sketch.line(x + 5, 55, x + 5, 64, "#5D4037", after=40)
        sketch.line(x, 60, x + 9, 60, "#5D4037", after=120)
    sketch.polygon([(44, 78), (52, 78), (58, 96), (38, 96)], "#D7B98E", after=150)
    for index, (x, y, r) in enumerate(((64, 20, 3), (68, 14, 3), (72, 8, 2))):
        sketch.circle(x, y, r, "#ECEFF1", duration=400, after=120 + index * 20)


def draw_heart(sketch: Sketch, look: Look) -> None:
    red = look.colour or "#E53950"
    dark = shade(red, -0.4)
    sketch.circle(37, 40, 13, red, dark, mode="stroke", duration=800, after=300)
    sketch.circle(60, 40, 13, red, dark, mode="stroke", duration=800, after=300)
    sketch.polygon([(25, 45), (71, 45), (48, 72)], red, duration=700, after=300)
    sketch.line(25, 45, 48, 72, dark, after=100)
    sketch.line(71, 45, 48, 72, dark, after=200)
    sketch.circle(33, 36, 3, shade(red, 0.5), after=150)
    sparkles = [(16, 20), (80, 18), (84, 60), (12, 62), (20, 84), (76, 82)]
    sketch.pixels(sparkles, "#FFFFFF", duration=500, after=100)


def draw_sun(sketch: Sketch, look: Look) -> None:
    yellow = look.colour or "#FFD54F"
    for index in range(8):
        angle = index * math.pi / 4
        sketch.line(
            48 + 21 * math.cos(angle),
            42 + 21 * math.sin(angle),
            48 + 31 * math.cos(angle),
            42 + 31 * math.sin(angle),
            "#FFA726",
            3,
            duration=300,
            after=90,
        )
    sketch.circle(48, 42, 17, yellow, "#F9A825", mode="stroke", duration=900, after=350)
    sketch.rect(41, 36, 3, 5, "#5D4037", after=60)
    sketch.rect(53, 36, 3, 5, "#5D4037", after=100)
    smile = [(41, 47), (42, 48), (43, 49), (44, 49), (45, 50), (46, 50), (47, 50), (48, 50), (49, 50)]
    smile += [(50, 50), (51, 49), (52, 49), (53, 48), (54, 47)]
    sketch.pixels(smile, "#5D4037", mode="stroke", duration=500, after=100)
    sketch.circle(39, 45, 2, "#FF8A65", after=50)
    sketch.circle(58, 45, 2, "#FF8A65", after=100)


def draw_tree(sketch: Sketch, look: Look) -> None:
    green = look.colour or "#43A047"
    sketch.rect(44, 50, 9, 30, "#795548", "#4E342E", after=200)
    sketch.line(48, 60, 38, 50, "#795548", 2, after=80)
    sketch.line(49, 56, 59, 47, "#795548", 2, after=150)
    for x, y, r, tone in ((36, 44, 12, -0.15), (61, 44, 12, -0.15), (48, 30, 15, 0.0), (48, 46, 13, 0.1)):
        sketch.circle(x, y, r, shade(green, tone), duration=600, after=200)
    apples = [(look.rng.uniform(30, 66), look.rng.uniform(24, 52)) for _ in range(7)]
    for apple_x, apple_y in apples:
        sketch.circle(apple_x, apple_y, 2, "#E53935", duration=200, after=60)


def draw_fir(sketch: Sketch, look: Look) -> None:
    green = look.colour or "#2E7D32"
    sketch.rect(45, 70, 7, 10, "#6D4C41", after=150)
    for points, tone in (
        ([(24, 72), (48, 46), (72, 72)], -0.1),
        ([(29, 58), (48, 33), (67, 58)], 0.0),
        ([(34, 45), (48, 20), (62, 45)], 0.1),
    ):
        sketch.polygon(points, shade(green, tone), shade(green, -0.4), mode="stroke", duration=700, after=300)
    for index in range(9):
        y = look.rng.uniform(30, 68)
        half = (y - 20) * 0.45
        x = look.rng.uniform(48 - half + 3, 48 + half - 3)
        colour = ("#E53935", "#FDD835", "#42A5F5")[index % 3]
        sketch.circle(x, y, 2, colour, duration=200, after=80)
    sketch.polygon(
        [(48, 11), (50, 16), (55, 16), (51, 19), (53, 24), (48, 21), (43, 24), (45, 19), (41, 16), (46, 16)],
        "#FFD600",
        "#F9A825",
        after=150,
    )


def draw_rocket(sketch: Sketch, look: Look) -> None:
    trim = look.colour or "#E53935"
    sketch.rect(40, 30, 17, 36, "#ECEFF1", "#90A4AE", mode="stroke", duration=800, after=300)
    sketch.polygon([(40, 30), (48, 11), (57, 30)], trim, shade(trim, -0.4), mode="stroke", after=250)
    sketch.circle(49, 42, 5, "#4FC3F7", "#455A64", after=200)
    sketch.polygon([(40, 50), (30, 70), (40, 64)], trim, shade(trim, -0.4), after=100)
    sketch.polygon([(56, 50), (67, 70), (56, 64)], trim, shade(trim, -0.4), after=150)
    sketch.rect(43, 66, 11, 4, "#607D8B", after=150)
    sketch.polygon([(42, 70), (48, 92), (55, 70)], "#FF9800", duration=600, after=150, ease="ease_out")
    sketch.polygon([(45, 70), (48, 83), (52, 70)], "#FFEB3B", duration=500, after=150, ease="ease_out")


def draw_flower(sketch: Sketch, look: Look) -> None:
    petal = look.colour or look.rng.choice(["#F06292", "#E53935", "#AB47BC", "#FFB300"])
    sketch.line(48, 46, 48, 80, "#2E7D32", 2, duration=600, after=200)
    sketch.polygon([(48, 68), (35, 59), (39, 70)], "#43A047", after=100)
    sketch.polygon([(48, 62), (61, 53), (58, 64)], "#43A047", after=200)
    for index in range(6):
        angle = index * math.pi / 3 - math.pi / 2
        sketch.circle(
            48 + 10 * math.cos(angle), 36 + 10 * math.sin(angle), 7, petal, shade(petal, -0.35), after=150
        )
    sketch.circle(48, 36, 6, "#FFD54F", "#F57F17", mode="stroke", after=200)


def draw_star(sketch: Sketch, look: Look) -> None:
    gold = look.colour or "#FFD54F"
    _stars(sketch, look.rng, 12, 95, "#FFF59D")
    points = []
    for index in range(10):
        radius = 30 if index % 2 == 0 else 12
        angle = -math.pi / 2 + index * math.pi / 5
        points.append((48 + radius * math.cos(angle), 48 + radius * math.sin(angle)))
    sketch.polygon(points, gold, shade(gold, -0.4), mode="stroke", duration=1200, after=500)
    sketch.rect(42, 44, 3, 4, "#5D4037", after=60)
    sketch.rect(51, 44, 3, 4, "#5D4037", after=100)
    sketch.pixels([(45, 52), (46, 53), (47, 53), (48, 53), (49, 53), (50, 52)], "#5D4037", after=100)


def draw_moon(sketch: Sketch, look: Look) -> None:
    glow = look.colour or "#FFF59D"
    _stars(sketch, look.rng, 10, 60, "#FFF59D")
    cx, cy, r = sketch.x(46), sketch.y(40), sketch.x(18)
    bite_x, bite_y, bite_r = sketch.x(55), sketch.y(34), sketch.x(16)
    crescent = [
        (x, y)
        for y in range(cy - r, cy + r)
        for x in range(cx - r, cx + r)
        if (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 < r * r
        and (x + 0.5 - bite_x) ** 2 + (y + 0.5 - bite_y) ** 2 >= bite_r * bite_r
    ]
    sketch.canvas_pixels(crescent, glow, duration=1200, after=500)
    sketch.circle(36, 46, 2, shade(glow, -0.2), after=80)
    sketch.circle(40, 54, 2, shade(glow, -0.2), after=80)
    sketch.circle(47, 56, 1, shade(glow, -0.2), after=150)


def draw_fish(sketch: Sketch, look: Look) -> None:
    body = look.colour or "#FF8F00"
    dark = shade(body, -0.45)
    ellipse = [
        (46 + 21 * math.cos(a / 16 * 2 * math.pi), 46 + 12 * math.sin(a / 16 * 2 * math.pi))
        for a in range(16)
    ]
    sketch.polygon([(64, 46), (80, 33), (80, 59)], shade(body, -0.15), dark, mode="stroke", after=150)
    sketch.polygon([(38, 36), (48, 27), (56, 37)], shade(body, -0.15), dark, after=150)
    sketch.polygon(ellipse, body, dark, mode="stroke", duration=900, after=350)
    sketch.line(46, 36, 46, 56, "#FFFFFF", 2, after=80)
    sketch.line(55, 37, 55, 55, "#FFFFFF", 2, after=150)
    sketch.circle(35, 43, 3, "#FFFFFF", after=80)
    sketch.pixels([(34, 43), (35, 43), (34, 42), (35, 42)], "#111111", duration=200, after=150)
    for x, y, r in ((22, 32, 2), (18, 22, 3), (24, 12, 2)):
        sketch.circle(x, y, r, None, "#BBDEFB", duration=300, after=120)


def draw_car(sketch: Sketch, look: Look) -> None:
    paint = look.colour or look.rng.choice(["#E53935", "#1E88E5", "#FDD835", "#43A047"])
    dark = shade(paint, -0.45)
    sketch.polygon([(30, 58), (37, 44), (60, 44), (68, 58)], paint, dark, mode="stroke", after=250)
    sketch.rect(18, 56, 60, 15, paint, dark, mode="stroke", duration=800, after=300)
    sketch.polygon([(34, 56), (39, 47), (47, 47), (47, 56)], "#B3E5FC", after=80)
    sketch.polygon([(50, 56), (50, 47), (58, 47), (64, 56)], "#B3E5FC", after=150)
    sketch.rect(73, 59, 5, 4, "#FFF59D", after=60)
    sketch.rect(18, 59, 3, 4, "#EF5350", after=150)
    for x in (32, 64):
        sketch.circle(x, 72, 7, "#212121", after=100)
        sketch.circle(x, 72, 3, "#B0BEC5", after=100)


def draw_cake(sketch: Sketch, look: Look) -> None:
    cream = look.colour or "#F8BBD0"
    sketch.rect(20, 76, 56, 3, "#CFD8DC", after=150)
    sketch.rect(27, 58, 42, 18, cream, shade(cream, -0.35), mode="stroke", duration=700, after=250)
    sketch.rect(27, 58, 42, 5, "#FFFFFF", after=100)
    drips = [(x, 63 + (x * 7) % 3) for x in range(29, 68, 4)]
    sketch.pixels(drips, "#FFFFFF", after=150)
    sketch.rect(31, 68, 34, 2, "#E91E63", after=150)
    for x, colour in ((36, "#42A5F5"), (47, "#66BB6A"), (58, "#FFCA28")):
        sketch.rect(x, 46, 3, 12, colour, after=80)
        sketch.polygon([(x, 45), (x + 1, 40), (x + 3, 45)], "#FF9800", after=100)


def draw_landscape(sketch: Sketch, look: Look) -> None:
    """The scene for a request the planner does not recognise: a tree, a path, flowers, a little house."""
    rng = look.rng
    ground = look.ground if look.ground is not None else 76
    sketch.polygon([(40, 96), (56, 96), (50, ground), (47, ground)], "#D7B98E", after=200)
    sketch.rect(74, ground - 12, 12, 12, "#E8C07D", "#8D6E63", after=100)
    sketch.polygon([(72, ground - 11), (80, ground - 19), (88, ground - 11)], "#A33B2F", after=200)
    sketch.rect(16, ground - 14, 5, 16, "#6D4C41", after=100)
    sketch.circle(18, ground - 20, 9, look.colour or "#388E3C", after=150)
    sketch.circle(14, ground - 15, 6, shade(look.colour or "#388E3C", 0.15), after=200)
    if look.setting in (Setting.NIGHT, Setting.SPACE):
        sketch.circle(74, 20, 7, "#FFF59D", after=200)
    elif look.setting is not Setting.SUNSET:
        sketch.circle(76, 18, 8, "#FFD54F", "#F9A825", after=200)
    flowers = [(rng.uniform(4, 92), rng.uniform(ground + 3, 94)) for _ in range(14)]
    sketch.pixels(flowers, rng.choice(["#F06292", "#FFEB3B", "#FFFFFF"]), duration=700, after=150)


SUBJECTS: tuple[Subject, ...] = (
    Subject(
        "cat",
        Words(
            english=("cat", "kitty", "kitten", "kitties", "kittens"),
            russian=("кот", "кота", "коту", "котом", "коте", "коты", "котов", "котам", "котами", "котэ"),
            stems=("котик", "котен", "кошк", "кошак", "котейк"),
        ),
        draw_cat,
    ),
    Subject(
        "dog",
        Words(
            english=("dog", "puppy", "puppies", "doggo", "doggy"),
            russian=("пес", "пса", "псу", "псом", "псы", "псов"),
            stems=("собак", "собач", "щен", "песик", "песель", "пёсик"),
        ),
        draw_dog,
    ),
    Subject(
        "house",
        Words(
            english=("house", "home", "cabin", "cottage", "hut"),
            russian=("дом", "дома", "дому", "домом", "доме", "домой"),
            stems=("домик", "хижин", "избушк", "избу", "коттедж"),
        ),
        draw_house,
    ),
    Subject(
        "heart",
        Words(english=("heart", "love", "valentine"), stems=("сердц", "сердеч", "любов", "любл", "валентин")),
        draw_heart,
    ),
    Subject("sun", Words(english=("sun", "sunshine"), stems=("солн",)), draw_sun),
    Subject(
        "fir",
        Words(
            english=("fir", "pine", "spruce", "christmas", "xmas"),
            russian=("ель", "ели", "елью"),
            stems=("елк", "елоч", "новогод", "рождеств"),
        ),
        draw_fir,
        Setting.WINTER,
    ),
    Subject(
        "tree",
        Words(
            english=("tree", "oak", "forest"),
            russian=("дуб", "дуба", "дубы", "лес", "леса", "лесу"),
            stems=("дерев", "яблон", "лесн"),
        ),
        draw_tree,
    ),
    Subject(
        "rocket",
        Words(english=("rocket", "spaceship", "spacecraft"), stems=("ракет", "звездолет")),
        draw_rocket,
        Setting.SPACE,
    ),
    Subject(
        "flower",
        Words(
            english=("flower", "rose", "tulip", "daisy", "sunflower", "bouquet"),
            russian=("роза", "розы", "розу", "розой", "роз"),
            stems=("цветок", "цветоч", "цветы", "цветов", "тюльпан", "ромашк", "подсолн", "букет", "розочк"),
        ),
        draw_flower,
    ),
    Subject("star", Words(english=("star", "starry"), stems=("звезд",)), draw_star, Setting.NIGHT),
    Subject("moon", Words(english=("moon",), stems=("лун", "месяц")), draw_moon, Setting.NIGHT),
    Subject(
        "fish",
        Words(english=("fish", "goldfish", "fishes"), stems=("рыб",)),
        draw_fish,
        Setting.UNDERWATER,
    ),
    Subject(
        "car",
        Words(english=("car", "auto", "automobile", "racecar"), stems=("машин", "автомоб", "тачк", "тачку")),
        draw_car,
    ),
    Subject(
        "cake",
        Words(english=("cake", "birthday", "cupcake"), stems=("торт", "тортик", "пирожн", "рожден", "днюх")),
        draw_cake,
    ),
)
SUBJECT_NAMES = tuple(subject.name for subject in SUBJECTS)

_WORD = re.compile(r"[a-zа-я]+")
_QUOTED = re.compile(r"[\"«“„']([^\"«»“”„']{1,60})[\"»”“']")
_WRITE = re.compile(
    r"^\s*(?:please\s+|пожалуйста\s+)?(?:write|text|say|type|напиши(?:те)?|написать|надпись|текст)\b[\s:,-]*(.+)$",
    re.IGNORECASE | re.DOTALL,
)
_DRAWABLE = frozenset(TEXT_CHARACTERS)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def understand(text: str) -> Request:
    """The subject (the first one mentioned), the setting, the colour and any words to write in ``text``."""
    tokens = _tokens(text)
    subject = next((s for token in tokens for s in SUBJECTS if s.words.match(token)), None)
    setting = next((s for token in tokens for s, words in SETTINGS.items() if words.match(token)), None)
    colour = next((c for token in tokens for c, words in COLOURS.items() if words.match(token)), None)
    words: str | None = None
    if quoted := _QUOTED.search(text):
        words = quoted.group(1)
    elif subject is None and (asked := _WRITE.match(text)):
        words = asked.group(1)
    if words is not None:
        words = " ".join("".join(c for c in words if c in _DRAWABLE).split()).strip(" .,!?:;-")[:60] or None
    return Request(subject=subject, setting=setting, colour=colour, text=words)


def _lines(text: str, columns: int) -> list[str]:
    lines: list[str] = []
    for whole_word in text.split():
        word = whole_word
        while len(word) > columns:
            lines.append(word[:columns])
            word = word[columns:]
        if lines and len(lines[-1]) + 1 + len(word) <= columns:
            lines[-1] = f"{lines[-1]} {word}"
        elif word:
            lines.append(word)
    return lines


def write_words(sketch: Sketch, words: str, top: int, bottom: int, colour: str) -> None:
    """``words`` centred between ``top`` and ``bottom`` (canvas pixels), as large as fits, letter by letter.

    The largest size wins at which every word fits on a line and every line fits in the height; a word too
    long for a line even at the smallest size is cut.
    """
    longest = max((len(word) for word in words.split()), default=0)
    for scale in (3, 2, 1):
        columns = max(1, (sketch.width - 2) // (6 * scale))
        lines = _lines(words, columns)
        if longest <= columns and len(lines) * 8 * scale <= bottom - top:
            break
    line_height = 8 * scale
    lines = lines[: max(1, (bottom - top) // line_height)]
    y = top + (bottom - top - len(lines) * line_height) // 2
    for line in lines:
        x = (sketch.width - len(line) * 6 * scale + scale) // 2
        sketch.text(
            x,
            y,
            line,
            colour,
            8 * scale,
            duration=min(2000, 120 * len(line) + 400),
            after=min(1500, 100 * len(line) + 250),
        )
        y += line_height


@dataclass
class OfflinePlanner:
    """Draws common requests by hand; never fails for any text."""

    width: int = 96
    height: int = 96
    tempo: float = 1.5
    """Every duration and gap of the hand-drawn shapes is multiplied by this: 1.5 makes a drawing 4 to 8 s."""
    name: str = field(default="offline", init=False)

    def plan(self, request_text: str, *, seed: int, caption: str = "") -> CanvasPlan:
        """A plan for ``request_text`` (already moderated); the same text and seed give the same plan."""
        understood = understand(request_text)
        rng = random.Random(seed)
        sketch = Sketch(self.width, self.height, tempo=self.tempo)
        subject = understood.subject
        if subject is None and understood.text:
            backdrop = understood.setting or rng.choice([Setting.NIGHT, Setting.SUNSET, Setting.SPACE])
            background(sketch, backdrop, rng)
            sketch.pause(300)
            write_words(sketch, understood.text, 4, sketch.height - 4, understood.colour or "#FFFFFF")
            return sketch.plan(caption)
        setting = understood.setting or (
            subject.setting
            if subject
            else rng.choice([Setting.DAY, Setting.DAY, Setting.SUNSET, Setting.NIGHT])
        )
        ground = background(sketch, setting, rng)
        sketch.pause(300)
        look = Look(rng=rng, colour=understood.colour, setting=setting, ground=ground)
        (subject.draw if subject else draw_landscape)(sketch, look)
        if subject is not None and understood.text:
            sketch.pause(200)
            write_words(sketch, understood.text, 1, sketch.y(14), "#FFFFFF")
        return sketch.plan(caption)
