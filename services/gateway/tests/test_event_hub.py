"""The live event hub: forwards valid envelopes, filters by type, replays, and drops slow viewers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from gateway.events import EventHub
from ovation_contracts import Donation, Money, wrap


def donation_bytes(n: int) -> bytes:
    now = datetime(2026, 11, 21, tzinfo=UTC)
    donation = Donation(
        id=f"simulator:{n}",
        source="simulator",
        upstream_id=str(n),
        donor_name="<b>x</b>",
        amount=Money(amount=Decimal(n), currency="RUB"),
        created_at=now,
        received_at=now,
    )
    return wrap(donation, id=donation.id, correlation_id=donation.id).to_json()


async def collect(stream: object, count: int) -> list[str]:
    items: list[str] = []
    async for chunk in stream:  # type: ignore[attr-defined]
        if chunk.startswith("id:"):
            items.append(chunk.split("\n")[0].removeprefix("id: "))
            if len(items) == count:
                break
    return items


def test_invalid_messages_are_not_forwarded() -> None:
    hub = EventHub()
    assert hub.receive(b"garbage") is None
    assert hub.receive(b'{"type": "donation.received"}') is None
    assert hub.receive(donation_bytes(1)) is not None


async def test_viewers_get_live_events_after_the_requested_backlog() -> None:
    hub = EventHub(backlog=10)
    for n in range(1, 6):
        hub.receive(donation_bytes(n))
    stream = hub.stream(None, backlog=2)
    reader = asyncio.create_task(collect(stream, 4))
    await asyncio.sleep(0.05)
    hub.receive(donation_bytes(6))
    hub.receive(donation_bytes(7))
    assert await asyncio.wait_for(reader, 2) == ["simulator:4", "simulator:5", "simulator:6", "simulator:7"]


async def test_last_event_id_resumes_after_what_the_viewer_saw() -> None:
    hub = EventHub(backlog=10)
    for n in range(1, 6):
        hub.receive(donation_bytes(n))
    ids = await asyncio.wait_for(collect(hub.stream(None, last_event_id="simulator:3"), 2), 2)
    assert ids == ["simulator:4", "simulator:5"]


async def test_type_filter() -> None:
    hub = EventHub(backlog=10)
    hub.receive(donation_bytes(1))
    stream = hub.stream(frozenset({"chat.received"}), backlog=10)
    first = await anext(stream)
    assert first.startswith("retry:")
    reader = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.05)
    assert not reader.done(), "a donation must not reach a chat-only viewer"
    reader.cancel()


async def test_a_slow_viewer_is_disconnected_instead_of_growing_memory() -> None:
    hub = EventHub(backlog=0, client_queue=10)
    stream = hub.stream(None)
    assert (await anext(stream)).startswith("retry:")
    pending = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.01)
    for n in range(50):
        hub.receive(donation_bytes(n))
    # The viewer fell 10 behind: its queue is dropped and its stream ends; the browser resumes with Last-Event-ID.
    try:
        await asyncio.wait_for(pending, 1)
        raise AssertionError("expected the stream to end")
    except StopAsyncIteration:
        pass
    assert hub.receive(donation_bytes(99)) is not None, "the hub itself goes on"


async def test_close_ends_every_stream() -> None:
    hub = EventHub()
    stream = hub.stream(None)
    await anext(stream)
    pending = asyncio.create_task(anext(stream))
    await asyncio.sleep(0.01)
    hub.close()
    try:
        await asyncio.wait_for(pending, 1)
        raise AssertionError("expected the stream to end")
    except StopAsyncIteration:
        pass


def test_the_same_event_is_forwarded_once() -> None:
    hub = EventHub(backlog=10)
    assert hub.receive(donation_bytes(1)) is not None
    assert hub.receive(donation_bytes(1)) is None
    for n in range(2, 20):
        hub.receive(donation_bytes(n))
    assert hub.receive(donation_bytes(1)) is not None, "only the backlog window is remembered"
