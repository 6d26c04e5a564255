"""Fixtures for the ingest tests: the fake DonationAlerts on a free loopback port, and an HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from ingest.donationalerts import OAuthApp
from tests.fakes.donationalerts import FakeDonationAlerts  # the repository root is on pythonpath (pyproject)

FIXED_NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDonationAlerts]:
    async with FakeDonationAlerts() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def oauth_app(fake: FakeDonationAlerts) -> OAuthApp:
    return OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        redirect_uri="http://127.0.0.1:9/api/donationalerts/callback",
        base_url=fake.base_url,
    )
