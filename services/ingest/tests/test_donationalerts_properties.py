"""Properties of the DonationAlerts parsers: whatever DonationAlerts sends becomes a valid ``Donation`` or a
``Malformed`` (never another exception), a well-formed donation keeps its fields, and a Centrifugo frame
carrying several messages yields each of them.

"Well-formed" is what the fake DonationAlerts (``tests/fakes/donationalerts.py``) stores and pushes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar, cast

from hypothesis import example, given
from hypothesis import strategies as st

from ingest.donationalerts import (
    DonationParser,
    DonationReceived,
    Malformed,
    MalformedReason,
    RealtimeError,
    Rejected,
    decode_json,
    parse_donation,
)
from ingest.donationalerts.parse import TRUNCATION_MARK, read_amount, read_currency, read_id, read_timestamp
from ingest.donationalerts.realtime import DonationAlertsRealtime, _Centrifuge
from ingest.donationalerts.rest import parse_channel_tokens, parse_donations_page, parse_user
from ovation_contracts import Donation, MessageType, Money, decode, wrap
from ovation_contracts.audience import MAX_MESSAGE_CHARS, MAX_NAME_CHARS
from ovation_contracts.envelope import MESSAGE_ID_PATTERN
from tests.fakes.donationalerts import FakeDonationAlerts, php_json
from tests.properties import reproducible

T = TypeVar("T")
RECEIVED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
PROPERTY = reproducible(max_examples=100)

# Any JSON value as ``decode_json`` returns it (exact decimals), and what a careless caller could pass besides.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
odd_values = st.one_of(json_values, st.floats(), st.decimals(), st.binary(max_size=4))

# Text as DonationAlerts can send it: any character, including a lone surrogate from a broken \uXXXX escape.
any_text = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=40)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from(
        [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]
    ),  # the edges, where offsets overflow
)
timestamps = st.one_of(
    moments.map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%S")),
    st.builds(lambda moment, zone: moment.replace(tzinfo=zone).isoformat(), moments, offsets),
    moments.map(lambda moment: moment.isoformat() + "Z"),
)
amounts = st.one_of(
    st.integers(0, 10**6),
    st.decimals(min_value=0, max_value=10**6, places=2),
    st.decimals(min_value=0, max_value=10**6, places=2).map(str),
    st.integers(-5, 10**14),
    st.decimals(min_value=-1, max_value=10**13),
    st.from_regex(r"-?\d{1,14}(\.\d{1,10})?([eE][-+]?\d{1,3})?", fullmatch=True),
    st.sampled_from(["-0", "0", "1e999999999999", "1.5e-999999999999", "1E+3", " 22.50 "]),
)
currencies = st.one_of(
    st.from_regex(r"[A-Za-z]{3}", fullmatch=True),
    st.from_regex(r"[A-Za-z]{3}\n", fullmatch=True),  # "$" in a regex also matches before a final newline
    st.sampled_from(["RUB", "usd", "Eur", "RU", "RUBL", "руб"]),  # noqa: RUF001 - a Cyrillic near-miss
)
ids = st.one_of(
    st.integers(1, 10**12),
    st.from_regex(r"[1-9][0-9]{0,11}", fullmatch=True),
    st.integers(-3, 10**25),
    st.from_regex(r"\d{1,22}", fullmatch=True),  # \d: Arabic-Indic and other digits too
)
plausible_fields = {
    "username": st.one_of(st.none(), any_text),
    "message": st.one_of(st.none(), any_text),
    "message_type": st.sampled_from(["text", "audio", "video"]),
    "audio_url": st.sampled_from(["https://cdn.example/a.mp3", "http://", "ftp://x"]),
    "amount_in_user_currency": amounts,
    "_is_test_alert": st.booleans(),
}
raw_donations = st.one_of(
    # Every field DonationAlerts always sends, each plausible but not necessarily valid...
    st.fixed_dictionaries(
        {"id": ids, "amount": amounts, "currency": currencies, "created_at": timestamps},
        optional=plausible_fields,
    ),
    # ... or any of them missing or of any type.
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.one_of(ids, odd_values),
            "amount": st.one_of(amounts, odd_values),
            "currency": st.one_of(currencies, odd_values),
            "created_at": st.one_of(timestamps, odd_values),
            **{name: st.one_of(values, odd_values) for name, values in plausible_fields.items()},
        },
    ),
)
# A donation that is readable whatever its optional fields say.
readable_donations = st.fixed_dictionaries(
    {
        "id": st.integers(1, 10**12),
        "amount": st.decimals(min_value=0, max_value=10**6, places=2),
        "currency": st.from_regex(r"[A-Za-z]{3}", fullmatch=True),
        "created_at": st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)).map(str),
    },
    optional={"username": st.one_of(st.none(), any_text), "message": st.one_of(st.none(), any_text)},
)
user_currencies = st.one_of(st.none(), currencies)


def assert_valid_contract(donation: Donation) -> None:
    """The donation passes its own contract again and travels on the bus unchanged."""
    assert Donation.model_validate(donation.model_dump()) == donation
    envelope = wrap(donation, id=donation.id, correlation_id=donation.id, occurred_at=RECEIVED)
    assert decode(envelope.to_json()) == envelope


def attempt(call: Callable[[], T]) -> T | Malformed:
    """What ``call`` returns, or the ``Malformed`` it raises (any other exception fails the test)."""
    try:
        return call()
    except Malformed as exc:
        return exc


def readable_id(raw: object) -> str | None:
    if not isinstance(raw, Mapping) or "id" not in raw:
        return None
    try:
        return str(read_id(raw["id"]))
    except Malformed:
        return None


# -- any payload: a valid Donation or Malformed ---------------------------------------------------------------------


@PROPERTY
@given(raw=st.one_of(raw_donations, odd_values), user_currency=user_currencies)
@example(
    raw={"id": 5, "amount": 1, "currency": "RUB", "created_at": "0001-01-01T00:00:00+01:00"},
    user_currency=None,
)
@example(
    raw={"id": 5, "amount": 1, "currency": "RUB", "created_at": "9999-12-31T23:59:59-01:00"},
    user_currency=None,
)
def test_any_payload_is_a_valid_donation_or_malformed(raw: object, user_currency: str | None) -> None:
    result = attempt(lambda: parse_donation(raw, received_at=RECEIVED, user_currency=user_currency))
    if isinstance(result, Malformed):
        assert result.reason in set(MalformedReason)
        assert result.upstream_id == readable_id(raw)
        assert str(result)
        return
    assert_valid_contract(result.donation)
    assert result.donation.upstream_id == readable_id(raw)
    assert result.donation.received_at == RECEIVED
    assert result.donation.created_at.utcoffset() == timedelta(0)
    assert result.donation.amount.amount >= 0
    assert set(result.truncated) <= {"donor_name", "message"}


@PROPERTY
@given(raw=st.one_of(raw_donations, odd_values), via=st.sampled_from(["rest", "realtime"]))
@example(raw={"id": 10**25, "amount": 1, "currency": "RUB", "created_at": "x"}, via="rest")
def test_the_parser_never_raises_and_a_rejection_has_a_usable_key(raw: object, via: Any) -> None:
    result = DonationParser(clock=lambda: RECEIVED).parse(raw, via)
    assert result.via == via
    if isinstance(result, DonationReceived):
        assert_valid_contract(result.donation)
        key = result.donation.id
    else:
        assert isinstance(result.error, Malformed)
        assert len(result.excerpt) <= 1000
        key = result.key
        upstream = readable_id(raw)
        assert result.upstream_id == (None if upstream is None else int(upstream))
    # Dead letters and messages are keyed by it, so it must be a valid message id.
    assert len(key) <= 256
    assert re.fullmatch(MESSAGE_ID_PATTERN, key)


@PROPERTY
@given(number=st.integers(-(10**25), 10**25))
@example(number=10**20)
def test_an_id_reads_the_same_as_a_number_and_as_a_string(number: int) -> None:
    """Whether DonationAlerts writes an id as 123 or "123" changes nothing (and so cannot move the cursor)."""

    def outcome(value: object) -> int | None:
        try:
            return read_id(value)
        except Malformed:
            return None

    as_number = outcome(number)
    assert as_number == outcome(str(number)) if number > 0 else as_number is None
    assert as_number is None or as_number == number


@PROPERTY
@given(
    raw=st.one_of(readable_donations, raw_donations),
    converted=st.one_of(amounts, odd_values),
    user_currency=currencies,
)
@example(
    raw={"id": 5, "amount": 1, "currency": "RUB", "created_at": "2024-01-01 00:00:00"},
    converted=2,
    user_currency="usd\n",
)
def test_an_unreadable_conversion_never_costs_the_donation(
    raw: dict[str, Any], converted: object, user_currency: str
) -> None:
    """``amount_in_user_currency`` is optional: whatever it or the streamer's currency is, the donation stays."""
    plain = attempt(lambda: parse_donation(raw, received_at=RECEIVED, user_currency=None))
    if isinstance(plain, Malformed):
        return
    raw = {**raw, "amount_in_user_currency": converted}
    with_currency = parse_donation(raw, received_at=RECEIVED, user_currency=user_currency)
    assert with_currency.donation.model_copy(update={"amount_in_user_currency": None}) == plain.donation
    kept = with_currency.donation.amount_in_user_currency
    if kept is not None:
        assert kept.currency == user_currency.upper()
        assert kept.amount == read_amount(converted, "amount_in_user_currency")
    elif converted is not None:
        assert "amount_in_user_currency" in with_currency.ignored  # dropped, and said so for the log


