"""Properties of the contracts: every payload type travels through ``wrap`` → ``to_json`` → ``decode`` unchanged,
``decode`` refuses anything else with only the errors it documents, and ids are what ``MESSAGE_ID_PATTERN`` says.

Valid payloads are generated from each model's own fields and constraints (types, lengths, patterns, bounds,
digits), so a payload type added later is covered without a line here; the three with cross-field rules
(``Donation``, ``ChatEvent``, ``LiveFrame``) have their own strategies below.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
import re
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, Literal

import annotated_types
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from pydantic import AwareDatetime, BaseModel, HttpUrl, JsonValue, ValidationError
from pydantic.fields import FieldInfo

from ovation_contracts import (
    PAYLOAD_TYPES,
    ChatEvent,
    ChatKind,
    Donation,
    Envelope,
    LiveFrame,
    Money,
    Payload,
    ReactionKind,
    UnknownMessageType,
    decode,
    global_id,
    job_id,
    wrap,
)
from ovation_contracts.audience import MAX_MESSAGE_CHARS, MAX_NAME_CHARS, MessageType
from ovation_contracts.envelope import MESSAGE_ID_PATTERN
from tests.properties import reproducible

PROPERTY = reproducible(max_examples=150)
PER_TYPE = settings(PROPERTY, max_examples=15)  # times every payload type
ACROSS_TYPES = settings(PROPERTY, max_examples=80)

# -- strategies derived from the models ----------------------------------------------------------------------------

zones = st.one_of(
    st.just(UTC),
    st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes))),
)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones
)
# Finite floats only: pydantic writes NaN and infinities as null, so a JsonValue holding one cannot round-trip.
json_values: SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)
http_urls = st.builds(
    lambda host, path: f"https://{host}.example/{path}",
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_./-]{0,20}", fullmatch=True),
)
message_ids = st.from_regex(MESSAGE_ID_PATTERN, fullmatch=True).filter(lambda text: len(text) <= 256)


class Constraints:
    """What a field's metadata says about its values (annotated-types and pydantic's own)."""

    def __init__(self, metadata: typing.Iterable[object]) -> None:
        self.lower: Any = None
        self.lower_open = False
        self.upper: Any = None
        self.upper_open = False
        self.min_length = 0
        self.max_length: int | None = None
        self.pattern: str | None = None
        self.max_digits: int | None = None
        self.decimal_places: int | None = None
        for item in metadata:
            if isinstance(item, FieldInfo):
                self._read(item.metadata)
            else:
                self._read([item])

    def _read(self, metadata: typing.Iterable[object]) -> None:
        for item in metadata:
            if isinstance(item, annotated_types.Ge):
                self.lower = item.ge
            elif isinstance(item, annotated_types.Gt):
                self.lower, self.lower_open = item.gt, True
            elif isinstance(item, annotated_types.Le):
                self.upper = item.le
            elif isinstance(item, annotated_types.Lt):
                self.upper, self.upper_open = item.lt, True
            elif isinstance(item, annotated_types.MinLen):
                self.min_length = item.min_length
            elif isinstance(item, annotated_types.MaxLen):
                self.max_length = item.max_length
            else:
                self.pattern = getattr(item, "pattern", None) or self.pattern
                self.max_digits = getattr(item, "max_digits", None) or self.max_digits
                self.decimal_places = getattr(item, "decimal_places", None) or self.decimal_places


def text_strategy(rules: Constraints) -> SearchStrategy[str]:
    longest = rules.max_length
    if rules.pattern is not None:
        return st.from_regex(rules.pattern, fullmatch=True).filter(
            lambda text: rules.min_length <= len(text) <= (longest if longest is not None else len(text))
        )
    short = st.text(min_size=rules.min_length, max_size=40 if longest is None else min(longest, 40))
    if longest is None:
        return short
    # Right at the limit too: one character repeated, much cheaper than drawing thousands.
    at_the_limit = st.characters(codec="utf-8").map(lambda character: character * longest)
    return st.one_of(short, at_the_limit) if longest >= rules.min_length else short


def decimal_strategy(rules: Constraints) -> SearchStrategy[Decimal]:
    places = rules.decimal_places if rules.decimal_places is not None else 8
    step = Decimal(1).scaleb(-places)
    biggest = Decimal(10) ** ((rules.max_digits or 20) - places) - step
    lower = Decimal(rules.lower) if rules.lower is not None else -biggest
    upper = min(Decimal(rules.upper), biggest) if rules.upper is not None else biggest
    return st.decimals(
        min_value=lower + step if rules.lower_open else lower,
        max_value=upper - step if rules.upper_open else upper,
        places=places,
        allow_nan=False,
        allow_infinity=False,
    ).map(lambda value: value.normalize() if value == value.to_integral_value() else value)  # 5E+2 forms too


def strategy_for(annotation: Any, metadata: typing.Iterable[object] = ()) -> SearchStrategy[Any]:
    """Valid values (as Python or JSON-like data) for one field's annotation and constraints."""
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        return strategy_for(base, [*metadata, *extras])
    rules = Constraints(metadata)
    origin = typing.get_origin(annotation)
    arguments = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(
            [
                st.none() if argument is type(None) else strategy_for(argument, metadata)
                for argument in arguments
            ]
        )
    if origin is Literal:
        return st.sampled_from(arguments)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return st.lists(strategy_for(arguments[0]), max_size=3).map(tuple)
        return st.tuples(*(strategy_for(argument) for argument in arguments))
    if origin is list:
        return st.lists(strategy_for(arguments[0]), max_size=3)
    if origin is dict:
        return st.dictionaries(strategy_for(arguments[0]), strategy_for(arguments[1]), max_size=3)
    if annotation is JsonValue or annotation is Any:
        return json_values
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return model_strategy(annotation)
        if issubclass(annotation, enum.Enum):
            return st.sampled_from(list(annotation))
        if annotation is bool:
            return st.booleans()
        if annotation is int:
            return st.integers(
                min_value=None if rules.lower is None else rules.lower + rules.lower_open,
                max_value=None if rules.upper is None else rules.upper - rules.upper_open,
            )
        if annotation is float:
            return st.floats(
                min_value=rules.lower,
                max_value=rules.upper,
                exclude_min=rules.lower_open,
                exclude_max=rules.upper_open,
                allow_nan=False,
                allow_infinity=False,
            )
        if annotation is Decimal:
            return decimal_strategy(rules)
        if annotation is str:
            return text_strategy(rules)
        if annotation is AwareDatetime or annotation is datetime:
            return aware_datetimes
        if annotation is HttpUrl:
            return http_urls
    raise NotImplementedError(f"no strategy for {annotation!r}: teach strategy_for this type")


