"""Painter settings (prefix ``PAINTER_``). Runtime settings the dashboard edits (caption, queue size, hold
time) live in KV as ``PainterSettings``."""

from __future__ import annotations

import os
import platform

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ovation_contracts.canvas import MAX_CANVAS_SIDE, MIN_CANVAS_SIDE

from .hud import MIN_HEIGHT, MIN_WIDTH


class PainterConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAINTER_", extra="ignore", env_ignore_empty=True)

    http_host: str = Field(default="127.0.0.1", description="Address of the health and metrics endpoint")
    http_port: int = Field(default=8084, ge=1, le=65535)
    headless: bool | None = Field(
        default=None,
        description="true: no window (plan, animate on the clock, store PNGs); false: a window; "
        "empty: a window when there is a display to open it on",
    )
    window_width: int = Field(default=1920, ge=MIN_WIDTH, le=7680)
    window_height: int = Field(default=1080, ge=MIN_HEIGHT, le=4320)
    window_scale: int = Field(default=8, ge=1, le=32, description="Largest window pixels per canvas pixel")
    fps: int = Field(default=60, ge=1, le=240)
    live_fps: int = Field(
        default=30,
        ge=1,
        le=60,
        description="Live canvas frames per second at most: on the bus (the gateway's /widget/painter) and /live",
    )
    title: str = Field(default="Ovation", max_length=60, description="The HUD's title")
    canvas_size: int = Field(
        default=96, ge=MIN_CANVAS_SIDE, le=MAX_CANVAS_SIDE, description="Canvas side, pixels"
    )
    png_scale: int = Field(default=8, ge=1, le=32, description="Pixels per canvas pixel in the stored PNG")
    time_scale: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="Drawing speed: 1 is real time, 2 twice as fast (demos, tests)",
    )
    shutdown_grace: float = Field(
        default=60.0, ge=0, le=600, description="Seconds a shutdown waits for the drawing on screen to finish"
    )
    ollama_url: str | None = Field(
        default=None, description="Ollama's address (http://127.0.0.1:11434); empty: the offline planner only"
    )
    ollama_model: str = Field(default="llama3.2", min_length=1, max_length=200)
    ollama_timeout: float = Field(default=30.0, gt=0, le=600, description="Seconds one LLM call may take")
    ollama_retries: int = Field(default=1, ge=0, le=5, description="Extra attempts after a failed LLM call")

    def window_wanted(self) -> tuple[bool, str]:
        """Whether to open the window, and why (for the logs and ``/health``)."""
        if self.headless is not None:
            return not self.headless, f"PAINTER_HEADLESS={'true' if self.headless else 'false'}"
        if platform.system() == "Linux" and not any(
            os.environ.get(name) for name in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
        ):
            return False, "no display (neither DISPLAY nor WAYLAND_DISPLAY is set)"
        return True, "a display is available"

    @model_validator(mode="after")
    def _fits(self) -> PainterConfig:
        if self.ollama_url is not None and not self.ollama_url.startswith(("http://", "https://")):
            raise ValueError(
                f"PAINTER_OLLAMA_URL must start with http:// or https://, got {self.ollama_url!r} "
                "(for example http://127.0.0.1:11434)"
            )
        return self
