"""compose.yaml cannot be started here (no Docker engine), so it is checked: against the Compose Specification,
and for what `docker compose up` needs to work: images or builds that exist, healthchecks everywhere, start order on
healthy dependencies, commands that name real modules, and every variable documented in .env.example."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from compose_spec import PyCompose

from ovation_cli.services import SERVICES

ROOT = Path(__file__).resolve().parents[1]
VARIABLE = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?P<op>:?[-?+])?(?P<arg>[^}]*)\}")
INFRASTRUCTURE = {"nats", "s3", "nats-box", "painter-window"}
HOST_VARIABLES = {"DISPLAY", "WAYLAND_DISPLAY"}
"""The desktop's own variables, passed through to the windowed painter; not Ovation settings."""


def documented_variables() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """What compose does with ${VAR}, ${VAR:-default} and ${VAR:?error}, given the example .env."""

    def replace(match: re.Match[str]) -> str:
        value = env.get(match["name"], "")
        if match["op"] in {":-", "-"} and not value:
            return match["arg"]
        if match["op"] in {":?", "?"} and not value:
            return "example-value-0123456789"
        return value

    return VARIABLE.sub(replace, text)


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(interpolate(compose_text, documented_variables()))
    return parsed


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    # PyYAML has resolved the anchors and merge keys (`<<:`) as compose does; the parser gets the merged file.
    spec = PyCompose.from_yaml(yaml.safe_dump(compose))
    spec.validate()
    assert set(spec.service_names()) == set(compose["services"])


@pytest.mark.parametrize(
    "mistake",
    [
        "services:\n  web:\n    image: nginx:1\n    healthcheck:\n      interval: soon\n",
        "services:\n  web:\n    image: nginx:1\n    depends_on:\n      db:\n        condition: when_ready\n",
        "services:\n  web:\n    image: nginx:1\n    restart: sometimes\n",
    ],
)
def test_the_specification_check_catches_mistakes(mistake: str) -> None:
    with pytest.raises(ValueError):
        PyCompose.from_yaml(mistake).validate()


def test_every_ovation_service_is_in_compose_and_nothing_else(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) - INFRASTRUCTURE == {s.name for s in SERVICES}


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable"), f"{name} disables its healthcheck"


def test_services_start_after_nats_is_healthy(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name in {"nats", "s3"}:
            continue
        assert service["depends_on"]["nats"]["condition"] == "service_healthy", name


def test_nats_keeps_jetstream_on_a_named_volume(compose: dict[str, Any]) -> None:
    nats = compose["services"]["nats"]
    assert "--jetstream" in nats["command"]
    store = nats["command"][nats["command"].index("--store_dir") + 1]
    volumes = [v.split(":") for v in nats["volumes"]]
    assert [store] == [target for source, target in volumes if source in compose["volumes"]]


def test_s3_has_credentials(compose: dict[str, Any], compose_text: str) -> None:
    assert "OVATION_S3_ACCESS_KEY:?" in compose_text and "OVATION_S3_SECRET_KEY:?" in compose_text
    assert set(compose["services"]["s3"]["environment"]) == {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_ops_profile_offers_the_nats_cli(compose: dict[str, Any]) -> None:
    box = compose["services"]["nats-box"]
    assert box["profiles"] == ["ops"]
    assert box["environment"]["NATS_URL"] == "nats://nats:4222"


def test_builds_name_files_that_exist_and_a_package_that_exists(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" not in service:
            assert ":" in service["image"] and not service["image"].endswith(":latest"), (
                f"{name}: pin the image"
            )
            continue
        build = service["build"]
        context = ROOT / build["context"]
        dockerfile = context / build["dockerfile"]
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        package = ROOT / "services" / build["args"]["SERVICE"] / "pyproject.toml"
        assert package.is_file(), f"{name}: no package for SERVICE={build['args']['SERVICE']}"
        for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile.read_text(), re.M):
            for path in source.split():
                assert (context / path).exists(), f"{name}: the Dockerfile copies {path}, which is missing"


def test_service_images_run_like_ovation_up(compose: dict[str, Any]) -> None:
    """The image sets what ``ovation up`` gives every service (unbuffered logs, two malloc arenas)."""
    for name, service in compose["services"].items():
        if "build" in service:
            dockerfile = (ROOT / service["build"]["context"] / service["build"]["dockerfile"]).read_text()
            runtime = re.findall(r"^ENV (.+)$", dockerfile, re.M)[-1].split()
            assert {"PYTHONUNBUFFERED=1", "MALLOC_ARENA_MAX=2"} <= set(runtime), name


def test_commands_run_modules_that_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for argv in (service.get("command", []), service.get("healthcheck", {}).get("test", [])[1:]):
            if argv[:2] == ["python", "-m"]:
                assert importlib.util.find_spec(argv[2]) is not None, f"{name}: no module {argv[2]}"


def test_every_variable_compose_reads_is_documented(compose_text: str) -> None:
    documented = documented_variables()
    used = {m["name"] for m in VARIABLE.finditer(compose_text)} - HOST_VARIABLES
    assert used - set(documented) == set(), "document these in .env.example"
    environment = yaml.safe_load(compose_text)["services"]
    passed = {
        key
        for service in environment.values()
        for key in (service.get("environment") or {})
        if key.startswith(
            (
                "OVATION_",
                "INGEST_",
                "GATEWAY_",
                "DONATIONALERTS_",
                "GATEKEEPER_",
                "VIDEO_",
                "PAINTER_",
                "VOICE_",
            )
        )
    }
    assert passed - set(documented) == set(), "document these in .env.example"
