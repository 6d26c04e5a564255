"""The dashboard's own buttons act on the stage the widget plays, and on the approval queue; donor text stays text."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import ApprovalMode, ModerationSettings, bus
from ovation_testing import NatsServer, ServiceProcess, factories

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

ADMIN_TOKEN = "controls-admin-token-0123456789"
WIDGET_TOKEN = "controls-widget-token-0123456789"
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[tuple[ServiceProcess, Any]]:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
        "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
    }
    gatekeeper = ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT").start()
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    client = await nats.connect(nats_server.url)
    yield gateway, client
    await client.drain()
    gateway.stop()
    gatekeeper.stop()


async def publish(client: Any, envelope: Any, subject: str) -> None:
    await client.jetstream().publish(subject, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id})


async def test_dashboard_buttons_reorder_and_remove_what_the_widget_plays(
    system: tuple[ServiceProcess, Any], chromium: Any
) -> None:
    gateway, client = system
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    ) as http:
        await http.post("/api/v1/stage/pause")
    for n, name in enumerate(["First", "Second", HOSTILE], start=1):
        await publish(
            client, factories.screened_alert(f"api:{n}", donor_name=name, message=name), bus.DONATION_SCREENED
        )

    dashboard = await chromium.new_page()
    errors: list[str] = []
    dashboard.on("pageerror", lambda error: errors.append(str(error)))
    await dashboard.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
    queue = dashboard.locator("#stage-queue > li")
    await queue.nth(2).wait_for(timeout=10_000)
    assert await queue.nth(2).locator(".who").text_content() == HOSTILE, "donor text is shown as text"

    async def order_becomes(expected: list[str]) -> None:
        # Each click re-renders the list: wait for the change before the next click, as a person would see it.
        deadline = time.monotonic() + 5
        while (order := await queue.evaluate_all("rows => rows.map(row => row.dataset.cueId)")) != expected:
            assert time.monotonic() < deadline, order
            await asyncio.sleep(0.05)

    await dashboard.locator('#stage-queue > li[data-cue-id="api:2:alert"] button', has_text="Remove").click()
    await order_becomes(["api:1:alert", "api:3:alert"])
    await dashboard.locator('#stage-queue > li[data-cue-id="api:3:alert"] button', has_text="↑").click()
    await order_becomes(["api:3:alert", "api:1:alert"])

    widget = await chromium.new_page()
    await widget.goto(f"{gateway.url}/widget?token={WIDGET_TOKEN}")
    await dashboard.click("#stage-resume")
    started = time.monotonic()
    await widget.locator('#alert[data-cue-id="api:3:alert"]').wait_for(timeout=2000)
    assert time.monotonic() - started < 1.5
    await dashboard.click("#stage-skip")
    await widget.locator('#alert[data-cue-id="api:1:alert"]').wait_for(timeout=2000)
    assert await dashboard.evaluate("window.__xss") is None
    assert await widget.evaluate("window.__xss") is None
    assert errors == []


async def test_a_moderator_approves_from_the_dashboard(
    system: tuple[ServiceProcess, Any], chromium: Any
) -> None:
    gateway, client = system
    kv = await client.jetstream().key_value(bus.KV_SETTINGS)
    await kv.put(
        ModerationSettings.KEY, ModerationSettings(approval=ApprovalMode.ALL).model_dump_json().encode()
    )

    from ovation_contracts import Donation, Money, utc_now, wrap

    now = utc_now()
    donation = Donation(
        id="api:w1",
        source="api",
        upstream_id="w1",
        donor_name="Waiting Donor",
        message="please approve me",
        amount=Money(amount=Decimal(700), currency="RUB"),
        created_at=now,
        received_at=now,
    )
    await publish(
        client, wrap(donation, id=donation.id, correlation_id=donation.id), bus.donation_received("api")
    )

    page = await chromium.new_page()
    await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
    row = page.locator('#approvals > li[data-donation-id="api:w1"]')
    await row.wait_for(timeout=15_000)
    assert await row.locator(".who").text_content() == "Waiting Donor"
    await row.locator("button", has_text="Approve").click()
    await row.wait_for(state="detached", timeout=5000)
    await (
        page.locator("#stage-current, #stage-queue")
        .filter(has_text="Waiting Donor")
        .first.wait_for(timeout=5000)
    )
    js = client.jetstream()
    info = await js.stream_info(bus.JOBS.name)
    subjects = [
        (await js.get_msg(bus.JOBS.name, s)).subject
        for s in range(info.state.first_seq, info.state.last_seq + 1)
    ]
    assert sorted(subjects) == [bus.JOBS_PAINTER, bus.JOBS_VOICE], json.dumps(subjects)
