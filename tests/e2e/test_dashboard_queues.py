"""Every queue on the dashboard: the painter's and the voice show's items, who sent them and their state, with the
buttons each service supports, through the gateway's /api/v1 and NATS request/reply to the real services. A service
that is down is named in a 503; a painter warning shows up in the dashboard's recent logs."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import (
    EventKind,
    Money,
    PainterJob,
    PainterSettings,
    QueueSkip,
    VoiceJob,
    bus,
    job_id,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ADMIN_TOKEN = "queues-admin-token-0123456789"
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "OVATION_DATA_DIR": str(tmp_path / "data"),
        "PAINTER_HEADLESS": "true",
        "PAINTER_TIME_SCALE": "3",
    }
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    client = await nats.connect(nats_server.url)
    kv = await client.jetstream().key_value(bus.KV_SETTINGS)
    await kv.put(PainterSettings.KEY, PainterSettings(hold_seconds=0.3).model_dump_json().encode())
    painter = ServiceProcess("painter", tmp_path, env, "PAINTER_HTTP_PORT").start(timeout=60)
    voice = ServiceProcess("voice", tmp_path, env, "VOICE_HTTP_PORT").start(timeout=60)
    yield {"gateway": gateway, "painter": painter, "voice": voice, "client": client}
    await client.drain()
    for service in (voice, painter, gateway):
        service.stop()


def money() -> Money:
    return Money(amount=Decimal(700), currency="RUB")


async def send_painter_job(client: Any, n: int, donor: str) -> None:
    job = PainterJob(
        job_id=job_id(f"api:p{n}", "painter"),
        donation_id=f"api:p{n}",
        donor_name=donor,
        amount=money(),
        amount_base=money(),
        message="a cat in space",
    )
    envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
    await client.jetstream().publish(
        bus.JOBS_PAINTER, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
    )


async def send_voice_job(client: Any, n: int, donor: str) -> None:
    job = VoiceJob(
        job_id=job_id(f"api:v{n}", "voice"),
        donation_id=f"api:v{n}",
        kind=EventKind.DONATION,
        donor_name=donor,
        amount=money(),
        amount_base=money(),
        message="hello from the chat",
    )
    envelope = wrap(job, id=job.job_id, correlation_id=job.donation_id)
    await client.jetstream().publish(
        bus.JOBS_VOICE, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
    )


async def rows_become(locator: Any, attribute: str, expected: list[str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while (
        ids := await locator.evaluate_all(f"rows => rows.map(row => row.dataset.{attribute})")
    ) != expected:
        assert time.monotonic() < deadline, ids
        await asyncio.sleep(0.1)


async def test_the_painter_and_voice_queues_are_run_from_the_dashboard(
    system: dict[str, Any], chromium: Any
) -> None:
    gateway, client = system["gateway"], system["client"]
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")

    # The painter: paused from the dashboard, three requests wait; reorder, remove, resume, skip, clear.
    await page.locator("#painter-state").filter(has_text="idle").wait_for(timeout=15_000)
    await page.click("#painter-pause")
    await page.locator("#painter-state").filter(has_text="paused").wait_for(timeout=5_000)
    for n, donor in enumerate(["Painter One", HOSTILE, "Painter Three"], start=1):
        await send_painter_job(client, n, donor)
    painter_rows = page.locator("#painter-queue > li")
    await rows_become(painter_rows, "jobId", ["api:p1:painter", "api:p2:painter", "api:p3:painter"])
    assert await painter_rows.nth(1).locator(".who").text_content() == HOSTILE, "who sent it, as text"
    await page.locator('#painter-queue > li[data-job-id="api:p3:painter"] button', has_text="↑").click()
    await rows_become(painter_rows, "jobId", ["api:p1:painter", "api:p3:painter", "api:p2:painter"])
    await page.locator('#painter-queue > li[data-job-id="api:p2:painter"] button', has_text="Remove").click()
    await rows_become(painter_rows, "jobId", ["api:p1:painter", "api:p3:painter"])
    await page.click("#painter-resume")
    await page.locator("#painter-current").filter(has_text="Painter One").wait_for(timeout=15_000)
    await page.click("#painter-clear")
    await rows_become(painter_rows, "jobId", [])
    await page.click("#painter-skip")
    await page.locator("#painter-current").filter(has_text="nothing").wait_for(timeout=15_000)

    # The voice show: paused from the dashboard, two donations wait; remove one, resume.
    await page.locator("#voice-state").filter(has_text="host").wait_for(timeout=15_000)
    await page.click("#voice-pause")
    await page.locator("#voice-state").filter(has_text="paused").wait_for(timeout=5_000)
    await send_voice_job(client, 1, "Voice One")
    await send_voice_job(client, 2, HOSTILE)
    voice_rows = page.locator("#voice-interrupts > li")
    await rows_become(voice_rows, "itemId", ["api:v1:voice", "api:v2:voice"])
    assert await voice_rows.nth(1).locator(".who").text_content() == HOSTILE
    await page.locator(
        '#voice-interrupts > li[data-item-id="api:v2:voice"] button', has_text="Remove"
    ).click()
    await rows_become(voice_rows, "itemId", ["api:v1:voice"])
    await page.click("#voice-resume")
    await page.locator("#voice-state").filter(has_text="running").wait_for(timeout=5_000)

    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=20
    ) as http:
        gone = await http.delete("/api/v1/painter/queue/api:nothing:painter")
        assert gone.status_code == 409 and "api:nothing:painter" in gone.json()["detail"]
        assert (await http.post("/api/v1/voice/skip")).status_code == 200

        # A painter warning reaches the dashboard's recent logs.
        invalid = wrap(QueueSkip(), id=f"test:{uuid.uuid4().hex}", correlation_id="test:control").to_json()
        await client.request(bus.control("painter", "move"), invalid, timeout=10)
        await (
            page.locator('#logs > li[data-service="painter"] .log-message')
            .filter(has_text="invalid painter move request")
            .wait_for(timeout=10_000)
        )

        # A service that is down is named.
        system["voice"].stop()
        down = await http.get("/api/v1/voice/queue")
        assert down.status_code == 503
        assert "voice" in down.json()["detail"]
        await page.locator("#voice-state").filter(has_text="not answering").wait_for(timeout=20_000)

    assert await page.evaluate("window.__xss") is None
    assert errors == []
