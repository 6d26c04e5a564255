"""The dashboard's recent warnings and errors: the newest lines, filtered by service and level."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.logbook import LogBook
from ovation_contracts import LogLevel, ServiceLog, wrap


def line(n: int, *, service: str = "painter", level: LogLevel = LogLevel.WARNING) -> bytes:
    payload = ServiceLog(
        service=service,
        instance="host-1",
        level=level,
        logger="painter.service",
        message=f"line {n}",
        logged_at=datetime(2026, 11, 21, 12, 0, n % 60, tzinfo=UTC),
        donation_id="api:1" if n % 2 else None,
    )
    return wrap(payload, id=f"log:{n}", correlation_id=payload.donation_id or "logs.painter").to_json()


def test_keeps_the_newest_lines_newest_first() -> None:
    book = LogBook(capacity=3)
    for n in range(5):
        book.receive(line(n))
    recent = book.recent()
    assert [entry.message for entry in recent.lines] == ["line 4", "line 3", "line 2"]
    assert recent.kept == 3
    assert recent.lines[0].donation_id is None
    assert recent.lines[1].donation_id == "api:1"


def test_filters_by_service_level_and_limit() -> None:
    book = LogBook()
    book.receive(line(1, service="voice"))
    book.receive(line(2, level=LogLevel.ERROR))
    book.receive(line(3, level=LogLevel.CRITICAL))
    book.receive(line(4))
    assert [e.message for e in book.recent(service="voice").lines] == ["line 1"]
    assert [e.message for e in book.recent(level=LogLevel.ERROR).lines] == ["line 3", "line 2"]
    assert [e.message for e in book.recent(limit=2).lines] == ["line 4", "line 3"]


def test_anything_but_a_log_line_is_ignored() -> None:
    book = LogBook()
    assert book.receive(b"garbage") is None
    assert book.receive(b'{"type": "service.log"}') is None
    assert book.receive(line(1)) is not None
    assert len(book.recent().lines) == 1
