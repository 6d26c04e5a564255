"""Amounts of money: always a Decimal with an ISO 4217 currency code, never a float."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case")]
Amount = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=8)]


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    amount: Amount
    currency: CurrencyCode

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.currency}"
