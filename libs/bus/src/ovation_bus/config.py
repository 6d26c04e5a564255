"""Settings every service shares (prefix ``OVATION_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BusSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OVATION_", extra="ignore", env_ignore_empty=True)

    nats_url: str = Field(default="nats://127.0.0.1:4222", description="NATS server(s), comma-separated")
    nats_connect_timeout: float = Field(default=2.0, gt=0, le=60)
    nats_reconnect_wait: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between reconnect attempts"
    )
    stream_replicas: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Servers that keep a copy of every stream and KV bucket: 1 for one server, 3 in a 3-node cluster",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    instance: str = Field(default="", description="Replica name; the host name and pid when empty")

    @property
    def servers(self) -> list[str]:
        return [server.strip() for server in self.nats_url.split(",") if server.strip()]
