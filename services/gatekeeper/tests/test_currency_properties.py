"""Properties of the currency code: any ExchangeRate-API answer is a usable table or ``RatesUnavailable``, a stored
table reads back as written, and converting to the base currency never fails, never goes negative, says when it
does not know a currency, and comes back (within rounding) when converted the other way."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from gatekeeper.currency import (
    CENT,
    MAX_AMOUNT,
    ExchangeRates,
    RatesUnavailable,
    RateTable,
    bundled_table,
    parse_table,
    to_base,
)
from ovation_contracts import Conversion, Money, RateSource
from tests.properties import reproducible

T = TypeVar("T")
PROPERTY = reproducible(max_examples=100)
CONVERSIONS = settings(PROPERTY, max_examples=60)  # an event loop and an HTTP client per example
BUNDLED = bundled_table()
KNOWN = sorted(BUNDLED.rates)
NOBODY_KNOWS = ["XAU", "XTS", "ZZZ"]  # in no table here: the bundled one, nor any generated answer

# Whatever JSON a rate service could answer (floats included: httpx's json() reads them as floats).
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
codes = st.one_of(
    st.sampled_from([*KNOWN, "usd", "US", "ÉÉÉ", "USD\n"]), st.from_regex(r"[A-Z]{3}", fullmatch=True)
)
rate_values = st.one_of(
    st.decimals(min_value=Decimal("1e-12"), max_value=Decimal("1e12")).map(str),
    st.floats(),
    st.integers(-10, 10**6),
    st.sampled_from(["1e999999", "1e-999999", "NaN", "-Infinity", "sNaN", "0", "-1"]),
    json_values,
)
answers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"base_code": st.one_of(codes, json_values)},
        optional={
            "result": st.one_of(st.sampled_from(["success", "error"]), json_values),
            "rates": st.one_of(st.dictionaries(codes, rate_values, max_size=6), json_values),
            "conversion_rates": st.dictionaries(codes, rate_values, max_size=6),
            "time_last_update_unix": st.one_of(st.integers(), st.floats(), json_values),
            "error-type": json_values,
        },
    ),
)

# A well-formed answer: ISO codes, plausible positive rates (units of each currency per one USD).
plausible_rates = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal(100_000), places=6).filter(
    lambda rate: rate > 0
)
good_answers = st.dictionaries(
    st.from_regex(r"[A-Z]{3}", fullmatch=True), plausible_rates, min_size=1, max_size=5
).map(
    lambda rates: {
        "result": "success",
        "base_code": "USD",
        "time_last_update_unix": 1_763_683_200,
        "rates": {"USD": "1", **{code: str(rate) for code, rate in rates.items() if code != "USD"}},
    }
)
amounts = st.one_of(
    st.decimals(min_value=0, max_value=Decimal("999999999999.99999999"), places=8),
    st.decimals(min_value=0, max_value=10_000, places=2),
    st.sampled_from([Decimal(0), Decimal("0.00000001"), Decimal("999999999999.99999999")]),
)


def attempt(call: Callable[[], T]) -> T | RatesUnavailable:
    try:
        return call()
    except RatesUnavailable as exc:
        return exc


def rates_answering(body: bytes) -> tuple[httpx.AsyncClient, ExchangeRates]:
    """Exchange rates whose rate service answers ``body``, in process (no socket)."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _: httpx.Response(200, content=body)))
    return http, ExchangeRates(http, url="http://rates.invalid/v6/latest/USD")


def convert(body: bytes, amount: Money, base: str, upstream: Money | None = None) -> tuple[Money, Conversion]:
    async def run() -> tuple[Money, Conversion]:
        http, rates = rates_answering(body)
        async with http:
            return await to_base(amount, base, rates, upstream)

    return asyncio.run(run())


def assert_usable(table: RateTable) -> None:
    assert re.fullmatch(r"[A-Z]{3}", table.base_code)
    assert table.rates[table.base_code] > 0
    for code, rate in table.rates.items():
        assert re.fullmatch(r"[A-Z]{3}", code)  # as the contract's CurrencyCode
        assert rate.is_finite()
        assert rate > 0
    assert table.as_of.tzinfo is not None
    for code in table.rates:  # every cross rate can be computed and shown in a Conversion
        for base in table.rates:
            cross = table.per_base(code, base)
            assert cross is not None
            assert cross > 0
            Conversion(rate=cross.quantize(Decimal("0.00000001")), source=RateSource.LIVE, as_of=table.as_of)


