"""The personas of the show: ``manifest.json`` (validated by ``PersonaManifest``) and each persona's files.

A persona whose files are missing or broken is left out with a clear problem (shown in the health report); the
service refuses to start only when the manifest itself is invalid or no persona is usable.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ovation_contracts import Persona, PersonaManifest

from .audio import NotWav, wav_info

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parent / "personas"
"""The placeholder personas shipped with Ovation."""
MAX_REFERENCE_BYTES = 10 * 1024 * 1024
_TAG = re.compile(r"^\[([^\]]{1,40})\]\s*")


class PersonaError(Exception):
    """The persona folder cannot be used; ``str()`` says which file and what to fix."""


@dataclass(frozen=True, slots=True)
class Voice:
    """A persona with its reference recording loaded (base64 once, not on every request) and its script."""

    persona: Persona
    reference_b64: str = field(repr=False)
    reference_sha256: str
    script: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return self.persona.id

    @property
    def language(self) -> str:
        return self.persona.language


@dataclass(frozen=True, slots=True)
class ScriptLine:
    persona: str
    text: str


class PersonaBook:
    def __init__(self, manifest: PersonaManifest, voices: dict[str, Voice], problems: Sequence[str]) -> None:
        if not voices:
            raise PersonaError("no persona is usable: " + "; ".join(problems))
        self.manifest = manifest
        self.voices = voices
        self.problems = tuple(problems)

    @classmethod
    def load(cls, folder: Path) -> PersonaBook:
        path = folder / "manifest.json"
        try:
            raw = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise PersonaError(
                f"cannot read the persona manifest {path} ({exc.strerror or exc}); set VOICE_PERSONAS_DIR to a "
                "folder with a manifest.json, or leave it empty for the bundled personas"
            ) from exc
        try:
            manifest = PersonaManifest.model_validate_json(raw)
        except ValidationError as exc:
            details = "; ".join(
                f"{'.'.join(str(p) for p in error['loc']) or 'manifest'}: {error['msg']}"
                for error in exc.errors()
            )
            raise PersonaError(f"the persona manifest {path} is invalid: {details}") from exc
        voices: dict[str, Voice] = {}
        problems: list[str] = []
        for persona in manifest.personas:
            try:
                voices[persona.id] = _load_voice(folder, persona)
            except PersonaError as exc:
                problems.append(str(exc))
                log.error("persona left out: %s", exc)
        if manifest.default_persona not in voices and voices:
            problems.append(
                f"the default persona {manifest.default_persona!r} is not usable; "
                f"{next(iter(voices))!r} hosts instead"
            )
        return cls(manifest, voices, problems)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(self.voices)

    def get(self, persona_id: str | None) -> Voice | None:
        if not persona_id:
            return None
        return self.voices.get(persona_id.strip().lower().replace(" ", "_"))

    def host(self, active: Sequence[str] = ()) -> Voice:
        """The first active persona that exists, else the manifest's default, else the first usable one."""
        for persona_id in active:
            voice = self.get(persona_id)
            if voice is not None:
                return voice
        return self.voices.get(self.manifest.default_persona) or next(iter(self.voices.values()))

    def for_job(self, persona_id: str | None, language: str | None, active: Sequence[str] = ()) -> Voice:
        """Who answers a job: the persona it names, else an active one speaking its language, else the host."""
        named = self.get(persona_id)
        if named is not None:
            return named
        if language:
            in_show = [voice for voice in (self.get(a) for a in active) if voice is not None]
            for candidate in in_show or list(self.voices.values()):
                if candidate.language == language:
                    return candidate
        return self.host(active)

    def script_of(self, host: Voice) -> list[ScriptLine]:
        """The host's script as lines, each with its speaker; a line tagged with an unknown persona stays the
        host's (the tag removed), so no line is lost."""
        lines = []
        for raw in host.script:
            text = raw.strip()
            speaker = host.id
            tag = _TAG.match(text)
            if tag:
                text = text[tag.end() :].strip()
                named = self.get(tag.group(1))
                if named is not None:
                    speaker = named.id
            if text:
                lines.append(ScriptLine(speaker, text))
        return lines


def _load_voice(folder: Path, persona: Persona) -> Voice:
    audio_path = folder / persona.reference_audio
    try:
        audio = audio_path.read_bytes()
    except OSError as exc:
        raise PersonaError(
            f"persona {persona.id!r}: cannot read its reference audio {audio_path} ({exc.strerror or exc}); "
            "add the file or fix reference_audio in the manifest"
        ) from exc
    if len(audio) > MAX_REFERENCE_BYTES:
        raise PersonaError(
            f"persona {persona.id!r}: {audio_path} is {len(audio) // 1024} KiB; keep reference clips under "
            f"{MAX_REFERENCE_BYTES // 1024 // 1024} MiB (3 to 15 seconds of mono WAV)"
        )
    try:
        wav_info(audio)
    except NotWav as exc:
        raise PersonaError(f"persona {persona.id!r}: {audio_path} is not a usable WAV file ({exc})") from exc
    script: tuple[str, ...] = ()
    if persona.script:
        script_path = folder / persona.script
        try:
            text = script_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PersonaError(
                f"persona {persona.id!r}: cannot read its script {script_path} ({exc}); add the file or remove "
                "script from its manifest entry"
            ) from exc
        script = tuple(
            line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
        )
    return Voice(
        persona=persona,
        reference_b64=base64.b64encode(audio).decode("ascii"),
        reference_sha256=hashlib.sha256(audio).hexdigest(),
        script=script,
    )
