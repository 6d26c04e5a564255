"""The Centrifugo realtime client against the fake over loopback websockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from ingest.donationalerts import (
    Backoff,
    Connected,
    Disconnected,
    DonationAlertsApi,
    DonationAlertsRealtime,
    DonationParser,
    DonationReceived,
    Malformed,
    MalformedReason,
    RealtimeError,
    RealtimeEvent,
    Rejected,
    Unauthorized,
)
from tests.fakes.donationalerts import FakeDonationAlerts

from .conftest import FIXED_NOW

E = TypeVar("E")
FAST = Backoff(base=0.01, cap=0.05, stable_after=30.0)


@pytest.fixture
async def api(fake: FakeDonationAlerts) -> AsyncIterator[DonationAlertsApi]:
    async with DonationAlertsApi(fake.issue_token(), base_url=fake.base_url) as client:
        yield client


def realtime(fake: FakeDonationAlerts, api: DonationAlertsApi, **options: Any) -> DonationAlertsRealtime:
    options.setdefault("backoff", FAST)
    return DonationAlertsRealtime(api, DonationParser(clock=lambda: FIXED_NOW), ws_url=fake.ws_url, **options)


@contextlib.asynccontextmanager
async def listening(client: DonationAlertsRealtime) -> AsyncIterator[AsyncGenerator[RealtimeEvent, None]]:
    async with contextlib.aclosing(client.events()) as events:
        yield events


async def expect(events: AsyncGenerator[RealtimeEvent, None], kind: type[E], timeout: float = 5.0) -> E:
    """The next event, which must be a ``kind``."""
    event = await asyncio.wait_for(anext(events), timeout)
    assert isinstance(event, kind), f"expected {kind.__name__}, got {event!r}"
    return event


async def until(events: AsyncGenerator[RealtimeEvent, None], kind: type[E], timeout: float = 5.0) -> E:
    """The next ``kind`` event, skipping others (reconnect attempts on a slow machine)."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, kind):
                return event
    raise AssertionError("the event stream ended")


async def test_connects_and_subscribes_with_the_real_handshake(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api)) as events:
        connected = await expect(events, Connected)
    assert connected.channel == "$alerts:donation_13907608"
    assert connected.connection == 1
    connect, subscribe = fake.commands[:2]
    assert connect == {"id": 1, "params": {"token": connect["params"]["token"]}}
    assert connect["params"]["token"].startswith("eyJ")
    assert fake.subscribe_bodies == [
        {"channels": ["$alerts:donation_13907608"], "client": connected.client_id}
    ]
    assert subscribe["method"] == 1
    assert subscribe["params"]["channel"] == "$alerts:donation_13907608"
    assert subscribe["params"]["token"]
    assert fake.requests["user"] == 1
    assert fake.requests["subscribe"] == 1


