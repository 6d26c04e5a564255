"""The gatekeeper as a real process on a real nats-server: one screened event and exactly the chosen jobs per
donation, through duplicate deliveries and a SIGKILL mid-batch; manual approval; the moderation request/reply."""

from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest

from ovation_contracts import (
    ApprovalDecision,
    ApprovalMode,
    ApprovalsQuery,
    ControlReply,
    Donation,
    ModerationReply,
    ModerationRequest,
    ModerationSettings,
    Money,
    bus,
    decode,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture
def gatekeeper(nats_server: NatsServer, tmp_path: Path) -> Iterator[ServiceProcess]:
    env = {"OVATION_NATS_URL": nats_server.url, "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/v6/latest/USD"}
    process = ServiceProcess("gatekeeper", tmp_path, env, "GATEKEEPER_HTTP_PORT").start()
    yield process
    process.stop()


@pytest.fixture
async def client(nats_server: NatsServer) -> AsyncIterator[Any]:
    connection = await nats.connect(nats_server.url)
    yield connection
    await connection.drain()


def donation(n: int, amount: int, message: str = "hello stream") -> Donation:
    now = datetime.now(UTC)
    return Donation(
        id=f"simulator:d{n}",
        source="simulator",
        upstream_id=f"d{n}",
        donor_name=f"donor {n}",
        message=message,
        amount=Money(amount=Decimal(amount), currency="RUB"),
        created_at=now,
        received_at=now,
    )


async def send(client: Any, item: Donation, msg_id: str | None = None) -> None:
    envelope = wrap(item, id=item.id, correlation_id=item.id)
    await client.jetstream().publish(
        bus.donation_received(item.source), envelope.to_json(), headers={bus.Header.MSG_ID: msg_id or item.id}
    )


async def stream_messages(client: Any, stream: str) -> list[tuple[str, dict[str, Any]]]:
    js = client.jetstream()
    info = await js.stream_info(stream)
    found = []
    if info.state.messages:
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(stream, seq)
            found.append((message.subject, json.loads(message.data)))
    return found


def expected_jobs(amount: int, has_message: bool = True) -> set[str]:
    jobs = set()
    if amount >= 100:
        jobs.add(bus.JOBS_VOICE)
    if amount >= 300 and has_message:
        jobs.add(bus.JOBS_PAINTER)
    if amount >= 1000:
        jobs.add(bus.JOBS_VIDEO)
    return jobs


async def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError("not reached in time")


async def test_each_donation_is_screened_once_with_exactly_its_jobs_through_duplicates_and_a_kill(
    gatekeeper: ServiceProcess, client: Any
) -> None:
    rng = random.Random(4)
    amounts = {n: rng.choice([50, 150, 500, 1500, 5000]) for n in range(120)}
    for n, amount in amounts.items():
        await send(client, donation(n, amount))
        if n % 10 == 0:  # delivered twice, as if redelivered beyond JetStream's dedupe window
            await send(client, donation(n, amount), msg_id=f"again-{n}")
        if n == 60:
            await asyncio.sleep(0.5)
            gatekeeper.stop(signal.SIGKILL)
            gatekeeper.start()

    async def all_screened() -> bool:
        return (
            sum(1 for s, _ in await stream_messages(client, bus.EVENTS.name) if s == bus.DONATION_SCREENED)
            >= 120
        )

    expected_total = sum(len(expected_jobs(a)) for a in amounts.values())

    async def all_jobs() -> bool:
        return len(await stream_messages(client, bus.JOBS.name)) >= expected_total

    await wait_for(all_screened)
    # A kill between a donation's screened event and its last job leaves the rest to the redelivery after ack_wait.
    await wait_for(all_jobs, timeout=90)
    await asyncio.sleep(2)
    screened = [e for s, e in await stream_messages(client, bus.EVENTS.name) if s == bus.DONATION_SCREENED]
    ids = Counter(e["payload"]["donation_id"] for e in screened)
    assert len(ids) == 120
    assert set(ids.values()) == {1}, "one screened event per donation"

    jobs = await stream_messages(client, bus.JOBS.name)
    by_donation: dict[str, set[str]] = {}
    for subject, envelope in jobs:
        by_donation.setdefault(envelope["payload"]["donation_id"], set()).add(subject)
    assert len(jobs) == expected_total, "no job twice"
    for n, amount in amounts.items():
        assert by_donation.get(f"simulator:d{n}", set()) == expected_jobs(amount), n


async def test_downgraded_donations_keep_their_thanks_without_the_message(
    gatekeeper: ServiceProcess, client: Any
) -> None:
    await send(client, donation(1, 2000, message="fuck this stream"))

    async def screened() -> bool:
        return any(s == bus.DONATION_SCREENED for s, _ in await stream_messages(client, bus.EVENTS.name))

    await wait_for(screened)
    [(_, event)] = [
        (s, e) for s, e in await stream_messages(client, bus.EVENTS.name) if s == bus.DONATION_SCREENED
    ]
    assert event["payload"]["verdict"]["decision"] == "downgrade"
    assert event["payload"]["message"] is None
    await asyncio.sleep(0.5)
    jobs = await stream_messages(client, bus.JOBS.name)
    assert {s for s, _ in jobs} == {bus.JOBS_VOICE, bus.JOBS_PAINTER, bus.JOBS_VIDEO}
    assert all(e["payload"]["message"] is None and e["payload"]["downgraded"] for _, e in jobs)
    assert all("fuck" not in json.dumps(e) for _, e in jobs)


async def test_manual_approval_holds_the_jobs_until_a_moderator_approves(
    gatekeeper: ServiceProcess, client: Any
) -> None:
    kv = await client.jetstream().key_value(bus.KV_SETTINGS)
    await kv.put(
        ModerationSettings.KEY, ModerationSettings(approval=ApprovalMode.ALL).model_dump_json().encode()
    )
    await send(client, donation(7, 1500))
    await send(client, donation(8, 1500))

    async def request(command: Any) -> ControlReply:
        subject = bus.control("gatekeeper", command.TYPE.rsplit(".", 1)[-1])
        envelope = wrap(command, id=f"test:{time.monotonic_ns()}", correlation_id="test")
        answer = await client.request(subject, envelope.to_json(), timeout=5)
        return decode(answer.data, ControlReply).payload

    async def two_pending() -> bool:
        reply = await request(ApprovalsQuery())
        return len(reply.data["pending"]) == 2  # type: ignore[index,arg-type]

    await wait_for(two_pending, timeout=20)
    assert await stream_messages(client, bus.JOBS.name) == [], "nothing reacts before approval"

    approved = await request(ApprovalDecision(donation_id="simulator:d7", approve=True))
    rejected = await request(ApprovalDecision(donation_id="simulator:d8", approve=False))
    again = await request(ApprovalDecision(donation_id="simulator:d7", approve=True))
    assert approved.ok and rejected.ok
    assert not again.ok, "a decision is taken once"
    jobs = await stream_messages(client, bus.JOBS.name)
    assert {e["payload"]["donation_id"] for _, e in jobs} == {"simulator:d7"}
    assert {s for s, _ in jobs} == expected_jobs(1500)
    states = [
        e["payload"]["approval"]
        for s, e in await stream_messages(client, bus.EVENTS.name)
        if s == bus.DONATION_SCREENED
    ]
    assert sorted(states) == ["approved", "pending", "pending", "rejected"]


async def test_other_services_can_have_text_moderated_over_nats(
    gatekeeper: ServiceProcess, client: Any
) -> None:
    async def check(text: str) -> ModerationReply:
        envelope = wrap(ModerationRequest(text=text), id=f"m:{time.monotonic_ns()}", correlation_id="m")
        answer = await client.request(bus.MODERATION_CHECK, envelope.to_json(), timeout=5)
        return decode(answer.data, ModerationReply).payload

    assert (await check("Thank you Anna, what a lovely cat!")).verdict.decision == "allow"
    assert (await check("иди нахуй")).verdict.decision != "allow"
