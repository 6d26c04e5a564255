"""Issue 8's promise end to end, with the widget in Chromium reporting playback: the scripted show speaks by itself
(in the fake Boson's voice), a superchat posted through the API is spoken before the next scripted clip, then the
script goes on from where it stopped, in order, and no clip plays twice; ``GET /api/v1/audio`` lists the clips. Every
service is a real process on a real nats-server; Boson is the protocol-faithful fake on loopback."""

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

from ovation_contracts import bus
from ovation_testing import NatsServer, ServiceProcess
from tests.fakes.boson import FakeBoson

pytestmark = [pytest.mark.nats, pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

ADMIN = "voice-e2e-admin-token-0123456789"
WIDGET = "voice-e2e-widget-token-0123456789"
BOSON_KEY = "bai-voice-e2e"


@pytest.fixture
async def boson() -> AsyncIterator[FakeBoson]:
    async with FakeBoson(keys=(BOSON_KEY,)) as fake:
        fake.seconds_per_char = 0.02  # clips of a few seconds: the widget plays them in real time
        yield fake


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path, boson: FakeBoson) -> AsyncIterator[dict[str, Any]]:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN,
        "OVATION_WIDGET_TOKEN": WIDGET,
        "OVATION_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
        "INGEST_SIMULATOR": "false",
        "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
        "VOICE_BOSON_API_KEYS": BOSON_KEY,
        "VOICE_BOSON_BASE_URL": boson.base_url,
        "VOICE_LLM_PROVIDER": "none",
    }
    services = [
        ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT"),
        ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT"),
        ServiceProcess("gateway", tmp_path, env, "OVATION_PORT"),
        ServiceProcess("voice", tmp_path, env, "VOICE_HTTP_PORT"),
    ]
    for service in services:  # from a thread: this event loop serves the fake Boson meanwhile
        await asyncio.to_thread(service.start, timeout=90)
    client = await nats.connect(nats_server.url)
    yield {"gateway": services[2], "client": client}
    await client.drain()
    for service in services:
        service.stop()


async def test_a_superchat_is_spoken_before_the_next_scripted_clip_then_the_script_goes_on(
    system: dict[str, Any], chromium: Any, boson: FakeBoson
) -> None:
    gateway, client = system["gateway"], system["client"]
    played: list[tuple[str, str, str]] = []  # (cue id, donation id, state)

    async def on_ack(message: Any) -> None:
        payload = json.loads(message.data)["payload"]
        played.append((payload["cue_id"], payload["donation_id"], payload["state"]))

    await client.subscribe(bus.STAGE_PLAYBACK, cb=on_ack)
    widget = await chromium.new_page()
    await widget.goto(f"{gateway.url}/widget?token={WIDGET}")

    async def until(predicate: Any, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not reached; played so far: {played}"
            await asyncio.sleep(0.1)

    def voice_starts() -> list[tuple[str, str]]:
        return [
            (cue, donation)
            for cue, donation, state in played
            if state == "started" and cue.startswith("voice:")
        ]

    await until(lambda: any(d.startswith("voice-show:") for _, d in voice_starts()), 60)
    scripted_when_posted = len(voice_starts())
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=15
    ) as http:
        posted = await http.post(
            "/api/v1/chat",
            json={
                "kind": "superchat",
                "author": "Anna",
                "message": "Hello from the chat!",
                "amount": 500,
                "currency": "RUB",
            },
        )
    assert posted.status_code == 201, posted.text
    superchat = posted.json()["id"]

    def superchat_done_and_script_resumed() -> bool:
        starts = voice_starts()
        donations = [d for _, d in starts]
        return superchat in donations and any(
            d.startswith("voice-show:") for d in donations[donations.index(superchat) + 1 :]
        )

    await until(superchat_done_and_script_resumed, 90)
    async with httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=15
    ) as http:
        listed = await http.get("/api/v1/audio")
    assert listed.status_code == 200, listed.text
    clips = list(reversed(listed.json()["clips"]))  # oldest first
    starts = voice_starts()
    donations = [d for _, d in starts]
    at = donations.index(superchat)
    assert all(d.startswith("voice-show:") for d in donations[:at]), "before the superchat: the script"
    assert at == scripted_when_posted, "the superchat is the next clip after the one playing when it arrived"
    cues = [c for c, _ in starts]
    assert len(cues) == len(set(cues)), "no clip played twice"
    assert any(d == superchat and state == "ended" for _, d, state in played), "the widget reported its end"

    # What was cued, in the show's own words: the script in order around the superchat, all in the fake's voice.
    assert [c["clip_id"] for c in clips][: len(cues)] == cues, "the widget played the clips in the order cued"
    items = [c["item_id"] for c in clips]
    assert clips[at]["donation_id"] == superchat and clips[at]["kind"] == "superchat"
    script = [item for item in items if item.startswith("line:")]
    assert script == [f"line:0:{n}" for n in range(len(script))], "the script resumed where it stopped"
    assert items.index(script[at]) == at + 1, "the line after the superchat is the one it interrupted"
    assert {c["engine"] for c in clips} == {"boson"}
    assert clips[at]["transcript"] in boson.spoken() and "Anna" in clips[at]["transcript"]