OVERRIDES: dict[type[BaseModel], SearchStrategy[Any]] = {}


@functools.cache
def model_strategy(model: type[BaseModel]) -> SearchStrategy[Any]:
    """Valid instances of ``model``: every required field, any subset of the optional ones."""
    if model in OVERRIDES:
        return OVERRIDES[model]
    required: dict[str, SearchStrategy[Any]] = {}
    optional: dict[str, SearchStrategy[Any]] = {}
    for name, field in model.model_fields.items():
        values = strategy_for(field.annotation, field.metadata)
        (required if field.is_required() else optional)[field.alias or name] = values
    return st.fixed_dictionaries(required, optional=optional).map(model.model_validate)


def donations() -> SearchStrategy[Donation]:
    def build(source: str, upstream_id: str, fields: dict[str, Any]) -> Donation:
        return Donation(id=global_id(source, upstream_id), source=source, upstream_id=upstream_id, **fields)

    return st.builds(
        build,
        st.from_regex(r"[a-z][a-z0-9-]{0,31}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9._\-]{1,128}", fullmatch=True),
        st.fixed_dictionaries(
            {
                "donor_name": st.one_of(st.none(), st.text(max_size=MAX_NAME_CHARS)),
                "amount": model_strategy(Money),
                "created_at": aware_datetimes,
                "received_at": aware_datetimes,
            },
            optional={
                "message": st.one_of(
                    st.text(max_size=60),
                    st.characters(codec="utf-8").map(lambda character: character * MAX_MESSAGE_CHARS),
                ),
                "message_type": st.sampled_from(MessageType),
                "audio_url": st.one_of(st.none(), http_urls),
                "amount_in_user_currency": st.one_of(
                    st.none(),
                    model_strategy(Money),
                ),
                "is_test": st.booleans(),
                "persona": st.one_of(st.none(), st.text(max_size=64)),
            },
        ),
    )


