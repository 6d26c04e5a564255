"""The settings every property test starts from: the same examples on every run (a CI failure reproduces on a
laptop), no example database, no deadline (two busy cores are slow, not wrong). A file names its own example count."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

REPRODUCIBLE = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def reproducible(max_examples: int) -> settings:
    """``REPRODUCIBLE`` with ``max_examples`` examples per test."""
    return settings(REPRODUCIBLE, max_examples=max_examples)