@PROPERTY
@given(
    raw=st.one_of(readable_donations, raw_donations),
    field=st.sampled_from(["username", "message"]),
    text=any_text | st.text(max_size=3000),
)
@example(
    raw={"id": 5, "amount": 1, "currency": "RUB", "created_at": "2024-01-01 00:00:00"},
    field="message",
    text="broken emoji \ud83d",
)
@example(
    raw={"id": 5, "amount": 1, "currency": "RUB", "created_at": "2024-01-01 00:00:00"},
    field="username",
    text="\udc00",
)
def test_the_text_a_donor_typed_never_costs_the_donation(raw: dict[str, Any], field: str, text: str) -> None:
    """The donor paid: a readable donation stays readable whatever its name or message says (cut, not rejected)."""
    try:
        parse_donation({**raw, field: None}, received_at=RECEIVED)
    except Malformed:
        return
    result = parse_donation({**raw, field: text}, received_at=RECEIVED)
    assert_valid_contract(result.donation)
    kept = result.donation.donor_name if field == "username" else result.donation.message
    assert len(kept or "") <= (MAX_NAME_CHARS if field == "username" else MAX_MESSAGE_CHARS)
    if (kept or "").endswith(TRUNCATION_MARK) and not text.rstrip().endswith(TRUNCATION_MARK):
        assert ("donor_name" if field == "username" else "message") in result.truncated


