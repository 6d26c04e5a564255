"""The DonationAlerts REST client against the fake over loopback: paging to a cursor, limits, typed errors."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from ingest.donationalerts import (
    DonationAlertsApi,
    DonationParser,
    DonationReceived,
    Forbidden,
    Malformed,
    MalformedReason,
    RateLimited,
    RateLimiter,
    Rejected,
    Unauthorized,
    Unreachable,
    UpstreamError,
)
from tests.fakes.donationalerts import FakeDonationAlerts

from .conftest import FIXED_NOW

PARSER = DonationParser(clock=lambda: FIXED_NOW)


@pytest.fixture
async def api(fake: FakeDonationAlerts) -> AsyncIterator[DonationAlertsApi]:
    async with DonationAlertsApi(fake.issue_token(), base_url=fake.base_url) as client:
        yield client


class FakeClock:
    """A monotonic clock whose sleep only moves time forward."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def donated_ids(items: tuple[DonationReceived | Rejected, ...]) -> list[int]:
    return [item.upstream_id for item in items if isinstance(item, DonationReceived)]


async def test_profile_gives_the_user_id_and_socket_token(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    user = await api.user()
    assert user.id == fake.user_id
    assert user.donation_channel == "$alerts:donation_13907608"
    assert user.socket_connection_token
    assert user.socket_connection_token not in repr(user)
    assert fake.authorization_headers[-1].startswith("Bearer ")


async def test_donation_page_is_newest_first(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    stored = [fake.add_donation(message=f"#{n}") for n in range(3)]
    page = await api.donations_page(1)
    assert [item["id"] for item in page.items] == [d["id"] for d in reversed(stored)]  # type: ignore[index]
    assert (page.current_page, page.last_page, page.total) == (1, 1, 3)


async def test_catch_up_walks_pages_back_to_the_cursor(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    stored = [fake.add_donation(message=f"#{n}", amount=f"{n}.50") for n in range(75)]
    cursor = stored[9]["id"]
    catch_up = await api.donations_since(cursor, PARSER)
    assert donated_ids(catch_up.items) == [d["id"] for d in stored[10:]]  # oldest first
    assert catch_up.complete
    assert catch_up.pages == 3  # 30 + 30 + 15: the cursor is on the last page
    assert catch_up.newest_id == stored[-1]["id"]
    first = catch_up.items[0]
    assert isinstance(first, DonationReceived)
    assert first.donation.amount.amount == Decimal("10.5")
    assert fake.requests["donations"] == 3


async def test_catch_up_stops_at_the_page_holding_the_cursor(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    stored = [fake.add_donation() for _ in range(95)]
    catch_up = await api.donations_since(stored[-5]["id"], PARSER)
    assert donated_ids(catch_up.items) == [d["id"] for d in stored[-4:]]
    assert catch_up.pages == 1
    assert fake.requests["donations"] == 1


async def test_catch_up_with_nothing_new_is_empty(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    newest = fake.add_donation()["id"]
    catch_up = await api.donations_since(newest, PARSER)
    assert catch_up.items == ()
    assert catch_up.complete
    assert catch_up.newest_id is None


async def test_catch_up_reports_an_incomplete_walk(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    stored = [fake.add_donation() for _ in range(70)]
    catch_up = await api.donations_since(stored[0]["id"], PARSER, max_pages=2)
    assert not catch_up.complete
    assert len(catch_up.items) == 60


async def test_newest_donation_id_starts_a_cursor(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    assert await api.newest_donation_id() is None
    fake.add_donation()
    newest = fake.add_donation()["id"]
    assert await api.newest_donation_id() == newest


async def test_unreadable_donation_in_a_page_is_rejected_and_the_rest_delivered(
    fake: FakeDonationAlerts, api: DonationAlertsApi
) -> None:
    cursor = fake.add_donation()["id"]
    good = fake.add_donation()["id"]
    bad = fake.add_donation(omit=("currency",))["id"]
    wrong = fake.add_donation(username=["not", "a", "name"])["id"]
    catch_up = await api.donations_since(cursor, PARSER)
    assert donated_ids(catch_up.items) == [good]
    rejected = [item for item in catch_up.items if isinstance(item, Rejected)]
    assert [r.key for r in rejected] == [f"donationalerts:{bad}", f"donationalerts:{wrong}"]
    assert [r.error.reason for r in rejected] == [MalformedReason.MISSING_FIELD, MalformedReason.WRONG_TYPE]
    assert [r.error.field for r in rejected] == ["currency", "username"]
    assert catch_up.newest_id == wrong


async def test_channel_tokens_for_a_client(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    tokens = await api.subscribe_channels("client-uuid", [fake.channel])
    assert set(tokens) == {fake.channel}
    assert fake.subscribe_bodies == [{"channels": [fake.channel], "client": "client-uuid"}]


async def test_refused_token_is_unauthorized_and_says_what_to_do(fake: FakeDonationAlerts) -> None:
    async with DonationAlertsApi("not-a-token", base_url=fake.base_url) as api:
        with pytest.raises(Unauthorized) as caught:
            await api.donations_page()
    assert caught.value.status == 401
    assert "reconnect DonationAlerts from the dashboard" in str(caught.value)
    assert "not-a-token" not in str(caught.value)


async def test_forced_401_is_unauthorized(fake: FakeDonationAlerts, api: DonationAlertsApi) -> None:
    fake.fail_next(401, endpoint="donations")
    with pytest.raises(Unauthorized):
        await api.donations_page()


async def test_missing_scope_is_forbidden(fake: FakeDonationAlerts) -> None:
    async with DonationAlertsApi(fake.issue_token(scopes=["oauth-user-show"]), base_url=fake.base_url) as api:
        with pytest.raises(Forbidden, match="scope"):
            await api.donations_page()


async def test_429_is_rate_limited_with_retry_after_and_pauses_the_limiter(fake: FakeDonationAlerts) -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    async with DonationAlertsApi(fake.issue_token(), base_url=fake.base_url, limiter=limiter) as api:
        fake.fail_next(429, retry_after=7)
        with pytest.raises(RateLimited) as caught:
            await api.donations_page()
        assert caught.value.retry_after == 7
        assert "429" in str(caught.value)
        await api.donations_page()  # waits out the pause on the injected clock, then succeeds
    assert clock.slept == [7]


async def test_fakes_own_limit_answers_429_after_60_requests(fake: FakeDonationAlerts) -> None:
    unlimited = RateLimiter(max_requests=1000)
    async with DonationAlertsApi(fake.issue_token(), base_url=fake.base_url, limiter=unlimited) as api:
        for _ in range(60):
            await api.donations_page()
        with pytest.raises(RateLimited) as caught:
            await api.donations_page()
    assert 0 < caught.value.retry_after <= 60


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_an_upstream_error(
    fake: FakeDonationAlerts, api: DonationAlertsApi, status: int
) -> None:
    fake.fail_next(status)
    with pytest.raises(UpstreamError) as caught:
        await api.user()
    assert caught.value.status == status
    assert await api.user()  # only the next request failed


@pytest.mark.parametrize(
    ("malformation", "reason"),
    [
        ("invalid-json", MalformedReason.INVALID_JSON),
        ("invalid-utf8", MalformedReason.INVALID_UTF8),
        ("huge", MalformedReason.TOO_LARGE),
        ("not-an-object", MalformedReason.WRONG_TYPE),
        ("missing-meta", MalformedReason.MISSING_FIELD),
    ],
)
async def test_malformed_answers_are_typed(
    fake: FakeDonationAlerts, api: DonationAlertsApi, malformation: str, reason: MalformedReason
) -> None:
    fake.malform_next(malformation, endpoint="donations")  # type: ignore[arg-type]
    with pytest.raises(Malformed) as caught:
        await api.donations_page()
    assert caught.value.reason is reason


async def test_unreachable_server_is_typed() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with DonationAlertsApi("token", base_url=f"http://127.0.0.1:{port}") as api:
        with pytest.raises(Unreachable, match="Could not reach DonationAlerts"):
            await api.user()


async def test_timeout_is_typed(fake: FakeDonationAlerts) -> None:
    fake.response_delay = 0.5
    timeout = httpx.Timeout(0.1)
    async with DonationAlertsApi(fake.issue_token(), base_url=fake.base_url, http_timeout=timeout) as api:
        with pytest.raises(Unreachable, match="ReadTimeout"):
            await api.user()


async def test_tokens_never_reach_the_logs(
    fake: FakeDonationAlerts, api: DonationAlertsApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.add_donation()
    user = await api.user()
    await api.donations_since(0, PARSER)
    fake.fail_next(401)
    with pytest.raises(Unauthorized):
        await api.user()
    bearer = fake.authorization_headers[0].removeprefix("Bearer ")
    assert bearer not in caplog.text
    assert user.socket_connection_token not in caplog.text


async def test_rate_limiter_never_allows_more_than_60_in_any_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    sent: list[float] = []

    async def request() -> None:
        await limiter.acquire()
        sent.append(clock())

    await asyncio.gather(*(request() for _ in range(200)))
    assert len(sent) == 200
    assert sent == sorted(sent)
    for first, sixty_first in zip(sent, sent[60:], strict=False):
        assert sixty_first - first >= 60.0
    assert sent[59] == sent[0]  # a burst of 60 is allowed at once
    assert sent[-1] - sent[0] < 4 * 60  # and nothing waits longer than it must


async def test_rate_limiter_pause_holds_every_request() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    limiter.pause(30)
    await limiter.acquire()
    assert clock.now == 1030.0


async def test_fake_pages_exactly_like_the_documented_paginator(fake: FakeDonationAlerts) -> None:
    """The fake's own fidelity: Laravel paginator links/meta as in the official example (EXTERNAL_APIS §1.4)."""
    for _ in range(45):
        fake.add_donation()
    async with httpx.AsyncClient() as raw:
        response = await raw.get(
            f"{fake.base_url}/api/v1/alerts/donations",
            params={"page": 2},
            headers={"Authorization": f"Bearer {fake.issue_token()}"},
        )
    body = response.json()
    path = f"{fake.base_url}/api/v1/alerts/donations"
    assert set(body) == {"data", "links", "meta"}
    assert body["links"] == {
        "first": f"{path}?page=1",
        "last": f"{path}?page=2",
        "prev": f"{path}?page=1",
        "next": None,
    }
    assert body["meta"] == {
        "current_page": 2,
        "from": 31,
        "last_page": 2,
        "path": path,
        "per_page": 30,
        "to": 45,
        "total": 45,
    }
    assert len(body["data"]) == 15
    assert "\\/" in response.text  # PHP escapes slashes, as DonationAlerts does
