"""The dashboard shows each source's state; a refused DonationAlerts token shows as "needs re-authorisation", and a
new token set through the API (the dashboard's own form) resumes ingestion by itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ovation_contracts import SimulatorSettings
from ovation_testing import NatsServer, ServiceProcess
from tests.fakes.donationalerts import FakeDonationAlerts

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow]

ADMIN_TOKEN = "sources-admin-token-0123456789"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDonationAlerts]:
    async with FakeDonationAlerts(rate_limit=None) as server:
        yield server


@pytest.fixture
async def processes(
    nats_server: NatsServer, fake: FakeDonationAlerts, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "INGEST_SIMULATOR": "false",
        "DONATIONALERTS_API_BASE": fake.base_url,
        "DONATIONALERTS_OAUTH_BASE": fake.base_url,
        "DONATIONALERTS_WS_URL": fake.ws_url,
        "DONATIONALERTS_ACCESS_TOKEN": "a-token-donationalerts-never-issued",
    }
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    yield ingest, gateway
    ingest.stop()
    gateway.stop()


async def test_reauthorisation_is_shown_and_a_new_token_from_the_dashboard_resumes(
    processes: tuple[ServiceProcess, ServiceProcess], fake: FakeDonationAlerts, chromium: Any
) -> None:
    ingest, gateway = processes
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")

    state = page.locator('.source-row[data-source="donationalerts"] .source-state')
    await state.filter(has_text="needs reauthorisation").wait_for(timeout=20_000)
    detail = await page.locator('.source-row[data-source="donationalerts"] .source-detail').text_content()
    assert "connect DonationAlerts again" in (detail or "")
    health = ingest.health()
    assert health["status"] == "degraded"
    assert ingest.process is not None and ingest.process.poll() is None, "no crash loop"

    await page.fill("#da-token input", fake.issue_token())
    await page.click("#da-token button")
    await state.filter(has_text="connected").wait_for(timeout=20_000)

    fake.add_donation(username="Resumed", message="after the new token")
    await page.locator("#feed .donation .donor", has_text="Resumed").wait_for(timeout=10_000)

    await page.fill("#test-donation input[name=message]", "sent from the dashboard")
    await page.click("#test-donation button")
    await page.locator("#feed .donation .message", has_text="sent from the dashboard").wait_for(
        timeout=10_000
    )
    assert errors == []


async def test_simulator_settings_change_live_through_the_api(
    processes: tuple[ServiceProcess, ServiceProcess],
) -> None:
    _, gateway = processes
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(timeout=10) as http:
        current = await http.get(f"{gateway.url}/api/v1/simulator", headers=headers)
        assert current.status_code == 200
        assert SimulatorSettings.model_validate(current.json()) == SimulatorSettings()
        wanted = {**current.json(), "donations_per_minute": 90, "russian_share": 1.0, "harmful_share": 0.2}
        changed = await http.put(f"{gateway.url}/api/v1/simulator", headers=headers, json=wanted)
        assert changed.status_code == 200, changed.text
        assert (await http.get(f"{gateway.url}/api/v1/simulator", headers=headers)).json()[
            "donations_per_minute"
        ] == 90
        bad = await http.put(
            f"{gateway.url}/api/v1/simulator", headers=headers, json={**wanted, "russian_share": 2}
        )
        assert bad.status_code == 422
        assert (await http.put(f"{gateway.url}/api/v1/simulator", json=wanted)).status_code == 401
