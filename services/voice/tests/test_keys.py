"""Key rotation: round-robin across keys, a rest per key after 429/401/quota, timed by an injected clock."""

from __future__ import annotations

import pytest
from voice.keys import KeyPool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def labels(pool: KeyPool, times: int) -> list[str | None]:
    return [key.secret if (key := pool.acquire()) else None for _ in range(times)]


def test_keys_are_used_in_turn() -> None:
    pool = KeyPool(["a", "b", "c"], clock=Clock())
    assert labels(pool, 5) == ["a", "b", "c", "a", "b"]


def test_a_rate_limited_key_rests_for_its_cooldown_then_is_used_again() -> None:
    clock = Clock()
    pool = KeyPool(["a", "b"], cooldown=60, clock=clock)
    first = pool.acquire()
    assert first is not None and first.secret == "a"
    assert pool.rate_limited(first) == 60
    assert labels(pool, 3) == ["b", "b", "b"]
    clock.now += 59.9
    assert labels(pool, 1) == ["b"]
    clock.now += 0.2
    assert labels(pool, 2) == ["a", "b"]


def test_retry_after_longer_than_the_cooldown_wins() -> None:
    clock = Clock()
    pool = KeyPool(["a", "b"], cooldown=10, clock=clock)
    key = pool.acquire()
    assert key is not None
    assert pool.rate_limited(key, retry_after=120) == 120
    clock.now += 60
    assert labels(pool, 2) == ["b", "b"]


def test_a_refused_key_rests_for_the_long_cooldown() -> None:
    clock = Clock()
    pool = KeyPool(["a", "b"], cooldown=60, refused_cooldown=900, clock=clock)
    key = pool.acquire()
    assert key is not None
    pool.refused(key, "refused (401)")
    clock.now += 600
    assert labels(pool, 2) == ["b", "b"]
    clock.now += 301
    assert "a" in labels(pool, 2)


def test_when_every_key_rests_none_is_given_and_the_wait_is_known() -> None:
    clock = Clock()
    pool = KeyPool(["a", "b"], cooldown=30, clock=clock)
    for _ in range(2):
        key = pool.acquire()
        assert key is not None
        pool.rate_limited(key)
    assert pool.acquire() is None
    assert pool.wait_time() == pytest.approx(30)
    clock.now += 30
    assert pool.acquire() is not None


def test_keys_are_never_shown_only_their_position() -> None:
    clock = Clock()
    pool = KeyPool(["bai-secret-1", "bai-secret-2"], clock=clock)
    key = pool.acquire()
    assert key is not None
    pool.rate_limited(key)
    shown = " ".join([str(key), repr(key), *pool.status()])
    assert "bai-secret" not in shown
    assert "key 1 of 2: resting 60 s more (rate limited (429))" in pool.status()
    assert "key 2 of 2: ready" in pool.status()


def test_a_pool_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        KeyPool([" ", ""])
