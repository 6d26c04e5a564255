"""A NATS cluster for tests: nats-server processes with JetStream, routed to each other on free loopback ports.

Each node gets a config file like those in ``deploy/nats-cluster/``, with loopback addresses instead of host names.
"""

from __future__ import annotations

import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ovation_cli.embedded import binary, free_port, wait_http_ok

from .servers import _stop


@dataclass
class ClusterNode:
    name: str
    workdir: Path
    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    monitor_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def route_url(self) -> str:
        return f"nats-route://{self.host}:{self.route_port}"

    @property
    def monitor_url(self) -> str:
        return f"http://{self.host}:{self.monitor_port}"

    def config(self, cluster: str, routes: list[str]) -> str:
        listed = ", ".join(routes)
        return (
            f"server_name: {self.name}\n"
            f"listen: {self.host}:{self.port}\n"
            f"http: {self.host}:{self.monitor_port}\n"
            f'jetstream {{ store_dir: "{self.workdir / "jetstream"}" }}\n'
            f"cluster {{\n  name: {cluster}\n  listen: {self.host}:{self.route_port}\n  routes: [{listed}]\n}}\n"
        )

    def start(self, config: str) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        path = self.workdir / "nats.conf"
        path.write_text(config)
        with (self.workdir / "nats-server.log").open("ab") as log:
            self.process = subprocess.Popen(
                [str(binary("nats-server")), "--config", str(path)], stdout=log, stderr=subprocess.STDOUT
            )

    def kill(self) -> None:
        """``kill -9``: no goodbye to the clients or to the other servers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)
        self.process = None


@dataclass
class NatsCluster:
    """``size`` nats-servers with JetStream in one cluster; ``urls`` is what a client's ``OVATION_NATS_URL`` lists."""

    workdir: Path
    size: int = 3
    name: str = "ovation"
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def node(self, name: str) -> ClusterNode:
        return next(node for node in self.nodes if node.name == name)

    def start(self, timeout: float = 20.0) -> NatsCluster:
        self.nodes = [ClusterNode(f"n{i}", self.workdir / f"n{i}") for i in range(1, self.size + 1)]
        routes = [node.route_url for node in self.nodes]
        for node in self.nodes:
            node.start(node.config(self.name, routes))
        for node in self.nodes:
            wait_http_ok(f"{node.monitor_url}/healthz", timeout, alive=node.process)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            _stop(node.process)
            node.process = None
