"""The DonationAlerts source on a real nats-server against the fake DonationAlerts: exactly once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from faststream.nats import NatsBroker
from pydantic import SecretStr

from ingest.config import DonationAlertsSettings
from ingest.donationalerts_source import DonationAlertsSource
from ingest.status import SourceTracker
from ingest.store import KvSourceStore
from ovation_bus import (
    BusSettings,
    Health,
    dead_letter,
    ensure_buckets,
    ensure_streams,
    jetstream,
    make_broker,
    publish,
)
from ovation_contracts import ChatEvent, Donation, DonationAlertsTokens, Envelope, SourceState, bus, utc_now
from tests.fakes.donationalerts import FakeDonationAlerts

pytestmark = pytest.mark.nats


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    broker = make_broker(BusSettings(nats_url=nats_url), Health("test"))
    await broker.connect()
    await ensure_streams(jetstream(broker))
    await ensure_buckets(jetstream(broker))
    yield broker
    await broker.stop()


@pytest.fixture
async def fake() -> AsyncIterator[FakeDonationAlerts]:
    async with FakeDonationAlerts(rate_limit=None) as server:
        yield server


def settings_for(fake: FakeDonationAlerts, **overrides: Any) -> DonationAlertsSettings:
    values: dict[str, Any] = {
        "api_base": fake.base_url,
        "oauth_base": fake.base_url,
        "ws_url": fake.ws_url,
        "client_id": fake.client_id,
        "client_secret": SecretStr(fake.client_secret),
        "poll_interval": 1.0,
    }
    values.update(overrides)
    return DonationAlertsSettings(**values)


class Running:
    """A source running in a task, with its store, and ways to look at the stream."""

    def __init__(self, source: DonationAlertsSource, task: asyncio.Task[None], broker: NatsBroker) -> None:
        self.source = source
        self.task = task
        self.broker = broker

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task

    async def stored_upstream_ids(self) -> list[int]:
        js = jetstream(self.broker)
        info = await js.stream_info(bus.DONATIONS.name)
        if not info.state.messages:
            return []
        ids = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            message = await js.get_msg(bus.DONATIONS.name, seq)
            ids.append(int(json.loads(message.data)["payload"]["upstream_id"]))
        return ids

    async def wait_for(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            if await predicate():
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"not reached within {timeout} s; state {self.source.tracker.snapshot()}")


@pytest.fixture
async def start(
    broker: NatsBroker, fake: FakeDonationAlerts
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    running: list[Running] = []
    http = httpx.AsyncClient(timeout=5)

    async def publish_event(envelope: Envelope[Donation] | Envelope[ChatEvent], subject: str) -> object:
        return await publish(broker, envelope, subject)

    async def dead_letter_upstream(*, data: bytes, reason: str, key: str) -> None:
        await dead_letter(
            broker, service="ingest", data=data, reason=reason, msg_id=f"dlq:{key}", subject="x"
        )

    async def starter(**overrides: Any) -> Running:
        source = DonationAlertsSource(
            settings_for(fake, **overrides),
            KvSourceStore(broker),
            publish=publish_event,
            dead_letter=dead_letter_upstream,
            tracker=SourceTracker("donationalerts"),
            http=http,
            token_check_interval=0.2,
        )
        run = Running(source, asyncio.create_task(source.run()), broker)
        running.append(run)
        return run

    yield starter
    for run in running:
        await run.stop()
    await http.aclose()


async def connected(run: Running) -> bool:
    return run.source.tracker.state is SourceState.CONNECTED


async def test_first_connection_does_not_replay_history_then_publishes_new_donations(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts
) -> None:
    old = [fake.add_donation(message=f"old {n}") for n in range(3)]
    run = await start(access_token=SecretStr(fake.issue_token()))
    await run.wait_for(lambda: connected(run))
    new = [fake.add_donation(message=f"new {n}") for n in range(5)]

    async def five() -> bool:
        return len(await run.stored_upstream_ids()) == 5

    await run.wait_for(five)
    stored = await run.stored_upstream_ids()
    assert stored == [d["id"] for d in new]
    assert not {d["id"] for d in old} & set(stored)


async def test_duplicate_pushes_and_dropped_connections_publish_each_donation_once_in_order(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts
) -> None:
    run = await start(access_token=SecretStr(fake.issue_token()))
    await run.wait_for(lambda: connected(run))
    fake.duplicate_pushes = 2
    added = []
    for batch in range(4):
        added += [fake.add_donation(message=f"batch {batch} #{n}") for n in range(5)]
        await fake.drop_connections()
        added += [fake.add_donation(message=f"while down {batch}", push=False)]
        await asyncio.sleep(0.3)

    async def everything() -> bool:
        return len(await run.stored_upstream_ids()) >= len(added)

    await run.wait_for(everything, timeout=30)
    await asyncio.sleep(1.5)  # a late duplicate push or poll would show up now
    assert await run.stored_upstream_ids() == [d["id"] for d in added]


async def test_donations_made_while_ingest_was_stopped_are_published_on_restart(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts
) -> None:
    token = SecretStr(fake.issue_token())
    first = await start(access_token=token)
    await first.wait_for(lambda: connected(first))
    before = fake.add_donation(message="before the stop")

    async def one() -> bool:
        return len(await first.stored_upstream_ids()) == 1

    await first.wait_for(one)
    await first.stop()
    missed = [
        fake.add_donation(message=f"missed {n}", push=False) for n in range(40)
    ]  # more than a REST page

    second = await start(access_token=token)

    async def all_of_them() -> bool:
        return len(await second.stored_upstream_ids()) == 41

    await second.wait_for(all_of_them)
    assert await second.stored_upstream_ids() == [before["id"], *[d["id"] for d in missed]]


async def test_malformed_donations_go_to_the_dlq_and_the_stream_goes_on(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts, nats_client: Any
) -> None:
    run = await start(access_token=SecretStr(fake.issue_token()))
    await run.wait_for(lambda: connected(run))
    broken = fake.add_donation(amount="lots", message="not a number")
    fine = fake.add_donation(message="fine")

    async def fine_stored() -> bool:
        return fine["id"] in await run.stored_upstream_ids()

    await run.wait_for(fine_stored)
    assert broken["id"] not in await run.stored_upstream_ids()
    sub = await nats_client.jetstream().pull_subscribe(bus.dlq("ingest"), stream=bus.DLQ.name)
    [dead] = await sub.fetch(1, timeout=5)
    assert "unreadable DonationAlerts donation" in dead.headers[bus.Header.DLQ_REASON]
    assert run.source.tracker.errors["malformed"] >= 1


async def test_expired_token_is_refreshed_without_losing_a_donation(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts, broker: NatsBroker
) -> None:
    access = fake.issue_token(ttl=3600)
    await KvSourceStore(broker).save_tokens(
        DonationAlertsTokens(
            access_token=access,
            refresh_token=fake.refresh_token_for(access),
            expires_at=utc_now() + timedelta(hours=1),
        )
    )
    run = await start()
    await run.wait_for(lambda: connected(run))
    fake.expire_tokens()
    await fake.drop_connections()  # the reconnect meets the expired token: 401, refresh, retry
    donation = fake.add_donation(message="after expiry", push=False)

    async def stored() -> bool:
        return donation["id"] in await run.stored_upstream_ids()

    await run.wait_for(stored, timeout=20)
    tokens, _ = await KvSourceStore(broker).load_tokens()
    assert tokens is not None
    assert tokens.access_token != access, "the refreshed token is kept for the next start"


async def test_refused_refresh_asks_for_reauthorisation_and_a_new_token_resumes(
    start: Callable[..., Awaitable[Running]], fake: FakeDonationAlerts, broker: NatsBroker
) -> None:
    access = fake.issue_token()
    store = KvSourceStore(broker)
    await store.save_tokens(
        DonationAlertsTokens(
            access_token=access,
            refresh_token=fake.refresh_token_for(access),
            expires_at=utc_now() + timedelta(hours=1),
        )
    )
    run = await start()
    await run.wait_for(lambda: connected(run))
    fake.revoke_grants()
    await fake.drop_connections()

    async def needs_reauth() -> bool:
        return run.source.tracker.state is SourceState.NEEDS_REAUTHORISATION

    await run.wait_for(needs_reauth, timeout=20)
    assert not run.source.tracker.check().ok
    assert "connect DonationAlerts again" in run.source.tracker.detail
    assert not run.task.done(), "the source waits; it does not crash"

    await store.save_tokens(DonationAlertsTokens(access_token=fake.issue_token()))
    await run.wait_for(lambda: connected(run))
    donation = fake.add_donation(message="after the new token")

    async def stored() -> bool:
        return donation["id"] in await run.stored_upstream_ids()

    await run.wait_for(stored)


async def test_without_credentials_the_source_is_disabled_and_says_how_to_connect(
    start: Callable[..., Awaitable[Running]],
) -> None:
    run = await start()

    async def disabled() -> bool:
        return run.source.tracker.state is SourceState.DISABLED

    await run.wait_for(disabled)
    assert "connect DonationAlerts" in run.source.tracker.detail
    assert run.source.tracker.check().ok, "not configured is not an error"
