"""Where the local run keeps its state and how the commands find it: data directory, tokens, ports."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from .services import SERVICES

DEFAULT_DATA_DIR = ".ovation"


def environment(cwd: Path | None = None) -> dict[str, str]:
    """The process environment over the values of ``.env`` in the working directory (the environment wins)."""
    env_file = (cwd or Path.cwd()) / ".env"
    values = {k: v for k, v in dotenv_values(env_file).items() if v is not None} if env_file.is_file() else {}
    return {**values, **os.environ}


def data_dir(env: dict[str, str]) -> Path:
    return Path(env.get("OVATION_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()


def stored_token(directory: Path, name: str, env: dict[str, str], variable: str) -> str:
    """The token from ``variable`` if set, else the one generated on the first run and kept in the data directory."""
    if env.get(variable):
        return env[variable]
    path = directory / "secrets" / name
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


@dataclass
class RunState:
    """What a running ``ovation up`` tells ``ovation status`` and ``ovation tail`` (``<data dir>/run.json``)."""

    nats_url: str
    nats_monitor_url: str
    services: dict[str, str] = field(default_factory=dict)
    """name -> base URL of its HTTP side"""
    pid: int = 0

    def write(self, directory: Path) -> None:
        (directory / "run.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def read(cls, directory: Path) -> RunState | None:
        path = directory / "run.json"
        if not path.is_file():
            return None
        return cls(**json.loads(path.read_text()))


def default_state(env: dict[str, str]) -> RunState:
    """Where things are when no run.json says otherwise: the defaults and the environment."""
    gateway_port = int(env.get("OVATION_PORT", "8080"))
    return RunState(
        nats_url=env.get("OVATION_NATS_URL", f"nats://127.0.0.1:{env.get('OVATION_NATS_PORT', '4222')}"),
        nats_monitor_url=f"http://127.0.0.1:{env.get('OVATION_NATS_MONITOR_PORT', '8222')}",
        services={
            spec.name: f"http://127.0.0.1:{int(env.get(spec.port_variable, gateway_port + spec.port_offset))}"
            for spec in SERVICES
        },
    )


def current_state(env: dict[str, str]) -> RunState:
    return RunState.read(data_dir(env)) or default_state(env)
