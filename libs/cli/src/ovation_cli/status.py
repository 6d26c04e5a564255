"""``ovation status``: each service's health, from its own ``/health``."""

from __future__ import annotations

from typing import Any

import httpx

from .local import current_state, environment


def gather(timeout: float = 2.0) -> list[dict[str, Any]]:
    state = current_state(environment())
    rows: list[dict[str, Any]] = []
    with httpx.Client(timeout=timeout) as client:
        try:
            nats = client.get(f"{state.nats_monitor_url}/healthz?js-enabled-only=true")
            rows.append({"service": "nats", "status": "ok" if nats.is_success else "down", "reasons": []})
        except httpx.HTTPError as exc:
            rows.append(
                {"service": "nats", "status": "down", "reasons": [f"unreachable at {state.nats_url}: {exc}"]}
            )
        for name, url in state.services.items():
            try:
                report = client.get(f"{url}/health").json()
                rows.append({"service": name, "status": report["status"], "reasons": report["reasons"]})
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                rows.append({"service": name, "status": "down", "reasons": [f"no answer from {url}: {exc}"]})
    return rows


def status() -> int:
    rows = gather()
    width = max(len(row["service"]) for row in rows)
    for row in rows:
        reasons = "; ".join(row["reasons"])
        print(f"{row['service']:<{width}}  {row['status']:<8}  {reasons}".rstrip())
    return 0 if all(row["status"] == "ok" for row in rows) else 1
