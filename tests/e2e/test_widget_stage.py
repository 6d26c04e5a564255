"""The OBS widget stage in Debian's headless Chromium: cues play one at a time, in order, each reported started and
ended; the control API acts on the widget within a second; a reload replays nothing; donor text stays inert text;
the stage survives a gateway restart."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import CueKind, bus
from ovation_testing import NatsServer, ServiceProcess, factories
from tests.fakes.aiml import sample_mp4

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(240)]

ADMIN_TOKEN = "stage-admin-token-0123456789"
WIDGET_TOKEN = "stage-widget-token-0123456789"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class Stage:
    def __init__(self, gateway: ServiceProcess, client: Any, artifacts: Path) -> None:
        self.gateway = gateway
        self.client = client
        self.artifacts = artifacts
        self.acks: list[tuple[str, str]] = []

    async def publish(self, envelope: Any, subject: str) -> None:
        await self.client.jetstream().publish(
            subject, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id}
        )

    async def alert(self, donation_id: str, **fields: Any) -> None:
        await self.publish(factories.screened_alert(donation_id, **fields), bus.DONATION_SCREENED)

    def store(self, key: str, data: bytes) -> int:
        path = self.artifacts / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return len(data)

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.gateway.url, headers=ADMIN, timeout=10) as http:
            return await http.request(method, path, **kwargs)

    async def wait_acks(self, count: int, timeout: float = 30.0) -> list[tuple[str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.acks) < count and time.monotonic() < deadline:  # noqa: ASYNC110 - filled by a NATS callback
            await asyncio.sleep(0.05)
        return self.acks


@pytest.fixture
async def stage(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Stage]:
    artifacts = tmp_path / "artifacts"
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
        "OVATION_ARTIFACTS_DIR": str(artifacts),
    }
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    client = await nats.connect(nats_server.url)
    running = Stage(gateway, client, artifacts)

    async def on_ack(message: Any) -> None:
        payload = json.loads(message.data)["payload"]
        running.acks.append((payload["cue_id"], payload["state"]))

    await client.subscribe(bus.STAGE_PLAYBACK, cb=on_ack)
    yield running
    await client.drain()
    gateway.stop()


async def open_widget(chromium: Any, stage: Stage, query: str = "", reports: Any = None) -> Any:
    """The widget page with ``query`` added to its URL; ``reports`` (a Playwright route handler) sees every
    playback report from the first one on."""
    page = await chromium.new_page(viewport={"width": 1280, "height": 720})
    if reports is not None:
        await page.route("**/api/v1/widget/playback*", reports)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("dialog", lambda dialog: page.errors.append(f"dialog: {dialog.message}"))
    await page.goto(f"{stage.gateway.url}/widget?token={WIDGET_TOKEN}{query}")
    return page


async def test_alert_video_and_audio_play_in_order_each_started_and_ended(
    stage: Stage, chromium: Any
) -> None:
    assert (await stage.api("POST", "/api/v1/stage/pause")).status_code == 200
    await stage.alert("api:1", donor_name="Anna", message="Hello stream!")
    size = stage.store("video/api-2-video.mp4", sample_mp4(1.0))
    await stage.publish(
        factories.media_cue(
            "api:2:video", "video/api-2-video.mp4", kind=CueKind.VIDEO, size=size, duration_ms=1000
        ),
        bus.STAGE_CUE,
    )
    size = stage.store("audio/api-3-voice.wav", factories.wav_tone(0.8))
    await stage.publish(
        factories.media_cue(
            "api:3:voice", "audio/api-3-voice.wav", kind=CueKind.AUDIO, size=size, duration_ms=800
        ),
        bus.STAGE_CUE,
    )

    async def three_waiting() -> bool:
        return len((await stage.api("GET", "/api/v1/stage")).json()["queue"]) == 3

    deadline = time.monotonic() + 10
    while not await three_waiting():
        assert time.monotonic() < deadline, "the cues never reached the stage"
        await asyncio.sleep(0.1)

    page = await open_widget(chromium, stage)
    await stage.api("POST", "/api/v1/stage/resume")
    await page.locator("#alert").filter(has_text="Anna").wait_for(timeout=5000)
    assert await page.locator("#alert .message").text_content() == "Hello stream!"
    acks = await stage.wait_acks(6)
    assert acks == [
        ("api:1:alert", "started"),
        ("api:1:alert", "ended"),
        ("api:2:video", "started"),
        ("api:2:video", "ended"),
        ("api:3:voice", "started"),
        ("api:3:voice", "ended"),
    ]
    assert page.errors == []
    assert (await page.evaluate("getComputedStyle(document.body).backgroundColor")) == "rgba(0, 0, 0, 0)"


async def test_reports_the_network_dropped_are_sent_again_in_order(stage: Stage, chromium: Any) -> None:
    """The first try of every playback report is cut off (a network blip, a gateway restarting): the widget sends
    it again, so the start is recorded and the end arrives in time, rather than the stage timing the alert out."""
    dropped: list[str] = []

    async def drop_first_try(route: Any) -> None:
        body = route.request.post_data or ""
        if body not in dropped:
            dropped.append(body)
            await route.abort("connectionreset")
        else:
            await route.continue_()

    page = await open_widget(chromium, stage, "&alert_seconds=1", reports=drop_first_try)
    await stage.alert("api:1", donor_name="Anna")
    await stage.alert("api:2", donor_name="Boris")
    acks = await stage.wait_acks(4)
    assert acks == [
        ("api:1:alert", "started"),
        ("api:1:alert", "ended"),
        ("api:2:alert", "started"),
        ("api:2:alert", "ended"),
    ]
    assert [json.loads(body)["state"] for body in dropped] == ["started", "ended", "started", "ended"]
    await page.close()


async def test_skip_remove_move_and_pause_reach_the_widget_within_a_second(
    stage: Stage, chromium: Any
) -> None:
    await stage.api("POST", "/api/v1/stage/pause")
    for n in range(1, 6):
        await stage.alert(f"api:{n}", donor_name=f"Donor {n}")
    await asyncio.sleep(1.0)
    page = await open_widget(chromium, stage)
    shown = page.locator("#alert")

    async def showing(name: str) -> float:
        started = time.monotonic()
        await shown.filter(has_text=name).wait_for(timeout=1000)
        return time.monotonic() - started

    await stage.api("DELETE", "/api/v1/stage/queue/api:2:alert")
    await stage.api("POST", "/api/v1/stage/queue/api:5:alert/move", json={"by": -2})
    await stage.api("POST", "/api/v1/stage/resume")
    await showing("Donor 1")
    await stage.api("POST", "/api/v1/stage/skip")
    await showing("Donor 5")  # moved up past 3 and 4; 2 was removed
    await stage.api("POST", "/api/v1/stage/pause")
    await stage.api("POST", "/api/v1/stage/skip")
    await shown.wait_for(state="hidden", timeout=1000)
    await asyncio.sleep(1.5)
    assert await shown.is_hidden(), "paused: nothing new starts"
    await stage.api("POST", "/api/v1/stage/resume")
    await showing("Donor 3")
    await stage.api("POST", "/api/v1/stage/clear")
    state = (await stage.api("GET", "/api/v1/stage")).json()
    assert state["queue"] == []
    assert state["current"]["cue"]["cue_id"] == "api:3:alert", "clear keeps what is playing"
    assert "api:2:alert" not in [cue_id for cue_id, _ in stage.acks]


async def test_reloading_the_widget_mid_queue_replays_nothing(stage: Stage, chromium: Any) -> None:
    await stage.api("POST", "/api/v1/stage/pause")
    for n in range(1, 4):
        await stage.alert(f"api:{n}", donor_name=f"Donor {n}")
    await asyncio.sleep(1.0)
    page = await open_widget(chromium, stage)
    await stage.api("POST", "/api/v1/stage/resume")
    await page.locator("#alert").filter(has_text="Donor 1").wait_for(timeout=5000)
    await page.reload()
    await page.locator("#alert").filter(has_text="Donor 2").wait_for(timeout=5000)
    await asyncio.sleep(0.5)
    assert ("api:1:alert", "started") in stage.acks
    assert stage.acks.count(("api:1:alert", "started")) == 1, "the reloaded widget did not start it again"


XSS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "<svg onload=window.__xss=3>",
    '<a href="javascript:window.__xss=4">click</a>',
    "\u202eevil\u202c <b>bold</b>",
]


async def test_a_second_widget_does_not_cut_short_what_the_first_plays(stage: Stage, chromium: Any) -> None:
    """Two browser sources (an alert scene and a video scene, say): the second connecting mid-alert shows it too,
    and the first plays it to its end; a reload of the same source still never plays it twice (test above)."""
    first = await open_widget(chromium, stage, "&alert_seconds=3")
    await stage.alert("api:1", donor_name="Anna")
    await first.locator("#alert").filter(has_text="Anna").wait_for(timeout=5000)
    assert await stage.wait_acks(1) == [("api:1:alert", "started")]

    second = await open_widget(chromium, stage, "&alert_seconds=3")
    await second.locator("#alert").filter(has_text="Anna").wait_for(timeout=5000)
    assert await first.locator("#alert").is_visible(), "the first widget still shows the alert"
    assert await stage.wait_acks(2) == [("api:1:alert", "started"), ("api:1:alert", "ended")]
    await first.close()
    await second.close()


async def test_hostile_donor_text_is_shown_as_inert_text(stage: Stage, chromium: Any) -> None:
    await stage.api("POST", "/api/v1/stage/pause")
    for n, text in enumerate(XSS, start=1):
        await stage.alert(f"api:x{n}", donor_name=text, message=text)
    await asyncio.sleep(1.0)
    page = await open_widget(chromium, stage)
    await stage.api("POST", "/api/v1/stage/resume")
    for n, text in enumerate(XSS, start=1):
        card = page.locator(f'#alert[data-cue-id="api:x{n}:alert"]')
        await card.wait_for(timeout=10_000)
        assert await card.locator(".donor").text_content() == text
        assert await card.locator(".message").text_content() == text
        assert await page.locator("#alert script, #alert img, #alert svg, #alert a").count() == 0
        await stage.api("POST", "/api/v1/stage/skip")
    assert await page.evaluate("window.__xss") is None
    assert page.errors == []


async def test_the_stage_survives_a_gateway_restart(stage: Stage) -> None:
    await stage.api("POST", "/api/v1/stage/pause")
    for n in (1, 2, 3):
        await stage.alert(f"api:{n}", donor_name=f"Donor {n}")
    await stage.alert("api:9", donor_name="Donor 9", amount="100")
    await asyncio.sleep(1.0)
    await stage.api("POST", "/api/v1/stage/queue/api:3:alert/move", json={"by": -2})
    before = (await stage.api("GET", "/api/v1/stage")).json()
    stage.gateway.stop()
    stage.gateway.start()
    after = (await stage.api("GET", "/api/v1/stage")).json()
    assert [i["cue"]["cue_id"] for i in after["queue"]] == [i["cue"]["cue_id"] for i in before["queue"]]
    assert [i["cue"]["cue_id"] for i in after["queue"]] == [
        "api:3:alert",
        "api:1:alert",
        "api:2:alert",
        "api:9:alert",
    ]
    assert after["paused"] is True
    await stage.alert("api:1", donor_name="Donor 1")  # a redelivery after the restart adds nothing
    await asyncio.sleep(0.5)
    assert len((await stage.api("GET", "/api/v1/stage")).json()["queue"]) == 4


async def test_the_widget_feed_takes_only_the_widget_token(stage: Stage) -> None:
    async with httpx.AsyncClient(base_url=stage.gateway.url, timeout=5) as http:
        assert (await http.get("/api/v1/widget/stage")).status_code == 401
        assert (await http.get("/api/v1/widget/stage", params={"token": ADMIN_TOKEN})).status_code == 401
        report = {"cue_id": "x", "state": "ended"}
        assert (await http.post("/api/v1/widget/playback", json=report)).status_code == 401
        widget_on_admin = await http.get("/api/v1/stage", headers={"Authorization": f"Bearer {WIDGET_TOKEN}"})
        assert widget_on_admin.status_code == 403, "the widget token only reads the widget feed"
        assert (await http.post("/api/v1/stage/skip", params={"token": WIDGET_TOKEN})).status_code == 401


async def test_artifacts_are_served_by_key_with_ranges_and_never_outside_the_store(stage: Stage) -> None:
    data = sample_mp4(1.0)
    stage.store("video/range.mp4", data)
    async with httpx.AsyncClient(base_url=stage.gateway.url, timeout=5) as http:
        params = {"token": WIDGET_TOKEN}
        full = await http.get("/artifacts/video/range.mp4", params=params)
        assert (full.status_code, full.content, full.headers["content-type"]) == (200, data, "video/mp4")
        part = await http.get("/artifacts/video/range.mp4", params=params, headers={"Range": "bytes=10-19"})
        assert (part.status_code, part.content) == (206, data[10:20])
        assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
        assert (await http.get("/artifacts/video/range.mp4")).status_code == 401
        assert (await http.get("/artifacts/video/missing.mp4", params=params)).status_code == 404
        for hostile in ("video/..%2F..%2Fetc%2Fpasswd", "..%2Fsecrets%2Fadmin_token", "video/%2E%2E/x"):
            assert (await http.get(f"/artifacts/{hostile}", params=params)).status_code in {400, 404}
