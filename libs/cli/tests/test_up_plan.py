"""What ``ovation up`` starts, planned without starting anything: the environment every service gets."""

from __future__ import annotations

from pathlib import Path

from ovation_cli.embedded import free_port
from ovation_cli.services import SERVICES
from ovation_cli.up import Launcher


def plan(tmp_path: Path, **env: str) -> dict[str, dict[str, str]]:
    ports = {
        "OVATION_PORT": str(free_port()),
        "OVATION_NATS_PORT": str(free_port()),
        "OVATION_NATS_MONITOR_PORT": str(free_port()),
    }
    launcher = Launcher({"OVATION_DATA_DIR": str(tmp_path), **ports, **env}, colour=False)
    children, _ = launcher.plan()
    return {child.name: child.env for child in children}


def test_every_service_gets_two_malloc_arenas_unless_the_operator_says_otherwise(tmp_path: Path) -> None:
    services = {name: env for name, env in plan(tmp_path).items() if name != "nats"}
    assert services.keys() == {spec.name for spec in SERVICES}
    assert {env["MALLOC_ARENA_MAX"] for env in services.values()} == {"2"}

    overridden = plan(tmp_path, MALLOC_ARENA_MAX="4")
    assert {env["MALLOC_ARENA_MAX"] for name, env in overridden.items() if name != "nats"} == {"4"}
