"""DonationAlerts end to end: ingest and gateway as real processes, the fake DonationAlerts, a real nats-server."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import bus
from ovation_testing import NatsServer, ServiceProcess
from tests.fakes.donationalerts import FakeDonationAlerts

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(300)]

ADMIN_TOKEN = "da-e2e-admin-token-0123456789"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDonationAlerts]:
    # No rate limit here: this is about exactly-once; the limiter has its own tests.
    async with FakeDonationAlerts(rate_limit=None) as server:
        yield server


def ingest_env(nats_server: NatsServer, fake: FakeDonationAlerts, **extra: str) -> dict[str, str]:
    return {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "INGEST_SIMULATOR": "false",
        "DONATIONALERTS_API_BASE": fake.base_url,
        "DONATIONALERTS_OAUTH_BASE": fake.base_url,
        "DONATIONALERTS_WS_URL": fake.ws_url,
        "DONATIONALERTS_POLL_INTERVAL": "1",
        **extra,
    }


async def wait_connected(ingest: ServiceProcess, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    detail = ""
    while time.monotonic() < deadline:
        report = await asyncio.to_thread(ingest.health)
        detail = report["checks"]["donationalerts"]["detail"]  # type: ignore[index]
        if str(detail).startswith("connected"):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"DonationAlerts never connected: {detail}")


async def stored_upstream_ids(url: str) -> list[int]:
    client = await nats.connect(url)
    js = client.jetstream()
    info = await js.stream_info(bus.DONATIONS.name)
    ids = []
    if info.state.messages:
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(bus.DONATIONS.name, seq)
            envelope = json.loads(message.data or b"{}")
            if envelope["payload"]["source"] == "donationalerts":
                ids.append(int(envelope["payload"]["upstream_id"]))
    await client.drain()
    return ids


async def test_500_donations_through_10_drops_and_2_kills_are_stored_exactly_once_in_order(
    nats_server: NatsServer, fake: FakeDonationAlerts, tmp_path: Path
) -> None:
    env = ingest_env(nats_server, fake, DONATIONALERTS_ACCESS_TOKEN=fake.issue_token(ttl=86_400))
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    try:
        await wait_connected(ingest)
        rng = random.Random(2026)
        total = 500
        drops = set(rng.sample(range(20, total - 20), 10))
        kills = set(rng.sample(sorted(set(range(60, total - 60)) - drops), 2))
        for n in range(total):
            fake.add_donation(username=f"donor {n}", message=f"donation {n}", amount=100 + n)
            if n in drops:
                await fake.drop_connections()
            if n in kills:
                ingest.stop(signal.SIGKILL)
                await asyncio.sleep(0.5)
                ingest.start(wait_ready=False)
            await asyncio.sleep(0.02)

        expected = [d["id"] for d in fake.donations]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(await stored_upstream_ids(nats_server.url)) < total:  # noqa: ASYNC110 - polling another process's result
            await asyncio.sleep(0.5)
        await asyncio.sleep(3)  # anything late (a redelivery, a poll) would show up now
        stored = await stored_upstream_ids(nats_server.url)
        assert len(stored) == total, f"{len(stored)} stored, {len(set(stored))} distinct"
        assert stored == expected, "in upstream order, no duplicates"
    finally:
        ingest.stop()


@pytest.fixture
async def system(
    nats_server: NatsServer, fake: FakeDonationAlerts, tmp_path: Path
) -> AsyncIterator[tuple[ServiceProcess, ServiceProcess]]:
    gateway = ServiceProcess("gateway", tmp_path, ingest_env(nats_server, fake), "OVATION_PORT")
    env = ingest_env(
        nats_server,
        fake,
        DONATIONALERTS_CLIENT_ID=fake.client_id,
        DONATIONALERTS_CLIENT_SECRET=fake.client_secret,
        DONATIONALERTS_REDIRECT_URI=f"{gateway.url}/api/v1/donationalerts/callback",
    )
    gateway.start()
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    yield ingest, gateway
    ingest.stop()
    gateway.stop()


def admin() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def test_oauth_login_connects_and_forged_or_replayed_states_are_refused(
    system: tuple[ServiceProcess, ServiceProcess], fake: FakeDonationAlerts
) -> None:
    ingest, gateway = system
    async with httpx.AsyncClient(timeout=15) as http:
        login = await http.post(f"{gateway.url}/api/v1/donationalerts/login", headers=admin())
        assert login.status_code == 200, login.text
        authorize = await http.get(
            login.json()["authorize_url"]
        )  # the streamer grants access on DonationAlerts
        assert authorize.status_code in {302, 303}
        callback = authorize.headers["location"]
        assert callback.startswith(f"{gateway.url}/api/v1/donationalerts/callback?")

        forged = await http.get(
            f"{gateway.url}/api/v1/donationalerts/callback", params={"code": "x", "state": "forged"}
        )
        assert forged.status_code == 403
        assert "start again from the dashboard" in forged.json()["detail"]
        missing = await http.get(f"{gateway.url}/api/v1/donationalerts/callback", params={"code": "x"})
        assert missing.status_code == 403
        assert fake.token_forms == [], "a refused callback must not exchange anything"

        done = await http.get(callback)
        assert done.status_code == 303
        assert done.headers["location"] == "/dashboard#donationalerts=connected"
        await wait_connected(ingest)

        replayed = await http.get(callback)
        assert replayed.status_code == 403, "a state is single-use"
        assert len(fake.token_forms) == 1

        sources = await http.get(f"{gateway.url}/api/v1/sources", headers=admin())
        states = {s["source"]: s["state"] for s in sources.json()["sources"]}
        assert states == {"donationalerts": "connected", "simulator": "disabled"}
        test = await http.post(f"{gateway.url}/api/v1/sources/donationalerts/test", headers=admin())
        assert test.status_code == 200
        assert test.json()["ok"] is True
        assert "Connected to DonationAlerts" in test.json()["message"]

        fake.add_donation(message="hello after OAuth")
        await asyncio.sleep(0.5)
        disconnect = await http.post(f"{gateway.url}/api/v1/donationalerts/disconnect", headers=admin())
        assert disconnect.status_code == 200
        bodies = [login.text, sources.text, test.text, done.text, disconnect.text]

    # No token in any response or log line.
    secrets = list(fake._tokens) + [t.refresh_token for t in fake._tokens.values() if t.refresh_token]
    assert secrets
    everything = "\n".join(bodies) + ingest.logs() + gateway.logs()
    for secret in secrets:
        assert secret not in everything


async def test_test_donations_chat_and_interrupts_enter_through_the_api(
    system: tuple[ServiceProcess, ServiceProcess], nats_server: NatsServer, tmp_path: Path
) -> None:
    _, gateway = system
    # The real gatekeeper, so an interrupt is followed to its voice job (rates: the bundled table).
    gatekeeper = ServiceProcess(
        "gatekeeper",
        tmp_path,
        {"OVATION_NATS_URL": nats_server.url, "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/v6/latest/USD"},
        "GATEKEEPER_HTTP_PORT",
    ).start()
    try:
        await _enter_through_the_api(gateway, nats_server)
    finally:
        gatekeeper.stop()


async def _enter_through_the_api(gateway: ServiceProcess, nats_server: NatsServer) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        assert (
            await http.post(f"{gateway.url}/api/v1/donations/test", json={"amount": 500})
        ).status_code == 401
        donation = await http.post(
            f"{gateway.url}/api/v1/donations/test",
            headers=admin(),
            json={"donor": "Ivan", "amount": "1500.50", "currency": "usd", "message": "draw a cat"},
        )
        assert donation.status_code == 201, donation.text
        superchat = await http.post(
            f"{gateway.url}/api/v1/chat",
            headers=admin(),
            json={"kind": "superchat", "author": "Anna", "message": "hi!", "amount": 5, "currency": "EUR"},
        )
        interrupt = await http.post(
            f"{gateway.url}/api/v1/audio/interrupt",
            headers=admin(),
            json={"kind": "gift", "persona": "narrator", "message": "a rose for you"},
        )
        # The AI Live Stream Backend's bodies: no amount, so below every threshold; addressed, so spoken.
        donated = await http.post(
            f"{gateway.url}/api/v1/audio/interrupt",
            headers=admin(),
            json={"kind": "donation", "persona": "sasha", "message": "Sasha, say hi to my mum"},
        )
        chatted = await http.post(
            f"{gateway.url}/api/v1/interrupt",
            headers=admin(),
            json={"kind": "chat", "persona": "nova", "message": "Nova, sing!"},
        )
        blocked = await http.post(
            f"{gateway.url}/api/v1/audio/interrupt",
            headers=admin(),
            json={"kind": "chat", "persona": "nova", "message": "I will kill you"},
        )
        bad = await http.post(f"{gateway.url}/api/v1/donations/test", headers=admin(), json={"amount": -5})
        assert bad.status_code == 422
    for response in (interrupt, donated, chatted, blocked):
        assert response.status_code == 201, response.text
    ids = [r.json()["id"] for r in (donation, superchat, interrupt, donated, chatted, blocked)]
    assert ids[0].startswith("api:")

    client = await nats.connect(nats_server.url)
    try:
        found = {
            key: (subject, envelope["payload"])
            for key, (subject, envelope) in (await stream_by_id(client, bus.DONATIONS.name)).items()
        }
        subject, payload = found[ids[0]]
        assert subject == "donations.received.api"
        assert payload["amount"] == {"amount": "1500.50", "currency": "USD"}
        assert payload["is_test"] is True
        assert payload["persona"] is None
        assert found[ids[1]][0] == "chat.superchat.api"
        assert found[ids[2]][0] == "chat.gift.api"
        assert found[ids[2]][1]["persona"] == "narrator"
        subject, payload = found[ids[3]]
        assert subject == "donations.received.api"
        assert (payload["persona"], payload["is_test"]) == ("sasha", False)
        assert payload["amount"] == {"amount": "1", "currency": "RUB"}, "the documented minimal amount"
        assert found[ids[4]][0] == "chat.chat.api"

        # Through the gatekeeper: each addressed interrupt is screened with the voice and a voice job for its
        # persona; the blocked one gets nothing at all.
        addressed = {ids[2]: "narrator", ids[3]: "sasha", ids[4]: "nova"}
        deadline = time.monotonic() + 60
        while True:
            screened = {
                e["payload"]["donation_id"]: e["payload"]
                for s, e in (await stream_by_id(client, bus.EVENTS.name)).values()
                if s == bus.DONATION_SCREENED
            }
            voice = {
                e["payload"]["donation_id"]: e["payload"]
                for s, e in (await stream_by_id(client, bus.JOBS.name)).values()
                if s == bus.JOBS_VOICE
            }
            if (
                set(ids) <= screened.keys() and addressed.keys() <= voice.keys()
            ) or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        assert set(ids) <= screened.keys(), "every event is screened"
        for event_id, persona in addressed.items():
            assert "voice" in screened[event_id]["reactions"], screened[event_id]
            assert screened[event_id]["persona"] == persona
            assert event_id in voice, f"no voice job for {event_id}"
            assert voice[event_id]["persona"] == persona
            assert voice[event_id]["job_id"] == f"{event_id}:voice"
        assert screened[ids[3]]["reactions"] == ["alert", "voice"], "1 RUB: nothing else"
        assert screened[ids[4]]["reactions"] == ["voice"], "plain chat: only because it is addressed"
        assert voice[ids[3]]["message"] == "Sasha, say hi to my mum"
        assert screened[ids[5]]["verdict"]["decision"] == "block"
        assert screened[ids[5]]["reactions"] == []
        await asyncio.sleep(0.5)
        jobs = await stream_by_id(client, bus.JOBS.name)
        assert not [e for _, e in jobs.values() if e["payload"]["donation_id"] == ids[5]], "blocked: no job"
    finally:
        await client.drain()


async def stream_by_id(client: Any, stream: str) -> dict[str, tuple[str, Any]]:
    """Envelope id -> (subject, envelope) for every message in a stream."""
    js = client.jetstream()
    found: dict[str, tuple[str, Any]] = {}
    info = await js.stream_info(stream)
    if info.state.messages:
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(stream, seq)
            envelope = json.loads(message.data)
            found[envelope["id"]] = (message.subject, envelope)
    return found
