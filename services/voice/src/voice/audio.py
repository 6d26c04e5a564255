"""WAV files as the engines return them: checked, measured, never re-wrapped (no nested RIFF headers)."""

from __future__ import annotations

import struct
from dataclasses import dataclass


class NotWav(ValueError):
    """The bytes are not a PCM WAV file the widget can play."""


@dataclass(frozen=True, slots=True)
class WavInfo:
    sample_rate: int
    channels: int
    bits: int
    data_bytes: int

    @property
    def duration_ms(self) -> int:
        frame = self.channels * self.bits // 8
        return round(self.data_bytes / frame / self.sample_rate * 1000) if frame and self.sample_rate else 0


def wav_info(data: bytes) -> WavInfo:
    """The format and length of a WAV file; ``NotWav`` when it is something else.

    A streamed WAV may carry a placeholder size (0xFFFFFFFF, or more than the file holds): the data then runs to
    the end of the file.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise NotWav(f"not a WAV file (starts with {data[:12]!r})")
    position = 12
    fmt: tuple[int, int, int] | None = None
    while position + 8 <= len(data):
        chunk_id = data[position : position + 4]
        (size,) = struct.unpack("<I", data[position + 4 : position + 8])
        body = position + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise NotWav("the WAV format chunk is truncated")
            audio_format, channels, rate, _, _, bits = struct.unpack("<HHIIHH", data[body : body + 16])
            if audio_format not in {1, 3, 0xFFFE}:
                raise NotWav(f"the WAV holds compressed audio (format {audio_format}), not PCM")
            fmt = (rate, channels, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise NotWav("the WAV data comes before its format chunk")
            available = len(data) - body
            data_bytes = available if size > available else size
            rate, channels, bits = fmt
            if not rate or not channels or not bits:
                raise NotWav("the WAV format chunk has a zero rate, channel count or sample size")
            return WavInfo(rate, channels, bits, data_bytes)
        position = body + size + (size & 1)
    raise NotWav("the WAV file has no data chunk")