# -- well-formed donations keep their fields ------------------------------------------------------------------------

_FAKE = FakeDonationAlerts()  # never started: only its donation records and push messages are used

plain_text = st.text(st.characters(codec="utf-8"), max_size=60)
well_formed = st.fixed_dictionaries(
    {
        "username": st.one_of(st.none(), plain_text.map(lambda text: text[:MAX_NAME_CHARS])),
        "message": plain_text,
        "amount": st.one_of(
            st.decimals(min_value=0, max_value=Decimal("999999999999.99999999"), places=8).map(str),
            st.integers(0, 10**12 - 1).map(str),
        ),
        "currency": st.from_regex(r"[A-Za-z]{3}", fullmatch=True),
        "created_at": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ).map(lambda moment: moment.replace(microsecond=0)),
    }
)


def stored(fields: dict[str, Any]) -> dict[str, Any]:
    """The donation as the fake stores it (and as DonationAlerts answers it)."""
    return _FAKE.add_donation(**fields, push=False)


def assert_fields_kept(donation: Donation, fields: Mapping[str, Any], record: Mapping[str, Any]) -> None:
    assert donation.id == f"donationalerts:{record['id']}"
    assert donation.upstream_id == str(record["id"])
    assert donation.amount.amount == Decimal(fields["amount"])
    assert donation.amount.currency == fields["currency"].upper()
    name = " ".join((fields["username"] or "").split())
    assert donation.donor_name == (name or None)
    assert donation.message == fields["message"].replace("\r\n", "\n").replace("\r", "\n").strip()
    assert donation.message_type is MessageType.TEXT
    assert donation.created_at == fields["created_at"]
    assert donation.is_test is False


