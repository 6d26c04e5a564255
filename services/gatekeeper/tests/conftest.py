"""Shared fixtures for the gatekeeper's tests: one moderator per session (compiling the rules takes a moment)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.moderation import Moderator

CORPUS = Path(__file__).parent / "corpus" / "moderation.jsonl"


@pytest.fixture(scope="session")
def moderator() -> Moderator:
    return Moderator()
