"""`ovation up` as a subprocess for the system benchmark and the soak: free ports, a private data directory, its
output read line by line, its processes (nats-server and every service) found with psutil.

Not a benchmark itself (``report.py`` runs ``bench_*.py`` only).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import psutil  # type: ignore[import-untyped]

from ovation_cli.embedded import free_port
from ovation_cli.services import SERVICES

OVATION = [sys.executable, "-c", "from ovation_cli.main import main; main()", "up"]
PREFIXES = (
    "OVATION_",
    "INGEST_",
    "GATEKEEPER_",
    "GATEWAY_",
    "VIDEO_",
    "PAINTER_",
    "VOICE_",
    "DONATIONALERTS_",
)
"""Settings of the caller's shell are not the benchmark's: every service variable comes from here."""
ADMIN_TOKEN = "bench-admin-token-0123456789"
WIDGET_TOKEN = "bench-widget-token-0123456789"
LINE = re.compile(r"^(?P<name>\S+)\s+\| (?P<text>.*)$")
MIB = 1024 * 1024


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "memory_gib": round(psutil.virtual_memory().total / 1024**3, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


class OvationUp:
    """One ``ovation up`` on free ports, in ``workdir`` (its data directory is ``workdir/data``)."""

    def __init__(
        self,
        workdir: Path,
        extra: dict[str, str] | None = None,
        on_line: Callable[[str, str], None] | None = None,
        log: Path | None = None,
    ) -> None:
        """``on_line(process name, text)`` sees every line of output; ``log`` keeps them all in a file."""
        self.workdir = workdir
        self.log = log
        self.data_dir = workdir / "data"
        self.on_line = on_line
        env = {key: value for key, value in os.environ.items() if not key.startswith(PREFIXES)}
        env.update(
            OVATION_PORT=str(free_port()),
            OVATION_NATS_PORT=str(free_port()),
            OVATION_NATS_MONITOR_PORT=str(free_port()),
            OVATION_DATA_DIR=str(self.data_dir),
            OVATION_ADMIN_TOKEN=ADMIN_TOKEN,
            OVATION_WIDGET_TOKEN=WIDGET_TOKEN,
            PAINTER_HEADLESS="true",
        )
        for spec in SERVICES:
            if spec.port_variable != "OVATION_PORT":
                env[spec.port_variable] = str(free_port())
        env.update(extra or {})
        self.env = env
        self.urls = {spec.name: f"http://127.0.0.1:{env[spec.port_variable]}" for spec in SERVICES}
        self.nats_url = f"nats://127.0.0.1:{env['OVATION_NATS_PORT']}"
        self.monitor_url = f"http://127.0.0.1:{env['OVATION_NATS_MONITOR_PORT']}"
        self.lines: deque[tuple[float, str]] = deque(maxlen=20_000)
        """(perf_counter, line) of the launcher's recent output."""
        self._lock = threading.Lock()
        self.process: subprocess.Popen[str] | None = None
        self.started = 0.0

    @property
    def gateway(self) -> str:
        return self.urls["gateway"]

    def start(self) -> OvationUp:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            OVATION,
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._read, daemon=True, name="ovation-up-output").start()
        return self

    def _read(self) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(self.log.open("a", encoding="utf-8")) if self.log else None
            for raw in self.process.stdout:
                self._take(raw.rstrip("\n"), log)

    def _take(self, line: str, log: TextIO | None) -> None:
        if log is not None:
            log.write(line + "\n")
            log.flush()
        with self._lock:
            self.lines.append((time.perf_counter(), line))
        if self.on_line is not None and (match := LINE.match(line)):
            self.on_line(match["name"], match["text"])

    async def wait_line(self, pattern: str, timeout: float) -> tuple[float, re.Match[str]]:
        """The first output line matching ``pattern``: when it was read (perf_counter) and the match."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for moment, line in self.recent():
                if match := compiled.search(line):
                    return moment, match
            if self.process is not None and self.process.poll() is not None:
                break
            await asyncio.sleep(0.02)
        raise RuntimeError(f"no line matching {pattern!r} within {timeout:g} s:\n{self.tail()}")

    def recent(self) -> list[tuple[float, str]]:
        with self._lock:
            return list(self.lines)

    def tail(self, count: int = 40) -> str:
        return "\n".join(line for _, line in self.recent()[-count:])

    def processes(self) -> dict[str, psutil.Process]:
        """nats-server and every service, by name, as they are now (a restarted service has a new pid)."""
        assert self.process is not None
        modules = {spec.module: spec.name for spec in SERVICES}
        found: dict[str, psutil.Process] = {}
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.process.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
                    argv = child.cmdline()
                    if argv and Path(argv[0]).name == "nats-server":
                        found["nats"] = child
                    elif "-m" in argv and argv.index("-m") + 1 < len(argv):
                        name = modules.get(argv[argv.index("-m") + 1])
                        if name:
                            found[name] = child
        return found

    def launcher_rss_mib(self) -> float:
        assert self.process is not None
        return round(int(psutil.Process(self.process.pid).memory_info().rss) / MIB, 1)

    def stop(self, timeout: float = 60.0) -> int:
        """Ctrl+C, as a streamer stops it; the launcher stops every service, then NATS. Its exit code."""
        if self.process is None:
            return 0
        children = []
        with contextlib.suppress(psutil.NoSuchProcess):
            children = psutil.Process(self.process.pid).children(recursive=True)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
            self.process.kill()
            return self.process.wait()


def sample(process: psutil.Process) -> dict[str, float]:
    """RSS (MiB), open file descriptors and threads of one process."""
    with process.oneshot():
        return {
            "rss_mib": round(int(process.memory_info().rss) / MIB, 1),
            "fds": int(process.num_fds()),
            "threads": int(process.num_threads()),
        }


def parse_json_line(text: str) -> dict[str, object] | None:
    if not text.startswith("{"):
        return None
    try:
        entry = json.loads(text)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None