@PROPERTY
@given(fields=well_formed)
def test_a_well_formed_donation_keeps_its_fields(fields: dict[str, Any]) -> None:
    record = stored(fields)
    wire = php_json(record)  # PHP's escaping: \/ and \uXXXX (surrogate pairs for emoji), exact decimals
    result = parse_donation(decode_json(wire.encode()), received_at=RECEIVED, user_currency="RUB")
    assert result.truncated == ()
    assert_fields_kept(result.donation, fields, record)
    assert result.donation.amount_in_user_currency is not None
    assert result.donation.amount_in_user_currency.amount == Decimal(fields["amount"])
    assert_valid_contract(result.donation)


# -- Centrifugo frames ----------------------------------------------------------------------------------------------


def centrifuge() -> _Centrifuge:
    """A connection without a socket: only its frame parsing is used."""
    return _Centrifuge(cast(Any, None), reply_timeout=1.0, max_message_bytes=1 << 20)


def drain(connection: _Centrifuge) -> list[object]:
    items: list[object] = []
    while not connection.pushes.empty():
        items.append(connection.pushes.get_nowait())
    return items


@PROPERTY
@given(donations=st.lists(well_formed, min_size=1, max_size=5), crlf=st.booleans())
def test_every_donation_in_a_multi_message_frame_is_parsed_in_order(
    donations: list[dict[str, Any]], crlf: bool
) -> None:
    records = [stored(fields) for fields in donations]
    messages = [_FAKE._push_message(record) for record in records]  # exactly what the fake pushes
    frame = ("\r\n" if crlf else "\n").join(messages)
    connection = centrifuge()
    connection._on_frame(frame)
    pushes = drain(connection)
    assert len(pushes) == len(records)
    realtime = DonationAlertsRealtime(cast(Any, None))
    parser = DonationParser(clock=lambda: RECEIVED)
    for push, fields, record in zip(pushes, donations, records, strict=True):
        assert isinstance(push, Mapping)
        event = realtime._on_push(push, _FAKE.channel, parser)
        assert isinstance(event, DonationReceived)
        assert event.via == "realtime"
        assert_fields_kept(event.donation, fields, record)


def no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


frame_lines = st.one_of(
    json_values.map(lambda value: json.dumps(value, default=str)),
    st.dictionaries(st.text(max_size=5), json_values, max_size=3).map(
        lambda value: json.dumps(value, default=str)
    ),
    st.text(st.characters(exclude_characters="\n"), max_size=20),
)


@PROPERTY
@given(lines=st.lists(frame_lines, max_size=6), as_bytes=st.booleans())
def test_each_line_of_a_frame_is_one_message_or_one_rejection(lines: list[str], as_bytes: bool) -> None:
    connection = centrifuge()
    text = "\n".join(lines)
    connection._on_frame(text.encode() if as_bytes else text)
    pushes = drain(connection)
    expected: list[object] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            message = json.loads(line, parse_float=Decimal, parse_constant=no_constants)
        except ValueError:
            expected.append(Rejected)
            continue
        if not isinstance(message, dict):
            expected.append(Rejected)
        elif not (
            isinstance(message.get("id"), int) and not isinstance(message["id"], bool) and message["id"] > 0
        ):
            expected.append(message)  # a push (a positive integer id would be a reply to a command)
    assert len(pushes) == len(expected)
    for push, want in zip(pushes, expected, strict=True):
        if want is Rejected:
            assert isinstance(push, Rejected)
            assert push.error.reason in {MalformedReason.INVALID_JSON, MalformedReason.WRONG_TYPE}
        else:
            assert push == want


