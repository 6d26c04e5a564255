"""The contracts: strict envelopes, stable ids, one stream per subject, and schemas that match the code."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from ovation_contracts import (
    PAYLOAD_TYPES,
    ChatEvent,
    ChatKind,
    Donation,
    Envelope,
    Money,
    RoutingRules,
    UnknownMessageType,
    VideoJob,
    bus,
    decode,
    job_id,
    wrap,
)
from ovation_contracts.schemas import SCHEMA_DIR, all_schemas, render

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def donation(**overrides: object) -> Donation:
    fields: dict[str, object] = {
        "id": "donationalerts:30530030",
        "source": "donationalerts",
        "upstream_id": "30530030",
        "donor_name": "Ivan",
        "message": "Hello!",
        "amount": Money(amount=Decimal("500"), currency="RUB"),
        "created_at": NOW,
        "received_at": NOW,
    }
    fields.update(overrides)
    return Donation.model_validate(fields)


def test_committed_schemas_match_the_code() -> None:
    """Run `python -m ovation_contracts.schemas` after changing a model, and commit the result."""
    expected = all_schemas()
    committed = {str(p.relative_to(SCHEMA_DIR)): p.read_text() for p in SCHEMA_DIR.rglob("*.json")}
    assert sorted(committed) == sorted(expected), "schema files added or removed"
    for name, schema in expected.items():
        assert committed[name] == render(schema), f"{name} drifted from the code"


def test_every_payload_type_has_a_schema_file() -> None:
    assert {f"messages/{t}.json" for t in PAYLOAD_TYPES} <= set(all_schemas())
    assert len(PAYLOAD_TYPES) >= 20


def test_envelope_round_trips_through_json_with_exact_amounts() -> None:
    envelope = wrap(
        donation(amount=Money(amount=Decimal("0.10"), currency="USD")),
        id="donationalerts:30530030",
        correlation_id="donationalerts:30530030",
        occurred_at=NOW,
    )
    decoded = decode(envelope.to_json())
    assert decoded == envelope
    assert decoded.payload.amount.amount == Decimal("0.10")
    assert json.loads(envelope.to_json())["payload"]["amount"]["amount"] == "0.10"


def test_envelope_rejects_unknown_fields() -> None:
    data = json.loads(wrap(donation(), id="x", correlation_id="x").to_json())
    data["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        decode(json.dumps(data))


def test_envelope_type_must_match_the_payload() -> None:
    data = json.loads(wrap(donation(), id="x", correlation_id="x").to_json())
    data["type"] = "chat.received"
    with pytest.raises(ValidationError):
        decode(json.dumps(data))
    with pytest.raises(ValidationError, match="does not match"):
        decode(json.dumps(data), Donation)


def test_envelope_refuses_a_schema_version_this_code_does_not_read() -> None:
    data = json.loads(wrap(donation(), id="x", correlation_id="x").to_json())
    data["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        decode(json.dumps(data))


def test_decode_names_an_unknown_type() -> None:
    with pytest.raises(UnknownMessageType, match=r"surprise\.event"):
        decode(b'{"type": "surprise.event"}')
    with pytest.raises(UnknownMessageType):
        decode(b"not json")


def test_decode_refuses_json_nested_too_deep_like_any_other_bad_message() -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(UnknownMessageType):
        decode(nested)
    with pytest.raises(ValidationError):
        decode(nested, Donation)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValidationError):
        donation(created_at=datetime(2026, 1, 1, 12, 0))


def test_donation_id_is_source_and_upstream_id() -> None:
    with pytest.raises(ValidationError, match="donationalerts:30530030"):
        donation(id="donationalerts:1")


def test_amounts_are_decimals_with_an_iso_currency() -> None:
    with pytest.raises(ValidationError):
        Money(amount=Decimal("-1"), currency="RUB")
    with pytest.raises(ValidationError):
        Money(amount=Decimal("1"), currency="rub")
    assert str(Money(amount=Decimal("1500.00"), currency="RUB")) == "1500 RUB"


def test_a_gift_needs_its_name() -> None:
    with pytest.raises(ValidationError, match="gift_name"):
        ChatEvent(
            id="api:1",
            kind=ChatKind.GIFT,
            source="api",
            upstream_id="1",
            author="a",
            created_at=NOW,
            received_at=NOW,
        )


def test_job_ids_derive_from_the_donation() -> None:
    assert job_id("donationalerts:30530030", "video") == "donationalerts:30530030:video"
    with pytest.raises(ValueError):
        job_id("donationalerts:30530030", "hologram")


@pytest.mark.parametrize(
    ("subject", "stream"),
    [
        (bus.donation_received("donationalerts"), "DONATIONS"),
        (bus.chat_received("superchat", "api"), "DONATIONS"),
        (bus.JOBS_VIDEO, "JOBS"),
        (bus.JOBS_PAINTER, "JOBS"),
        (bus.JOBS_VOICE, "JOBS"),
        (bus.DONATION_SCREENED, "EVENTS"),
        (bus.STAGE_CUE, "EVENTS"),
        (bus.job_status("video"), "EVENTS"),
        (bus.dlq("video"), "DLQ"),
        (bus.DONATIONS_RECEIVED, "DONATIONS"),
    ],
)
def test_every_stored_subject_has_exactly_one_stream(subject: str, stream: str) -> None:
    assert bus.stream_for(subject).name == stream


def test_control_subjects_are_not_stored() -> None:
    with pytest.raises(LookupError):
        bus.stream_for(bus.control("painter", "skip"))


def test_log_lines_are_not_stored() -> None:
    assert bus.logs("painter") == "logs.painter"
    with pytest.raises(LookupError):
        bus.stream_for(bus.logs("painter"))


def test_streams_do_not_overlap() -> None:
    subjects = [s for spec in bus.STREAMS for s in spec.subjects]
    assert len(subjects) == len(set(subjects))
    roots = [s.split(".")[0] for s in subjects]
    assert len(roots) == len(set(roots))


def test_durable_names_are_short_and_plain() -> None:
    assert bus.durable("video", "jobs") == "video-jobs"
    with pytest.raises(ValueError):
        bus.durable("video", "a.b")
    with pytest.raises(ValueError):
        bus.durable("video", "x" * 40)


def test_routing_defaults_are_what_a_streamer_expects() -> None:
    rules = RoutingRules()
    assert rules.base_currency == "RUB"
    assert rules.alert.min_amount == 0
    assert rules.video.min_amount == Decimal(1000)
    assert rules.painter.requires_message


def test_the_video_job_schema_names_its_type() -> None:
    schema = Envelope[VideoJob].model_json_schema()
    assert "payload" in schema["required"]
    assert (SCHEMA_DIR / "messages" / "job.video.json").is_file()
    assert Path(SCHEMA_DIR).name == "schemas"


def test_the_asyncapi_document_names_every_message_and_every_stream() -> None:
    from ovation_contracts import asyncapi

    document = asyncapi.document()
    carried = {
        name
        for channel in asyncapi.CHANNELS
        if not channel.address.startswith("dlq.")
        for name in channel.messages
    }
    assert carried == set(PAYLOAD_TYPES), "every payload travels on a named channel"
    kept = {channel.kept.removeprefix("stream ") for channel in asyncapi.CHANNELS}
    assert {stream.name for stream in bus.STREAMS} <= kept
    for name, message in document["components"]["messages"].items():
        assert (SCHEMA_DIR / message["payload"]["$ref"]).is_file(), name
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {bus.JOBS_VIDEO, bus.DONATION_SCREENED, bus.LIVE_PAINTER_FRAME, bus.MODERATION_CHECK} <= addresses


def test_the_operations_guide_lists_the_channels_as_the_code_does() -> None:
    from ovation_contracts import asyncapi

    guide = (SCHEMA_DIR.parents[2] / "docs" / "operations.md").read_text()
    between = guide.split("<!-- channels:start -->\n", 1)[1].split("<!-- channels:end -->", 1)[0]
    assert between == asyncapi.markdown_table(), "regenerate the table in docs/operations.md"
