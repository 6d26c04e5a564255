"""What we know about MP4 files: the container signature, and a probe with the ffmpeg binary from imageio-ffmpeg.

No system ffmpeg is assumed: ``imageio_ffmpeg.get_ffmpeg_exe()`` returns the binary its wheel ships (or the one
``IMAGEIO_FFMPEG_EXE`` names). Only ffmpeg is shipped, no ffprobe, so probing reads ffmpeg's stream summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from dataclasses import dataclass
from pathlib import Path

MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"dash",
        b"mmp4",
        b"qt  ",
    }
)
"""Major brands of files a browser source (Chromium) plays as MP4."""
PLAYABLE_VIDEO_CODECS = frozenset({"h264", "hevc", "vp9", "av1"})


class NotPlayable(ValueError):
    """The file is not a playable MP4 video; ``str()`` says why."""


class FfmpegMissing(RuntimeError):
    pass


@functools.cache
def ffmpeg_exe() -> str:
    """The ffmpeg binary shipped by the imageio-ffmpeg wheel."""
    try:
        import imageio_ffmpeg  # type: ignore[import-untyped]

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:
        raise FfmpegMissing(
            f"the ffmpeg binary is missing ({exc}); reinstall the video service (`uv sync`): it comes with "
            "the imageio-ffmpeg package"
        ) from exc


def check_mp4_header(head: bytes) -> bytes:
    """The major brand when ``head`` (the file's first bytes) starts with an MP4 ``ftyp`` box; ``NotPlayable``
    otherwise."""
    if len(head) < 12:
        raise NotPlayable("the file is too short to be a video")
    size = int.from_bytes(head[0:4], "big")
    if head[4:8] != b"ftyp" or not 8 < size <= 4096:
        raise NotPlayable("the file is not an MP4 video (no ftyp box at the start)")
    brand = head[8:12]
    if brand not in MP4_BRANDS:
        raise NotPlayable(f"the file is an ISO media file of brand {brand!r}, not a playable MP4")
    return brand


@dataclass(frozen=True, slots=True)
class Probe:
    duration_ms: int
    video_codec: str
    width: int
    height: int
    audio_codec: str | None


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+[^:]*: Video: (\w+).*?, (\d{2,5})x(\d{2,5})")
_AUDIO = re.compile(r"Stream #\d+:\d+[^:]*: Audio: (\w+)")


def parse_probe(stderr: str) -> Probe:
    """Duration, codecs and size from ffmpeg's stream summary; ``NotPlayable`` when there is no video stream."""
    duration = _DURATION.search(stderr)
    video = _VIDEO.search(stderr)
    if video is None:
        raise NotPlayable("the file has no video stream")
    audio = _AUDIO.search(stderr)
    milliseconds = 0
    if duration:
        hours, minutes, seconds = duration.groups()
        milliseconds = round((int(hours) * 3600 + int(minutes) * 60 + float(seconds)) * 1000)
    return Probe(
        duration_ms=milliseconds,
        video_codec=video.group(1),
        width=int(video.group(2)),
        height=int(video.group(3)),
        audio_codec=audio.group(1) if audio else None,
    )


async def probe(path: Path, *, timeout: float = 30.0) -> Probe:
    """Read every packet of ``path`` (no decoding) and describe it; ``NotPlayable`` when ffmpeg cannot, or reports
    any error on the way (a truncated or corrupt file)."""
    process = await asyncio.create_subprocess_exec(
        ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "level+info",  # every line says its level, so errors (a truncated file) can be told from the summary
        "-i",
        str(path),
        "-map",
        "0",
        "-c",
        "copy",
        "-f",
        "null",
        "-",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        _, stderr_bytes = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise NotPlayable(f"ffmpeg could not read the file within {timeout:g} s") from None
    stderr = stderr_bytes.decode("utf-8", errors="replace")
    if process.returncode != 0:
        last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()), "")
        raise NotPlayable(f"ffmpeg cannot read the file: {last.strip()[:200]}")
    errors = [line for line in stderr.splitlines() if "[error]" in line or "[fatal]" in line]
    if errors:
        raise NotPlayable(f"ffmpeg cannot read the file: {errors[-1].split('] ', 2)[-1].strip()[:200]}")
    found = parse_probe(stderr)
    if found.video_codec not in PLAYABLE_VIDEO_CODECS:
        raise NotPlayable(f"the video codec {found.video_codec} does not play in OBS's browser source")
    if found.duration_ms <= 0:
        raise NotPlayable("the video has no duration")
    return found
