"""What each source is doing, for health, metrics, the dashboard and ``ovation status``."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from prometheus_client import Counter as PromCounter
from prometheus_client import Gauge

from ovation_contracts import Check, SourceState, SourceStatus, utc_now

PUBLISHED = PromCounter("ovation_ingest_published_total", "Events published, by source", ["source"])
DUPLICATES = PromCounter(
    "ovation_ingest_duplicates_total", "Upstream deliveries already published", ["source"]
)
ERRORS = PromCounter("ovation_ingest_errors_total", "Source errors, by source and kind", ["source", "kind"])
LAG = Gauge("ovation_ingest_lag_seconds", "From payment to publication, last donation", ["source"])
STATE = Gauge("ovation_ingest_source_state", "1 for the state each source is in", ["source", "state"])

HEALTHY = frozenset(
    {SourceState.CONNECTED, SourceState.DISABLED, SourceState.CATCHING_UP, SourceState.CONNECTING}
)


class SourceTracker:
    def __init__(self, source: str, state: SourceState = SourceState.DISABLED, detail: str = "") -> None:
        self.source = source
        self.state = state
        self.detail = detail
        self.last_donation_at: datetime | None = None
        self.lag_seconds: float | None = None
        self.published = 0
        self.duplicates = 0
        self.errors: Counter[str] = Counter()
        self._export_state()

    def set(self, state: SourceState, detail: str = "") -> None:
        self.state = state
        self.detail = detail
        self._export_state()

    def _export_state(self) -> None:
        for state in SourceState:
            STATE.labels(self.source, state.value).set(1 if state is self.state else 0)

    def published_one(self, created_at: datetime) -> None:
        self.published += 1
        self.last_donation_at = created_at
        self.lag_seconds = max(0.0, (utc_now() - created_at).total_seconds())
        PUBLISHED.labels(self.source).inc()
        LAG.labels(self.source).set(self.lag_seconds)

    def duplicate(self) -> None:
        self.duplicates += 1
        DUPLICATES.labels(self.source).inc()

    def error(self, kind: str) -> None:
        self.errors[kind] += 1
        ERRORS.labels(self.source, kind).inc()

    def snapshot(self) -> SourceStatus:
        return SourceStatus(
            source=self.source,
            state=self.state,
            detail=self.detail,
            last_donation_at=self.last_donation_at,
            lag_seconds=self.lag_seconds,
            published=self.published,
            duplicates_skipped=self.duplicates,
            errors=dict(self.errors),
        )

    def check(self) -> Check:
        """For /health: a source that needs the streamer (re-authorisation) or is polling makes the service degraded."""
        detail = f"{self.state.value}: {self.detail}" if self.detail else self.state.value
        return Check(ok=self.state in HEALTHY, detail=detail)