@PROPERTY
@given(data=answers)
@example(data={"result": "success", "base_code": "USD", "rates": {"RUB": 80}, "time_last_update_unix": 1e999})
@example(
    data={"result": "success", "base_code": "USD", "rates": {"RUB": 80}, "time_last_update_unix": 10**20}
)
@example(data={"result": "success", "base_code": "USD", "rates": {"RUB": "1e999999", "EUR": "1e-999999"}})
def test_any_answer_is_a_usable_table_or_rates_unavailable(data: Any) -> None:
    table = attempt(lambda: parse_table(data))
    if isinstance(table, RatesUnavailable):
        assert str(table)
        return
    assert isinstance(data, dict)
    assert table.base_code == data["base_code"]
    assert_usable(table)


@PROPERTY
@given(
    data=st.fixed_dictionaries(
        {
            "base_code": st.sampled_from(KNOWN),
            "rates": st.dictionaries(codes, rate_values, min_size=1, max_size=6),
        },
        optional={"time_last_update_unix": st.one_of(st.integers(), st.floats(), json_values)},
    )
)
def test_a_parsed_table_reads_back_from_its_stored_form(data: Any) -> None:
    table = parse_table(data)
    assert RateTable.from_json(table.to_json()) == table
    assert RateTable.from_json(table.to_json().encode()) == table


@PROPERTY
@given(text=st.one_of(st.text(max_size=40), json_values.map(json.dumps), answers.map(json.dumps)))
@example(text="[]")
@example(text='{"as_of": 5, "base_code": "USD", "rates": {}}')
@example(text='{"as_of": "2026-01-01T00:00:00+00:00", "base_code": 5, "rates": {}}')
@example(text='{"as_of": "2026-01-01T00:00:00", "base_code": "USD", "rates": {"RUB": "80"}}')
@example(text="[" * 100_000)
def test_a_stored_table_is_read_or_refused_with_a_value_error(text: str) -> None:
    """The gatekeeper's KV cache catches ``ValueError`` (and ``KeyError``): nothing else may escape."""
    try:
        table = RateTable.from_json(text)
    except ValueError:
        return
    assert_usable(table)


@CONVERSIONS
@given(body=st.one_of(st.binary(max_size=30), answers.map(lambda d: json.dumps(d).encode())))
@example(
    body=b'{"result": "success", "base_code": "USD", "rates": {"RUB": 80}, "time_last_update_unix": 1e999}'
)
@example(
    body=b'{"result": "success", "base_code": "USD", "rates": {"RUB": 80}, "time_last_update_unix": Infinity}'
)
def test_whatever_the_rate_service_answers_there_is_a_table(body: bytes) -> None:
    async def run() -> tuple[RateTable, RateSource]:
        http, rates = rates_answering(body)
        async with http:
            return await rates.table()

    table, source = asyncio.run(run())
    assert source in {RateSource.LIVE, RateSource.BUNDLED}
    assert (table is BUNDLED or table == BUNDLED) if source is RateSource.BUNDLED else True
    assert_usable(table)


@CONVERSIONS
@given(
    body=st.one_of(
        good_answers.map(lambda d: json.dumps(d).encode()), answers.map(lambda d: json.dumps(d).encode())
    ),
    amount=amounts,
    currency=st.one_of(st.sampled_from(KNOWN + NOBODY_KNOWS), st.from_regex(r"[A-Z]{3}", fullmatch=True)),
    base=st.sampled_from(["RUB", "USD", "EUR", "KZT", "UZS"]),
)
@example(
    body=b'{"result": "success", "base_code": "USD", "rates": {"USD": 1, "RUB": 80}}',
    amount=Decimal("999999999999.99999999"),
    currency="USD",
    base="RUB",
)
@example(
    body=b'{"result": "success", "base_code": "USD", "rates": {"USD": 1, "RUB": "1e30"}}',
    amount=Decimal(1),
    currency="USD",
    base="RUB",
)
def test_any_amount_converts_to_a_valid_non_negative_amount_in_the_base(
    body: bytes, amount: Decimal, currency: str, base: str
) -> None:
    converted, conversion = convert(body, Money(amount=amount, currency=currency), base)
    assert converted.currency == base
    assert Money.model_validate(converted.model_dump()) == converted
    assert converted.amount >= 0
    assert converted.amount == converted.amount.quantize(CENT) or conversion.source is RateSource.IDENTITY
    assert conversion.rate >= 0
    if currency == base:
        assert conversion.source is RateSource.IDENTITY
        assert converted.amount == amount
    elif currency in NOBODY_KNOWS:
        assert conversion.source is RateSource.UNKNOWN  # counted as zero, never as the base currency
        assert converted.amount == 0
    elif currency in BUNDLED.rates:
        assert conversion.source in {RateSource.LIVE, RateSource.BUNDLED}
        assert converted.amount <= MAX_AMOUNT


