"""The bus guarantees, proven on a real nats-server: dedupe, explicit acks, redelivery and the DLQ."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.nats import NatsBroker

from ovation_bus import (
    BusSettings,
    Consumer,
    Health,
    Reject,
    ensure_buckets,
    ensure_streams,
    jetstream,
    load,
    load_or_create,
    make_broker,
    publish,
    save,
    subscribe,
)
from ovation_bus import broker as broker_module
from ovation_contracts import Envelope, RoutingRules, VideoJob, bus
from ovation_testing import factories

pytestmark = pytest.mark.nats

DONATION = "donationalerts:30530030"


def video_job(donation_id: str = DONATION) -> Envelope[VideoJob]:
    return factories.video_job(donation_id)


@pytest.fixture
async def broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    broker = make_broker(BusSettings(nats_url=nats_url), Health("test"))
    await broker.connect()
    await ensure_streams(jetstream(broker))
    await ensure_buckets(jetstream(broker))
    yield broker
    await broker.stop()


async def dlq_messages(nats_client: Any, service: str, expected: int, timeout: float = 10.0) -> list[Any]:
    js = nats_client.jetstream()
    sub = await js.pull_subscribe(bus.dlq(service), durable=None, stream=bus.DLQ.name)
    messages: list[Any] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while len(messages) < expected and asyncio.get_running_loop().time() < deadline:
        try:
            messages += await sub.fetch(expected - len(messages), timeout=0.5)
        except TimeoutError:
            continue
    return messages


async def test_duplicate_msg_id_is_stored_once(broker: NatsBroker, nats_client: Any) -> None:
    envelope = video_job()
    first = await publish(broker, envelope, bus.JOBS_VIDEO)
    second = await publish(broker, envelope, bus.JOBS_VIDEO)

    assert not first.duplicate
    assert second.duplicate
    assert second.seq == first.seq
    info = await nats_client.jetstream().stream_info(bus.JOBS.name)
    assert info.state.messages == 1
    stored = await nats_client.jetstream().get_msg(bus.JOBS.name, first.seq)
    assert stored.headers[bus.Header.MSG_ID] == envelope.id
    assert stored.headers[bus.Header.CORRELATION_ID] == DONATION


async def test_handled_message_is_acked_once_and_leaves_the_work_queue(
    broker: NatsBroker, nats_client: Any
) -> None:
    seen: list[Envelope[VideoJob]] = []
    done = asyncio.Event()

    async def handle(envelope: Envelope[VideoJob]) -> None:
        seen.append(envelope)
        done.set()

    subscribe(
        broker,
        service="test",
        consumer=Consumer(bus.JOBS_VIDEO, "test-video"),
        model=VideoJob,
        handler=handle,
    )
    await broker.start()
    await publish(broker, video_job(), bus.JOBS_VIDEO)
    await asyncio.wait_for(done.wait(), 10)
    await asyncio.sleep(0.3)

    assert [e.payload.message for e in seen] == ["a cat in space"]
    info = await nats_client.jetstream().stream_info(bus.JOBS.name)
    assert info.state.messages == 0


async def test_failing_handler_is_redelivered_then_dead_lettered_with_reason(
    broker: NatsBroker, nats_client: Any
) -> None:
    attempts: list[int] = []

    async def handle(envelope: Envelope[VideoJob]) -> None:
        attempts.append(1)
        raise RuntimeError("AIML answered 503")

    consumer = Consumer(bus.JOBS_VIDEO, "test-video", max_deliver=3, backoff=(0.05,), fetch_timeout=0.5)
    subscribe(broker, service="video", consumer=consumer, model=VideoJob, handler=handle)
    await broker.start()
    await publish(broker, video_job(), bus.JOBS_VIDEO)

    [dead] = await dlq_messages(nats_client, "video", expected=1)
    assert len(attempts) == 3
    assert "failed 3 times" in dead.headers[bus.Header.DLQ_REASON]
    assert "AIML answered 503" in dead.headers[bus.Header.DLQ_REASON]
    assert dead.headers[bus.Header.DLQ_SUBJECT] == bus.JOBS_VIDEO
    assert dead.headers[bus.Header.DLQ_DELIVERIES] == "3"
    assert dead.headers[bus.Header.CORRELATION_ID] == DONATION
    assert Envelope[VideoJob].model_validate_json(dead.data).id == video_job().id
    await asyncio.sleep(0.5)
    assert len(attempts) == 3, "a dead-lettered message must not be delivered again"
    info = await nats_client.jetstream().stream_info(bus.JOBS.name)
    assert info.state.messages == 0


async def test_invalid_message_goes_to_the_dlq_at_once_and_the_consumer_goes_on(
    broker: NatsBroker, nats_client: Any
) -> None:
    handled: list[str] = []

    async def handle(envelope: Envelope[VideoJob]) -> None:
        handled.append(envelope.id)

    subscribe(
        broker,
        service="video",
        consumer=Consumer(bus.JOBS_VIDEO, "test-video"),
        model=VideoJob,
        handler=handle,
    )
    await broker.start()
    js = nats_client.jetstream()
    await js.publish(bus.JOBS_VIDEO, b'{"not": "a job"}', headers={bus.Header.MSG_ID: "garbage-1"})
    await js.publish(bus.JOBS_VIDEO, b"\xff\xfe not even utf-8", headers={bus.Header.MSG_ID: "garbage-2"})
    await publish(broker, video_job(), bus.JOBS_VIDEO)

    dead = await dlq_messages(nats_client, "video", expected=2)
    assert len(dead) == 2
    assert all("not a valid job.video message" in m.headers[bus.Header.DLQ_REASON] for m in dead)
    for _ in range(50):
        if handled:
            break
        await asyncio.sleep(0.1)
    assert handled == [video_job().id]


async def test_reject_sends_the_message_to_the_dlq_without_retrying(
    broker: NatsBroker, nats_client: Any
) -> None:
    attempts: list[int] = []

    async def handle(envelope: Envelope[VideoJob]) -> None:
        attempts.append(1)
        raise Reject("the prompt is empty")

    subscribe(
        broker,
        service="video",
        consumer=Consumer(bus.JOBS_VIDEO, "test-video"),
        model=VideoJob,
        handler=handle,
    )
    await broker.start()
    await publish(broker, video_job(), bus.JOBS_VIDEO)

    [dead] = await dlq_messages(nats_client, "video", expected=1)
    assert attempts == [1]
    assert dead.headers[bus.Header.DLQ_REASON] == "rejected by video: the prompt is empty"


async def test_kv_documents_round_trip_and_default_to_none(broker: NatsBroker) -> None:
    assert await load(broker, RoutingRules) is None
    rules = RoutingRules(base_currency="USD")
    await save(broker, rules)
    assert await load(broker, RoutingRules) == rules


async def test_a_default_is_stored_once_and_a_stored_document_wins(broker: NatsBroker) -> None:
    assert await load_or_create(broker, RoutingRules(base_currency="EUR")) == RoutingRules(
        base_currency="EUR"
    )
    assert await load(broker, RoutingRules) == RoutingRules(base_currency="EUR")
    assert await load_or_create(broker, RoutingRules()) == RoutingRules(base_currency="EUR")


async def test_a_default_never_overwrites_a_document_saved_meanwhile(
    broker: NatsBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    streamers = RoutingRules(base_currency="USD")
    read = broker_module.load

    async def read_then_the_streamer_saves(*args: Any, **kwargs: Any) -> Any:
        found = await read(*args, **kwargs)
        if found is None:
            await save(broker, streamers)  # from the dashboard, just after the service found nothing
        return found

    monkeypatch.setattr(broker_module, "load", read_then_the_streamer_saves)
    assert await load_or_create(broker, RoutingRules()) == streamers
    assert await read(broker, RoutingRules) == streamers
