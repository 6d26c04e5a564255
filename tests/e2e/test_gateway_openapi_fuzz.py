"""schemathesis against the gateway's own OpenAPI, with the admin token: no request it can make gets a 5xx.

The gateway runs as a real process on a real nats-server with the gatekeeper, ingest, video, voice and painter answering
its commands, so the generated requests exercise the real handlers (validation, NATS round trips, KV), not a stub.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from ovation_testing import NatsServer, ServiceProcess

pytestmark = [pytest.mark.nats, pytest.mark.slow]

ADMIN_TOKEN = "fuzz-admin-token-0123456789"


@pytest.fixture(scope="module")
def fuzzed_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("fuzz")
    nats_server = NatsServer(workdir=workdir / "nats").start()
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": "fuzz-widget-token-0123456789",
        "INGEST_SIMULATOR": "false",
        "GATEKEEPER_RATES_URL": "http://127.0.0.1:1/",
        "OVATION_ARTIFACTS_DIR": str(workdir / "artifacts"),
    }
    services = [
        ServiceProcess("ingest", workdir, env, "INGEST_HTTP_PORT").start(),
        ServiceProcess("gatekeeper", workdir, env, "GATEKEEPER_HTTP_PORT").start(),
        ServiceProcess(
            "video", workdir, {**env, "VIDEO_WORK_DIR": str(workdir / "video")}, "VIDEO_HTTP_PORT"
        ).start(),
        ServiceProcess("voice", workdir, env, "VOICE_HTTP_PORT").start(),
        ServiceProcess(
            "painter",
            workdir,
            {**env, "PAINTER_HEADLESS": "true", "OVATION_DATA_DIR": str(workdir / "painter")},
            "PAINTER_HTTP_PORT",
        ).start(timeout=60),
        ServiceProcess("gateway", workdir, env, "OVATION_PORT").start(),
    ]
    yield services[-1]
    for service in services:
        service.stop()
    nats_server.stop()


SKIPPED_PATHS = ("/api/v1/events", "/api/v1/widget/stage", "/api/v1/donationalerts/login")
"""Streams never end by themselves, and the OAuth login sends a browser away: both are tested elsewhere."""


def test_no_request_gets_a_server_error(fuzzed_system: ServiceProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzzed_system.url}/openapi.json")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED_PATHS:
            continue
        checked += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def call(case: Any) -> None:
            response = case.call(base_url=fuzzed_system.url, headers=headers, timeout=20)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        call()
    assert checked >= 25
    assert not failures, "\n".join(failures)