@PROPERTY
@given(frame=st.binary(max_size=40))
def test_a_binary_frame_is_messages_or_rejections_never_an_error(frame: bytes) -> None:
    connection = centrifuge()
    connection._on_frame(frame)
    for push in drain(connection):
        assert isinstance(push, Rejected | Mapping)


@PROPERTY
@given(
    message=st.dictionaries(
        st.sampled_from(["result", "id", "error"]),
        st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "channel": st.sampled_from([_FAKE.channel, "$alerts:donation_1"]),
                    "type": st.one_of(st.integers(0, 6), json_values),
                    "data": st.one_of(
                        json_values, st.fixed_dictionaries({"seq": st.integers(), "data": raw_donations})
                    ),
                },
            ),
        ),
    )
)
def test_a_push_is_a_donation_a_rejection_nothing_or_an_unsubscription(message: dict[str, Any]) -> None:
    realtime = DonationAlertsRealtime(cast(Any, None))
    try:
        event = realtime._on_push(message, _FAKE.channel, DonationParser(clock=lambda: RECEIVED))
    except RealtimeError:
        result = message["result"]
        assert result.get("channel") == _FAKE.channel
        assert result.get("type") == 3  # UNSUBSCRIBE: the caller reconnects
        return
    if isinstance(event, DonationReceived):
        assert_valid_contract(event.donation)
    else:
        assert event is None or isinstance(event, Rejected)


# -- decode_json and the REST answers -------------------------------------------------------------------------------


@PROPERTY
@given(
    data=st.one_of(
        st.binary(max_size=60),
        st.text(max_size=60),
        json_values.map(lambda value: json.dumps(value, default=str)),
    )
)
@example(data="[" * 100_000)
@example(data="1" * 5000)
@example(data="NaN")
def test_decode_json_gives_the_json_value_or_malformed(data: bytes | str) -> None:
    value = attempt(lambda: decode_json(data, max_bytes=1 << 20))
    if isinstance(value, Malformed):
        assert value.reason in {MalformedReason.INVALID_JSON, MalformedReason.INVALID_UTF8}
        return
    text = data.decode() if isinstance(data, bytes) else data
    assert value == json.loads(text, parse_float=Decimal)


@PROPERTY
@given(data=st.binary(min_size=1, max_size=100), limit=st.integers(0, 100))
def test_decode_json_refuses_anything_over_its_size_limit(data: bytes, limit: int) -> None:
    value = attempt(lambda: decode_json(data, max_bytes=limit))
    if len(data) > limit:
        assert isinstance(value, Malformed)
        assert value.reason is MalformedReason.TOO_LARGE


@PROPERTY
@given(
    body=st.one_of(
        odd_values,
        st.fixed_dictionaries(
            {},
            optional={
                "data": st.one_of(
                    odd_values,
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "id": st.one_of(st.integers(-3, 10**22), odd_values),
                            "code": odd_values,
                            "name": odd_values,
                            "socket_connection_token": st.one_of(st.text(max_size=5), odd_values),
                            "language": odd_values,
                            "currency": st.one_of(currencies, odd_values),
                        },
                    ),
                )
            },
        ),
    )
)
@example(body={"data": {"id": 1, "socket_connection_token": "t", "currency": "usd\n"}})
def test_the_profile_is_a_user_with_a_valid_currency_or_malformed(body: object) -> None:
    user = attempt(lambda: parse_user(body))
    if isinstance(user, Malformed):
        assert user.reason in set(MalformedReason)
        return
    assert user.id > 0
    assert user.socket_connection_token
    # The currency is used for every donation's amount_in_user_currency: it must be a contract currency code.
    assert user.currency is None or re.fullmatch(r"[A-Z]{3}", user.currency)
    assert user.donation_channel == f"$alerts:donation_{user.id}"


