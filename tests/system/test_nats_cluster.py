"""A 3-node NATS cluster with every stream on all three servers: one server is killed mid-flow and nothing is lost.

Three nats-server processes route to each other (as ``deploy/nats-cluster/`` does with containers); the streams are
created at three replicas by our own ``ensure_streams``; a publisher (``ovation_bus.publish``) and a durable consumer
(``ovation_bus.subscribe``) each know all three servers. The server that the consumer is connected to, and that leads
the JOBS stream and the consumer, is killed with SIGKILL a third of the way through; publishing goes on. Every job
is stored once and handled once; only a job in hand when the server died is delivered again.

Also: raising ``OVATION_STREAM_REPLICAS`` replicates streams and buckets made at one replica, keeping their data; and
``deploy/nats-cluster/`` is valid compose that points every service at the three servers.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose
from faststream.nats import NatsBroker
from nats.errors import TimeoutError as NatsTimeoutError

from ovation_bus import (
    BusSettings,
    Consumer,
    Health,
    ensure_buckets,
    ensure_streams,
    jetstream,
    make_broker,
    publish,
    subscribe,
)
from ovation_cli.services import SERVICES
from ovation_contracts import Envelope, VideoJob, bus
from ovation_testing import factories
from ovation_testing.cluster import NatsCluster
from tests.test_compose import ROOT, documented_variables, interpolate

JOBS = 80
KILL_AFTER = 30
DURABLE = "cluster-test"
CLUSTER = ROOT / "deploy" / "nats-cluster"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    cluster = NatsCluster(tmp_path / "cluster").start()
    yield cluster
    cluster.stop()


@pytest.fixture
def settings(cluster: NatsCluster) -> BusSettings:
    return BusSettings(nats_url=",".join(cluster.urls), stream_replicas=3, nats_reconnect_wait=0.2)


@pytest.fixture
async def publisher(settings: BusSettings) -> AsyncIterator[NatsBroker]:
    broker = make_broker(settings, Health("publisher"))
    await broker.connect()
    yield broker
    await broker.stop()


async def move_leaders(broker: NatsBroker, server: str) -> None:
    """Hand the leadership of the JOBS stream and of the test's consumer to ``server`` (nats-server 2.11+)."""
    js = jetstream(broker)
    request = json.dumps({"placement": {"preferred": server}}).encode()
    apis = (
        f"$JS.API.STREAM.LEADER.STEPDOWN.{bus.JOBS.name}",
        f"$JS.API.CONSUMER.LEADER.STEPDOWN.{bus.JOBS.name}.{DURABLE}",
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:  # no answer while a leader is being elected
            stream = (await js.stream_info(bus.JOBS.name)).cluster
            durable = (await js.consumer_info(bus.JOBS.name, DURABLE, timeout=1)).cluster
            assert stream is not None and durable is not None, "not a cluster"
            leaders = (stream.leader, durable.leader)
            if leaders == (server, server):
                return
            for api, leader in zip(apis, leaders, strict=True):
                if leader != server:
                    await broker.connection.request(api, request, timeout=2)
        except NatsTimeoutError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"{server} did not take the lead of the stream and the consumer")


