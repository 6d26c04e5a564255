"""Voice settings (prefix ``VOICE_``). The host persona and the pause flag are runtime settings in KV
(``VoiceSettings``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_LLM_MODELS = {"boson": "Qwen3-32B-non-thinking-Hackathon", "ollama": "llama3.2:3b"}


class VoiceServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOICE_", extra="ignore", env_ignore_empty=True)

    http_host: str = Field(default="127.0.0.1", description="Address of the health and metrics endpoint")
    http_port: int = Field(default=8085, ge=1, le=65535)
    personas_dir: Path | None = Field(
        default=None, description="A folder with manifest.json; the bundled placeholder personas when empty"
    )

    # Boson (Higgs Audio text-to-speech, Qwen3 LLMs) -------------------------------------------------------------
    boson_api_keys: SecretStr | None = Field(
        default=None, description="Comma-separated Boson keys; without any the offline voice speaks"
    )
    boson_base_url: str = Field(default="https://hackathon.boson.ai/v1", pattern=r"^https?://\S+$")
    boson_tts_model: str = Field(default="higgs-audio-generation-Hackathon", min_length=1, max_length=100)
    boson_timeout: float = Field(default=30.0, gt=0, le=300, description="Seconds per Boson request")
    boson_probe_interval: float = Field(
        default=15.0,
        ge=1,
        le=3600,
        description="Seconds between checks that Boson answers, for the health report",
    )
    boson_attempts: int = Field(default=3, ge=1, le=10, description="Attempts per clip, across keys")
    boson_key_cooldown: float = Field(default=60.0, ge=0, le=3600, description="Rest of a key after a 429")
    boson_key_refused_cooldown: float = Field(
        default=900.0, ge=0, le=86_400, description="Rest of a key after 401/403 or a spent quota"
    )
    boson_max_completion_tokens: int = Field(default=2048, ge=64, le=8192)
    boson_temperature: float = Field(default=1.0, ge=0, le=2)
    boson_pause: float = Field(
        default=30.0, ge=0, le=3600, description="After Boson fails, seconds the offline voice speaks alone"
    )

    # The LLM that writes replies and continues the show ---------------------------------------------------------
    llm_provider: Literal["auto", "none", "boson", "ollama"] = Field(
        default="auto", description="auto: Boson when keys are set, else templates"
    )
    llm_model: str = Field(default="", max_length=100, description="Empty: the provider's default model")
    ollama_base_url: str = Field(default="http://127.0.0.1:11434/v1", pattern=r"^https?://\S+$")
    llm_timeout: float = Field(default=20.0, gt=0, le=300)
    llm_max_tokens: int = Field(default=400, ge=16, le=8192)
    llm_temperature: float = Field(default=0.8, ge=0, le=2)

    # The offline voice ------------------------------------------------------------------------------------------
    espeak_binary: str = Field(default="espeak-ng", min_length=1)
    espeak_timeout: float = Field(default=15.0, gt=0, le=120)

    # The show ---------------------------------------------------------------------------------------------------
    lookahead: int = Field(default=2, ge=1, le=20, description="Clips made and not yet played, at most")
    cue_window: int = Field(default=1, ge=1, le=10, description="Clips handed to the widget at once")
    interrupt_wait: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="Seconds the script waits at a boundary for an interrupt being made",
    )
    interrupt_attempts: int = Field(default=3, ge=1, le=20)
    retry_delay: float = Field(
        default=2.0, ge=0, le=300, description="First wait before a failed clip is retried"
    )
    playback_grace: float = Field(
        default=15.0,
        ge=0,
        le=3600,
        description="Seconds past a started clip's end before it counts as played",
    )
    line_max_chars: int = Field(default=300, ge=40, le=2000, description="Longest spoken line")
    continuation_lines: int = Field(default=6, ge=1, le=50, description="Lines the LLM writes per segment")
    max_interrupts: int = Field(default=200, ge=1, le=5000, description="Interrupts waiting, at most")
    lease_poll: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds between a standby instance's tries to take the show over once its lease lapses",
    )
    moderation_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to wait for the gatekeeper"
    )

    # Voice jobs -------------------------------------------------------------------------------------------------
    ack_wait: float = Field(default=30.0, ge=1, le=600)
    max_deliver: int = Field(default=5, ge=1, le=100)

    @model_validator(mode="after")
    def _consistent(self) -> VoiceServiceSettings:
        if self.lookahead < self.cue_window:
            raise ValueError(
                f"VOICE_LOOKAHEAD ({self.lookahead}) must be at least VOICE_CUE_WINDOW ({self.cue_window}): "
                "a clip must be made before it can be handed to the widget"
            )
        if self.llm_provider == "boson" and not self.boson_keys:
            raise ValueError("VOICE_LLM_PROVIDER=boson needs VOICE_BOSON_API_KEYS")
        return self

    @property
    def boson_keys(self) -> list[str]:
        raw = self.boson_api_keys.get_secret_value() if self.boson_api_keys else ""
        return [key.strip() for key in raw.split(",") if key.strip()]

    @property
    def llm(self) -> Literal["none", "boson", "ollama"]:
        if self.llm_provider == "auto":
            return "boson" if self.boson_keys else "none"
        return self.llm_provider

    @property
    def llm_model_name(self) -> str:
        return self.llm_model or DEFAULT_LLM_MODELS.get(self.llm, "")