async def test_pushed_donation_arrives_normalised(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        stored = fake.add_donation(
            username=None, message="Привет/hi\r\n", amount=Decimal("22.50"), currency="USD"
        )
        received = await expect(events, DonationReceived)
    got = received.donation
    assert got.id == f"donationalerts:{stored['id']}"
    assert got.donor_name is None
    assert got.message == "Привет/hi"
    assert (got.amount.amount, got.amount.currency) == (Decimal("22.5"), "USD")
    assert got.received_at == FIXED_NOW
    assert received.via == "realtime"


async def test_several_messages_in_one_frame_all_arrive_in_order(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        stored = [fake.add_donation(message=f"#{n}", push=False) for n in range(3)]
        fake.push_donations(stored, one_frame=True)
        got = [await expect(events, DonationReceived) for _ in stored]
    assert [item.upstream_id for item in got] == [d["id"] for d in stored]


async def test_duplicate_pushes_are_delivered_once(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    fake.duplicate_pushes = 2
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        first = fake.add_donation(message="first")
        second = fake.add_donation(message="second")
        got = [await expect(events, DonationReceived) for _ in range(2)]
        await fake.flush()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(events), 0.2)
    assert [item.upstream_id for item in got] == [first["id"], second["id"]]


async def test_survives_a_dropped_connection_and_connects_again(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        await fake.drop_connections()
        disconnected = await expect(events, Disconnected)
        assert isinstance(disconnected.error, RealtimeError)
        assert disconnected.error.code == 3001
        assert 0 <= disconnected.retry_in <= FAST.base
        again = await expect(events, Connected)
        assert again.connection == 2
        stored = fake.add_donation()
        received = await expect(events, DonationReceived)
    assert received.upstream_id == stored["id"]
    assert fake.requests["websocket"] == 2
    assert fake.requests["user"] == 2  # a fresh socket token for every connection


async def test_catch_up_then_realtime_loses_nothing_across_a_disconnect(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    """The service's loop: on every Connected, catch up from the cursor through REST, then trust pushes."""
    parser = DonationParser(clock=lambda: FIXED_NOW)
    cursor = fake.add_donation(push=False)["id"]
    delivered: list[int] = []
    async with listening(realtime(fake, api)) as events:
        async for event in events:
            if isinstance(event, Connected):
                catch_up = await api.donations_since(cursor, parser)
                for item in catch_up.items:
                    assert isinstance(item, DonationReceived)
                    if item.upstream_id not in delivered:
                        delivered.append(item.upstream_id)
                cursor = catch_up.newest_id or cursor
                if event.connection == 1:
                    fake.add_donation(message="live")  # pushed
                elif event.connection == 2:
                    fake.add_donation(message="after reconnect")
            elif isinstance(event, DonationReceived):
                if event.upstream_id not in delivered:
                    delivered.append(event.upstream_id)
                cursor = max(cursor, event.upstream_id)
                if len(delivered) == 1:
                    await fake.drop_connections()
                    for n in range(2):  # while Ovation is away: only REST will have them
                        fake.add_donation(message=f"missed {n}", push=False)
                elif len(delivered) == 4:
                    break
    assert delivered == [d["id"] for d in fake.donations[1:]]


async def test_invalid_utf8_frame_is_rejected_and_the_connection_stays(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        fake.push_raw(
            b'{"result":{"channel":"$alerts:donation_13907608","data":{"data":{"id":1,"x":"\xff"}}}}'
        )
        rejected = await expect(events, Rejected)
        fake.add_donation()
        await expect(events, DonationReceived)
    assert rejected.error.reason is MalformedReason.INVALID_UTF8
    assert rejected.via == "realtime"


async def test_huge_message_is_rejected_and_the_client_reconnects(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api, max_message_bytes=64 * 1024)) as events:
        await expect(events, Connected)
        fake.push_raw('{"result":{"data":"' + "x" * 200_000 + '"}}')
        disconnected = await expect(events, Disconnected)
        assert isinstance(disconnected.error, Malformed)
        assert disconnected.error.reason is MalformedReason.TOO_LARGE
        await expect(events, Connected)


async def test_malformed_pushes_are_rejected_with_their_reason(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    async with listening(realtime(fake, api)) as events:
        await expect(events, Connected)
        wrong = fake.add_donation(amount=[1, 2])
        missing = fake.add_donation(omit=("created_at",))
        fake.push_raw("{not json")
        fake.push_raw('{"result":{"channel":"$alerts:donation_13907608","data":{"seq":9}}}')
        good = fake.add_donation()
        rejected = [await expect(events, Rejected) for _ in range(4)]
        received = await expect(events, DonationReceived)
    assert [(r.error.reason, r.error.field) for r in rejected] == [
        (MalformedReason.WRONG_TYPE, "amount"),
        (MalformedReason.MISSING_FIELD, "created_at"),
        (MalformedReason.INVALID_JSON, None),
        (MalformedReason.MISSING_FIELD, "data"),
    ]
    assert [r.upstream_id for r in rejected[:2]] == [wrong["id"], missing["id"]]
    assert received.upstream_id == good["id"]


async def test_silent_server_is_noticed_by_pings(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    fake.ignore_pings = True
    async with listening(realtime(fake, api, ping_interval=0.05, reply_timeout=0.3)) as events:
        await expect(events, Connected)
        disconnected = await expect(events, Disconnected)
        assert isinstance(disconnected.error, RealtimeError)
        assert "did not answer a ping" in str(disconnected.error)
        fake.ignore_pings = False
        await until(events, Connected)
    pings = [c for c in fake.commands if c.get("method") == 7]
    assert pings
    assert all(set(c) == {"id", "method"} for c in pings)


async def test_pings_answered_keep_the_connection(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    async with listening(realtime(fake, api, ping_interval=0.02, reply_timeout=5.0)) as events:
        await expect(events, Connected)
        await asyncio.sleep(0.2)
        fake.add_donation()
        await expect(events, DonationReceived)
    assert len([c for c in fake.commands if c.get("method") == 7]) >= 3
    assert fake.requests["websocket"] == 1


async def test_refused_token_ends_the_stream_with_unauthorized(fake: FakeDonationAlerts) -> None:
    async with (
        DonationAlertsApi("revoked", base_url=fake.base_url) as api,
        listening(realtime(fake, api)) as events,
    ):
        with pytest.raises(Unauthorized, match="reconnect DonationAlerts"):
            await anext(events)


async def test_server_errors_at_connect_time_are_retried(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    fake.fail_next(500, times=2, endpoint="subscribe")
    async with listening(realtime(fake, api)) as events:
        first = await expect(events, Disconnected)
        second = await expect(events, Disconnected)
        connected = await expect(events, Connected)
    assert first.error is not None
    assert "500" in str(first.error)
    assert second.retry_in <= 2 * FAST.base
    assert connected.connection == 1


async def test_rate_limit_at_connect_time_waits_at_least_retry_after(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    fake.fail_next(429, endpoint="user", retry_after=3)
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    client = realtime(fake, api, sleep=no_wait)
    async with listening(client) as events:
        disconnected = await expect(events, Disconnected)
        assert disconnected.retry_in >= 3
    assert slept == []  # the iterator had not slept yet when closed


def test_backoff_is_exponential_with_full_jitter_and_a_cap() -> None:
    backoff = Backoff(base=1.0, cap=60.0)
    assert [backoff.delay(n, rng=lambda: 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.delay(3, rng=lambda: 0.25) == 2.0
    assert backoff.delay(10_000, rng=lambda: 1.0) == 60
