"""The offline voice: espeak-ng as a subprocess, so the show speaks without Boson, without a network, without keys.

The text goes in on stdin (never as an argument, so nothing in it can be read as an option), the WAV comes out in a
private temporary directory. A run that takes longer than ``timeout`` is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ovation_contracts import OfflineVoice

from .audio import NotWav, wav_info

INSTALL_HINT = "install it with `apt-get install espeak-ng` (Debian/Ubuntu) or set VOICE_ESPEAK_BINARY"


class OfflineVoiceError(Exception):
    """espeak-ng could not speak; ``str()`` says why and what to do."""


class Espeak:
    def __init__(self, binary: str = "espeak-ng", *, timeout: float = 15.0) -> None:
        self.binary = binary
        self.timeout = timeout
        self.last_error: str | None = None

    def path(self) -> str | None:
        """Where the binary is, or None when it is not installed."""
        return shutil.which(self.binary)

    def fingerprint(self, voice: OfflineVoice, language: str) -> dict[str, Any]:
        return {
            "engine": "espeak-ng",
            "voice": voice.voice or language,
            "speed": voice.speed,
            "pitch": voice.pitch,
        }

    async def synthesize(self, text: str, voice: OfflineVoice, language: str) -> bytes:
        """A WAV file of ``text``; raises ``OfflineVoiceError``."""
        try:
            data = await self._run(text, voice, language)
        except OfflineVoiceError as exc:
            self.last_error = str(exc)
            raise
        self.last_error = None
        return data

    async def _run(self, text: str, voice: OfflineVoice, language: str) -> bytes:
        binary = self.path()
        if binary is None:
            raise OfflineVoiceError(
                f"the offline voice needs espeak-ng, which is not installed: {INSTALL_HINT}"
            )
        with tempfile.TemporaryDirectory(prefix="ovation-voice-") as scratch:
            output = Path(scratch) / "speech.wav"
            command = [
                binary,
                "-v",
                voice.voice or language,
                "-s",
                str(voice.speed),
                "-p",
                str(voice.pitch),
                "-b",
                "1",  # the text on stdin is UTF-8
                "-w",
                str(output),
                "--stdin",
            ]
            process = await asyncio.create_subprocess_exec(
                *command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                async with asyncio.timeout(self.timeout):
                    _, stderr = await process.communicate(text.encode("utf-8"))
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
                raise OfflineVoiceError(
                    f"espeak-ng took longer than {self.timeout:g} s for {len(text)} characters and was stopped"
                ) from None
            if process.returncode != 0:
                problem = " ".join(stderr.decode(errors="replace").split())[:300]
                raise OfflineVoiceError(
                    f"espeak-ng failed (exit {process.returncode}: {problem or 'no message'}); check the "
                    f"persona's offline_voice (voice {voice.voice or language!r}) with `espeak-ng --voices`"
                )
            try:
                data = output.read_bytes()
                wav_info(data)
            except (OSError, NotWav) as exc:
                raise OfflineVoiceError(f"espeak-ng wrote no usable WAV file ({exc})") from exc
            return data
