"""DonationAlerts JSON → ovation_contracts.Donation, and the typed reasons when it cannot be read."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from ingest.donationalerts import (
    DonationParser,
    Malformed,
    MalformedReason,
    Rejected,
    decode_json,
    parse_donation,
)
from ovation_contracts.audience import MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MessageType

RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)

# EXTERNAL_APIS.md §1.5, verbatim from a real DonationAlerts push (PB)
REAL_PUSH = (
    '{"result":{"channel":"$alerts:donation_13907608","data":{"seq":15,"data":{"id":164405432,"name":"Donations",'
    '"username":null,"message":"\\"\\u041f\\u043e\\u0432\\u0435\\u0441\\u0442\\u044c \\u043e \\u041a\\u043e\\u043d'
    '\\u0446\\u0435 \\u0421\\u0432\\u0435\\u0442\\u0430\\"\\r\\n","message_type":"text","payin_system":null,'
    '"amount":22,"currency":"USD","is_shown":1,"amount_in_user_currency":22,"recipient_name":"jogaboga86",'
    '"recipient":{"user_id":13907608,"code":"jogaboga86","name":"jogaboga86","avatar":"https:\\/\\/static-cdn.jtvnw'
    '.net\\/user-default-pictures-uv\\/998f01ae-def8-11e9-b95c-784f43822e80-profile_image-300x300.png"},'
    '"created_at":"2025-04-12 07:15:49","shown_at":null,"reason":"default"}}}}'
)


def donation(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 30530030,
        "name": "donation",
        "username": "Ivan",
        "message": "Hello!",
        "amount": 500,
        "currency": "RUB",
        "is_shown": 1,
        "created_at": "2019-09-29 09:00:00",
        "shown_at": None,
    }
    base.update(fields)
    return base


def parse(raw: object, **options: Any) -> Any:
    return parse_donation(raw, received_at=RECEIVED, **options).donation


def test_real_push_payload_becomes_a_donation() -> None:
    push = decode_json(REAL_PUSH)
    assert isinstance(push, dict)
    result = parse_donation(
        push["result"]["data"]["data"], received_at=RECEIVED, user_currency="USD", via="realtime"
    )
    got = result.donation
    assert got.id == "donationalerts:164405432"
    assert got.source == "donationalerts"
    assert got.upstream_id == "164405432"
    assert got.donor_name is None
    assert got.message == '"Повесть о Конце Света"'  # noqa: RUF001 - the real push's Cyrillic text
    assert got.amount.amount == Decimal(22)
    assert got.amount.currency == "USD"
    assert got.amount_in_user_currency is not None
    assert str(got.amount_in_user_currency) == "22 USD"
    assert got.created_at == datetime(2025, 4, 12, 7, 15, 49, tzinfo=UTC)
    assert got.received_at == RECEIVED
    assert result.via == "realtime"
    assert result.truncated == ()


def test_official_rest_example_becomes_a_donation() -> None:
    got = parse(donation())
    assert (got.donor_name, got.message, str(got.amount)) == ("Ivan", "Hello!", "500 RUB")
    assert got.message_type is MessageType.TEXT
    assert got.amount_in_user_currency is None


def test_zone_less_created_at_is_read_as_utc() -> None:
    got = parse(donation(created_at="2019-09-29 09:00:00"))
    assert got.created_at.utcoffset() is not None
    assert got.created_at == datetime(2019, 9, 29, 9, 0, 0, tzinfo=UTC)


def test_created_at_with_an_explicit_offset_is_converted_to_utc() -> None:
    got = parse(donation(created_at="2019-09-29T12:00:00+03:00"))
    assert got.created_at == datetime(2019, 9, 29, 9, 0, 0, tzinfo=UTC)
    assert got.created_at.tzinfo == UTC


@pytest.mark.parametrize(
    ("json_number", "expected"),
    [
        ("22.50", Decimal("22.5")),
        ("0.1", Decimal("0.1")),
        ("1234567890.12345678", Decimal("1234567890.12345678")),
        ("1E+3", Decimal(1000)),
        ("500.0", Decimal(500)),
        ("999999999999.99", Decimal("999999999999.99")),
    ],
)
def test_amount_keeps_the_json_numbers_exact_digits(json_number: str, expected: Decimal) -> None:
    raw = decode_json(
        '{"id": 1, "amount": ' + json_number + ', "currency": "EUR", "created_at": "2024-01-01 00:00:00"}'
    )
    got = parse(raw)
    assert got.amount.amount == expected
    assert str(got.amount.amount) == str(expected)


@pytest.mark.parametrize("name", [None, "", "   "])
def test_anonymous_donor_has_no_name(name: str | None) -> None:
    assert parse(donation(username=name)).donor_name is None
    assert parse(donation(username=name)).display_name == "Anonymous"


def test_carriage_returns_become_newlines() -> None:
    assert (
        parse(donation(message="line one\r\nline two\rline three\r\n")).message
        == "line one\nline two\nline three"
    )


def test_null_message_is_empty_text() -> None:
    assert parse(donation(message=None)).message == ""


def test_over_long_message_is_truncated_and_flagged_not_rejected() -> None:
    result = parse_donation(donation(message="я" * (MAX_MESSAGE_CHARS + 500)), received_at=RECEIVED)
    assert len(result.donation.message) == MAX_MESSAGE_CHARS
    assert result.donation.message.endswith("…")
    assert result.truncated == ("message",)


def test_over_long_donor_name_is_truncated_and_flagged() -> None:
    result = parse_donation(donation(username="N" * 500), received_at=RECEIVED)
    assert result.donation.donor_name is not None
    assert len(result.donation.donor_name) == MAX_NAME_CHARS
    assert result.truncated == ("donor_name",)


def test_audio_message_links_its_audio() -> None:
    got = parse(donation(message_type="audio", message="https://static.donationalerts.ru/audio/1.wav"))
    assert got.message_type is MessageType.AUDIO
    assert str(got.audio_url) == "https://static.donationalerts.ru/audio/1.wav"
    assert got.message == ""


def test_amount_in_user_currency_needs_the_streamers_currency() -> None:
    raw = donation(amount=10, currency="USD", amount_in_user_currency=Decimal("912.34"))
    assert parse(raw).amount_in_user_currency is None
    converted = parse(raw, user_currency="RUB").amount_in_user_currency
    assert converted is not None
    assert (converted.amount, converted.currency) == (Decimal("912.34"), "RUB")


def test_unreadable_optional_conversion_is_dropped_not_the_donation() -> None:
    result = parse_donation(
        donation(amount_in_user_currency="lots"), received_at=RECEIVED, user_currency="RUB"
    )
    assert result.donation.amount_in_user_currency is None
    assert result.ignored == ("amount_in_user_currency",)
    assert str(result.donation.amount) == "500 RUB"


def test_test_alert_marker_is_kept() -> None:
    assert parse(donation(_is_test_alert=True)).is_test is True
    assert parse(donation()).is_test is False


@pytest.mark.parametrize("missing", ["id", "amount", "currency", "created_at"])
def test_missing_required_field_is_named(missing: str) -> None:
    raw = donation()
    del raw[missing]
    with pytest.raises(Malformed) as caught:
        parse(raw)
    assert caught.value.reason is MalformedReason.MISSING_FIELD
    assert caught.value.field == missing
    assert missing in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", [500]),
        ("amount", "five hundred"),
        ("amount", True),
        ("id", "abc"),
        ("id", True),
        ("username", 42),
        ("message", {"text": "hi"}),
        ("currency", 643),
        ("created_at", 1569747600),
    ],
)
def test_wrong_type_is_named(field: str, value: object) -> None:
    with pytest.raises(Malformed) as caught:
        parse(donation(**{field: value}))
    assert caught.value.reason is MalformedReason.WRONG_TYPE
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", -5),
        ("amount", Decimal("0.123456789")),
        ("amount", 10**13),
        ("currency", "RUBLES"),
        ("created_at", "yesterday"),
        ("message_type", "video"),
        ("id", 0),
    ],
)
def test_invalid_value_is_named(field: str, value: object) -> None:
    with pytest.raises(Malformed) as caught:
        parse(donation(**{field: value}))
    assert caught.value.reason is MalformedReason.INVALID_VALUE
    assert caught.value.field == field


def test_error_after_the_id_names_the_donation() -> None:
    with pytest.raises(Malformed) as caught:
        parse(donation(id=777, amount=[1]))
    assert caught.value.upstream_id == "777"
    assert "donation 777" in str(caught.value)


def test_not_an_object_is_a_wrong_type() -> None:
    with pytest.raises(Malformed) as caught:
        parse([1, 2, 3])
    assert caught.value.reason is MalformedReason.WRONG_TYPE


def test_invalid_utf8_is_named() -> None:
    with pytest.raises(Malformed) as caught:
        decode_json(b'{"id": 1, "message": "\xff\xfe"}')
    assert caught.value.reason is MalformedReason.INVALID_UTF8


def test_huge_payload_is_refused_before_parsing() -> None:
    with pytest.raises(Malformed) as caught:
        decode_json(b'{"message": "' + b"x" * 2000 + b'"}', max_bytes=1000)
    assert caught.value.reason is MalformedReason.TOO_LARGE


@pytest.mark.parametrize("text", ['{"id": 1,', '{"amount": NaN}', '{"amount": Infinity}', "[" * 100_000])
def test_broken_json_is_named(text: str) -> None:
    with pytest.raises(Malformed) as caught:
        decode_json(text, max_bytes=1 << 20)
    assert caught.value.reason is MalformedReason.INVALID_JSON


def test_parser_turns_bad_input_into_a_rejection_with_a_stable_key() -> None:
    parser = DonationParser(clock=lambda: RECEIVED)
    rejected = parser.parse(donation(id=5, amount="lots"), "rest")
    assert isinstance(rejected, Rejected)
    assert rejected.key == "donationalerts:5"
    assert rejected.error.reason is MalformedReason.WRONG_TYPE
    nameless = parser.parse({"amount": 1}, "rest")
    assert isinstance(nameless, Rejected)
    assert nameless.key.startswith("donationalerts:unreadable-")
    assert nameless.key == parser.parse({"amount": 1}, "rest").key  # type: ignore[union-attr]


def test_parser_stamps_received_at_from_its_clock() -> None:
    parser = DonationParser(clock=lambda: RECEIVED)
    parsed = parser.parse(donation(), "rest")
    assert not isinstance(parsed, Rejected)
    assert parsed.donation.received_at == RECEIVED
