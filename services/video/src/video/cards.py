"""The offline celebration card: a short H.264/AAC MP4 that thanks the donor, rendered without any network.

Frames are drawn with pygame (its bundled default font, so nothing depends on fonts installed on the host) and piped
into the ffmpeg binary of the imageio-ffmpeg wheel. The card shows the donor's name, the amount counting up and the
moderated message (never a downgraded one), over falling confetti, with a two-note chime.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
import random
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ovation_contracts import Money

from .media import ffmpeg_exe

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # the environment above must be set before pygame is imported

_PYGAME = threading.Lock()
"""pygame's font module is not thread-safe: one card is drawn at a time (ffmpeg encodes in its own process)."""

PALETTE = [(255, 204, 0), (255, 94, 98), (0, 209, 178), (94, 160, 255), (255, 255, 255), (199, 125, 255)]
BACKGROUND_TOP = (38, 12, 74)
BACKGROUND_BOTTOM = (140, 28, 110)
GOLD = (255, 210, 80)
WHITE = (255, 255, 255)
SOFT_WHITE = (235, 228, 255)

CHIME = (
    "0.22*(sin(2*PI*880*t)+0.5*sin(2*PI*1760*t))*exp(-3.5*t)"
    "+0.22*gte(t,0.32)*(sin(2*PI*1318.5*(t-0.32))+0.4*sin(2*PI*2637*(t-0.32)))*exp(-3*(t-0.32))"
)


