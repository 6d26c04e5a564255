"""Gateway settings. The port and admin token use the names ``ovation up`` and compose share."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", env_ignore_empty=True)

    host: str = Field(default="127.0.0.1", description="Address to listen on; 0.0.0.0 inside a container")
    port: int = Field(default=8080, ge=1, le=65535, validation_alias="OVATION_PORT")
    admin_token: SecretStr = Field(
        validation_alias="OVATION_ADMIN_TOKEN",
        min_length=16,
        description="Bearer token for the dashboard and the control API",
    )
    widget_token: SecretStr | None = Field(
        default=None,
        validation_alias="OVATION_WIDGET_TOKEN",
        min_length=16,
        description="Read-only token in the OBS widget URL; the widget is off without one",
    )
    allowed_hosts: str = Field(
        default="127.0.0.1,localhost,[::1]",
        description="Host names the gateway answers to (DNS rebinding guard), comma-separated; * for any",
    )
    events_backlog: int = Field(
        default=200, ge=0, le=10_000, description="Recent events kept for new viewers"
    )
    events_client_queue: int = Field(default=1000, ge=10, le=100_000)
    stage_hold_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="Seconds the current cue waits for a widget to come back before the stage moves on without one",
    )
    logs_kept: int = Field(
        default=200, ge=10, le=10_000, description="Recent warning and error lines kept for the dashboard"
    )

    @property
    def allowed_host_names(self) -> frozenset[str]:
        return frozenset(host.strip().lower() for host in self.allowed_hosts.split(",") if host.strip())
