"""Boson Higgs Audio text-to-speech with voice cloning, through the OpenAI-compatible chat completions API.

The request is the one Boson documents (EXTERNAL_APIS.md section 3.1): a system prompt with the persona's scene
description, the reference transcript as a user turn, the reference recording as an assistant ``input_audio`` turn,
then the text to speak as the last user turn; ``modalities: ["text", "audio"]``. The answer's
``choices[0].message.audio.data`` is a base64 WAV file, stored as returned.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from .audio import NotWav, wav_info
from .openai_api import ChatCompletions, ProviderUnavailable
from .personas import Voice

STOP = ["<|eot_id|>", "<|end_of_text|>", "<|audio_eos|>"]


def system_prompt(scene_description: str) -> str:
    return (
        "Generate audio following instruction.\n\n"
        f"<|scene_desc_start|>\n{scene_description.strip()}\n<|scene_desc_end|>"
    )


@dataclass(frozen=True, slots=True)
class SpeechOptions:
    model: str = "higgs-audio-generation-Hackathon"
    max_completion_tokens: int = 2048
    """Caps the audio length: Higgs Audio sometimes runs on with noise far longer than the text."""
    temperature: float = 1.0
    top_p: float = 0.95
    top_k: int = 50
    max_seconds: float = 60.0
    """A clip longer than this is noise, not speech: refused (and the offline voice speaks instead)."""

    def fingerprint(self) -> dict[str, Any]:
        """What changes the sound of a clip, for the cache key."""
        return {
            "model": self.model,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
        }


class BosonSpeech:
    def __init__(self, api: ChatCompletions, options: SpeechOptions) -> None:
        self.api = api
        self.options = options

    def body(self, text: str, voice: Voice) -> dict[str, Any]:
        persona = voice.persona
        return {
            "model": self.options.model,
            "messages": [
                {"role": "system", "content": system_prompt(persona.scene_description)},
                {"role": "user", "content": persona.reference_transcript},
                {
                    "role": "assistant",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": voice.reference_b64, "format": "wav"}}
                    ],
                },
                {"role": "user", "content": text},
            ],
            "modalities": ["text", "audio"],
            "max_completion_tokens": self.options.max_completion_tokens,
            "temperature": self.options.temperature,
            "top_p": self.options.top_p,
            "top_k": self.options.top_k,
            "stream": False,
            "stop": STOP,
        }

    async def synthesize(self, text: str, voice: Voice) -> bytes:
        """The WAV file Boson made of ``text`` in ``voice``. Raises ``ProviderError`` when there is none."""
        answer = await self.api.create(self.body(text, voice))
        try:
            encoded = answer["choices"][0]["message"]["audio"]["data"]
            if not isinstance(encoded, str) or not encoded:
                raise TypeError("empty")
            data = base64.b64decode(encoded, validate=True)
        except (KeyError, IndexError, TypeError, binascii.Error) as exc:
            raise self._failed(
                f"Boson answered without audio (choices[0].message.audio.data: {type(exc).__name__}); check "
                "that VOICE_BOSON_TTS_MODEL is an audio generation model"
            ) from exc
        try:
            info = wav_info(data)
        except NotWav as exc:
            raise self._failed(f"Boson's audio is not a playable WAV ({exc})") from exc
        if info.duration_ms > self.options.max_seconds * 1000:
            raise self._failed(
                f"Boson made {info.duration_ms / 1000:.0f} s of audio for {len(text)} characters (noise, not "
                "speech); the offline voice spoke instead"
            )
        return data

    def _failed(self, message: str) -> ProviderUnavailable:
        error = ProviderUnavailable(message)
        self.api.last_error = message
        return error