@PROPERTY
@given(
    body=st.one_of(
        odd_values,
        st.fixed_dictionaries(
            {},
            optional={
                "data": st.one_of(st.lists(json_values, max_size=3), odd_values),
                "meta": st.one_of(
                    odd_values,
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "current_page": st.one_of(st.integers(), odd_values),
                            "last_page": st.one_of(st.integers(), odd_values),
                            "total": odd_values,
                        },
                    ),
                ),
            },
        ),
    )
)
def test_a_donations_page_is_read_or_malformed(body: object) -> None:
    page = attempt(lambda: parse_donations_page(body))
    if isinstance(page, Malformed):
        assert page.reason in {MalformedReason.MISSING_FIELD, MalformedReason.WRONG_TYPE}
        return
    assert isinstance(body, dict)
    assert list(page.items) == body["data"]
    assert (page.current_page, page.last_page) == (body["meta"]["current_page"], body["meta"]["last_page"])


@PROPERTY
@given(
    body=st.one_of(
        odd_values,
        st.fixed_dictionaries(
            {},
            optional={
                "channels": st.one_of(
                    odd_values,
                    st.lists(
                        st.one_of(
                            odd_values,
                            st.fixed_dictionaries(
                                {"channel": st.sampled_from(["$alerts:donation_1", "$alerts:donation_2"])},
                                optional={"token": st.one_of(st.text(max_size=3), odd_values)},
                            ),
                        ),
                        max_size=4,
                    ),
                )
            },
        ),
    ),
    wanted=st.lists(st.sampled_from(["$alerts:donation_1", "$alerts:donation_2"]), max_size=2),
)
def test_channel_tokens_cover_every_wanted_channel_or_malformed(body: object, wanted: list[str]) -> None:
    tokens = attempt(lambda: parse_channel_tokens(body, wanted))
    if isinstance(tokens, Malformed):
        assert tokens.reason in {MalformedReason.MISSING_FIELD, MalformedReason.WRONG_TYPE}
        return
    for channel in wanted:
        assert isinstance(tokens[channel], str)
        assert tokens[channel]


@PROPERTY
@given(value=st.one_of(timestamps, st.text(max_size=30), odd_values))
@example(value="0001-01-01T00:00:00+01:00")
@example(value="9999-12-31T23:59:59-00:01")
def test_a_timestamp_is_an_instant_in_utc_or_malformed(value: object) -> None:
    moment = attempt(lambda: read_timestamp(value))
    if isinstance(moment, Malformed):
        assert moment.field == "created_at"
        return
    assert isinstance(value, str)
    assert moment.tzinfo is UTC
    text = value.strip()
    written = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    assert moment == (written if written.tzinfo else written.replace(tzinfo=UTC))  # the same instant


@PROPERTY
@given(value=st.one_of(currencies, odd_values))
@example(value="rub\n")
def test_a_currency_read_is_a_contract_currency_code_or_malformed(value: object) -> None:
    try:
        code = read_currency(value)
    except Malformed:
        return
    assert re.fullmatch(r"[A-Z]{3}", code)
    assert isinstance(value, str)
    assert code == value.upper()


@PROPERTY
@given(value=st.one_of(amounts, odd_values))
@example(value="1.5e-999999999999")
@example(value="1e999999999999")
def test_an_amount_is_read_exactly_or_malformed(value: object) -> None:
    """Read from its own digits: never rounded, never through a float, always within the contract's Amount."""
    amount = attempt(lambda: read_amount(value, "amount"))
    if isinstance(amount, Malformed):
        assert amount.field == "amount"
        return
    assert amount >= 0
    if isinstance(value, float):
        expected = Decimal(repr(value))
    elif isinstance(value, str):
        expected = Decimal(value.strip())
    else:
        assert isinstance(value, int | Decimal)
        expected = Decimal(value)
    assert amount == expected
    assert Money(amount=amount, currency="RUB").amount == amount  # within the contract's Amount