async def wait_for(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


@pytest.mark.nats
@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_killing_one_of_three_servers_mid_flow_loses_nothing_and_doubles_nothing(
    cluster: NatsCluster, settings: BusSettings, publisher: NatsBroker
) -> None:
    js = jetstream(publisher)
    await ensure_streams(js, replicas=settings.stream_replicas)
    assert (await js.stream_info(bus.JOBS.name)).config.num_replicas == 3

    deliveries: Counter[str] = Counter()
    effects: Counter[str] = Counter()

    async def handle(envelope: Envelope[VideoJob]) -> None:
        deliveries[envelope.id] += 1
        if envelope.id not in effects:  # idempotent by message id, as every service is
            effects[envelope.id] += 1

    consumer = make_broker(settings, Health("consumer"))
    subscribe(
        consumer,
        service="cluster-test",
        consumer=Consumer(bus.JOBS_VIDEO, DURABLE, ack_wait=5.0, fetch_timeout=1.0),
        model=VideoJob,
        handler=handle,
    )
    await consumer.start()
    try:
        # The worst server to lose: the consumer's own, leading both the stream and the consumer.
        connected = consumer.connection.connected_url
        assert connected is not None
        victim = next(node for node in cluster.nodes if node.port == connected.port)
        await move_leaders(publisher, victim.name)

        jobs = [factories.video_job(f"cluster:{n}", donor_name=f"Donor {n}") for n in range(JOBS)]
        started = time.monotonic()
        for number, job in enumerate(jobs):
            if number == KILL_AFTER:
                victim.kill()
            await publish(publisher, job, bus.JOBS_VIDEO, deadline=30.0, attempt_timeout=1.0)
            await asyncio.sleep(0.01)
        published_in = time.monotonic() - started

        async def all_handled() -> bool:
            return len(deliveries) == JOBS

        await wait_for(all_handled, "every job handled")
        await asyncio.sleep(1.0)  # time for a duplicate delivery to show up
        stream = await js.stream_info(bus.JOBS.name)
    finally:
        await consumer.stop()

    assert set(effects) == {job.id for job in jobs}, "a job was lost"
    assert set(effects.values()) == {1}
    redelivered = {job_id for job_id, count in deliveries.items() if count > 1}
    # At-least-once: a job in hand, or whose ack had not reached the other servers, when its server died comes
    # again (and the handler's idempotency absorbs it); a consumer that lost its acks would redeliver dozens.
    assert redelivered <= {job.id for job in jobs[:KILL_AFTER]}, "a job published after the kill came twice"
    assert len(redelivered) <= 3, f"{len(redelivered)} jobs delivered again after the failover"
    assert stream.state.last_seq == JOBS, "a publish retried during the failover was stored twice"
    assert stream.state.messages == 0, "a handled job was not acknowledged"
    assert stream.cluster is not None and stream.cluster.leader != victim.name
    print(
        f"published {JOBS} jobs in {published_in:.1f} s across the loss of {victim.name}; "
        f"{len(redelivered)} delivered again"
    )


@pytest.mark.nats
async def test_raising_the_stream_replicas_replicates_the_streams_and_buckets_there_are(
    settings: BusSettings, publisher: NatsBroker
) -> None:
    js = jetstream(publisher)
    await ensure_streams(js)  # as a one-server setup made them
    await ensure_buckets(js)
    kv = await js.key_value(bus.KV_SETTINGS)
    await kv.put("kept", b"across the change")

    await ensure_streams(js, replicas=settings.stream_replicas)
    await ensure_buckets(js, replicas=settings.stream_replicas)

    for name in [spec.name for spec in bus.STREAMS] + [f"KV_{spec.name}" for spec in bus.KV_BUCKETS]:
        assert (await js.stream_info(name)).config.num_replicas == 3, name
    assert (await kv.get("kept")).value == b"across the change"


def merged(base: Any, override: Any) -> Any:
    """Compose's merge of an override file: mappings merge key by key, anything else is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {key: merged(base.get(key), value) for key, value in override.items()} | {
            key: value for key, value in base.items() if key not in override
        }
    return override


def test_the_cluster_example_is_valid_compose_that_points_every_service_at_three_replicated_servers() -> None:
    env = documented_variables()
    base = yaml.safe_load(interpolate((ROOT / "compose.yaml").read_text(), env))
    override = yaml.safe_load(interpolate((CLUSTER / "compose.yaml").read_text(), env))
    compose = merged(base, override)
    PyCompose.from_yaml(yaml.safe_dump(compose)).validate()

    nodes = {"nats": 1, "nats-2": 2, "nats-3": 3}
    for service, number in nodes.items():
        config = f"./deploy/nats-cluster/nats-{number}.conf:/etc/nats/nats.conf:ro"
        assert config in compose["services"][service]["volumes"], service
        assert compose["services"][service]["command"] == ["--config", "/etc/nats/nats.conf"]
        text = (CLUSTER / f"nats-{number}.conf").read_text()
        assert re.search(rf"^server_name: nats-{number}$", text, re.M)
        assert "jetstream" in text and "store_dir: /data" in text
        assert set(re.findall(r"nats-route://([\w-]+):6222", text)) == set(nodes), (
            "each node routes to all three"
        )
    for spec in SERVICES:
        environment = compose["services"][spec.name]["environment"]
        assert environment["OVATION_NATS_URL"].split(",") == [f"nats://{node}:4222" for node in nodes]
        assert environment["OVATION_STREAM_REPLICAS"] == "3"
