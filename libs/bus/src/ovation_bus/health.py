"""What a service says about itself: alive, ready, and if not ok, why (``/health``, ``/metrics``)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ovation_contracts import Check, HealthStatus, ServiceHealth, utc_now

from . import metrics

log = logging.getLogger(__name__)

CheckFn = Callable[[], Check]


def default_instance() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Health:
    """Tracks the NATS connection, start-up and any checks a service adds (a source's status, say)."""

    def __init__(self, service: str, instance: str = "") -> None:
        self.service = service
        self.instance = instance or default_instance()
        self.started_at: datetime = utc_now()
        self.started = False
        self.stopping = False
        self._nats_ok = False
        self._nats_detail = "not connected to NATS yet"
        self._checks: dict[str, CheckFn] = {}

    # NATS connection ------------------------------------------------------------------------------------------
    def nats_connected(self, url: str = "") -> None:
        if not self._nats_ok:
            log.info("connected to NATS", extra={"nats_url": url} if url else None)
        self._nats_ok = True
        self._nats_detail = f"connected to {url}" if url else "connected"
        metrics.NATS_CONNECTED.set(1)

    def nats_lost(self, reason: str) -> None:
        if self.stopping:
            reason = "stopping"
        elif self._nats_ok:
            metrics.NATS_DISCONNECTS.inc()
            log.warning("lost NATS: %s", reason)
        self._nats_ok = False
        self._nats_detail = reason
        metrics.NATS_CONNECTED.set(0)

    @property
    def nats_ok(self) -> bool:
        return self._nats_ok

    # Service checks -------------------------------------------------------------------------------------------
    def add_check(self, name: str, check: CheckFn) -> None:
        """Register a check; it is called on every health request and must be cheap and never raise."""
        self._checks[name] = check

    def report(self) -> ServiceHealth:
        checks = {"nats": Check(ok=self._nats_ok, detail=self._nats_detail)}
        for name, check in self._checks.items():
            try:
                checks[name] = check()
            except Exception as exc:  # a broken check must not break /health
                log.exception("health check %s failed", name)
                checks[name] = Check(ok=False, detail=f"the check itself failed: {exc}")
        reasons = [f"{name}: {c.detail}" for name, c in checks.items() if not c.ok]
        if not self.started:
            reasons.insert(0, "starting")
        ready = self.started and self._nats_ok
        return ServiceHealth(
            service=self.service,
            instance=self.instance,
            status=HealthStatus.OK if not reasons else HealthStatus.DEGRADED,
            live=True,
            ready=ready,
            reasons=tuple(reasons),
            checks=checks,
            started_at=self.started_at,
        )


def ops_router(health: Health) -> APIRouter:
    """``/health`` (full report, 200 while alive), ``/health/live``, ``/health/ready`` (503 with reasons), ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/health", summary="Health report: status ok or degraded, with the reasons")
    async def full() -> JSONResponse:
        return JSONResponse(health.report().model_dump(mode="json"))

    @router.get("/health/live", summary="Liveness: 200 while the process serves requests")
    async def live() -> JSONResponse:
        return JSONResponse({"live": True, "service": health.service})

    @router.get("/health/ready", summary="Readiness: 200 when started and connected to NATS, 503 otherwise")
    async def ready() -> JSONResponse:
        report = health.report()
        body = {"ready": report.ready, "status": report.status, "reasons": list(report.reasons)}
        return JSONResponse(body, status_code=200 if report.ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
