"""The simulator source: realistic donations and chat events for demos, tests and load.

English and Russian donors and messages, several currencies with amounts that look like real ones, an optional share
of messages that moderation must catch, and bursts (a raid). Pure logic: ``next_event`` takes the time it is given.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from importlib import resources

from ovation_contracts import ChatEvent, ChatKind, Donation, Money, SimulatorSettings, global_id

SOURCE = "simulator"

# (smallest, largest, rounding step) of a typical donation in each currency
AMOUNT_RANGES: dict[str, tuple[int, int, int]] = {
    "RUB": (50, 10_000, 10),
    "USD": (1, 200, 1),
    "EUR": (1, 200, 1),
    "GBP": (1, 150, 1),
    "KZT": (500, 50_000, 100),
    "UAH": (20, 5_000, 10),
    "BYN": (3, 300, 1),
}
GIFTS = ("Rose", "Heart", "Rocket", "Crown", "Lion")


@cache
def _lines(name: str) -> tuple[str, ...]:
    text = resources.files("ingest.data").joinpath(name).read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


@dataclass
class Simulator:
    settings: SimulatorSettings
    rng: random.Random

    def amount(self, currency: str) -> Money:
        low, high, step = AMOUNT_RANGES.get(currency, (1, 100, 1))
        # Log-uniform: many small donations, a few large ones, like a real stream.
        value = math.exp(self.rng.uniform(math.log(low), math.log(high)))
        rounded = max(low, round(value / step) * step)
        return Money(amount=Decimal(rounded), currency=currency)

    def _language(self) -> str:
        return "ru" if self.rng.random() < self.settings.russian_share else "en"

    def _message(self, language: str) -> str:
        if self.rng.random() < self.settings.harmful_share:
            return self.rng.choice(_lines(f"harmful_{language}.txt"))
        if self.rng.random() < 0.1:
            return ""
        return self.rng.choice(_lines(f"messages_{language}.txt"))

    def _donor(self, language: str) -> str | None:
        if self.rng.random() < 0.05:
            return None
        return self.rng.choice(_lines(f"donors_{language}.txt"))

    def _currency(self) -> str:
        currencies = list(self.settings.currencies)
        return self.rng.choices(currencies, weights=[self.settings.currencies[c] for c in currencies])[0]

    def _upstream_id(self) -> str:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex

    def donation(self, now: datetime) -> Donation:
        language = self._language()
        upstream_id = self._upstream_id()
        return Donation(
            id=global_id(SOURCE, upstream_id),
            source=SOURCE,
            upstream_id=upstream_id,
            donor_name=self._donor(language),
            message=self._message(language),
            amount=self.amount(self._currency()),
            created_at=now,
            received_at=now,
        )

    def chat_event(self, now: datetime) -> ChatEvent:
        language = self._language()
        upstream_id = self._upstream_id()
        kind = self.rng.choices([ChatKind.CHAT, ChatKind.SUPERCHAT, ChatKind.GIFT], weights=[0.7, 0.2, 0.1])[
            0
        ]
        author = self._donor(language) or "viewer"
        paid = kind is not ChatKind.CHAT
        return ChatEvent(
            id=global_id(SOURCE, upstream_id),
            kind=kind,
            source=SOURCE,
            upstream_id=upstream_id,
            author=author,
            message=self._message(language) if kind is not ChatKind.GIFT else "",
            amount=self.amount(self._currency()) if paid else None,
            gift_name=self.rng.choice(GIFTS) if kind is ChatKind.GIFT else None,
            gift_count=self.rng.randint(1, 10) if kind is ChatKind.GIFT else None,
            created_at=now,
            received_at=now,
        )

    def next_event(self, now: datetime) -> Donation | ChatEvent:
        if self.rng.random() < self.settings.chat_share:
            return self.chat_event(now)
        return self.donation(now)

    def next_delay(self) -> float | None:
        """Seconds until the next event (Poisson arrivals), or None when the rate is zero."""
        rate = self.settings.donations_per_minute
        if rate <= 0:
            return None
        return self.rng.expovariate(rate / 60.0)
