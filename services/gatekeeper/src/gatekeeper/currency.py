"""Amounts in the base currency: the platform's own conversion first, then live rates, their cache, the bundled table.

Rates come from ExchangeRate-API (``rates[X]`` = units of X per one unit of ``base_code``) and are cached for a TTL;
the last good table is also kept in KV, so a restart without network still has yesterday's rates. When nothing
answers, the table shipped with Ovation is used, and the conversion says so. A currency no table knows is counted as
zero (an alert, nothing paid for) with ``source=unknown``: it is never treated as roubles. Decimal throughout.

A rate outside ``MIN_RATE``..``MAX_RATE`` units per base unit is a broken answer and left out like a non-positive
one. An amount beyond what ``Money`` holds (12 whole digits) once converted is capped at ``MAX_AMOUNT``: it is more
than any routing threshold either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from typing import Any

import httpx

from ovation_contracts import Check, Conversion, Money, RateSource, utc_now

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
MIN_RATE = Decimal("1e-9")
MAX_RATE = Decimal("1e9")
_CODE = re.compile(r"[A-Z]{3}")


class RatesUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class RateTable:
    base_code: str
    rates: dict[str, Decimal]
    as_of: datetime

    def per_base(self, currency: str, base: str) -> Decimal | None:
        """Units of ``base`` per one unit of ``currency`` (cross rate through the table's own base)."""
        if currency not in self.rates or base not in self.rates or self.rates[currency] <= 0:
            return None
        return self.rates[base] / self.rates[currency]

    def to_json(self) -> str:
        return json.dumps(
            {
                "base_code": self.base_code,
                "as_of": self.as_of.isoformat(),
                "rates": {k: str(v) for k, v in self.rates.items()},
            }
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> RateTable:
        """Read what :meth:`to_json` wrote; ``ValueError`` when ``text`` is not such a table."""
        try:
            data = json.loads(text)
            as_of = datetime.fromisoformat(data["as_of"])
            return parse_table(data, as_of=as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC))
        except (KeyError, TypeError, RecursionError, RatesUnavailable) as exc:
            raise ValueError(f"not a stored rate table: {exc}"[:300]) from exc


def parse_table(data: Any, *, as_of: datetime | None = None) -> RateTable:
    """An ExchangeRate-API answer (open access ``rates`` or keyed ``conversion_rates``), or our own stored form."""
    if not isinstance(data, dict) or data.get("result", "success") != "success":
        error = data.get("error-type") if isinstance(data, dict) else None
        raise RatesUnavailable(f"the rate service answered an error: {error or data!r}"[:300])
    raw = data.get("rates") or data.get("conversion_rates")
    base = data.get("base_code")
    if not isinstance(raw, dict) or not isinstance(base, str) or not _CODE.fullmatch(base):
        raise RatesUnavailable("the rate service answered without base_code and rates")
    rates: dict[str, Decimal] = {}
    for code, value in raw.items():
        try:
            rate = Decimal(str(value))
        except (InvalidOperation, ValueError):  # ValueError: str() of an int past Python's digit limit
            continue
        if (
            isinstance(code, str)
            and _CODE.fullmatch(code)
            and rate.is_finite()
            and MIN_RATE <= rate <= MAX_RATE
        ):
            rates[code] = rate
    if base not in rates:
        rates[base] = Decimal(1)
    if as_of is None:
        as_of = _published_at(data.get("time_last_update_unix"))
    return RateTable(base_code=base, rates=rates, as_of=as_of)


def _published_at(stamp: object) -> datetime:
    """The answer's Unix time, or now when it has none or an impossible one (1e999, a year past 9999)."""
    if isinstance(stamp, int | float):
        try:
            return datetime.fromtimestamp(int(stamp), UTC)
        except (OverflowError, ValueError, OSError):
            pass
    return utc_now()


def bundled_table() -> RateTable:
    text = resources.files("gatekeeper").joinpath("rates_fallback.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return parse_table(data, as_of=datetime.fromisoformat(data["as_of"]))


CacheLoad = Callable[[], Awaitable[RateTable | None]]
CacheSave = Callable[[RateTable], Awaitable[None]]


class ExchangeRates:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        ttl: float = 3600.0,
        retry_after_failure: float = 300.0,
        load_cache: CacheLoad | None = None,
        save_cache: CacheSave | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.url = url
        self.ttl = ttl
        self.retry_after_failure = retry_after_failure
        self.load_cache = load_cache
        self.save_cache = save_cache
        self.clock = clock
        self.bundled = bundled_table()
        self._live: tuple[RateTable, float] | None = None
        self._last_failure: float | None = None
        self._last_problem = ""
        self._lock = asyncio.Lock()

    def check(self) -> Check:
        """Health: degraded while the last fetch failed (amounts are converted with older or bundled rates)."""
        if self._last_failure is not None:
            fallback = "the last live rates" if self._live else "the cached or bundled rates"
            return Check(
                ok=False, detail=f"exchange rates unavailable ({self._last_problem}); using {fallback}"
            )
        if self._live is None:
            return Check(ok=True, detail="no conversion yet")
        return Check(ok=True, detail=f"live rates from {self._live[0].as_of:%Y-%m-%d %H:%M} UTC")

    async def table(self) -> tuple[RateTable, RateSource]:
        """The best table there is now, and where it came from (live, cache or bundled)."""
        async with self._lock:
            now = self.clock()
            if self._live and now - self._live[1] < self.ttl:
                return self._live[0], RateSource.LIVE
            if self._last_failure is None or now - self._last_failure >= self.retry_after_failure:
                try:
                    table = await self._fetch()
                except (httpx.HTTPError, RatesUnavailable, ValueError) as exc:
                    self._last_failure, self._last_problem = now, str(exc)[:200]
                    log.warning("exchange rates unavailable (%s); using the cache or the bundled table", exc)
                else:
                    self._live, self._last_failure = (table, now), None
                    if self.save_cache:
                        await self.save_cache(table)
                    return table, RateSource.LIVE
            if self._live:
                return self._live[0], RateSource.CACHE
            cached = await self.load_cache() if self.load_cache else None
            if cached is not None:
                return cached, RateSource.CACHE
            return self.bundled, RateSource.BUNDLED

    async def _fetch(self) -> RateTable:
        response = await self.http.get(self.url, timeout=httpx.Timeout(5.0))
        if response.status_code != 200:
            raise RatesUnavailable(f"HTTP {response.status_code} from {self.url}")
        return parse_table(response.json())


async def to_base(
    amount: Money, base: str, rates: ExchangeRates, upstream: Money | None = None
) -> tuple[Money, Conversion]:
    """``amount`` in ``base``, with how it was converted."""
    now = utc_now()
    if amount.currency == base:
        return amount, Conversion(rate=Decimal(1), source=RateSource.IDENTITY, as_of=now)
    if upstream is not None and upstream.currency == base and amount.amount > 0:
        upstream_rate = upstream.amount / amount.amount
        return Money(amount=upstream.amount, currency=base), Conversion(
            rate=upstream_rate.quantize(Decimal("0.00000001")), source=RateSource.UPSTREAM, as_of=now
        )
    table, source = await rates.table()
    rate = table.per_base(amount.currency, base)
    if rate is None and table is not rates.bundled:
        # The live table lacks a currency the bundled one has (rare codes): better dated than unknown.
        table, source = rates.bundled, RateSource.BUNDLED
        rate = table.per_base(amount.currency, base)
    if rate is None:
        log.warning("no rate for %s to %s: counted as zero for routing", amount.currency, base)
        return Money(amount=Decimal(0), currency=base), Conversion(
            rate=Decimal(0), source=RateSource.UNKNOWN, as_of=now
        )
    converted = min(amount.amount * rate, MAX_AMOUNT).quantize(CENT)
    return Money(amount=converted, currency=base), Conversion(
        rate=rate.quantize(Decimal("0.00000001")), source=source, as_of=table.as_of
    )