def live_frames() -> SearchStrategy[LiveFrame]:
    empty = st.builds(LiveFrame, error=st.one_of(st.none(), st.text(max_size=500)))
    pictures = st.builds(
        lambda key, w, h, seed: LiveFrame(
            key=key, w=w, h=h, rgb=base64.b64encode(bytes([seed]) * (3 * w * h)).decode().rstrip("=")
        ),
        st.text(min_size=1, max_size=300),
        st.integers(1, 12),
        st.integers(1, 12),
        st.integers(0, 255),
    )
    return st.one_of(empty, pictures)


OVERRIDES[Donation] = donations()
OVERRIDES[LiveFrame] = live_frames()


def chat_events() -> SearchStrategy[ChatEvent]:
    generic = {
        name: strategy_for(field.annotation, field.metadata)
        for name, field in ChatEvent.model_fields.items()
        if name not in {"id", "source", "upstream_id", "kind", "gift_name"}
    }

    def build(source: str, upstream_id: str, kind: ChatKind, gift: str, fields: dict[str, Any]) -> ChatEvent:
        gift_name = gift or (None if kind is not ChatKind.GIFT else "rose")
        return ChatEvent(
            id=global_id(source, upstream_id),
            source=source,
            upstream_id=upstream_id,
            kind=kind,
            gift_name=gift_name,
            **fields,
        )

    return st.builds(
        build,
        st.from_regex(r"[a-z][a-z0-9-]{0,31}", fullmatch=True),
        st.from_regex(r"[A-Za-z0-9._\-]{1,128}", fullmatch=True),
        st.sampled_from(ChatKind),
        st.text(max_size=100),
        st.fixed_dictionaries(generic),
    )


OVERRIDES[ChatEvent] = chat_events()


def envelopes(payloads: SearchStrategy[Payload]) -> SearchStrategy[Envelope[Any]]:
    return st.builds(
        lambda payload, id_, correlation, moment: wrap(
            payload, id=id_, correlation_id=correlation, occurred_at=moment
        ),
        payloads,
        message_ids,
        message_ids,
        aware_datetimes,
    )


any_envelope = st.sampled_from(sorted(PAYLOAD_TYPES)).flatmap(
    lambda name: envelopes(model_strategy(PAYLOAD_TYPES[name]))
)


# -- every payload type round-trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", sorted(PAYLOAD_TYPES))
@PER_TYPE
@given(data=st.data())
def test_every_payload_type_round_trips_through_its_envelope(type_name: str, data: st.DataObject) -> None:
    model = PAYLOAD_TYPES[type_name]
    envelope = data.draw(envelopes(model_strategy(model)), label="envelope")
    raw = envelope.to_json()
    decoded = decode(raw)
    assert decoded == envelope
    assert type(decoded.payload) is model
    assert decode(raw, model) == envelope
    assert decode(raw.decode()) == envelope
    assert decoded.to_json() == raw  # re-encoding is stable: the same bytes, so the same Nats-Msg-Id dedupe


def test_every_registered_type_is_generated() -> None:
    """A new payload type whose fields the generic strategy cannot build fails here, not silently elsewhere."""
    for model in PAYLOAD_TYPES.values():
        model_strategy(model).validate()


@ACROSS_TYPES
@given(envelope=any_envelope, other=st.sampled_from(sorted(PAYLOAD_TYPES)))
def test_a_message_read_as_another_type_is_refused(envelope: Envelope[Any], other: str) -> None:
    expected = PAYLOAD_TYPES[other]
    raw = envelope.to_json()
    if expected is type(envelope.payload):
        assert decode(raw, expected) == envelope
        return
    with pytest.raises(ValidationError):
        decode(raw, expected)


# -- anything else is refused, with the documented errors only ------------------------------------------------------


def decoded_or_refused(data: bytes | str, expected: type[Payload] | None = None) -> Envelope[Any] | None:
    """The envelope ``decode`` returns, or None when it refuses with an error it documents."""
    try:
        return decode(data, expected)
    except (ValidationError, UnknownMessageType):
        return None


