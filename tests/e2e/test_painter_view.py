"""Issue 7's promise end to end: a donation that routing sends to the painter is drawn, its PNG is stored, and the
gateway's browser view of the painter (``/widget/painter``, what OBS shows instead of a window capture) shows the
finished picture in Chromium, pixel for pixel with the stored PNG. The gatekeeper, the painter and the gateway are
real processes on a real nats-server; the live frames travel over NATS from the painter to the gateway."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from PIL import Image
from playwright.async_api import expect

from ovation_artifacts import ArtifactSettings, make_store
from ovation_bus import BusSettings, Health, ensure_buckets, ensure_streams, jetstream, make_broker, save
from ovation_cli.embedded import wait_http_ok
from ovation_contracts import (
    Donation,
    JobState,
    JobStatus,
    Money,
    PainterSettings,
    RoutingRules,
    bus,
    decode,
    job_id,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(120)]

ADMIN = "painter-view-admin-token-0123456789"
WIDGET = "painter-view-widget-token-0123456789"
PNG_SCALE = 8
CANVAS = 96


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    # a long hold, so the finished picture is still on stage when the browser is checked
    broker = make_broker(BusSettings(nats_url=nats_server.url), Health("test"))
    await broker.connect()
    await ensure_streams(jetstream(broker))
    await ensure_buckets(jetstream(broker))
    await save(broker, PainterSettings(hold_seconds=120))
    await broker.stop()

    artifacts = tmp_path / "artifacts"
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN,
        "OVATION_WIDGET_TOKEN": WIDGET,
        "OVATION_ARTIFACTS_DIR": str(artifacts),
        "OVATION_LOG_FORMAT": "text",
        "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
        "PAINTER_HEADLESS": "true",
        "SDL_VIDEODRIVER": "dummy",
        "PAINTER_TIME_SCALE": "10",
        "PAINTER_PNG_SCALE": str(PNG_SCALE),
        "PAINTER_CANVAS_SIZE": str(CANVAS),
        "PAINTER_SHUTDOWN_GRACE": "5",
    }
    services = [
        ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT"),
        ServiceProcess("painter", tmp_path, env, "PAINTER_HTTP_PORT"),
        ServiceProcess("gateway", tmp_path, env, "OVATION_PORT"),
    ]
    try:
        for service in services:  # started together, waited for together: the test stays quick
            service.start(wait_ready=False)
        for service in services:
            await asyncio.to_thread(wait_http_ok, f"{service.url}/health/ready", 60, alive=service.process)
        client = await nats.connect(nats_server.url)
        yield {"gateway": services[-1], "client": client, "artifacts": artifacts}
        await client.drain()
    finally:
        for service in services:
            service.stop()


async def test_a_donation_for_the_painter_is_drawn_stored_and_shown_in_the_browser_view(
    system: dict[str, Any], chromium: Any
) -> None:
    gateway, client = system["gateway"], system["client"]
    statuses: list[JobStatus] = []

    async def on_status(message: Any) -> None:
        statuses.append(decode(message.data, JobStatus).payload)

    await client.subscribe(bus.job_status("painter"), cb=on_status)
    side = CANVAS * PNG_SCALE
    page = await chromium.new_page(viewport={"width": side * 7 // 4, "height": side})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{gateway.url}/widget/painter?token={WIDGET}")
    await expect(page.locator("#canvas")).to_have_attribute("data-connected", "true")

    amount = Money(amount=Decimal(500), currency="RUB")
    rule = RoutingRules().painter
    assert rule.min_amount <= amount.amount < RoutingRules().video.min_amount, "routed to the painter"
    now = datetime.now(UTC)
    donation = Donation(
        id="donationalerts:707",
        source="donationalerts",
        upstream_id="707",
        donor_name="Boris",
        message="a red heart in the night sky",
        amount=amount,
        created_at=now,
        received_at=now,
    )
    envelope = wrap(donation, id=donation.id, correlation_id=donation.id)
    await client.jetstream().publish(
        bus.donation_received("donationalerts"), envelope.to_json(), headers={bus.Header.MSG_ID: donation.id}
    )

    painter_job = job_id(donation.id, "painter")
    ready: JobStatus | None = None
    for _ in range(400):
        ready = next((s for s in statuses if s.job_id == painter_job and s.state is JobState.READY), None)
        if ready is not None:
            break
        await asyncio.sleep(0.05)
    assert ready is not None, (
        f"the painter never finished; statuses: {[(s.job_id, s.state) for s in statuses]}"
    )
    assert ready.artifact is not None and ready.artifact.content_type == "image/png"
    assert next(s.state for s in statuses if s.job_id == painter_job) is JobState.QUEUED

    # the PNG is in the store, and the widget token fetches the same bytes through the gateway
    store = make_store(ArtifactSettings(artifacts_dir=system["artifacts"]))
    assert await store.exists(ready.artifact.key)
    png = await store.get(ready.artifact.key)
    async with httpx.AsyncClient(base_url=gateway.url, timeout=10) as http:
        served = await http.get(f"/artifacts/{ready.artifact.key}", params={"token": WIDGET})
        assert served.status_code == 200 and served.content == png
    stored = Image.open(io.BytesIO(png)).convert("RGB")
    assert stored.size == (side, side)
    picture = stored.resize((CANVAS, CANVAS), Image.Resampling.NEAREST)  # one sample inside each 8 x 8 block

    # the browser view shows the finished picture: the canvas holds it pixel for pixel ...
    expected = list(picture.tobytes())
    shown: list[int] = []
    for _ in range(200):
        data = await page.evaluate(
            """() => {
                const canvas = document.getElementById('canvas');
                if (!canvas.dataset.key) return [];
                const rgba = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                return Array.from(rgba).filter((_, i) => i % 4 !== 3);
            }"""
        )
        shown = list(data)
        if shown == expected:
            break
        await asyncio.sleep(0.05)
    assert len(shown) == CANVAS * CANVAS * 3, "the canvas never showed a picture"
    different = sum(1 for a, b in zip(shown, expected, strict=True) if a != b) // 3
    assert shown == expected, f"{different} of {CANVAS * CANVAS} canvas pixels differ from the stored PNG"
    assert (await page.evaluate("document.getElementById('canvas').dataset.key")).startswith(painter_job)

    # ... and on screen it is scaled with hard edges on a transparent page: at 8x, exactly the stored PNG
    style = await page.evaluate(
        """() => {
            const canvas = document.getElementById('canvas');
            const box = canvas.getBoundingClientRect();
            return {rendering: getComputedStyle(canvas).imageRendering,
                    background: getComputedStyle(document.body).backgroundColor,
                    box: [box.x, box.y, box.width, box.height]};
        }"""
    )
    assert style["rendering"] == "pixelated"
    assert style["background"] == "rgba(0, 0, 0, 0)"
    x, y, width, height = style["box"]
    assert (width, height) == (side, side)
    screenshot = Image.open(io.BytesIO(await page.screenshot(omit_background=True))).convert("RGBA")
    on_screen = screenshot.crop((int(x), int(y), int(x) + side, int(y) + side))
    assert on_screen.tobytes() == stored.convert("RGBA").tobytes(), "the view at 8x is the stored PNG"
    assert screenshot.getpixel((0, 0))[3] == 0, "around the canvas the page is transparent"
    assert errors == []
