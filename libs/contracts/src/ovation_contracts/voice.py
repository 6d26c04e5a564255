"""The voice: the persona manifest, the clips the show speaks, and the voice's own control command.

A persona is one entry of a manifest (JSON) plus its files: a reference recording of the voice, the exact words
spoken in it, a description of the voice and the room (Boson's scene prompt), a speaking style (for the LLM that
writes its lines) and a language. Adding a voice is adding its files and one entry.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .artifacts import ArtifactRef
from .envelope import MessageId, Payload
from .money import Money
from .stage import PlaybackState

PersonaId = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,31}$", description="Lower case letters, digits, _ and -")
]
PersonaFile = Annotated[
    str,
    Field(
        max_length=200,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_\-]*(\.[A-Za-z0-9]+)?(/[A-Za-z0-9_][A-Za-z0-9_\-]*(\.[A-Za-z0-9]+)?)*$",
        description="A file relative to the manifest's folder: no `..`, no leading slash",
    ),
]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. en, ru")]


class OfflineVoice(BaseModel):
    """How the offline voice (espeak-ng) speaks for a persona when Boson is not configured or fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9_+\-]{0,40}$",
        description="An espeak-ng voice (en-us, en-gb, ru, en-us+f3); the persona's language when empty",
    )
    speed: int = Field(default=165, ge=80, le=400, description="Words per minute")
    pitch: int = Field(default=50, ge=0, le=99)


class Persona(BaseModel):
    """One voice of the show."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: PersonaId
    display_name: str = Field(min_length=1, max_length=60)
    language: Language
    reference_audio: PersonaFile = Field(description="The WAV whose voice is cloned")
    reference_transcript: str = Field(
        min_length=1, max_length=2000, description="The exact words spoken in reference_audio"
    )
    scene_description: str = Field(
        min_length=1, max_length=2000, description="The voice and the room, for the TTS scene prompt"
    )
    speaking_style: str = Field(
        min_length=1, max_length=1000, description="How the persona talks, for the LLM that writes its lines"
    )
    script: PersonaFile | None = Field(default=None, description="The show script when this persona hosts")
    offline_voice: OfflineVoice = OfflineVoice()
    consent: str = Field(
        min_length=1, max_length=500, description="Whose voice this is and the permission to clone it"
    )
    placeholder: bool = Field(
        default=False, description="A synthetic stand-in, to be replaced before going live"
    )

    @model_validator(mode="after")
    def _wav(self) -> Persona:
        if not self.reference_audio.lower().endswith(".wav"):
            raise ValueError(
                f"reference_audio of {self.id!r} must be a .wav file, got {self.reference_audio!r}"
            )
        return self


class PersonaManifest(BaseModel):
    """``manifest.json`` of a persona folder."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    default_persona: PersonaId = Field(description="The host when no persona is chosen in the voice settings")
    personas: tuple[Persona, ...] = Field(min_length=1, max_length=100)

    @model_validator(mode="after")
    def _consistent(self) -> PersonaManifest:
        ids = [persona.id for persona in self.personas]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"persona ids must be unique; repeated: {', '.join(duplicates)}")
        if self.default_persona not in ids:
            raise ValueError(
                f"default_persona {self.default_persona!r} is not one of the personas ({', '.join(ids)})"
            )
        return self

    def get(self, persona_id: str) -> Persona | None:
        return next((p for p in self.personas if p.id == persona_id), None)


class VoiceClipKind(StrEnum):
    SCRIPT = "script"
    DONATION = "donation"
    SUPERCHAT = "superchat"
    GIFT = "gift"
    CHAT = "chat"


class VoiceEngine(StrEnum):
    BOSON = "boson"
    OFFLINE = "espeak-ng"


class VoiceClip(BaseModel):
    """One clip the show put on stage: what was said, by whom, and the audio artifact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clip_id: MessageId = Field(description="The stage cue's id")
    item_id: MessageId = Field(description="The script line or the voice job it speaks")
    kind: VoiceClipKind
    persona: PersonaId
    transcript: str = Field(max_length=2000, description="What is spoken; moderated")
    artifact: ArtifactRef
    duration_ms: int = Field(ge=0)
    engine: VoiceEngine
    donation_id: MessageId | None = None
    cued_at: AwareDatetime
    playback: PlaybackState | None = Field(default=None, description="None until the widget reports")


class VoiceQueueItem(BaseModel):
    """Something the show will speak: a waiting interrupt or an upcoming script line."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item_id: MessageId
    kind: VoiceClipKind
    persona: PersonaId | None = None
    text: str | None = Field(
        default=None, max_length=2000, description="A script line's text; None for a job"
    )
    donor_name: str | None = Field(default=None, max_length=100)
    amount: Money | None = None
    ready: bool = Field(default=False, description="Its audio is generated")


class VoiceShowSnapshot(BaseModel):
    """The data of ``control.voice.list``: what is on stage, the waiting interrupts and the next script lines."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paused: bool
    host: PersonaId
    on_stage: tuple[VoiceClip, ...] = ()
    interrupts: tuple[VoiceQueueItem, ...] = ()
    upcoming: tuple[VoiceQueueItem, ...] = ()


class VoiceClipsQuery(Payload):
    """``control.voice.clips``: the latest clips, newest first (reply data ``{"clips": [VoiceClip, ...]}``)."""

    TYPE: ClassVar[str] = "voice.clips"

    limit: int = Field(default=50, ge=1, le=500)
