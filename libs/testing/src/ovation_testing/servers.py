"""Real servers for tests, on free loopback ports: nats-server with JetStream and SeaweedFS S3 (``weed mini``)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ovation_cli.embedded import binary, free_port, nats_server_command, port_is_free, wait_http_ok


def _stop(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


@dataclass
class NatsServer:
    """A nats-server process that can be stopped and started again on the same port with the same store."""

    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "nats-server.log"

    def start(self, timeout: float = 15.0) -> NatsServer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        command = nats_server_command(
            host=self.host,
            port=self.port,
            monitor_port=self.monitor_port,
            store_dir=self.workdir / "jetstream",
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_http_ok(f"{self.monitor_url}/healthz?js-enabled-only=true", timeout, alive=self.process)
        return self

    def stop(self) -> None:
        _stop(self.process)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class S3Server:
    """SeaweedFS ``weed mini`` with S3 credentials on free loopback ports."""

    workdir: Path
    access_key: str = "ovation-test"
    secret_key: str = "ovation-test-secret"  # noqa: S105 - a throwaway credential for a loopback test server
    host: str = "127.0.0.1"
    region: str = "us-east-1"
    s3_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.s3_port}"

    def start(self, timeout: float = 60.0) -> S3Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        # weed also binds every HTTP port + 10000 for gRPC, so each port must be free twice.
        master, volume, filer, s3 = _port_pairs(4)
        self.s3_port = s3
        config = self.workdir / "s3.json"
        config.write_text(
            json.dumps(
                {
                    "identities": [
                        {
                            "name": "ovation",
                            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                        }
                    ]
                }
            )
        )
        command = [
            str(binary("weed")),
            "mini",
            f"-dir={self.workdir / 'data'}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={master}",
            f"-volume.port={volume}",
            f"-filer.port={filer}",
            f"-s3.port={s3}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={config}",
            "-webdav=false",
            "-admin.ui=false",
        ]
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        with (self.workdir / "weed.log").open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        wait_http_ok(f"{self.endpoint_url}/healthz", timeout, alive=self.process)
        return self

    def stop(self) -> None:
        _stop(self.process, timeout=20)
        self.process = None


def _port_pairs(count: int) -> list[int]:
    ports: list[int] = []
    deadline = time.monotonic() + 10
    while len(ports) < count and time.monotonic() < deadline:
        port = random.randint(20000, 45000)
        if port not in ports and port_is_free(port) and port_is_free(port + 10000):
            ports.append(port)
    if len(ports) < count:
        raise RuntimeError("could not find free loopback ports for SeaweedFS")
    return ports
