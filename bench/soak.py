"""Soak (``make soak``, not in CI): ``ovation up`` with the simulator at ``SOAK_RATE`` (5) donations/s for
``SOAK_MINUTES`` (30), and a widget that plays every cue, to show that nothing grows: resident memory, open files,
threads and asyncio tasks (``ovation_asyncio_tasks`` on /metrics) of every service, the same of nats-server with its
client connections, subscriptions and JetStream consumers, and no error logs. Prints one JSON object; exits 1 unless
the verdict is "flat" with no error lines and no restarts.

    SOAK_MINUTES=2 make soak        # a quick check

Every ``SOAK_SAMPLE_SECONDS`` (the duration / 20, 5 to 30 s) it samples each process (the service's current pid: a
restart shows as one). After ``SOAK_WARMUP_SECONDS`` (10% of the duration, 30 to 120 s: caches and lazy imports fill
first), "start" is the lowest value of the first quarter of the samples and "end" the lowest of the last quarter: the
floor, which a leak raises and a burst of work (a video card rendered, a drawing planned) does not; "peak" is the
highest of all, ``slope_mib_per_hour`` the least-squares trend of RSS. A figure grows when end - start exceeds its
tolerance: a service's RSS ``SOAK_RSS_TOLERANCE_MIB`` (8) or ``SOAK_RSS_TOLERANCE_PERCENT`` (10) of start, whichever
is larger; nats-server's RSS ``SOAK_NATS_RSS_TOLERANCE_MIB`` (64: JetStream keeps every message id for the streams'
duplicate windows, an hour on DONATIONS and JOBS, and caches recent blocks, so it rises during a soak by design; a
client leaking connections, subscriptions or consumers shows in those counts instead); files ``SOAK_FDS_TOLERANCE``
(4); threads ``SOAK_THREADS_TOLERANCE`` (2), nats-server's ``SOAK_NATS_THREADS_TOLERANCE`` (16: Go adds OS threads
for blocking file syscalls under load and keeps them idle); tasks ``SOAK_TASKS_TOLERANCE`` (10); NATS connections and
consumers ``SOAK_NATS_COUNT_TOLERANCE`` (2), subscriptions ``SOAK_NATS_SUBSCRIPTIONS_TOLERANCE`` (20); the gateway's
stage (cues waiting for the widget) ``SOAK_STAGE_TOLERANCE`` (50).

The services log JSON (``OVATION_LOG_FORMAT=json``); lines at level error or critical count as errors per service,
with the first few kept as samples (warnings too); ``[ERR]`` lines of nats-server count for it. The widget plays every
cue for ``SOAK_PLAY_MS`` (50), reporting it started and ended as the OBS widget does, so the stage drains: at 5
donations/s a real six-second alert would queue without end. ``SOAK_LOG=file`` keeps all the output. Exchange rates
come from the fake ExchangeRate-API; the painter is headless; video, voice and painter use their offline generators
(no API keys).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import nats

from bench.launch import WIDGET_TOKEN, OvationUp, machine, parse_json_line, sample
from ovation_contracts import bus
from tests.fakes.exchangerates import FakeExchangeRates

MINUTES = float(os.environ.get("SOAK_MINUTES", "30"))
RATE = float(os.environ.get("SOAK_RATE", "5"))
DURATION = MINUTES * 60
INTERVAL = float(os.environ.get("SOAK_SAMPLE_SECONDS", str(min(30.0, max(5.0, DURATION / 20)))))
WARMUP = float(os.environ.get("SOAK_WARMUP_SECONDS", str(min(120.0, max(30.0, DURATION * 0.1)))))
PLAY_MS = int(os.environ.get("SOAK_PLAY_MS", "50"))
LOG = os.environ.get("SOAK_LOG")
"""A file to keep every line of the launcher's output in (the report counts them either way)."""
RSS_TOLERANCE_MIB = float(os.environ.get("SOAK_RSS_TOLERANCE_MIB", "8"))
RSS_TOLERANCE_PERCENT = float(os.environ.get("SOAK_RSS_TOLERANCE_PERCENT", "10"))
NATS_RSS_TOLERANCE_MIB = float(os.environ.get("SOAK_NATS_RSS_TOLERANCE_MIB", "64"))
TOLERANCES = {
    "fds": float(os.environ.get("SOAK_FDS_TOLERANCE", "4")),
    "threads": float(os.environ.get("SOAK_THREADS_TOLERANCE", "2")),
    "tasks": float(os.environ.get("SOAK_TASKS_TOLERANCE", "10")),
    "connections": float(os.environ.get("SOAK_NATS_COUNT_TOLERANCE", "2")),
    "consumers": float(os.environ.get("SOAK_NATS_COUNT_TOLERANCE", "2")),
    "subscriptions": float(os.environ.get("SOAK_NATS_SUBSCRIPTIONS_TOLERANCE", "20")),
    "stage_length": float(os.environ.get("SOAK_STAGE_TOLERANCE", "50")),
}
NATS_THREADS_TOLERANCE = float(os.environ.get("SOAK_NATS_THREADS_TOLERANCE", "16"))
FIGURES = ("rss_mib", "fds", "threads", "tasks", "connections", "subscriptions", "consumers", "stage_length")
TASKS = re.compile(r"^ovation_asyncio_tasks (\S+)$", re.M)
STAGE = re.compile(r"^ovation_gateway_stage_length (\S+)$", re.M)
RESTART = re.compile(r"exited with code (-?\d+); restarting")
KILLED = re.compile(r"did not stop within [\d.]+ s; killing it")
ERROR_LEVELS = {"error", "critical"}
SAMPLES_KEPT = 5


