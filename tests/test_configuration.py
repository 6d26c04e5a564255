"""Every setting any part of Ovation reads is documented in .env.example, and nothing there is stale."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings
from voice.config import VoiceServiceSettings

from gatekeeper.config import GatekeeperSettings
from gateway.config import GatewaySettings
from ingest.config import DonationAlertsSettings, IngestSettings
from ovation_artifacts import ArtifactSettings
from ovation_bus import BusSettings
from painter.config import PainterConfig
from video.config import VideoServiceSettings

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: list[type[BaseSettings]] = [
    BusSettings,
    IngestSettings,
    DonationAlertsSettings,
    GatekeeperSettings,
    GatewaySettings,
    ArtifactSettings,
    VideoServiceSettings,
    PainterConfig,
    VoiceServiceSettings,
]
LAUNCHER = {
    "OVATION_DATA_DIR",
    "OVATION_NATS_PORT",
    "OVATION_NATS_MONITOR_PORT",
    "OVATION_WIDGET_TOKEN",
    "OVATION_BIND",
}


def variables_of(settings: type[BaseSettings]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if line and not line.startswith("#") and "=" in line}


def test_every_setting_is_documented() -> None:
    read = set().union(*(variables_of(s) for s in SETTINGS)) | LAUNCHER
    assert read - documented() == set()


def test_nothing_documented_is_unread() -> None:
    read = set().union(*(variables_of(s) for s in SETTINGS)) | LAUNCHER
    assert documented() - read == set()
