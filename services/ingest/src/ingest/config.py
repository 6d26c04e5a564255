"""Ingest settings (prefix ``INGEST_``). Runtime simulator controls live in KV (``SimulatorSettings``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class IngestSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INGEST_", extra="ignore", env_ignore_empty=True)

    http_host: str = Field(default="127.0.0.1", description="Address of the health and metrics endpoint")
    http_port: int = Field(default=8081, ge=1, le=65535)
    simulator: bool = Field(
        default=True, description="Run the simulator source (demo donations, no account needed)"
    )
    simulator_rate: float | None = Field(
        default=None,
        ge=0,
        le=60_000,
        description="Donations per minute at first start; the dashboard changes it",
    )
    simulator_seed: int | None = Field(default=None, description="Fixed seed for a reproducible simulator")
