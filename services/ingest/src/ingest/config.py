"""Ingest settings (prefix ``INGEST_``). Runtime simulator controls live in KV (``SimulatorSettings``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
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


class DonationAlertsSettings(BaseSettings):
    """DonationAlerts: the OAuth application, or a pasted token, and where its servers are."""

    model_config = SettingsConfigDict(env_prefix="DONATIONALERTS_", extra="ignore", env_ignore_empty=True)

    api_base: str = Field(
        default="https://www.donationalerts.com", description="REST API host (/api/v1 is added)"
    )
    oauth_base: str = Field(default="https://www.donationalerts.com", description="OAuth host (/oauth/...)")
    ws_url: str = Field(default="wss://centrifugo.donationalerts.com/connection/websocket")
    client_id: str | None = Field(
        default=None, description="App ID from donationalerts.com/application/clients"
    )
    client_secret: SecretStr | None = Field(default=None, description="API key of that application")
    redirect_uri: str = Field(
        default="http://127.0.0.1:8080/api/v1/donationalerts/callback",
        description="Must equal the redirect URI registered with the application",
    )
    access_token: SecretStr | None = Field(
        default=None, description="A pasted token instead of the OAuth login"
    )
    user_currency: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="Your DonationAlerts account currency (amount_in_user_currency)",
    )
    poll_interval: float = Field(
        default=10.0, ge=1.0, le=600.0, description="REST polling while realtime is down"
    )
    state_ttl: float = Field(
        default=600.0, ge=30.0, le=3600.0, description="Seconds an OAuth login link stays valid"
    )

    @property
    def oauth_configured(self) -> bool:
        return bool(self.client_id and self.client_secret)
