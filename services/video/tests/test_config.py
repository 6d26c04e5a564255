"""The video settings: every value .env.example documents parses, and bad values are refused with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from video.config import VideoServiceSettings

ENV_EXAMPLE = Path(__file__).resolve().parents[3] / ".env.example"


def documented() -> dict[str, str]:
    lines = ENV_EXAMPLE.read_text().splitlines()
    pairs = (line.partition("=") for line in lines if line.startswith("VIDEO_") and "=" in line)
    return {name: value for name, _, value in pairs}


def test_the_documented_values_are_the_defaults_and_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    values = documented()
    assert values, ".env.example documents the VIDEO_ settings"
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    from_env = VideoServiceSettings()
    assert from_env == VideoServiceSettings.model_validate({})  # what .env.example says is what the code does
    assert from_env.aiml_key is None
    assert from_env.allowed_hosts == ("*.aimlapi.com",)


def test_hosts_and_the_key_are_read_loosely(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIDEO_DOWNLOAD_ALLOWED_HOSTS", " CDN.aimlapi.com , *.example.org ,")
    monkeypatch.setenv("VIDEO_AIML_API_KEY", "  key-123  ")
    settings = VideoServiceSettings()
    assert settings.allowed_hosts == ("cdn.aimlapi.com", "*.example.org")
    assert settings.aiml_key == "key-123"
    assert "key-123" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("VIDEO_DURATION", "5", "4, 6 or 8 seconds"),
        ("VIDEO_ASPECT_RATIO", "1:1", "16:9"),
        ("VIDEO_DOWNLOAD_ALLOWED_HOSTS", "https://cdn.aimlapi.com/", "without scheme"),
        ("VIDEO_DOWNLOAD_ALLOWED_HOSTS", "*", "not a host name"),
        ("VIDEO_RESOLUTION", "4K", "pattern"),
    ],
)
def test_bad_values_are_refused_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, words: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=words):
        VideoServiceSettings()
