"""Gatekeeper settings (prefix ``GATEKEEPER_``). Rules, lists and approval mode live in KV and change live."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatekeeperSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEKEEPER_", extra="ignore", env_ignore_empty=True)

    http_host: str = Field(default="127.0.0.1", description="Address of the health and metrics endpoint")
    http_port: int = Field(default=8082, ge=1, le=65535)
    rates_url: str = Field(
        default="https://open.er-api.com/v6/latest/USD",
        description="ExchangeRate-API latest rates (any base)",
    )
    rates_ttl: float = Field(default=3600.0, ge=5, le=86_400, description="Seconds live rates are trusted")
    ollama_base_url: str = Field(
        default="http://127.0.0.1:11434/v1", description="For the optional second opinion"
    )
    ollama_model: str = Field(default="llama3.2:3b")
    ollama_timeout: float = Field(default=8.0, gt=0, le=120)
