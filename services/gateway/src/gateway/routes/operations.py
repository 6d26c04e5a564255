"""Operations: the dashboard's session, the health of every service (asked over NATS), their recent warnings and
errors, and today's figures."""

from __future__ import annotations

import asyncio
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from ovation_bus import ServiceUnavailable, request
from ovation_contracts import HealthQuery, LogLevel, ServiceHealth, bus

from ..auth import SESSION_COOKIE, Admin, session_value
from ..logbook import LogBook, RecentLogs
from ..stats import DailyStats, DayStats

router = APIRouter(prefix="/api/v1", tags=["operations"])

SESSION_DAYS = 30


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=500, description="The admin token")


@router.post(
    "/session",
    summary="Log the dashboard in: sets an HttpOnly, SameSite=Strict session cookie",
    status_code=204,
)
async def login(http_request: Request, body: Login) -> Response:
    if not hmac.compare_digest(body.token.strip().encode(), http_request.app.state.admin_token.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, detail="That is not the admin token (`ovation up` prints it)."
        )
    response = Response(status_code=204)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(http_request.app.state.admin_token),
        max_age=SESSION_DAYS * 86_400,
        httponly=True,
        samesite="strict",
        secure=http_request.url.scheme == "https",
        path="/",
    )
    return response


@router.delete("/session", summary="Log the dashboard out", status_code=204)
async def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(
    "/health", summary="Every service's health, asked over NATS (a service that does not answer is down)"
)
async def health(http_request: Request, _: Admin) -> dict[str, Any]:
    runtime = http_request.app.state.runtime
    others = [service for service in bus.Service if service is not bus.Service.GATEWAY]

    async def ask(service: str) -> dict[str, Any]:
        try:
            report = await request(
                runtime.broker,
                service,
                HealthQuery(),
                timeout=1.5,
                subject=bus.control(service, "health"),
                reply=ServiceHealth,
            )
        except (ServiceUnavailable, ValueError) as exc:
            return {
                "service": service,
                "status": "down",
                "ready": False,
                "reasons": [f"not answering: {exc}"],
            }
        return report.model_dump(mode="json")

    reports = [
        runtime.health.report().model_dump(mode="json"),
        *await asyncio.gather(*(ask(s) for s in others)),
    ]
    worst = "ok" if all(r["status"] == "ok" for r in reports) else "degraded"
    return {"status": worst, "services": reports}


@router.get(
    "/logs",
    summary="Every service's recent warnings and errors, newest first (redacted; kept in memory, last 200)",
)
async def logs(
    http_request: Request,
    _: Admin,
    service: Annotated[bus.Service | None, Query(description="Only this service's lines")] = None,
    level: Annotated[LogLevel | None, Query(description="This level and worse")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many lines")] = 200,
) -> RecentLogs:
    book: LogBook = http_request.app.state.logbook
    return book.recent(service=service, level=level, limit=limit)


@router.get(
    "/stats",
    summary="Today (the gateway's local day): donations, the amount in the base currency, reactions, failures",
)
async def stats(http_request: Request, _: Admin) -> DayStats:
    daily: DailyStats = http_request.app.state.stats
    return daily.snapshot()
