"""A fake ExchangeRate-API (open access, ``GET /v6/latest/<BASE>``) on a loopback port, in-process controllable."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .server import FakeServer

USD_RATES = {"USD": 1, "EUR": 0.9, "RUB": 80, "KZT": 500, "GBP": 0.8}


class FakeExchangeRates(FakeServer):
    name = "fake-exchangerates"

    def __init__(self, rates: dict[str, float] | None = None) -> None:
        super().__init__()
        self.rates = dict(rates or USD_RATES)
        self.status = 200
        """Answer this HTTP status (500 or 429 to simulate an outage)."""
        self.requests = 0
        self.app = Starlette(routes=[Route("/v6/latest/{base}", self.latest)])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v6/latest/USD"

    async def latest(self, request: Request) -> Response:
        self.requests += 1
        if self.status != 200:
            return JSONResponse({"result": "error", "error-type": "quota-reached"}, status_code=self.status)
        base = request.path_params["base"]
        factor = 1 / self.rates[base]
        rates: dict[str, Any] = {code: value * factor for code, value in self.rates.items()}
        return JSONResponse(
            {"result": "success", "base_code": base, "time_last_update_unix": 1_763_683_200, "rates": rates}
        )


@contextlib.asynccontextmanager
async def running_rates(**options: Any) -> AsyncIterator[FakeExchangeRates]:
    async with FakeExchangeRates(**options) as fake:
        yield fake