@PROPERTY
@given(
    data=st.one_of(
        st.binary(max_size=80),
        st.text(max_size=80),
        json_values.map(json.dumps),
        st.dictionaries(st.sampled_from(["id", "type", "payload", "schema_version"]), json_values).map(
            json.dumps
        ),
    ),
    expected=st.one_of(st.none(), st.sampled_from(sorted(PAYLOAD_TYPES)).map(PAYLOAD_TYPES.__getitem__)),
)
@example(data="[" * 100_000, expected=None)
@example(data='{"type": ' + "[" * 5000 + "]" * 5000 + "}", expected=None)
@example(data=b"\xff\xfe", expected=None)
@example(data='{"type": "donation.received"}', expected=None)
@example(data='{"type": "no.such.type"}', expected=None)
@example(data='{"type": {"a": 1}}', expected=None)
@example(data="1" * 5000, expected=None)
@example(data="NaN", expected=None)
def test_arbitrary_input_is_refused_with_the_documented_errors(
    data: bytes | str, expected: type[Payload] | None
) -> None:
    envelope = decoded_or_refused(data, expected)
    if envelope is not None:  # it happened to be a valid message
        assert decode(envelope.to_json()) == envelope


mutations = st.one_of(
    st.tuples(
        st.just("set"),
        st.sampled_from(["id", "type", "schema_version", "occurred_at", "correlation_id", "payload"]),
        json_values,
    ),
    st.tuples(
        st.just("drop"),
        st.sampled_from(["id", "type", "schema_version", "occurred_at", "correlation_id", "payload"]),
        st.none(),
    ),
    st.tuples(st.just("set-payload"), st.text(max_size=12), json_values),
    st.tuples(st.just("retype"), st.sampled_from(sorted(PAYLOAD_TYPES)), st.none()),
    st.tuples(st.just("version"), st.integers(-2, 5), st.none()),
)


@ACROSS_TYPES
@given(envelope=any_envelope, changes=st.lists(mutations, min_size=1, max_size=3), as_text=st.booleans())
def test_a_damaged_message_is_refused_or_still_a_valid_message(
    envelope: Envelope[Any], changes: list[tuple[str, Any, Any]], as_text: bool
) -> None:
    message = json.loads(envelope.to_json())
    for kind, where, value in changes:
        if kind == "set":
            message[where] = value
        elif kind == "drop":
            message.pop(where, None)
        elif kind == "set-payload" and isinstance(message.get("payload"), dict):
            message["payload"][where] = value
        elif kind == "retype":
            message["type"] = where
        elif kind == "version":
            message["schema_version"] = where
    raw = json.dumps(message)
    decoded = decoded_or_refused(raw if as_text else raw.encode())
    if decoded is None:
        return
    model = PAYLOAD_TYPES[decoded.type]
    assert type(decoded.payload) is model
    assert decoded.schema_version == model.SCHEMA_VERSION
    assert re.fullmatch(MESSAGE_ID_PATTERN, decoded.id)
    assert decoded.occurred_at.utcoffset() is not None
    assert decode(decoded.to_json()) == decoded


# -- ids ------------------------------------------------------------------------------------------------------------


def accepted_as_id(text: str) -> bool:
    try:
        wrap(PAYLOAD_TYPES["control.skip"](), id=text, correlation_id="c")
    except ValidationError:
        return False
    return True


@PROPERTY
@given(
    text=st.one_of(
        message_ids,
        st.text(max_size=20),
        message_ids.map(lambda text: text + "\n"),
        st.text(min_size=250, max_size=260, alphabet="ab"),
    )
)
@example(text="donationalerts:30530030\n")
@example(text="a" * 257)
@example(text="-leading-dash")
def test_an_id_is_accepted_exactly_when_it_matches_the_pattern(text: str) -> None:
    """The envelope (pydantic's regex) and the tools that check ids with Python's ``re`` agree on every string."""
    assert accepted_as_id(text) == (
        1 <= len(text) <= 256 and re.fullmatch(MESSAGE_ID_PATTERN, text) is not None
    )


@ACROSS_TYPES
@given(donation=donations(), reaction=st.sampled_from(ReactionKind))
def test_ids_derived_from_a_donation_are_valid_ids(donation: Donation, reaction: ReactionKind) -> None:
    derived = job_id(donation.id, reaction)
    assert accepted_as_id(donation.id)
    assert accepted_as_id(derived)
    assert derived.startswith(donation.id + ":")
