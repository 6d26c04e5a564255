"""Amounts in the base currency (live, cached, bundled, upstream; never 'assume roubles') and the routing rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from gatekeeper.currency import ExchangeRates, RateTable, bundled_table, parse_table, to_base
from gatekeeper.routing import choose_reactions
from ovation_contracts import (
    Decision,
    EventKind,
    Money,
    RateSource,
    ReactionKind,
    ReactionRule,
    RoutingRules,
    Verdict,
)
from tests.fakes.exchangerates import FakeExchangeRates

ALLOW = Verdict(decision=Decision.ALLOW)


def rub(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="RUB")


@pytest.fixture
async def fake_rates() -> AsyncIterator[FakeExchangeRates]:
    async with FakeExchangeRates() as fake:
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_live_rates_convert_with_decimals(
    fake_rates: FakeExchangeRates, http: httpx.AsyncClient
) -> None:
    rates = ExchangeRates(http, url=fake_rates.url)
    amount, conversion = await to_base(Money(amount=Decimal("12.34"), currency="USD"), "RUB", rates)
    assert amount == rub("987.20")
    assert conversion.source is RateSource.LIVE
    assert conversion.rate == Decimal(80)


async def test_rates_are_cached_for_their_ttl(fake_rates: FakeExchangeRates, http: httpx.AsyncClient) -> None:
    rates = ExchangeRates(http, url=fake_rates.url, ttl=3600)
    for _ in range(5):
        await to_base(Money(amount=Decimal(1), currency="EUR"), "RUB", rates)
    assert fake_rates.requests == 1


async def test_rate_service_down_uses_the_cache_and_says_so(
    fake_rates: FakeExchangeRates, http: httpx.AsyncClient
) -> None:
    now = [0.0]
    stored: list[RateTable] = []

    async def save(table: RateTable) -> None:
        stored.append(table)

    async def load() -> RateTable | None:
        return stored[-1] if stored else None

    rates = ExchangeRates(
        http,
        url=fake_rates.url,
        ttl=60,
        retry_after_failure=0,
        save_cache=save,
        load_cache=load,
        clock=lambda: now[0],
    )
    await rates.table()
    fake_rates.status = 500
    now[0] = 120
    _, conversion = await to_base(Money(amount=Decimal(10), currency="USD"), "RUB", rates)
    assert conversion.source is RateSource.CACHE

    restarted = ExchangeRates(
        http, url=fake_rates.url, load_cache=load
    )  # a restart with the service still down
    amount, conversion = await to_base(Money(amount=Decimal(10), currency="USD"), "RUB", restarted)
    assert (amount, conversion.source) == (rub("800.00"), RateSource.CACHE)


async def test_nothing_answers_and_nothing_cached_uses_the_bundled_table(http: httpx.AsyncClient) -> None:
    rates = ExchangeRates(http, url="http://127.0.0.1:1/v6/latest/USD")
    amount, conversion = await to_base(Money(amount=Decimal(10), currency="USD"), "RUB", rates)
    assert conversion.source is RateSource.BUNDLED
    assert conversion.as_of == bundled_table().as_of
    assert amount.amount > 100, "ten dollars are not ten roubles"


async def test_an_unknown_currency_is_zero_not_roubles(http: httpx.AsyncClient) -> None:
    rates = ExchangeRates(http, url="http://127.0.0.1:1/v6/latest/USD")
    amount, conversion = await to_base(Money(amount=Decimal(5000), currency="XAU"), "RUB", rates)
    assert amount == rub("0")
    assert conversion.source is RateSource.UNKNOWN


async def test_the_platforms_own_conversion_wins(http: httpx.AsyncClient) -> None:
    rates = ExchangeRates(http, url="http://127.0.0.1:1/v6/latest/USD")
    amount, conversion = await to_base(Money(amount=Decimal(5), currency="USD"), "RUB", rates, rub("450.50"))
    assert amount == rub("450.50")
    assert conversion.source is RateSource.UPSTREAM


async def test_same_currency_is_identity(http: httpx.AsyncClient) -> None:
    rates = ExchangeRates(http, url="http://127.0.0.1:1/v6/latest/USD")
    assert (await to_base(rub("100"), "RUB", rates))[1].source is RateSource.IDENTITY


def test_keyed_api_answers_parse_too() -> None:
    table = parse_table(
        {"result": "success", "base_code": "USD", "conversion_rates": {"USD": 1, "RUB": "81.5"}}
    )
    assert table.per_base("USD", "RUB") == Decimal("81.5")
    with pytest.raises(Exception, match="quota-reached"):
        parse_table({"result": "error", "error-type": "quota-reached"})


def reactions(
    amount: str,
    *,
    message: bool = True,
    kind: EventKind = EventKind.DONATION,
    rules: RoutingRules | None = None,
    verdict: Verdict = ALLOW,
    addressed: bool = False,
) -> set[ReactionKind]:
    return set(
        choose_reactions(
            rules or RoutingRules(),
            kind=kind,
            source="donationalerts",
            amount_base=Decimal(amount),
            has_message=message,
            verdict=verdict,
            addressed=addressed,
        )
    )


def test_default_routing_matches_what_a_streamer_expects() -> None:
    assert reactions("10") == {ReactionKind.ALERT}
    assert reactions("100") == {ReactionKind.ALERT, ReactionKind.VOICE}
    assert reactions("300") == {ReactionKind.ALERT, ReactionKind.VOICE, ReactionKind.PAINTER}
    assert reactions("300", message=False) == {ReactionKind.ALERT, ReactionKind.VOICE}
    assert reactions("1000") == set(ReactionKind)
    assert reactions("100000", kind=EventKind.CHAT) == set(), "plain chat is not routed by default"


def test_blocked_donations_get_no_reaction_and_downgraded_ones_keep_theirs() -> None:
    assert reactions("5000", verdict=Verdict(decision=Decision.BLOCK)) == set()
    assert reactions("5000", verdict=Verdict(decision=Decision.DOWNGRADE)) == set(ReactionKind)


def test_rules_limit_by_source_kind_maximum_and_switch() -> None:
    rules = RoutingRules(
        video=ReactionRule(min_amount=Decimal(1000), sources=("simulator",)),
        voice=ReactionRule(min_amount=Decimal(0), max_amount=Decimal(500)),
        painter=ReactionRule(enabled=False),
        alert=ReactionRule(kinds=(EventKind.SUPERCHAT,)),
    )
    assert reactions("2000", rules=rules) == set()
    assert reactions("200", rules=rules, kind=EventKind.SUPERCHAT) == {ReactionKind.ALERT, ReactionKind.VOICE}


def test_what_addresses_a_persona_is_spoken_below_the_threshold_and_whatever_its_kind() -> None:
    assert reactions("1", addressed=True) == {ReactionKind.ALERT, ReactionKind.VOICE}
    assert reactions("0", kind=EventKind.CHAT, addressed=True) == {ReactionKind.VOICE}
    assert reactions("0", kind=EventKind.CHAT, message=False, addressed=True) == {ReactionKind.VOICE}
    assert reactions("0", kind=EventKind.GIFT, addressed=True) == {ReactionKind.ALERT, ReactionKind.VOICE}
    assert reactions(
        "0", kind=EventKind.CHAT, verdict=Verdict(decision=Decision.DOWNGRADE), addressed=True
    ) == {ReactionKind.VOICE}, "a downgraded request is still thanked by the voice (without its text)"
    # Only the voice: the others follow their own rules.
    assert reactions("300", addressed=True) == {ReactionKind.ALERT, ReactionKind.VOICE, ReactionKind.PAINTER}
    narrow = RoutingRules(
        voice=ReactionRule(min_amount=Decimal(500), max_amount=Decimal(600), sources=("x",))
    )
    assert reactions("10000", kind=EventKind.CHAT, rules=narrow, addressed=True) == {ReactionKind.VOICE}


def test_a_blocked_or_switched_off_request_to_be_spoken_gets_no_voice() -> None:
    assert (
        reactions("0", kind=EventKind.CHAT, verdict=Verdict(decision=Decision.BLOCK), addressed=True) == set()
    )
    assert reactions("5000", verdict=Verdict(decision=Decision.BLOCK), addressed=True) == set()
    off = RoutingRules(voice=ReactionRule(enabled=False))
    assert reactions("5000", rules=off, addressed=True) == {
        ReactionKind.ALERT,
        ReactionKind.PAINTER,
        ReactionKind.VIDEO,
    }
    assert reactions("0", kind=EventKind.CHAT, rules=off, addressed=True) == set()