class CardError(RuntimeError):
    """The card could not be rendered; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class CardContent:
    donor_name: str
    amount: Money | None
    message: str | None
    seed: str = ""


@dataclass(frozen=True, slots=True)
class CardFormat:
    width: int = 1280
    height: int = 720
    seconds: float = 6.0
    fps: int = 30
    chime: bool = True

    @property
    def frames(self) -> int:
        return max(1, round(self.seconds * self.fps))


def format_amount(money: Money) -> str:
    """``1 500 RUB``, ``12.50 USD``: grouped thousands, cents only when there are any."""
    amount = money.amount
    text = f"{amount:,.0f}" if amount == amount.to_integral_value() else f"{amount:,.2f}"
    return f"{text.replace(',', ' ')} {money.currency}"


def _ease_out_back(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    c = 1.70158
    return 1 + (c + 1) * (t - 1) ** 3 + c * (t - 1) ** 2


def _ease_out_cubic(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return 1 - (1 - t) ** 3


@functools.cache
def _font(size: int) -> pygame.font.Font:
    if not pygame.font.get_init():
        pygame.font.init()
    return pygame.font.Font(None, size)


@functools.cache
def _missing_glyph(size: int) -> object:
    return _font(size).metrics("\ue000")


def printable(text: str, size: int) -> str:
    """``text`` without characters the bundled font cannot draw (emoji, CJK): no tofu boxes on stream."""
    font = _font(size)
    missing = _missing_glyph(size)
    kept = []
    for ch in text:
        if ch.isspace():
            kept.append(" ")
            continue
        metrics = font.metrics(ch)
        if metrics and metrics[0] is not None and metrics != missing:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _fit(text: str, size: int, max_width: int, min_size: int) -> tuple[pygame.font.Font, str]:
    """The largest font (down to ``min_size``) that fits ``text`` in ``max_width``, ellipsizing if even that fails."""
    while size > min_size and _font(size).size(text)[0] > max_width:
        size -= 4
    font = _font(size)
    if font.size(text)[0] <= max_width:
        return font, text
    while text and font.size(text + "…")[0] > max_width:
        text = text[:-1]
    return font, text.rstrip() + "…"


def _wrap(text: str, font: pygame.font.Font, max_width: int, max_lines: int) -> list[str]:
    lines: list[str] = []
    words = text.split()
    current = ""
    for i, whole in enumerate(words):
        word = whole
        while font.size(word)[0] > max_width and len(word) > 1:  # one very long word: cut it
            word = word[:-1]
        candidate = f"{current} {word}".strip()
        if font.size(candidate)[0] <= max_width:
            current = candidate
            continue
        lines.append(current)
        current = word
        if len(lines) == max_lines:
            current = ""
            last = lines[-1]
            while last and font.size(last + " …")[0] > max_width:
                last = last[:-1]
            lines[-1] = last.rstrip() + (" …" if i < len(words) else "")
            break
    if current:
        lines.append(current)
    return lines[:max_lines]


class _Confetti:
    def __init__(self, rng: random.Random, width: int, height: int) -> None:
        self.x = rng.uniform(0, width)
        self.y = rng.uniform(-height, 0)
        self.speed = rng.uniform(height * 0.18, height * 0.45)
        self.sway = rng.uniform(10, 40)
        self.phase = rng.uniform(0, math.tau)
        self.spin = rng.uniform(2, 7)
        self.size = rng.uniform(6, 14) * height / 720
        self.color = rng.choice(PALETTE)

    def draw(self, surface: pygame.Surface, t: float, height: int) -> None:
        y = (self.y + self.speed * t) % (height * 1.2) - height * 0.1
        x = self.x + self.sway * math.sin(self.phase + t * 2.2)
        flat = abs(math.cos(self.phase + t * self.spin))
        w, h = self.size, max(1.5, self.size * 0.55 * flat)
        pygame.draw.rect(surface, self.color, pygame.Rect(int(x), int(y), int(w), int(h)))


def _background(width: int, height: int) -> pygame.Surface:
    surface = pygame.Surface((width, height))
    for y in range(height):
        k = y / max(1, height - 1)
        color = tuple(round(a + (b - a) * k) for a, b in zip(BACKGROUND_TOP, BACKGROUND_BOTTOM, strict=True))
        pygame.draw.line(surface, color, (0, y), (width, y))
    return surface


def _blit_centered(
    target: pygame.Surface,
    source: pygame.Surface,
    cx: float,
    cy: float,
    *,
    scale: float = 1.0,
    alpha: float = 1.0,
) -> None:
    if scale <= 0.01 or alpha <= 0.01:
        return
    if abs(scale - 1.0) > 0.01:
        w, h = source.get_size()
        source = pygame.transform.smoothscale(source, (max(1, round(w * scale)), max(1, round(h * scale))))
    if alpha < 0.99:
        source = source.copy()
        source.set_alpha(round(255 * alpha))
    target.blit(source, source.get_rect(center=(round(cx), round(cy))))


class _Scene:
    """Everything drawn on the card, prepared once; ``frame(t)`` draws the picture at ``t`` seconds."""

    def __init__(self, content: CardContent, fmt: CardFormat) -> None:
        self.fmt = fmt
        w, h = fmt.width, fmt.height
        unit = min(w, h) / 720
        margin = int(w * 0.08)
        self.background = _background(w, h)
        rng = random.Random(hashlib.sha256(content.seed.encode()).digest())
        self.confetti = [_Confetti(rng, w, h) for _ in range(140)]
        title_size = int(64 * unit)
        name = printable(content.donor_name, title_size) or "friend"
        font, title = _fit(f"Thank you, {name}!", title_size, w - 2 * margin, int(36 * unit))
        self.title = font.render(title, True, WHITE)
        self.amount = content.amount
        self.amount_font = _font(int(110 * unit))
        self.amount_final = (
            self.amount_font.render(format_amount(content.amount), True, GOLD) if content.amount else None
        )
        message_size = int(40 * unit)
        message = printable(content.message or "", message_size)
        message_font = _font(message_size)
        lines = _wrap(f"“{message}”", message_font, w - 2 * margin, 4 if h > w else 3) if message else []
        self.message_lines = [message_font.render(line, True, SOFT_WHITE) for line in lines]
        self.line_height = message_font.get_linesize()
        self.canvas = pygame.Surface((w, h))

    def _amount_surface(self, t: float) -> pygame.Surface | None:
        if self.amount is None or self.amount_final is None:
            return None
        progress = _ease_out_cubic((t - 0.5) / 1.2)
        if progress >= 1:
            return self.amount_final
        partial = Money(
            amount=(self.amount.amount * Decimal(str(progress))).to_integral_value(),
            currency=self.amount.currency,
        )
        return self.amount_font.render(format_amount(partial), True, GOLD)

    def frame(self, t: float) -> pygame.Surface:
        fmt = self.fmt
        w, h = fmt.width, fmt.height
        canvas = self.canvas
        canvas.blit(self.background, (0, 0))
        for piece in self.confetti:
            piece.draw(canvas, t, h)
        has_message = bool(self.message_lines)
        block = 0.22 if has_message else 0.3
        title_y = h * (0.5 - block)
        _blit_centered(
            canvas, self.title, w / 2, title_y, scale=_ease_out_back(t / 0.6), alpha=min(1.0, t / 0.3)
        )
        amount = self._amount_surface(t)
        if amount is not None:
            pop = _ease_out_back((t - 0.4) / 0.5)
            _blit_centered(
                canvas,
                amount,
                w / 2,
                h * (0.5 - block / 4),
                scale=pop,
                alpha=min(1.0, max(0.0, (t - 0.4) / 0.3)),
            )
        if has_message:
            alpha = min(1.0, max(0.0, (t - 1.1) / 0.5))
            rise = (1 - _ease_out_cubic((t - 1.1) / 0.6)) * 20
            top = h * (0.5 + block / 2)
            for i, line in enumerate(self.message_lines):
                _blit_centered(canvas, line, w / 2, top + i * self.line_height + rise, alpha=alpha)
        fade = min(1.0, max(0.0, (fmt.seconds - t) / 0.4))
        if fade < 1.0:
            shade = pygame.Surface((w, h))
            shade.set_alpha(round(255 * (1 - fade)))
            canvas.blit(shade, (0, 0))
        return canvas


def ffmpeg_command(fmt: CardFormat, output: Path) -> list[str]:
    audio = (
        f"aevalsrc='{CHIME}|{CHIME}':s=48000:d={fmt.seconds:g}"
        if fmt.chime
        else f"anullsrc=r=48000:cl=stereo:d={fmt.seconds:g}"
    )
    return [
        ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{fmt.width}x{fmt.height}",
        "-r",
        str(fmt.fps),
        "-i",
        "pipe:0",
        "-f",
        "lavfi",
        "-i",
        audio,
        "-map",
        "0:v",
        "-map",
        "1:a",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "128k",
        "-t",
        f"{fmt.seconds:g}",
        "-movflags",
        "+faststart",
        str(output),
    ]


def render_card(content: CardContent, output: Path, fmt: CardFormat | None = None) -> None:
    """Write the card for ``content`` to ``output`` (MP4). Blocking: call it from a worker thread."""
    fmt = fmt or CardFormat()
    with tempfile.TemporaryFile() as ffmpeg_log:
        process = subprocess.Popen(
            ffmpeg_command(fmt, output), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=ffmpeg_log
        )
        assert process.stdin is not None
        try:
            with _PYGAME:
                scene = _Scene(content, fmt)
                for index in range(fmt.frames):
                    frame = scene.frame(index / fmt.fps)
                    process.stdin.write(pygame.image.tobytes(frame, "RGB"))
            process.stdin.close()
            code = process.wait(timeout=60)
        except BaseException as exc:
            process.kill()
            process.wait()
            if isinstance(exc, BrokenPipeError | subprocess.TimeoutExpired):
                ffmpeg_log.seek(0)
                raise CardError(
                    f"ffmpeg stopped while encoding the card: {ffmpeg_log.read().decode(errors='replace')[-300:]}"
                ) from exc
            raise
        if code != 0:
            ffmpeg_log.seek(0)
            output.unlink(missing_ok=True)
            raise CardError(
                f"ffmpeg failed to encode the card ({code}): {ffmpeg_log.read().decode(errors='replace')[-300:]}"
            )


class CardRenderer:
    """Renders cards into a scratch directory and hands back the bytes."""

    def __init__(self, fmt: CardFormat, work_dir: Path | None = None) -> None:
        self.fmt = fmt
        self.work_dir = work_dir

    def format_for(self, aspect_ratio: str) -> CardFormat:
        """720p in the orientation of the generated videos (1280x720, or 720x1280 for 9:16)."""
        if aspect_ratio == "9:16":
            return CardFormat(720, 1280, self.fmt.seconds, self.fmt.fps, self.fmt.chime)
        return self.fmt

    def render_to_bytes(self, content: CardContent, fmt: CardFormat | None = None) -> bytes:
        """Blocking; run it in a worker thread."""
        if self.work_dir is not None:
            self.work_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=".card-", suffix=".mp4", dir=self.work_dir)
        os.close(handle)
        path = Path(name)
        try:
            render_card(content, path, fmt or self.fmt)
            return path.read_bytes()
        finally:
            with contextlib.suppress(OSError):
                path.unlink()
