"""The offline celebration card: a real 720p H.264/AAC MP4 of the configured length, rendered offline."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pygame
import pytest

from ovation_contracts import Money
from video.cards import CardContent, CardFormat, CardRenderer, _Scene, format_amount, printable, render_card
from video.media import check_mp4_header, probe

RUB = Money(amount=Decimal("1500"), currency="RUB")


async def test_card_is_a_720p_h264_aac_mp4_of_the_configured_length(tmp_path: Path) -> None:
    output = tmp_path / "card.mp4"
    render_card(
        CardContent("Иван", RUB, "Хочу котика в космосе! A cat in space", seed="x"),
        output,
        CardFormat(seconds=2.0, fps=15),
    )

    found = await probe(output)
    assert (found.width, found.height) == (1280, 720)
    assert found.video_codec == "h264"
    assert found.audio_codec == "aac"
    assert 1900 <= found.duration_ms <= 2200
    assert check_mp4_header(output.read_bytes()[:12]) in {b"isom", b"iso5", b"mp42"}


def test_vertical_card_for_nine_by_sixteen_videos(tmp_path: Path) -> None:
    renderer = CardRenderer(CardFormat(seconds=1.0, fps=10, chime=False), tmp_path)
    data = renderer.render_to_bytes(CardContent("Olga", None, None), renderer.format_for("9:16"))
    (tmp_path / "v.mp4").write_bytes(data)

    found = asyncio.run(probe(tmp_path / "v.mp4"))
    assert (found.width, found.height) == (720, 1280)
    assert found.audio_codec == "aac"  # silence when the chime is off, so players behave the same
    assert list(tmp_path.glob(".card-*")) == []


def test_the_card_animates_and_shows_the_text() -> None:
    scene = _Scene(CardContent("Ivan", RUB, "hello", seed="s"), CardFormat(seconds=3.0, fps=10))
    start = pygame.image.tobytes(scene.frame(0.0), "RGB")
    middle = pygame.image.tobytes(scene.frame(1.5), "RGB")
    later = pygame.image.tobytes(scene.frame(1.6), "RGB")
    end = scene.frame(3.0)

    assert start != middle != later  # confetti falls, text pops in
    assert tuple(end.get_at((640, 360)))[:3] == (0, 0, 0)  # faded out at the end
    assert [surface.get_width() > 50 for surface in scene.message_lines] == [True]


def test_a_downgraded_card_has_no_message_lines() -> None:
    scene = _Scene(CardContent("Ivan", RUB, None), CardFormat())
    assert scene.message_lines == []


def test_characters_the_bundled_font_lacks_are_dropped_not_drawn_as_boxes() -> None:
    assert printable("Иван 😀 中 ok", 40) == "Иван ok"


def test_long_names_and_messages_fit_the_frame() -> None:
    fmt = CardFormat()
    scene = _Scene(CardContent("N" * 100, RUB, "word " * 400), fmt)
    assert scene.title.get_width() <= fmt.width
    assert 1 <= len(scene.message_lines) <= 3
    assert all(line.get_width() <= fmt.width for line in scene.message_lines)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [("1500", "RUB", "1 500 RUB"), ("12.5", "USD", "12.50 USD"), ("1000000", "KZT", "1 000 000 KZT")],
)
def test_amounts_are_shown_grouped(amount: str, currency: str, shown: str) -> None:
    assert format_amount(Money(amount=Decimal(amount), currency=currency)) == shown
