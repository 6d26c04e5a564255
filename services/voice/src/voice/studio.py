"""Text to an audio clip in the artifact store: Boson first (when configured), the offline voice when it fails.

Clips are cached by a key made of the exact text and everything that shapes the voice (engine, model and sampling,
the reference recording's hash, transcript and scene; or espeak-ng's voice, speed and pitch), never by a position
in a script: the same words in the same voice are made once, and a changed line or voice is never served stale audio.

After Boson fails, the offline voice speaks alone for ``boson_pause`` seconds before Boson is tried again, so a
Boson outage does not add its timeouts to every clip.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ovation_artifacts import ArtifactMissing, ArtifactStore
from ovation_contracts import ArtifactRef, VoiceEngine

from .audio import NotWav, wav_info
from .boson import BosonSpeech
from .offline import Espeak, OfflineVoiceError
from .openai_api import ProviderError
from .personas import Voice

log = logging.getLogger(__name__)

CONTENT_TYPE = "audio/wav"
_ENGINE_PREFIX = {VoiceEngine.BOSON: "boson", VoiceEngine.OFFLINE: "espeak"}


class SpeechFailed(Exception):
    """No engine could speak the text; ``str()`` says why each failed."""


@dataclass(frozen=True, slots=True)
class Recording:
    text: str
    persona: str
    artifact: ArtifactRef
    engine: VoiceEngine
    cached: bool
    boson_problem: str | None = None
    """Why Boson did not speak this one, when it was asked and failed."""

    @property
    def duration_ms(self) -> int:
        return self.artifact.duration_ms or 0


def cache_key(text: str, persona_id: str, engine: VoiceEngine, voice: Mapping[str, Any]) -> str:
    """The artifact key of a clip: the exact text and the voice's fingerprint, hashed; never a position."""
    material = json.dumps(
        {"text": text, "engine": engine.value, "voice": voice}, sort_keys=True, ensure_ascii=False
    )
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:40]
    return f"voice/{persona_id}/{_ENGINE_PREFIX[engine]}-{digest}.wav"


class Studio:
    def __init__(
        self,
        *,
        boson: BosonSpeech | None,
        espeak: Espeak,
        artifacts: ArtifactStore,
        boson_pause: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        remembered: int = 2000,
    ) -> None:
        self.boson = boson
        self.espeak = espeak
        self.artifacts = artifacts
        self.boson_pause = boson_pause
        self.clock = clock
        self.boson_problem: str | None = None
        """Boson's last failure while it is being rested; None when it works (or is not configured)."""
        self.probe_problem: str | None = None
        """What the last periodic check of Boson found (None: it answered)."""
        self._boson_resting_until = 0.0
        self._known: OrderedDict[str, ArtifactRef] = OrderedDict()
        self._remembered = remembered

    def boson_fingerprint(self, voice: Voice) -> dict[str, Any]:
        assert self.boson is not None
        persona = voice.persona
        return {
            **self.boson.options.fingerprint(),
            "reference_sha256": voice.reference_sha256,
            "reference_transcript": persona.reference_transcript,
            "scene": persona.scene_description,
        }

    async def record(self, text: str, voice: Voice) -> Recording:
        """``text`` spoken in ``voice``, stored (or found in the cache). Raises ``SpeechFailed``."""
        boson_problem: str | None = None
        if self.boson is not None:
            key = cache_key(text, voice.id, VoiceEngine.BOSON, self.boson_fingerprint(voice))
            found = await self._cached(key)
            if found is not None:
                return Recording(text, voice.id, found, VoiceEngine.BOSON, cached=True)
            if self.clock() < self._boson_resting_until:
                boson_problem = self.boson_problem
            else:
                try:
                    data = await self.boson.synthesize(text, voice)
                except ProviderError as exc:
                    boson_problem = str(exc)
                    self.boson_problem = boson_problem
                    self._boson_resting_until = self.clock() + self.boson_pause
                    log.warning(
                        "Boson could not speak; the offline voice speaks for the next %.0f s: %s",
                        self.boson_pause,
                        exc,
                    )
                else:
                    self.boson_problem = None
                    artifact = await self._store(key, data)
                    return Recording(text, voice.id, artifact, VoiceEngine.BOSON, cached=False)
        offline = voice.persona.offline_voice
        key = cache_key(text, voice.id, VoiceEngine.OFFLINE, self.espeak.fingerprint(offline, voice.language))
        found = await self._cached(key)
        if found is not None:
            return Recording(
                text, voice.id, found, VoiceEngine.OFFLINE, cached=True, boson_problem=boson_problem
            )
        try:
            data = await self.espeak.synthesize(text, offline, voice.language)
        except OfflineVoiceError as exc:
            reasons = f"Boson: {boson_problem}; " if boson_problem else ""
            raise SpeechFailed(f"no voice could speak the line: {reasons}offline voice: {exc}") from exc
        artifact = await self._store(key, data)
        return Recording(
            text, voice.id, artifact, VoiceEngine.OFFLINE, cached=False, boson_problem=boson_problem
        )

    async def _cached(self, key: str) -> ArtifactRef | None:
        known = self._known.get(key)
        if known is not None:
            self._known.move_to_end(key)
            return known
        if not await self.artifacts.exists(key):
            return None
        try:
            data = await self.artifacts.get(key)
            ref = _reference(key, data)
        except (ArtifactMissing, NotWav) as exc:
            log.warning("cached clip %s is unusable, making it again: %s", key, exc)
            return None
        self._remember(key, ref)
        return ref

    async def _store(self, key: str, data: bytes) -> ArtifactRef:
        stored = await self.artifacts.put(key, data, CONTENT_TYPE)
        ref = stored.model_copy(update={"duration_ms": wav_info(data).duration_ms})
        self._remember(key, ref)
        return ref

    def _remember(self, key: str, ref: ArtifactRef) -> None:
        self._known[key] = ref
        self._known.move_to_end(key)
        while len(self._known) > self._remembered:
            self._known.popitem(last=False)


def _reference(key: str, data: bytes) -> ArtifactRef:
    return ArtifactRef(
        key=key,
        content_type=CONTENT_TYPE,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        duration_ms=wav_info(data).duration_ms,
    )
