"""Poison messages: whatever lands on a subject a service consumes ends in ``dlq.<service>`` with the reason, and the
service goes on consuming.

Onto every subject a durable consumer of ours reads (the gatekeeper's donations and chat, the video, painter and voice
jobs, the voice's playback reports, the gateway's screened donations and stage cues) the test publishes, straight
to JetStream: broken JSON, binary garbage, an empty body, JSON that is no object, JSON nested too deep to parse,
garbage whose ``content-type`` header says JSON or text, a valid message of another type, a valid envelope with the wrong payload, an unknown ``schema_version``, a body as
big as NATS takes (``max_payload``, 1 MiB), a huge correlation header, and bodies hypothesis makes (random bytes,
random JSON, valid envelopes with one field too many or a version this code does not read). Each must be stored in
the DLQ, with the reason and where it came from; then a valid message on the same subject must be handled.
Control commands (request/reply, not stored) get an answer saying what was wrong, never silence.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ovation_contracts import (
    ChatEvent,
    ChatKind,
    ControlReply,
    CueKind,
    Donation,
    Envelope,
    Money,
    PainterJob,
    PlaybackAck,
    PlaybackState,
    QueueList,
    VoiceJob,
    bus,
    decode,
    wrap,
)
from ovation_testing import factories

from .conftest import Deployment, Recorder, reaction_job

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(240)]

MAX_PAYLOAD = 1024 * 1024
"""nats-server's default ``max_payload``, which our test servers and compose keep."""
GENERATED = 10
"""Hypothesis bodies per subject."""


def donation(tag: str) -> Envelope[Any]:
    now = datetime.now(UTC)
    payload = Donation(
        id=f"api:{tag}",
        source="api",
        upstream_id=tag,
        donor_name="Anna",
        message="Hello stream!",
        amount=Money(
            amount=Decimal(50), currency="RUB"
        ),  # below every reaction but the alert: no jobs follow
        created_at=now,
        received_at=now,
    )
    return wrap(payload, id=payload.id, correlation_id=payload.id)


def chat(tag: str) -> Envelope[Any]:
    now = datetime.now(UTC)
    payload = ChatEvent(
        id=f"api:{tag}",
        kind=ChatKind.CHAT,
        source="api",
        upstream_id=tag,
        author="Boris",
        message="hi!",
        created_at=now,
        received_at=now,
    )
    return wrap(payload, id=payload.id, correlation_id=payload.id)


def playback(tag: str) -> Envelope[Any]:
    ack = PlaybackAck(cue_id=f"video:{tag}:cue", donation_id=f"api:{tag}", state=PlaybackState.ENDED)
    return wrap(ack, id=f"ack:{tag}", correlation_id=ack.donation_id)


def cue(tag: str) -> Envelope[Any]:
    return factories.media_cue(f"api:{tag}:cue", f"video/{tag}.mp4", kind=CueKind.VIDEO, size=1000)


@dataclass(frozen=True)
class Target:
    """A durable consumer of ours: the service, a subject it reads, and how to make a valid message for it."""

    service: str
    subject: str
    purpose: str
    valid: Callable[[str], Envelope[Any]]

    @property
    def durable(self) -> str:
        return bus.durable(self.service, self.purpose)

    @property
    def stream(self) -> str:
        return bus.stream_for(self.subject).name


TARGETS = (
    Target("gatekeeper", bus.donation_received("api"), "donations", donation),
    Target("gatekeeper", bus.chat_received("chat", "api"), "chat", chat),
    Target("video", bus.JOBS_VIDEO, "render", lambda tag: factories.video_job(f"api:{tag}")),
    Target(
        "painter", bus.JOBS_PAINTER, "draw", lambda tag: reaction_job(PainterJob, f"api:{tag}", "painter")
    ),
    Target("voice", bus.JOBS_VOICE, "speak", lambda tag: reaction_job(VoiceJob, f"api:{tag}", "voice")),
    Target("voice", bus.STAGE_PLAYBACK, "playback", playback),
    Target("gateway", bus.DONATION_SCREENED, "screened", lambda tag: factories.screened_alert(f"api:{tag}")),
    Target("gateway", bus.STAGE_CUE, "cues", cue),
)


