"""Video settings (prefix ``VIDEO_``). The prompt and the budget are runtime settings in KV (``VideoSettings``)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class VideoServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIDEO_", extra="ignore", env_ignore_empty=True)

    http_host: str = Field(default="127.0.0.1", description="Address of the health and metrics endpoint")
    http_port: int = Field(default=8083, ge=1, le=65535)

    # AIML (Veo 3) ---------------------------------------------------------------------------------------------
    aiml_api_key: SecretStr | None = Field(
        default=None, description="AIML API key; without one every video is the offline celebration card"
    )
    aiml_base_url: str = Field(default="https://api.aimlapi.com", pattern=r"^https?://[^/\s]+$")
    aiml_path: str = Field(
        default="/v2/video/generations",
        pattern=r"^/[A-Za-z0-9/_.\-]*$",
        description="Create and poll path (the legacy one is /v2/generate/video/google/generation)",
    )
    aiml_model: str = Field(default="google/veo3", min_length=1, max_length=100)
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration: int = Field(default=8, description="Seconds of video: 4, 6 or 8")
    resolution: str = Field(
        default="720P", pattern=r"^(720|1080)[Pp]$", description="720P or 1080P (veo-3.1 models: 720p, 1080p)"
    )
    generate_audio: bool = True
    enhance_prompt: bool = True
    negative_prompt: str = Field(
        default="text, captions, watermark, logos, nudity, gore, violence, weapons", max_length=2000
    )
    message_max_chars: int = Field(
        default=400, ge=20, le=2000, description="Longest donor message put in the prompt"
    )
    aiml_request_timeout: float = Field(default=30.0, gt=0, le=300, description="Seconds per HTTP request")
    aiml_retries: int = Field(
        default=3, ge=0, le=20, description="Retries of a failed submit, and poll failures in a row"
    )
    poll_interval: float = Field(default=10.0, gt=0, le=300, description="First wait between polls, seconds")
    poll_max_interval: float = Field(default=30.0, gt=0, le=600)
    generation_timeout: float = Field(
        default=900.0, gt=0, le=7200, description="Give up on a generation after this many seconds"
    )

    # Safe download --------------------------------------------------------------------------------------------
    download_allowed_hosts: str = Field(
        default="*.aimlapi.com",
        description="Comma-separated hosts videos may come from; *.example.com allows its subdomains",
    )
    download_allow_loopback_http: bool = Field(
        default=False, description="Tests only: allow plain http to 127.0.0.1/::1 (loopback addresses)"
    )
    download_max_bytes: int = Field(default=100 * 1024 * 1024, ge=1024, le=2 * 1024**3)
    download_timeout: float = Field(
        default=120.0, gt=0, le=3600, description="Seconds for the whole download"
    )
    download_max_redirects: int = Field(default=3, ge=0, le=10)
    work_dir: Path | None = Field(
        default=None, description="Scratch directory; the system temp dir when empty"
    )

    # Offline celebration card ---------------------------------------------------------------------------------
    card_seconds: float = Field(default=6.0, ge=1, le=30)
    card_fps: int = Field(default=30, ge=5, le=60)
    card_chime: bool = Field(default=True, description="A short chime under the card; silence when false")

    # Work queue -----------------------------------------------------------------------------------------------
    concurrency: int = Field(default=2, ge=1, le=32, description="Jobs one replica works on at once")
    ack_wait: float = Field(
        default=30.0, ge=1, le=600, description="Seconds before an unanswered job is redelivered"
    )
    max_deliver: int = Field(default=5, ge=1, le=100)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: int) -> int:
        if value not in {4, 6, 8}:
            raise ValueError("Veo 3 makes videos of 4, 6 or 8 seconds")
        return value

    @field_validator("download_allowed_hosts")
    @classmethod
    def _hosts(cls, value: str) -> str:
        for raw in value.split(","):
            host = raw.strip().lower()
            if host in {"*", "*."} or any(c in host for c in "/@ ?#") or "*" in host.removeprefix("*."):
                raise ValueError(
                    f"{host!r} is not a host name: write cdn.example.com or *.example.com, "
                    "without scheme, port or path"
                )
        return value

    @property
    def allowed_hosts(self) -> tuple[str, ...]:
        return tuple(h.strip().lower() for h in self.download_allowed_hosts.split(",") if h.strip())

    @property
    def aiml_key(self) -> str | None:
        key = self.aiml_api_key.get_secret_value().strip() if self.aiml_api_key else ""
        return key or None
