"""Every service's /metrics counts HTTP requests by method, route template and status."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI, HTTPException

from ovation_bus import Health, ops_router
from ovation_bus.metrics import HTTP_REQUESTS, UNMATCHED_ROUTE, HttpMetrics


def count(method: str, route: str, status: str) -> float:
    return HTTP_REQUESTS.labels(method, route, status)._value.get()


def app() -> FastAPI:
    application = FastAPI()

    @application.get("/api/v1/stage/queue/{cue_id}")
    async def item(cue_id: str) -> dict[str, str]:
        if cue_id == "missing":
            raise HTTPException(404, "no such cue")
        return {"cue_id": cue_id}

    @application.get("/boom")
    async def boom() -> None:
        raise RuntimeError("broken")

    application.include_router(ops_router(Health("test")))
    application.add_middleware(HttpMetrics)
    return application


def client(application: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1")


async def test_requests_are_counted_by_route_template_not_raw_path() -> None:
    before = count("GET", "/api/v1/stage/queue/{cue_id}", "200")
    missing = count("GET", "/api/v1/stage/queue/{cue_id}", "404")
    async with client(app()) as http:
        for cue in ("a:1:alert", "b:2:alert", "c:3:alert"):
            assert (await http.get(f"/api/v1/stage/queue/{cue}")).status_code == 200
        assert (await http.get("/api/v1/stage/queue/missing")).status_code == 404
    assert count("GET", "/api/v1/stage/queue/{cue_id}", "200") == before + 3
    assert count("GET", "/api/v1/stage/queue/{cue_id}", "404") == missing + 1


async def test_unknown_paths_share_one_label_and_errors_count_as_500() -> None:
    unmatched = count("GET", UNMATCHED_ROUTE, "404")
    failed = count("GET", "/boom", "500")
    async with client(app()) as http:
        assert (await http.get("/no/such/page/123")).status_code == 404
        assert (await http.get("/no/such/page/456")).status_code == 404
        assert (await http.get("/boom")).status_code == 500
    assert count("GET", UNMATCHED_ROUTE, "404") == unmatched + 2
    assert count("GET", "/boom", "500") == failed + 1


async def test_the_counter_is_on_the_metrics_page() -> None:
    async with client(app()) as http:
        await http.get("/api/v1/stage/queue/x")
        page = (await http.get("/metrics")).text
    assert re.search(
        r'ovation_http_requests_total\{method="GET",route="/api/v1/stage/queue/\{cue_id\}",status="200"\} \d',
        page,
    )
    assert "/api/v1/stage/queue/x" not in page
