"""Issue 6's promise end to end: a donation over the video threshold becomes a Veo video from the (fake) AIML
service, stored in real S3 (SeaweedFS), that plays in the OBS widget in Chromium, after its alert card. Every
service is a real process on a real nats-server; nothing of ours is mocked."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from playwright.async_api import expect

from ovation_contracts import Donation, Money, bus, wrap
from ovation_testing import NatsServer, S3Server, ServiceProcess
from tests.fakes.aiml import FakeAiml

pytestmark = [
    pytest.mark.nats,
    pytest.mark.s3,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]

ADMIN = "video-e2e-admin-token-0123456789"
WIDGET = "video-e2e-widget-token-0123456789"


@pytest.fixture
async def system(
    nats_server: NatsServer, s3_server: S3Server, tmp_path: Path
) -> AsyncIterator[dict[str, Any]]:
    async with FakeAiml(queued_seconds=0.1, generating_seconds=0.5) as aiml:
        env = {
            "OVATION_NATS_URL": nats_server.url,
            "OVATION_ADMIN_TOKEN": ADMIN,
            "OVATION_WIDGET_TOKEN": WIDGET,
            "OVATION_ARTIFACTS_BACKEND": "s3",
            "OVATION_ARTIFACTS_BUCKET": "video-e2e",
            "OVATION_S3_ENDPOINT_URL": s3_server.endpoint_url,
            "OVATION_S3_ACCESS_KEY": s3_server.access_key,
            "OVATION_S3_SECRET_KEY": s3_server.secret_key,
            "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
            "VIDEO_AIML_API_KEY": aiml.api_key,
            "VIDEO_AIML_BASE_URL": aiml.base_url,
            "VIDEO_DOWNLOAD_ALLOWED_HOSTS": "127.0.0.1",
            "VIDEO_DOWNLOAD_ALLOW_LOOPBACK_HTTP": "true",
            "VIDEO_POLL_INTERVAL": "0.1",
            "VIDEO_POLL_MAX_INTERVAL": "0.2",
            "VIDEO_WORK_DIR": str(tmp_path / "video-work"),
        }
        services = [
            ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT").start(),
            ServiceProcess("video", tmp_path, env, "VIDEO_HTTP_PORT").start(),
            ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start(),
        ]
        client = await nats.connect(nats_server.url)
        yield {"gateway": services[-1], "client": client, "aiml": aiml}
        await client.drain()
        for service in services:
            service.stop()


async def test_a_big_donation_becomes_a_veo_video_that_plays_in_the_widget(
    system: dict[str, Any], chromium: Any
) -> None:
    gateway, client, aiml = system["gateway"], system["client"], system["aiml"]
    acks: list[tuple[str, str]] = []

    async def on_ack(message: Any) -> None:
        payload = json.loads(message.data)["payload"]
        acks.append((payload["cue_id"], payload["state"]))

    await client.subscribe(bus.STAGE_PLAYBACK, cb=on_ack)
    widget = await chromium.new_page()
    await widget.goto(f"{gateway.url}/widget?token={WIDGET}")

    now = datetime.now(UTC)
    donation = Donation(
        id="donationalerts:777",
        source="donationalerts",
        upstream_id="777",
        donor_name="Boris",
        message="a dragon made of fireworks",
        amount=Money(amount=Decimal(1500), currency="RUB"),
        created_at=now,
        received_at=now,
    )
    envelope = wrap(donation, id=donation.id, correlation_id=donation.id)
    await client.jetstream().publish(
        bus.donation_received("donationalerts"), envelope.to_json(), headers={bus.Header.MSG_ID: donation.id}
    )

    await widget.locator('#alert[data-cue-id="donationalerts:777:alert"]').wait_for(timeout=15_000)
    video = widget.locator("#video")
    await video.wait_for(state="visible", timeout=60_000)
    assert (await video.get_attribute("data-cue-id") or "").startswith("donationalerts:777:video")
    for _ in range(300):
        if any(cue.startswith("donationalerts:777:video") and state == "ended" for cue, state in acks):
            break
        await asyncio.sleep(0.1)
    states = [(cue.split(":")[2], state) for cue, state in acks]
    assert states == [("alert", "started"), ("alert", "ended"), ("video", "started"), ("video", "ended")]
    assert aiml.submissions == 1, "one paid generation"

    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=15
    ) as http:
        library = (await http.get("/api/v1/videos")).json()
        assert library["latest"] is not None
        assert len(library["videos"]) == 1
        replay = await http.post("/api/v1/videos/donationalerts:777:video/replay")
        assert replay.status_code == 200, replay.text
    await widget.locator('#video[data-cue-id*=":replay:"]').wait_for(state="attached", timeout=20_000)
    assert aiml.submissions == 1, "a replay never pays again"


async def test_the_dashboard_shows_the_library_generations_and_edits_settings(
    system: dict[str, Any], chromium: Any
) -> None:
    gateway = system["gateway"]
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=15
    ) as http:
        job = (
            await http.post(
                "/api/v1/videos", json={"prompt": "a calm lake at dawn", "title": "Channel intro"}
            )
        ).json()
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{gateway.url}/dashboard#token={ADMIN}")
    await page.locator(
        f'#generations > li[data-job-id="{job["job_id"]}"] .source-state', has_text="ready"
    ).wait_for(timeout=60_000)
    await page.locator(f'#videos > li[data-job-id="{job["job_id"]}"]').wait_for(timeout=15_000)

    await page.select_option("#settings-name", "video")
    await expect(page.locator("#settings-text")).to_have_value(re.compile("system_prompt"))
    text = await page.input_value("#settings-text")
    settings = json.loads(text)
    settings["max_per_hour"] = 3
    await page.fill("#settings-text", json.dumps(settings))
    await page.click("#settings-form button[type=submit]")
    await page.locator("#notice", has_text="Saved video").wait_for(timeout=5000)
    settings["max_per_hour"] = -1
    await page.fill("#settings-text", json.dumps(settings))
    await page.click("#settings-form button[type=submit]")
    await page.locator("#notice", has_text="Not saved").wait_for(timeout=5000)
    await page.locator("#videos-budget", has_text="/3 this hour").wait_for(timeout=10_000)
    assert errors == []
