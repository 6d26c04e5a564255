"""Shared fixtures for the gatekeeper's tests: one moderator per session (compiling the rules takes a moment)."""

from __future__ import annotations

import pytest

from gatekeeper.moderation import Moderator


@pytest.fixture(scope="session")
def moderator() -> Moderator:
    return Moderator()
