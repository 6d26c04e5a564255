"""Several API keys for one provider, used in turn, each resting for a while after the provider refused it.

A key that answers 429 (rate limit) rests for the cool-down (or the provider's ``Retry-After``, when longer); one
that answers 401/403 or says its quota is spent rests for the longer ``refused_cooldown``; the others carry the load
meanwhile, round-robin. Keys are named by their position ("key 2 of 3") in logs and health, never by their value.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

Clock = Callable[[], float]


@dataclass(slots=True)
class ApiKey:
    """One key; ``str()`` and ``repr()`` show its label only."""

    index: int
    total: int
    secret: str = field(repr=False)
    resting_until: float = 0.0
    reason: str = ""
    uses: int = 0
    refusals: int = 0

    @property
    def label(self) -> str:
        return f"key {self.index + 1} of {self.total}"

    def __str__(self) -> str:
        return self.label


class KeyPool:
    def __init__(
        self,
        secrets: Sequence[str],
        *,
        cooldown: float = 60.0,
        refused_cooldown: float = 900.0,
        clock: Clock = time.monotonic,
    ) -> None:
        cleaned = [s.strip() for s in secrets if s.strip()]
        if not cleaned:
            raise ValueError("a key pool needs at least one key")
        self.keys = [ApiKey(i, len(cleaned), secret) for i, secret in enumerate(cleaned)]
        self.cooldown = cooldown
        self.refused_cooldown = refused_cooldown
        self.clock = clock
        self._next = 0

    def __len__(self) -> int:
        return len(self.keys)

    def acquire(self) -> ApiKey | None:
        """The next key that is not resting, round-robin; None while every key rests."""
        now = self.clock()
        for offset in range(len(self.keys)):
            key = self.keys[(self._next + offset) % len(self.keys)]
            if key.resting_until <= now:
                self._next = (key.index + 1) % len(self.keys)
                key.uses += 1
                return key
        return None

    def wait_time(self) -> float:
        """Seconds until some key may be used again (0 when one may be used now)."""
        now = self.clock()
        return max(0.0, min(key.resting_until for key in self.keys) - now)

    def succeeded(self, key: ApiKey) -> None:
        key.reason = ""

    def rate_limited(self, key: ApiKey, retry_after: float | None = None) -> float:
        """Rest ``key`` after a 429; returns the seconds it rests."""
        seconds = max(self.cooldown, retry_after or 0.0)
        self._rest(key, seconds, "rate limited (429)")
        return seconds

    def refused(self, key: ApiKey, why: str) -> float:
        """Rest ``key`` for the long cool-down: the provider refused it (401/403) or its quota is spent."""
        self._rest(key, self.refused_cooldown, why)
        return self.refused_cooldown

    def _rest(self, key: ApiKey, seconds: float, reason: str) -> None:
        key.resting_until = max(key.resting_until, self.clock() + seconds)
        key.reason = reason
        key.refusals += 1

    def status(self) -> list[str]:
        """One line per key for the health report: ready, or resting with the reason and the time left."""
        now = self.clock()
        lines = []
        for key in self.keys:
            if key.resting_until > now:
                lines.append(f"{key.label}: resting {key.resting_until - now:.0f} s more ({key.reason})")
            else:
                lines.append(f"{key.label}: ready")
        return lines
