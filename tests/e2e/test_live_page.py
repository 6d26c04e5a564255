"""The thin slice, end to end: nats-server, ingest and gateway as real processes, the page in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from ovation_testing import NatsServer, ServiceProcess

# One slice for the module (on one worker): these tests only read from it, and starting it is what takes the time.
pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.xdist_group("live-page")]

ADMIN_TOKEN = "e2e-admin-token-0123456789"
WIDGET_TOKEN = "e2e-widget-token-0123456789"


@pytest.fixture(scope="module")
def slice_processes(
    module_nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServiceProcess, ServiceProcess]]:
    tmp_path = tmp_path_factory.mktemp("slice")
    env = {
        "OVATION_NATS_URL": module_nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
        "INGEST_SIMULATOR_RATE": "30",
        "INGEST_SIMULATOR_SEED": "7",
    }
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    yield ingest, gateway
    ingest.stop()
    gateway.stop()


async def test_simulated_donation_appears_on_the_live_page(
    slice_processes: tuple[ServiceProcess, ServiceProcess], chromium: object
) -> None:
    _, gateway = slice_processes
    page = await chromium.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
    first = page.locator("#feed .donation").first
    await first.wait_for(timeout=10_000)

    assert "#token" not in page.url, "the token must leave the address bar"
    assert await page.locator("#status").text_content() == "live"
    donor = await first.locator(".donor").text_content()
    correlation_id = await first.get_attribute("data-correlation-id")
    assert donor
    assert correlation_id and correlation_id.startswith("simulator:")
    assert await page.locator("#login").is_hidden()
    assert errors == []


async def test_live_page_asks_for_the_token_and_refuses_a_wrong_one(
    slice_processes: tuple[ServiceProcess, ServiceProcess], chromium: object
) -> None:
    _, gateway = slice_processes
    page = await chromium.new_page()  # type: ignore[attr-defined]
    await page.goto(f"{gateway.url}/dashboard")
    await page.locator("#login").wait_for()
    await page.fill("#token", "definitely-not-the-token")
    await page.click("#login button")
    await page.locator("#login-error").filter(has_text="refused").wait_for(timeout=5_000)
    assert await page.locator("#feed .donation").count() == 0

    await page.fill("#token", ADMIN_TOKEN)
    await page.click("#login button")
    await page.locator("#feed .donation").first.wait_for(timeout=10_000)


def test_event_stream_needs_the_admin_token(slice_processes: tuple[ServiceProcess, ServiceProcess]) -> None:
    _, gateway = slice_processes
    assert httpx.get(f"{gateway.url}/api/v1/events", timeout=5).status_code == 401
    wrong = httpx.get(f"{gateway.url}/api/v1/events", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401
    assert "admin token" in wrong.json()["detail"]


def test_event_stream_carries_envelopes_with_type_and_correlation_id(
    slice_processes: tuple[ServiceProcess, ServiceProcess],
) -> None:
    _, gateway = slice_processes
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.stream("GET", f"{gateway.url}/api/v1/events", headers=headers, timeout=15) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data:"):
                envelope = json.loads(line.removeprefix("data:"))
                break
    assert envelope["type"] in {"donation.received", "chat.received"}
    assert envelope["correlation_id"] == envelope["payload"]["id"]
    assert envelope["id"] == envelope["correlation_id"]
