"""`ovation up` as a streamer runs it: one command, everything healthy, URLs printed, Ctrl+C stops it all."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psutil
import pytest

from ovation_cli.embedded import free_port
from ovation_cli.services import SERVICES
from tests.fakes.exchangerates import USD_RATES

pytestmark = [pytest.mark.nats, pytest.mark.slow]

OVATION = [sys.executable, "-c", "from ovation_cli.main import main; main()"]


@dataclass
class Run:
    process: subprocess.Popen[str]
    env: dict[str, str]
    cwd: Path
    started: float
    """time.monotonic() just before the command ran"""
    lines: list[str] = field(default_factory=list)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(
            f"no line matching {pattern!r} within {timeout} s:\n" + "\n".join(self.lines[-40:])
        )

    def ovation(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*OVATION, *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )


def start(cwd: Path, env: dict[str, str]) -> Run:
    started = time.monotonic()
    process = subprocess.Popen(
        [*OVATION, "up"], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    run = Run(process, env, cwd, started)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            run.lines.append(line.rstrip())

    threading.Thread(target=read, daemon=True).start()
    return run


def stop(run: Run, timeout: float = 40.0) -> int:
    if run.process.poll() is None:
        run.process.send_signal(signal.SIGINT)
    return run.process.wait(timeout=timeout)


@pytest.fixture(scope="module")
def rates_url() -> Iterator[str]:
    """ExchangeRate-API's answer from loopback: no test reaches the internet, and the gatekeeper says 'degraded'
    (rightly) when it cannot fetch rates."""
    body = json.dumps(
        {"result": "success", "base_code": "USD", "time_last_update_unix": 1_763_683_200, "rates": USD_RATES}
    ).encode()

    class Rates(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Rates)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v6/latest/USD"
    server.shutdown()


@pytest.fixture
def env(tmp_path: Path, rates_url: str) -> dict[str, str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("OVATION_", "INGEST_", "GATEWAY_"))
    }
    environment.update(
        OVATION_PORT=str(free_port()),
        OVATION_NATS_PORT=str(free_port()),
        OVATION_NATS_MONITOR_PORT=str(free_port()),
        OVATION_DATA_DIR=str(tmp_path / "data"),
        GATEKEEPER_RATES_URL=rates_url,
    )
    # Every service on a port of its own, rather than OVATION_PORT + offset, which something else may hold.
    for spec in SERVICES:
        if spec.port_variable != "OVATION_PORT":
            environment[spec.port_variable] = str(free_port())
    return environment


@pytest.fixture
def running(tmp_path: Path, env: dict[str, str]) -> Iterator[Run]:
    run = start(tmp_path, env)
    yield run
    stop(run)


def test_one_command_brings_everything_up_restarts_a_crash_and_stops_on_ctrl_c(
    running: Run, env: dict[str, str], tmp_path: Path
) -> None:
    """A streamer's first run, in one launch (each launch of the whole system costs a quarter of a minute here): the
    dashboard shows donations, the tokens are private, a crashed service comes back, Ctrl+C stops everything, and the
    next run keeps the tokens."""
    started = running.started
    base = f"http://127.0.0.1:{env['OVATION_PORT']}"
    token_file = Path(env["OVATION_DATA_DIR"]) / "secrets" / "admin_token"
    # What a streamer sees: the dashboard, as soon as the gateway answers (the generators may still be starting).
    envelope = None
    # The promise is 10 s; bench/bench_system.py measures it on a quiet machine (2.4 s, in the README's table). Here
    # the other test worker shares the two cores, so this test only bounds it at 30 s.
    while envelope is None and time.monotonic() - started < 30:
        try:
            headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
            with httpx.stream(
                "GET", f"{base}/api/v1/events", headers=headers, params={"backlog": 50}, timeout=3
            ) as r:
                if r.status_code == 200:
                    envelope = next(
                        (json.loads(line[5:]) for line in r.iter_lines() if line.startswith("data:")), None
                    )
        except (httpx.HTTPError, FileNotFoundError):
            time.sleep(0.2)
    assert envelope is not None, "a new user must see a donation within 30 s of the command:\n" + "\n".join(
        running.lines[-60:]
    )
    assert envelope["type"] in {"donation.received", "chat.received"}

    # The URLs with their tokens; the token generated once, readable by its owner only.
    token = running.wait_for(r"Admin token: (\S+)", timeout=60).group(1)
    assert token == token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o077 == 0, "only the owner may read the token"
    assert len(token) >= 24
    dashboard = running.wait_for(r"Dashboard:\s+(\S+)", timeout=1).group(1)
    assert dashboard.endswith(f"#token={token}")
    running.wait_for(r"OBS widget:\s+\S+/widget\?token=\S+", timeout=1)
    running.wait_for(r"Ovation is up", timeout=90)

    status = running.ovation("status")
    assert status.returncode == 0, status.stdout + status.stderr
    for name in ("nats", *(spec.name for spec in SERVICES)):
        assert re.search(rf"^{name}\s+ok", status.stdout, re.M), status.stdout

    tail = running.ovation("tail", "donations.>", "--since", "5m", "--count", "1")
    assert tail.returncode == 0, tail.stderr
    assert "donation.received" in tail.stdout

    # Prefixed log lines from every process.
    for name in ("nats", *(spec.name for spec in SERVICES)):
        assert any(line.startswith(f"{name} ") for line in running.lines), name

    # A crashed service is restarted.
    children = psutil.Process(running.process.pid).children()
    assert len(children) == len(SERVICES) + 1, "nats-server and every registered service"
    ingest = next(p for p in children if "ingest" in " ".join(p.cmdline()))
    ingest.kill()
    running.wait_for(r"^ingest\s+\| exited with code -9; restarting", timeout=10)
    deadline = time.monotonic() + 30
    while running.ovation("status").returncode != 0:
        assert time.monotonic() < deadline, "ingest did not come back:\n" + "\n".join(running.lines[-40:])
        time.sleep(0.5)

    # Ctrl+C stops every process and cleans up.
    children = psutil.Process(running.process.pid).children()
    assert (Path(env["OVATION_DATA_DIR"]) / "run.json").is_file()
    assert stop(running) == 0
    running.wait_for(r"^ovation\s+\| stopped", timeout=1)
    assert not any(child.is_running() and child.status() != psutil.STATUS_ZOMBIE for child in children)
    assert not (Path(env["OVATION_DATA_DIR"]) / "run.json").exists()

    # The next run keeps the tokens.
    again = start(tmp_path, env)
    try:
        assert again.wait_for(r"Admin token: (\S+)", timeout=90).group(1) == token
    finally:
        assert stop(again) == 0


def test_a_busy_port_is_reported_with_what_to_do(tmp_path: Path, env: dict[str, str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", int(env["OVATION_PORT"])))
        blocker.listen()
        run = start(tmp_path, env)
        assert run.process.wait(timeout=30) == 1
    message = run.wait_for(r"error: port \d+ for gateway is already in use", timeout=1).group(0)
    assert message
    assert any("OVATION_PORT" in line for line in run.lines)
