"""Every benchmark in one run (``make bench``): runs each ``bench/bench_*.py`` in turn, collects the JSON object each
prints, and prints one combined JSON report, then the README's table of headline figures (Markdown).

    PYTHONPATH=. uv run python bench/report.py

``BENCH_OUT=path`` also writes the combined JSON there; ``BENCH_ONLY=system,gateway`` runs only those benchmarks
(the part of the file name after ``bench_``). Each benchmark's own settings (``BENCH_ALERTS``, ...) pass through.
A benchmark that fails is reported (``failed``) and the others still run; the exit code is then 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.launch import machine

HERE = Path(__file__).resolve().parent
Report = dict[str, Any]


def last_json_object(text: str) -> Any:
    """The last JSON object printed (a benchmark may print other lines before it)."""
    decoder = json.JSONDecoder()
    found: Any = None
    position = 0
    while (start := text.find("{", position)) != -1:
        if start == 0 or text[start - 1] == "\n":
            try:
                found, end = decoder.raw_decode(text, start)
            except ValueError:
                end = start + 1
        else:
            end = start + 1
        position = end
    if found is None:
        raise ValueError("no JSON object in its output")
    return found


def run(path: Path) -> tuple[Any, float, str | None]:
    """(its JSON object or None, seconds, why it failed or None)."""
    print(f"== {path.name}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, str(path)], cwd=HERE.parent, env=env, stdout=subprocess.PIPE, text=True, check=False
    )
    seconds = round(time.perf_counter() - started, 1)
    result: Any = None
    problem: str | None = None
    try:
        result = last_json_object(done.stdout)
    except ValueError as error:
        problem = str(error)
    if done.returncode != 0:
        problem = f"exit code {done.returncode}"
    print(f"   {seconds} s{'; FAILED: ' + problem if problem else ''}", file=sys.stderr, flush=True)
    return result, seconds, problem


# The table ------------------------------------------------------------------------------------------------------


def n(value: float) -> str:
    """1234.5 -> "1,234"; 12.34 -> "12.3"; 1.234 -> "1.23"."""
    if abs(value) >= 100:
        return f"{round(value):,}"
    if abs(value) >= 10:
        return f"{value:.1f}".removesuffix(".0")
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def bus_latency(b: Report) -> str:
    latency = b["bus"]["publish_to_consume_latency_ms"]
    return f"p50 {n(latency['p50'])} ms, p99 {n(latency['p99'])} ms"


def bus_drain(b: Report) -> str:
    return f"{n(b['bus']['consumer_drain_per_s'])} messages/s"


def bus_publish(b: Report) -> str:
    rates = b["bus"]["acked_publish_per_s"]
    return f"{n(rates['unique_sequential'])}/s / {n(rates['unique_64_in_flight'])}/s"


def bus_duplicates(b: Report) -> str:
    bus = b["bus"]
    return (
        f"{n(bus['acked_publish_per_s']['duplicate_sequential'])}/s, "
        f"{bus['duplicates_detected']:,} of {bus['messages']:,} detected"
    )


def ingest_live(b: Report) -> str:
    return f"{n(b['ingest']['websocket_to_acked_publish_per_s'])} donations/s"


def alert_latency(b: Report) -> str:
    latency = b["gateway"]["donation_to_widget_ms"]
    return f"p50 {n(latency['p50'])} ms, p99 {n(latency['p99'])} ms"


def burst(b: Report) -> str:
    raid = b["system"]["burst"]
    rate = raid["screened_per_second"]
    ingest = raid["received_per_second"]
    return (
        f"{n(rate) if rate else 'n/a'} donations/s screened ({n(ingest) if ingest else 'n/a'}/s stored by ingest), "
        f"{raid['donations']:,} in {raid['screened_seconds']} s; lost {raid['lost']}, doubled {raid['duplicated']}"
    )


def card(b: Report) -> str:
    return f"{n(b['video']['offline_card']['render_seconds_median'])} s to render"


def video_cue(b: Report) -> str:
    return f"{n(b['video']['completed_to_cue']['seconds_median'])} s"


def painter(b: Report) -> str:
    parts = []
    for key, label in (("typical_drawing", "typical drawing"), ("reference_plan", "reference plan")):
        run = b["painter"][key]
        parts.append(
            f"{label}: p50 {n(run['frame_ms_p50'])} ms, p99 {n(run['frame_ms_p99'])} ms, "
            f"{round(run['cpu_share_of_one_core'] * 100)}% of a core"
        )
    return "; ".join(parts)


def voice(b: Report) -> str:
    v = b["voice"]
    return (
        f"{n(v['interrupt_to_ready_overhead_ms_p50'])}-{n(v['interrupt_to_ready_overhead_ms_p95'])} ms (p50-p95) once "
        f"its making starts; at most {v['clips_ahead_steady_max']} clips made ahead, "
        f"{v['clips_ahead_flood_max']} under a flood of {v['flood_interrupts']}"
    )


def moderation(b: Report) -> str:
    m = b["moderation"]
    return f"{n(m['messages_per_second'])} messages/s (p99 {n(m['p99_us'])} µs)"


def moderation_call(b: Report) -> str:
    call = b["gatekeeper"]["moderation_call_ms"]
    return f"p50 {n(call['p50'])} ms, p99 {n(call['p99'])} ms"


def catch_up(b: Report) -> str:
    i = b["ingest"]
    return f"{n(i['catch_up_seconds'])} s ({i['rest_page_requests_total']} page requests)"


def startup(b: Report) -> str:
    s = b["system"]["startup"]
    ready = s["all_ready_seconds"]
    return (
        f"{n(ready['median'])} s to every service ready (median of {s['runs']}; "
        f"banner at {n(s['banner_seconds']['median'])} s)"
    )


def first_donation(b: Report) -> str:
    first = b["system"]["first_donation_on_dashboard_seconds"]
    return f"{n(first['median'])} s (median of {len(first['each'])}; slowest {n(max(first['each']))} s)"


def rss(b: Report) -> str:
    memory = dict(b["system"]["rss_mib_after_burst"])
    total = memory.pop("total")
    return (
        ", ".join(f"{name} {round(value)}" for name, value in memory.items()) + f"; total {round(total)} MiB"
    )


ROWS: list[tuple[str, Callable[[Report], str]]] = [
    ("publish to consume latency, real nats-server, {bus_messages} messages one at a time", bus_latency),
    ("one durable consumer (batch size 1) draining a backlog", bus_drain),
    ("acknowledged publishes with `Nats-Msg-Id`, sequential / 64 in flight", bus_publish),
    ("duplicate publishes (detected and not stored)", bus_duplicates),
    ("DonationAlerts: fake websocket push to acknowledged JetStream publish", ingest_live),
    (
        "alert latency: donation event on NATS to its alert at a connected widget, {alert_rate}/s",
        alert_latency,
    ),
    (
        "burst: a raid of {raid} donations from the DonationAlerts websocket through `ovation up` "
        "(ingest + gatekeeper) to `donation.screened`",
        burst,
    ),
    ("offline celebration card (1280x720, 6 s, H.264 + AAC)", card),
    ('AIML "completed" to the video cue on NATS, 20 MiB video', video_cue),
    ("painter frame with the HUD at 60 FPS (1920x1080, headless)", painter),
    ("voice interrupt to its clip ready, beyond Boson's own time", voice),
    ("moderation rules engine, one core", moderation),
    ("moderation request/reply over NATS (what voice and painter call)", moderation_call),
    ("DonationAlerts: catch up {missed} donations missed while ingest was stopped", catch_up),
    ("startup: `ovation up` to every service ready (a first start, fresh data directory)", startup),
    (
        "first donation on the dashboard after the README's `ovation up` (simulator on, fresh data directory)",
        first_donation,
    ),
    ("memory (RSS, MiB) per process after the burst", rss),
]


def counts(b: Report) -> dict[str, str]:
    """What the row labels say was measured: the run's own counts, else the benchmarks' defaults."""
    found = {"bus_messages": 10_000, "alert_rate": 20, "raid": 2_000, "missed": 1_000}
    for key, path in (
        ("bus_messages", ("bus", "messages")),
        ("alert_rate", ("gateway", "rate_per_second")),
        ("raid", ("system", "burst", "donations")),
        ("missed", ("ingest", "missed_donations")),
    ):
        value: Any = b
        try:
            for part in path:
                value = value[part]
            found[key] = value
        except (KeyError, TypeError):
            pass
    return {key: f"{value:,g}" if isinstance(value, float) else f"{value:,}" for key, value in found.items()}


def table(benchmarks: Report, date: str, cpus: int | None) -> str:
    lines = [
        f"Figures from one `make bench` run on this project's machine ({cpus} cores), {date}:",
        "",
        "| what | figure |",
        "|---|---|",
    ]
    labels = counts(benchmarks)
    for template, figure in ROWS:
        what = template.format(**labels)
        try:
            value = figure(benchmarks)
        except (KeyError, TypeError, ValueError, ZeroDivisionError):
            value = "not measured"
        lines.append(f"| {what} | {value} |")
    return "\n".join(lines)


def main() -> int:
    only = {name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()}
    paths = [p for p in sorted(HERE.glob("bench_*.py")) if not only or p.stem.removeprefix("bench_") in only]
    started = time.perf_counter()
    benchmarks: Report = {}
    seconds: dict[str, float] = {}
    failed: dict[str, str] = {}
    for path in paths:
        name = path.stem.removeprefix("bench_")
        result, seconds[name], problem = run(path)
        if result is not None:
            benchmarks[name] = result
        if problem:
            failed[name] = problem
    info = machine()
    date = datetime.now(UTC).date().isoformat()
    report = {
        "report": "ovation benchmarks",
        "date": date,
        "machine": info,
        "total_seconds": round(time.perf_counter() - started, 1),
        "seconds": seconds,
        "failed": failed,
        "benchmarks": benchmarks,
    }
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if out := os.environ.get("BENCH_OUT"):
        Path(out).write_text(text + "\n", encoding="utf-8")
    print(text)
    print()
    cpus = info["cpus"]
    print(table(benchmarks, date, cpus if isinstance(cpus, int) else None))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
