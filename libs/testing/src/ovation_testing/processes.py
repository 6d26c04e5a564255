"""Ovation services as real processes in tests: started with ``python -m``, logs to a file, stopped cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from ovation_cli.embedded import free_port, wait_http_ok


@dataclass
class ServiceProcess:
    module: str
    workdir: Path
    env: dict[str, str]
    port_variable: str
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.module}.log"

    def start(self, *, wait_ready: bool = True, timeout: float = 60.0) -> ServiceProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, self.port_variable: str(self.port), "PYTHONUNBUFFERED": "1"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        if wait_ready:
            wait_http_ok(f"{self.url}/health/ready", timeout, alive=self.process)
        return self

    def health(self) -> dict[str, object]:
        report: dict[str, object] = httpx.get(f"{self.url}/health", timeout=2).json()
        return report

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        code = self.process.returncode
        self.process = None
        return code

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
