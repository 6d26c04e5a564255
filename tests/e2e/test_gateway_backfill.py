"""A dashboard opened after the donations arrived (or after a gateway restart) still sees the recent ones."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from ovation_testing import NatsServer, ServiceProcess

pytestmark = pytest.mark.nats

ADMIN_TOKEN = "backfill-admin-token-0123456789"


def recent_donation_ids(gateway: ServiceProcess, count: int) -> list[str]:
    ids: list[str] = []
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    params = {"backlog": count, "types": "donation.received"}
    with httpx.stream("GET", f"{gateway.url}/api/v1/events", headers=headers, params=params, timeout=10) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                ids.append(json.loads(line[5:])["id"])
                if len(ids) == count:
                    break
    return ids


def test_gateway_started_after_ingest_and_restarted_shows_recent_donations(
    nats_server: NatsServer, tmp_path: Path
) -> None:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "INGEST_SIMULATOR_RATE": "600",
    }
    ingest = ServiceProcess("ingest", tmp_path, env, "INGEST_HTTP_PORT").start()
    try:
        time.sleep(2)  # donations published before any gateway exists
        ingest.stop()
        gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
        first = recent_donation_ids(gateway, 3)
        assert len(first) == 3
        assert all(i.startswith("simulator:") for i in first)
        gateway.stop()

        gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
        assert recent_donation_ids(gateway, 3) == first, "the same recent donations, in the same order"
        gateway.stop()
    finally:
        ingest.stop()