def generated(valid: dict[str, Any]) -> list[bytes]:
    """Bodies hypothesis makes that no consumer may take: random bytes, random JSON, and a valid envelope with one
    field too many or a schema version this code does not read (derandomized: the same bodies every run)."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    )
    extra_field = st.tuples(st.text(min_size=1, max_size=12).filter(lambda k: k not in valid), json_values)
    bodies = st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda value: json.dumps(value).encode()),
        extra_field.map(lambda kv: json.dumps({**valid, kv[0]: kv[1]}).encode()),
        st.integers()
        .filter(lambda v: v != valid["schema_version"])
        .map(lambda version: json.dumps({**valid, "schema_version": version}).encode()),
    )
    found: list[bytes] = []

    @settings(
        max_examples=GENERATED,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(bodies)
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found


def poisons(target: Target, other: Target) -> list[tuple[str, bytes, dict[str, str] | None]]:
    """(name, body, headers) of every poison for ``target``; ``other`` supplies a valid message of another type."""
    valid = json.loads(target.valid("poison-template").to_json())
    wrong_payload = {**valid, "payload": {"surprise": True}}
    unknown_version = {**valid, "schema_version": 99}
    # The biggest body NATS takes beside a message id header: its copy in the DLQ, with the reason, would not fit.
    envelope = json.dumps({**valid, "padding": ""}).encode()
    big = envelope.replace(
        b'"padding": ""', b'"padding": "' + b"x" * (MAX_PAYLOAD - 128 - len(envelope)) + b'"'
    )
    named: list[tuple[str, bytes, dict[str, str] | None]] = [
        ("broken json", b'{"id": "poison", "type": ', None),
        ("binary garbage", bytes(range(255, -1, -1)) * 4, None),
        ("empty body", b"", None),
        ("json that is no object", b"[1, 2, 3]", None),
        ("json nested too deep", b"[" * 50_000 + b"]" * 50_000, None),
        ("garbage that says it is json", b"{not json", {"content-type": "application/json"}),
        ("bytes that say they are text", b"\xff\xfe\xfd", {"content-type": "text/plain"}),
        ("a valid message of another type", other.valid("poison-other").to_json(), None),
        ("the wrong payload", json.dumps(wrong_payload).encode(), None),
        ("an unknown schema_version", json.dumps(unknown_version).encode(), None),
        ("as big as NATS takes", big, None),
        # JetStream takes headers up to 64 KiB: this one fits, but not beside the DLQ's own headers.
        ("a huge correlation header", b"{}", {bus.Header.CORRELATION_ID: "c" * 65_000}),
    ]
    named += [(f"generated {n}", body, None) for n, body in enumerate(generated(valid))]
    return named


async def dead_letters(recorder: Recorder, *, headers_only: bool = False) -> dict[tuple[str, int], Msg]:
    """Everything in the DLQ stream, by the stream and sequence it came from."""
    js = recorder.client.jetstream()
    expected = (await js.stream_info(bus.DLQ.name)).state.messages
    config = ConsumerConfig(
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.NONE,
        mem_storage=True,
        headers_only=headers_only,
    )
    subscription = await js.pull_subscribe("dlq.>", stream=bus.DLQ.name, config=config)
    found: dict[tuple[str, int], Msg] = {}
    try:
        read = 0
        while read < expected:
            messages = await subscription.fetch(min(50, expected - read), timeout=5)
            read += len(messages)
            for message in messages:
                headers = message.headers or {}
                if bus.Header.DLQ_STREAM in headers:
                    found[(headers[bus.Header.DLQ_STREAM], int(headers[bus.Header.DLQ_SEQUENCE]))] = message
    finally:
        await subscription.unsubscribe()
    return found


async def test_poison_on_every_consumed_subject_goes_to_the_dlq_and_no_consumer_stops(
    deployment: Deployment, recorder: Recorder
) -> None:
    js = recorder.client.jetstream()
    sent: dict[tuple[str, int], tuple[Target, str, bytes]] = {}
    valids: dict[Target, tuple[Envelope[Any], int]] = {}
    for number, target in enumerate(TARGETS):
        other = TARGETS[(number + 2) % len(TARGETS)]
        for index, (name, body, extra) in enumerate(poisons(target, other)):
            headers = dict(extra or {})
            if index % 2:  # half with a message id, half with no header at all
                headers[bus.Header.MSG_ID] = f"poison:{target.subject}:{index}"
            ack = await js.publish(target.subject, body, headers=headers or None)
            sent[(ack.stream, ack.seq)] = (target, name, body)
        valid = target.valid(f"after-poison-{number}")
        ack = await js.publish(target.subject, valid.to_json(), headers={bus.Header.MSG_ID: valid.id})
        valids[target] = (valid, ack.seq)

    # Every poison in the DLQ, with the reason and its origin.
    deadline = asyncio.get_running_loop().time() + 60
    while missing := sent.keys() - (await dead_letters(recorder, headers_only=True)).keys():
        names = sorted((sent[key][0].subject, sent[key][1]) for key in missing)
        assert asyncio.get_running_loop().time() < deadline, f"not in the DLQ: {names}"
        await asyncio.sleep(0.5)
    letters = await dead_letters(recorder)
    for key, (target, name, body) in sent.items():
        letter = letters[key]
        headers = letter.headers or {}
        what = f"{name} on {target.subject}"
        assert headers[bus.Header.DLQ_SERVICE] == target.service, what
        assert headers[bus.Header.DLQ_SUBJECT] == target.subject, what
        assert letter.subject == bus.dlq(target.service), what
        assert headers[bus.Header.DLQ_REASON].startswith("not a valid "), (
            what,
            headers[bus.Header.DLQ_REASON],
        )
        assert headers[bus.Header.PRODUCER].startswith(f"{target.service}:"), what
        if bus.Header.DLQ_TRUNCATED in headers:
            assert int(headers[bus.Header.DLQ_TRUNCATED]) == len(body) and body.startswith(letter.data), what
        else:
            assert letter.data == body, what
    truncated = [sent[key][1] for key in sent if bus.Header.DLQ_TRUNCATED in (letters[key].headers or {})]
    assert set(truncated) == {"as big as NATS takes"}, truncated

    # Then the valid message on every subject is handled, not dead-lettered, and every consumer has caught up.
    async def caught_up(target: Target) -> bool:
        info = await js.consumer_info(target.stream, target.durable)
        return info.ack_floor.stream_seq >= valids[target][1] and not info.num_ack_pending

    for target in TARGETS:
        deadline = asyncio.get_running_loop().time() + 30
        while not await caught_up(target):
            assert asyncio.get_running_loop().time() < deadline, f"{target.durable} stopped consuming"
            await asyncio.sleep(0.2)
    dead = await dead_letters(recorder, headers_only=True)
    assert [t.durable for t, (_, seq) in valids.items() if (t.stream, seq) in dead] == []

    # The valid jobs were taken up (a status each), and every service is alive and ready.
    jobs = {envelope.id for target, (envelope, _) in valids.items() if target.stream == bus.JOBS.name}
    await recorder.until(lambda: {s.job_id for s, _ in recorder.statuses(jobs)} == jobs, "the valid jobs")
    assert deployment.exited() == []
    for name, process in deployment.processes.items():
        report = process.health()
        assert report["ready"], (name, report)


async def test_a_malformed_control_command_gets_an_answer_saying_what_is_wrong(
    deployment: Deployment, recorder: Recorder
) -> None:
    bodies = [b"", b"\xff\xfe garbage", b'{"a": "' + b"x" * 5000 + b'", "b": 1, "c": 2}', b"[" * 50_000]
    subjects = [bus.control(service, "list") for service in ("video", "painter", "voice")]
    subjects.append(bus.MODERATION_CHECK)
    for subject in subjects:
        for body in bodies:
            answer = await recorder.client.request(subject, body, timeout=10)
            reply: ControlReply = decode(answer.data, ControlReply).payload
            assert not reply.ok and "not a valid" in reply.message, (subject, body[:20], reply)
        fine = wrap(QueueList(), id="control:after-poison", correlation_id="control:after-poison")
        if subject != bus.MODERATION_CHECK:
            answer = await recorder.client.request(subject, fine.to_json(), timeout=10)
            assert decode(answer.data, ControlReply).payload.ok, subject