@CONVERSIONS
@given(
    body=good_answers.map(lambda d: json.dumps(d).encode()),
    amount=st.decimals(min_value=0, max_value=10**9, places=2),
    pair=st.lists(st.sampled_from(KNOWN), min_size=2, max_size=2, unique=True),
)
def test_converting_there_and_back_is_identity_within_rounding(
    body: bytes, amount: Decimal, pair: list[str]
) -> None:
    original, base = pair
    there, conversion = convert(body, Money(amount=amount, currency=original), base)
    assume(there.amount < MAX_AMOUNT)  # a capped amount cannot come back
    back, _ = convert(body, there, original)
    table = parse_table(json.loads(body)) if conversion.source is RateSource.LIVE else BUNDLED
    rate_back = table.per_base(base, original)
    if rate_back is None:  # the live table knew one of them only; the bundled one was used on the way back
        rate_back = BUNDLED.per_base(base, original)
    assert rate_back is not None
    # Each way rounds to the cent once: half a cent there (worth rate_back on the way back) and half a cent back.
    assert abs(back.amount - amount) <= CENT / 2 * rate_back + CENT / 2 + Decimal("1e-12")


@CONVERSIONS
@given(
    body=good_answers.map(lambda d: json.dumps(d).encode()),
    amounts_=st.lists(amounts, min_size=2, max_size=2),
    currency=st.sampled_from(KNOWN),
)
def test_more_money_never_converts_to_less(body: bytes, amounts_: list[Decimal], currency: str) -> None:
    low, high = sorted(amounts_)
    low_base, _ = convert(body, Money(amount=low, currency=currency), "RUB")
    high_base, _ = convert(body, Money(amount=high, currency=currency), "RUB")
    assert low_base.amount <= high_base.amount


@CONVERSIONS
@given(amount=amounts, upstream=amounts, currency=st.sampled_from(["USD", "EUR", "XAU"]))
@example(amount=Decimal("0.00000001"), upstream=Decimal("999999999999.99999999"), currency="USD")
def test_the_platforms_own_conversion_is_taken_as_it_is(
    amount: Decimal, upstream: Decimal, currency: str
) -> None:
    converted, conversion = convert(
        b"{}", Money(amount=amount, currency=currency), "RUB", Money(amount=upstream, currency="RUB")
    )
    if amount > 0:
        assert conversion.source is RateSource.UPSTREAM
        assert converted == Money(amount=upstream, currency="RUB")
        assert conversion.rate >= 0
    else:
        assert converted.amount == 0


@PROPERTY
@given(
    amount=st.one_of(amounts, st.decimals(allow_nan=False, allow_infinity=False)),
    currency=st.one_of(codes, st.text(max_size=4)),
)
def test_money_holds_only_non_negative_exact_amounts_in_an_iso_code(amount: Decimal, currency: str) -> None:
    try:
        money = Money(amount=amount, currency=currency)
    except ValidationError:
        return
    assert amount >= 0
    assert re.fullmatch(r"[A-Z]{3}", currency)
    assert money.amount == amount
    assert Money.model_validate_json(money.model_dump_json()) == money
    number, code = str(money).split(" ")
    assert (Decimal(number), code) == (amount, currency)


@PROPERTY
@given(amount=st.decimals(max_value=Decimal("-1e-8"), allow_nan=False), currency=st.sampled_from(KNOWN))
def test_money_is_never_negative(amount: Decimal, currency: str) -> None:
    with pytest.raises(ValidationError):
        Money(amount=amount, currency=currency)


def test_the_bundled_table_is_usable() -> None:
    assert_usable(BUNDLED)
    assert BUNDLED.as_of == datetime.fromisoformat("2026-11-01T00:00:00+00:00").astimezone(UTC)