class LogTally:
    """Counts the launcher's output by process and level; fed from its reader thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.levels: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.restarts: Counter[str] = Counter()
        self.killed: Counter[str] = Counter()
        self.samples: defaultdict[str, list[str]] = defaultdict(list)
        self.warning_samples: defaultdict[str, list[str]] = defaultdict(list)
        self.lines = 0

    def __call__(self, name: str, text: str) -> None:
        entry = parse_json_line(text)
        if entry is not None:
            level = str(entry.get("level", "unknown"))
            detail = str(entry.get("message", ""))
            if entry.get("error"):
                detail += " | " + str(entry["error"]).strip().splitlines()[-1]
        elif name == "nats":
            level = "error" if "[ERR]" in text else "warning" if "[WRN]" in text else "info"
            detail = text
        else:
            level = "text"
            detail = text
            with self.lock:
                if RESTART.search(text):
                    self.restarts[name] += 1
                if KILLED.search(text):
                    self.killed[name] += 1
        with self.lock:
            self.lines += 1
            self.levels[name][level] += 1
            if level in ERROR_LEVELS and len(self.samples[name]) < SAMPLES_KEPT:
                self.samples[name].append(detail[:400])
            if level == "warning" and len(self.warning_samples[name]) < SAMPLES_KEPT:
                self.warning_samples[name].append(detail[:400])

    def errors(self) -> dict[str, int]:
        with self.lock:
            return {
                name: sum(levels[level] for level in ERROR_LEVELS) for name, levels in self.levels.items()
            }


async def widget(base: str, played: Counter[str]) -> None:
    """The OBS widget, fast: every cue started, then ended after ``PLAY_MS``; reconnects like an EventSource."""
    params = {"token": WIDGET_TOKEN}
    while True:
        with contextlib.suppress(httpx.HTTPError):
            async with (
                httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10, read=None)) as http,
                http.stream("GET", "/api/v1/widget/stage", params=params) as feed,
            ):
                event = ""
                async for line in feed.aiter_lines():
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:") and event == "play":
                        cue = json.loads(line[5:])
                        ack = {"cue_id": cue["cue_id"], "state": "started"}
                        await http.post("/api/v1/widget/playback", params=params, json=ack)
                        await asyncio.sleep(PLAY_MS / 1000)
                        ack["state"] = "ended"
                        await http.post("/api/v1/widget/playback", params=params, json=ack)
                        played[str(cue.get("kind"))] += 1
        await asyncio.sleep(1)


async def scrape(http: httpx.AsyncClient, url: str) -> tuple[float | None, float | None]:
    """(asyncio tasks, stage length) from a service's /metrics; None where it has no such gauge."""
    try:
        text = (await http.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return None, None
    tasks, stage = TASKS.search(text), STAGE.search(text)
    return (float(tasks[1]) if tasks else None, float(stage[1]) if stage else None)


async def nats_counts(http: httpx.AsyncClient, monitor: str) -> dict[str, Any]:
    """Client connections and subscriptions (/varz) and JetStream consumers (/jsz) of nats-server."""
    counts: dict[str, Any] = {}
    with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
        varz = (await http.get(f"{monitor}/varz")).json()
        counts["connections"], counts["subscriptions"] = varz["connections"], varz["subscriptions"]
        counts["consumers"] = (await http.get(f"{monitor}/jsz")).json()["consumers"]
    return counts


async def take_sample(up: OvationUp, http: httpx.AsyncClient, js: Any, started: float) -> dict[str, Any]:
    moment: dict[str, Any] = {"t": round(time.perf_counter() - started, 1), "processes": {}}
    for name, process in up.processes().items():
        try:
            figures: dict[str, Any] = {"pid": process.pid, **sample(process)}
        except Exception:  # it exited between finding and sampling: the next sample sees its successor
            continue
        if name == "nats":
            figures.update(await nats_counts(http, up.monitor_url))
        if name in up.urls:
            figures["tasks"], stage = await scrape(http, up.urls[name])
            if stage is not None:
                moment["stage_length"] = figures["stage_length"] = stage
        moment["processes"][name] = figures
    with contextlib.suppress(Exception):
        moment["donations"] = (await js.stream_info(bus.DONATIONS.name)).state.messages
        events = await js.stream_info(bus.EVENTS.name, subjects_filter=bus.DONATION_SCREENED)
        moment["screened"] = (events.state.subjects or {}).get(bus.DONATION_SCREENED, 0)
    return moment


def slope_per_hour(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 3:
        return None
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if not spread:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread * 3600


def summarise(samples: list[dict[str, Any]], tally: LogTally) -> dict[str, Any]:
    steady = [s for s in samples if s["t"] >= WARMUP] or samples
    window = max(2, len(steady) // 4)
    head, tail = steady[:window], steady[-window:]
    names = sorted({name for s in samples for name in s["processes"]})
    errors = tally.errors()
    services: dict[str, Any] = {}
    problems: list[str] = []
    growing = False
    for name in names:
        report: dict[str, Any] = {}

        def values(part: list[dict[str, Any]], key: str, name: str = name) -> list[float]:
            return [
                s["processes"][name][key] for s in part if s["processes"].get(name, {}).get(key) is not None
            ]

        for key in FIGURES:
            start, end = values(head, key), values(tail, key)
            if not start or not end:
                continue
            first, last = min(start), min(end)
            figure: dict[str, Any] = {
                "start": round(first, 1),
                "end": round(last, 1),
                "growth": round(last - first, 1),
                "peak": max(values(steady, key)),
            }
            if key == "rss_mib":
                figure["growth_percent"] = round((last - first) / first * 100, 1) if first else None
                points = [(s["t"], s["processes"][name]["rss_mib"]) for s in steady if name in s["processes"]]
                slope = slope_per_hour(points)
                figure["slope_mib_per_hour"] = round(slope, 1) if slope is not None else None
                tolerance = (
                    NATS_RSS_TOLERANCE_MIB
                    if name == "nats"
                    else max(RSS_TOLERANCE_MIB, first * RSS_TOLERANCE_PERCENT / 100)
                )
            elif key == "threads" and name == "nats":
                tolerance = NATS_THREADS_TOLERANCE
            else:
                tolerance = TOLERANCES[key]
            figure["verdict"] = "growing" if last - first > tolerance else "flat"
            if figure["verdict"] == "growing":
                growing = True
                problems.append(
                    f"{name}: {key} {figure['start']} -> {figure['end']} (tolerance {tolerance:g})"
                )
            report[key] = figure
        pids = {s["processes"][name]["pid"] for s in samples if name in s["processes"]}
        report["restarts"] = max(tally.restarts[name], len(pids) - 1)
        report["errors"] = errors.get(name, 0)
        report["warnings"] = tally.levels[name]["warning"]
        if tally.samples[name]:
            report["error_samples"] = tally.samples[name]
        if tally.warning_samples[name]:
            report["warning_samples"] = tally.warning_samples[name]
        if report["restarts"]:
            problems.append(f"{name}: restarted {report['restarts']} times")
        if report["errors"]:
            problems.append(f"{name}: {report['errors']} error log lines")
        services[name] = report
    return {"verdict": "growing" if growing else "flat", "problems": problems, "processes": services}


async def main() -> tuple[dict[str, Any], bool]:
    tally = LogTally()
    played: Counter[str] = Counter()
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ovation-soak-") as workdir:
        async with FakeExchangeRates() as rates:
            extra = {
                "INGEST_SIMULATOR": "true",
                "INGEST_SIMULATOR_RATE": f"{RATE * 60:g}",
                "INGEST_SIMULATOR_SEED": "2026",
                "OVATION_LOG_FORMAT": "json",
                "GATEKEEPER_RATES_URL": rates.url,
            }
            log = Path(LOG) if LOG else None
            up = OvationUp(Path(workdir), extra, on_line=tally, log=log).start()
            player: asyncio.Task[None] | None = None
            client: Any = None
            try:
                ready_at, _ = await up.wait_line(r"Ovation is up in", 300)
                startup = round(ready_at - up.started, 1)
                player = asyncio.create_task(widget(up.gateway, played))
                client = await nats.connect(up.nats_url)
                js = client.jetstream()
                started = time.perf_counter()
                async with httpx.AsyncClient(timeout=5) as http:
                    while True:
                        samples.append(await take_sample(up, http, js, started))
                        remaining = DURATION - (time.perf_counter() - started)
                        if remaining <= 0:
                            break
                        await asyncio.sleep(min(INTERVAL, remaining))
                running_errors = sum(tally.errors().values())
            finally:
                if player is not None:
                    player.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await player
                if client is not None:
                    await client.drain()
                stopping = time.perf_counter()
                code = await asyncio.to_thread(up.stop)
                stop_seconds = round(time.perf_counter() - stopping, 1)
    summary = summarise(samples, tally)
    first, last = samples[0], samples[-1]
    elapsed = last["t"] - first["t"]
    donations = last.get("donations", 0) - first.get("donations", 0)
    at_shutdown = sum(tally.errors().values()) - running_errors
    if at_shutdown:
        summary["problems"].append(f"{at_shutdown} error log lines while stopping")
    if code != 0:
        summary["problems"].append(f"ovation up exited with {code}")
    for name, times in sorted(tally.killed.items()):
        summary["problems"].append(f"{name}: did not stop in time and was killed")
        summary["processes"].setdefault(name, {})["killed_at_stop"] = times
    passed = summary["verdict"] == "flat" and not summary["problems"]
    report = {
        "benchmark": "soak",
        "date": datetime.now(UTC).date().isoformat(),
        "machine": machine(),
        "minutes": MINUTES,
        "rate_per_second": RATE,
        "sample_seconds": INTERVAL,
        "warmup_seconds": WARMUP,
        "startup_seconds": startup,
        "traffic": {
            "donations": donations,
            "donations_per_second": round(donations / elapsed, 2) if elapsed else None,
            "screened": last.get("screened", 0) - first.get("screened", 0),
            "cues_played": dict(played),
            "stage_length_end": last.get("stage_length"),
            "log_lines": tally.lines,
        },
        "verdict": summary["verdict"],
        "passed": passed,
        "problems": summary["problems"],
        "errors_while_stopping": at_shutdown,
        "stop_seconds": stop_seconds,
        "exit_code": code,
        "processes": summary["processes"],
        "samples": [
            {"t": s["t"], **{name: p["rss_mib"] for name, p in s["processes"].items()}} for s in samples
        ],
    }
    return report, passed


if __name__ == "__main__":
    result, ok = asyncio.run(main())
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if ok else 1)
