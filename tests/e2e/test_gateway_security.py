"""The gateway is secure by default: every control endpoint needs the admin token (401 without, 403 with the
widget token), a foreign Host is refused (DNS rebinding), cross-site writes are refused, the dashboard session is an
HttpOnly SameSite=Strict cookie, and no token ever comes back in a response."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from ovation_testing import NatsServer, ServiceProcess

# One gateway for the module (on one worker): these tests only ask it, and starting it is what takes the time.
pytestmark = [pytest.mark.nats, pytest.mark.xdist_group("gateway-security")]

ADMIN_TOKEN = "security-admin-token-0123456789"
WIDGET_TOKEN = "security-widget-token-0123456789"
PUBLIC = {
    ("POST", "/api/v1/session"),
    ("DELETE", "/api/v1/session"),
    ("GET", "/api/v1/donationalerts/callback"),  # protected by its single-use state instead
    ("GET", "/api/v1/widget/stage"),  # widget token
    ("GET", "/api/v1/widget/painter"),  # widget token
    ("POST", "/api/v1/widget/playback"),
    ("POST", "/api/v1/widget/heartbeat"),
}


@pytest.fixture(scope="module")
def gateway(
    module_nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    env = {
        "OVATION_NATS_URL": module_nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
    }
    process = ServiceProcess("gateway", tmp_path_factory.mktemp("gateway"), env, "OVATION_PORT").start()
    yield process
    process.stop()


def control_endpoints(gateway: ServiceProcess) -> list[tuple[str, str]]:
    spec = httpx.get(f"{gateway.url}/openapi.json", timeout=5).json()
    found = []
    for path, operations in spec["paths"].items():
        for method in operations:
            if path.startswith("/api/v1/") and (method.upper(), path) not in PUBLIC:
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "x", path)))
    return found


def test_every_control_endpoint_needs_the_admin_token(gateway: ServiceProcess) -> None:
    endpoints = control_endpoints(gateway)
    assert len(endpoints) >= 25
    with httpx.Client(base_url=gateway.url, timeout=10) as http:
        for method, path in endpoints:
            anonymous = http.request(method, path, json={})
            assert anonymous.status_code == 401, (method, path, anonymous.status_code)
            widget = http.request(method, path, json={}, headers={"Authorization": f"Bearer {WIDGET_TOKEN}"})
            assert widget.status_code == 403, (method, path, widget.status_code)
            for response in (anonymous, widget):
                assert ADMIN_TOKEN not in response.text
                assert WIDGET_TOKEN not in response.text


WIDGET_FEEDS = ["/api/v1/widget/stage", "/api/v1/widget/painter"]


@pytest.mark.parametrize("feed", WIDGET_FEEDS)
def test_a_widget_feed_takes_the_widget_token_and_nothing_else(gateway: ServiceProcess, feed: str) -> None:
    spec = httpx.get(f"{gateway.url}/openapi.json", timeout=5).json()
    assert "get" in spec["paths"][feed], f"{feed} is part of the documented API"
    with httpx.Client(base_url=gateway.url, timeout=10) as http:
        assert http.get(feed).status_code == 401
        assert http.get(feed, params={"token": "wrong-token-0123456789"}).status_code == 401
        admin = http.get(feed, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert admin.status_code == 401, "the admin token is not a widget token"
        with http.stream("GET", feed, params={"token": WIDGET_TOKEN}) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert next(stream.iter_lines()).startswith("retry: "), "the stream starts at once"


def test_the_painter_widget_page_loads_only_its_own_script(gateway: ServiceProcess) -> None:
    page = httpx.get(f"{gateway.url}/widget/painter", params={"token": WIDGET_TOKEN}, timeout=5)
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text and "<style>" not in page.text, "no inline code: the CSP forbids it"
    for asset in ("/static/live-canvas.js", "/static/painter.css"):
        assert f'"{asset}"' in page.text
        assert httpx.get(f"{gateway.url}{asset}", timeout=5).status_code == 200
    assert WIDGET_TOKEN not in page.text


def test_a_foreign_host_is_refused(gateway: ServiceProcess) -> None:
    rebound = httpx.get(f"{gateway.url}/dashboard", headers={"Host": "evil.example"}, timeout=5)
    assert rebound.status_code == 400
    assert "GATEWAY_ALLOWED_HOSTS" in rebound.json()["detail"]
    assert (
        httpx.get(
            f"{gateway.url}/dashboard", headers={"Host": f"localhost:{gateway.port}"}, timeout=5
        ).status_code
        == 200
    )


def test_cross_site_writes_are_refused_and_same_origin_ones_pass(gateway: ServiceProcess) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=gateway.url, timeout=10, headers=admin) as http:
        assert http.post("/api/v1/stage/pause", headers={"Origin": "https://evil.example"}).status_code == 403
        assert http.post("/api/v1/stage/pause", headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
        same = http.post(
            "/api/v1/stage/pause", headers={"Origin": gateway.url, "Sec-Fetch-Site": "same-origin"}
        )
        assert same.status_code == 200
        cors = http.get("/api/v1/stage", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in cors.headers


def test_the_dashboard_session_is_a_strict_http_only_cookie(gateway: ServiceProcess) -> None:
    with httpx.Client(base_url=gateway.url, timeout=10) as http:
        assert http.post("/api/v1/session", json={"token": "wrong"}).status_code == 401
        assert http.post("/api/v1/session", json={"token": WIDGET_TOKEN}).status_code == 401
        login = http.post("/api/v1/session", json={"token": ADMIN_TOKEN})
        assert login.status_code == 204
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert ADMIN_TOKEN.lower() not in cookie, "the cookie is a signed session, not the token"
        assert http.get("/api/v1/stage").status_code == 200
        http.cookies.set("ovation_session", "forged.0000", domain="127.0.0.1")
        assert http.get("/api/v1/stage").status_code == 401
        http.cookies.clear()
        assert http.post("/api/v1/session", json={"token": ADMIN_TOKEN}).status_code == 204
        assert http.delete("/api/v1/session").status_code == 204
        assert http.get("/api/v1/stage").status_code == 401


def test_health_of_every_service_is_asked_over_nats(gateway: ServiceProcess) -> None:
    report = httpx.get(
        f"{gateway.url}/api/v1/health", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=15
    ).json()
    by_service = {r["service"]: r for r in report["services"]}
    assert by_service["gateway"]["status"] == "ok"
    assert by_service["ingest"]["status"] == "down"
    assert "not answering" in by_service["ingest"]["reasons"][0]
    assert report["status"] == "degraded"
