"""Routing, moderation lists and approvals through the gateway's API, applied live by the gatekeeper."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import Donation, Money, bus, wrap
from ovation_testing import NatsServer, ServiceProcess
from tests.fakes.exchangerates import FakeExchangeRates

pytestmark = [pytest.mark.nats, pytest.mark.slow]

ADMIN = {"Authorization": "Bearer gate-api-admin-token-0123456789"}


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[tuple[ServiceProcess, Any]]:
    async with FakeExchangeRates() as rates:
        env = {
            "OVATION_NATS_URL": nats_server.url,
            "OVATION_ADMIN_TOKEN": ADMIN["Authorization"].split()[1],
            "GATEKEEPER_RATES_URL": rates.url,
        }
        gatekeeper = ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT").start()
        gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
        client = await nats.connect(nats_server.url)
        yield gateway, client
        await client.drain()
        gateway.stop()
        gatekeeper.stop()


async def send(client: Any, n: int, amount: str, currency: str, message: str) -> None:
    now = datetime.now(UTC)
    donation = Donation(
        id=f"api:g{n}",
        source="api",
        upstream_id=f"g{n}",
        donor_name="Anna",
        message=message,
        amount=Money(amount=Decimal(amount), currency=currency),
        created_at=now,
        received_at=now,
    )
    envelope = wrap(donation, id=donation.id, correlation_id=donation.id)
    await client.jetstream().publish(
        bus.donation_received("api"), envelope.to_json(), headers={bus.Header.MSG_ID: donation.id}
    )


async def screened(client: Any, donation_id: str, timeout: float = 20) -> dict[str, Any]:
    js = client.jetstream()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = await js.stream_info(bus.EVENTS.name)
        for seq in range(max(1, info.state.first_seq), info.state.last_seq + 1):
            message = await js.get_msg(bus.EVENTS.name, seq)
            envelope = json.loads(message.data)
            if message.subject == bus.DONATION_SCREENED and envelope["payload"]["donation_id"] == donation_id:
                return envelope["payload"]  # type: ignore[no-any-return]
        await asyncio.sleep(0.2)
    raise AssertionError(f"{donation_id} was not screened")


async def test_a_threshold_in_dollars_is_stored_in_roubles_and_routes_live(
    system: tuple[ServiceProcess, Any],
) -> None:
    gateway, client = system
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=15) as http:
        response = await http.put(
            "/api/v1/routing/video/threshold", json={"min_amount": {"amount": "10", "currency": "USD"}}
        )
        assert response.status_code == 200, response.text
        assert Decimal(response.json()["video"]["min_amount"]) == Decimal("800.00")
        assert (await http.get("/api/v1/routing")).json()["video"]["min_amount"] == response.json()["video"][
            "min_amount"
        ]
        unknown = await http.put(
            "/api/v1/routing/video/threshold", json={"min_amount": {"amount": "1", "currency": "XAU"}}
        )
        assert unknown.status_code == 422

    await send(client, 1, "12", "USD", "hello")
    result = await screened(client, "api:g1")
    assert result["amount_base"] == {"amount": "960.00", "currency": "RUB"}
    assert result["conversion"]["source"] == "live"
    assert "video" in result["reactions"], "960 RUB is over the 800 RUB threshold set in dollars"


async def test_custom_blocked_words_and_exceptions_apply_to_the_next_message(
    system: tuple[ServiceProcess, Any],
) -> None:
    gateway, client = system
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=15) as http:
        settings = (await http.get("/api/v1/moderation")).json()
        settings["blocked_terms"] = ["pineapple"]
        assert (await http.put("/api/v1/moderation", json=settings)).status_code == 200
    await send(client, 2, "100", "RUB", "I love PINEAPPLE pizza")
    assert (await screened(client, "api:g2"))["verdict"]["decision"] != "allow"


async def test_approvals_through_the_api(system: tuple[ServiceProcess, Any]) -> None:
    gateway, client = system
    async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN, timeout=15) as http:
        settings = (await http.get("/api/v1/moderation")).json()
        assert (await http.put("/api/v1/moderation", json={**settings, "approval": "all"})).status_code == 200
        await send(client, 3, "1500", "RUB", "hello")
        assert (await screened(client, "api:g3"))["approval"] == "pending"
        pending = (await http.get("/api/v1/approvals")).json()["pending"]
        assert [p["donation_id"] for p in pending] == ["api:g3"]
        approved = await http.post("/api/v1/approvals/api:g3/approve")
        assert approved.status_code == 200
        assert approved.json()["approval"] == "approved"
        assert (await http.post("/api/v1/approvals/api:g3/approve")).status_code == 409
        assert (await http.get("/api/v1/approvals")).json()["pending"] == []
        assert (
            await http.get("/api/v1/approvals", headers={"Authorization": "Bearer nope"})
        ).status_code == 401
