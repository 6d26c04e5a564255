"""The services' recent warnings and errors, as they arrive on ``logs.<service>``, for the dashboard.

Kept in memory only (the newest ``capacity`` lines): it is a window on what is going wrong now, not an archive;
each service's full logs stay on its stderr.
"""

from __future__ import annotations

from collections import deque

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ovation_contracts import LogLevel, ServiceLog, UnknownMessageType, decode

LEVEL_ORDER = {LogLevel.WARNING: 0, LogLevel.ERROR: 1, LogLevel.CRITICAL: 2}


class RecentLogs(BaseModel):
    """``GET /api/v1/logs``: newest first."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ServiceLog]
    kept: int = Field(description="How many lines the gateway keeps at most")


class LogBook:
    def __init__(self, capacity: int = 200) -> None:
        self.capacity = capacity
        self._lines: deque[ServiceLog] = deque(maxlen=capacity)

    def receive(self, data: bytes) -> ServiceLog | None:
        """Keep one line from the bus; anything that is not a ``ServiceLog`` envelope is ignored."""
        try:
            payload = decode(data, ServiceLog).payload
        except (ValidationError, UnknownMessageType, ValueError):
            return None
        if not isinstance(payload, ServiceLog):
            return None
        self._lines.append(payload)
        return payload

    def recent(
        self, *, service: str | None = None, level: LogLevel | None = None, limit: int | None = None
    ) -> RecentLogs:
        """Newest first; ``level`` keeps that level and worse."""
        lines = [
            line
            for line in reversed(self._lines)
            if (service is None or line.service == service)
            and (level is None or LEVEL_ORDER[line.level] >= LEVEL_ORDER[level])
        ]
        return RecentLogs(lines=lines[:limit] if limit is not None else lines, kept=self.capacity)
