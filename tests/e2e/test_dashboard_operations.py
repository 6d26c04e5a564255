"""The dashboard's operations view, on real processes and a real nats-server, in Chromium: the live feed with each
donation's verdict and the state of each of its reactions, today's figures (which survive a gateway restart), every
service's recent warnings and errors (redacted), and the HTTP request counter on /metrics. Donor text, verdict
reasons, job reasons and log lines stay text."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest

from ovation_contracts import (
    Approval,
    Decision,
    JobState,
    LogLevel,
    PlaybackAck,
    PlaybackState,
    ReactionKind,
    ServiceLog,
    bus,
    utc_now,
    wrap,
)
from ovation_testing import NatsServer, ServiceProcess, factories

pytestmark = [pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(240)]

ADMIN_TOKEN = "operations-admin-token-0123456789"
WIDGET_TOKEN = "operations-widget-token-0123456789"
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
EVERY_REACTION = (ReactionKind.ALERT, ReactionKind.VIDEO, ReactionKind.PAINTER, ReactionKind.VOICE)


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[tuple[ServiceProcess, Any]]:
    env = {
        "OVATION_NATS_URL": nats_server.url,
        "OVATION_ADMIN_TOKEN": ADMIN_TOKEN,
        "OVATION_WIDGET_TOKEN": WIDGET_TOKEN,
        "OVATION_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
    }
    gateway = ServiceProcess("gateway", tmp_path, env, "OVATION_PORT").start()
    client = await nats.connect(nats_server.url)
    yield gateway, client
    await client.drain()
    gateway.stop()


async def publish(client: Any, envelope: Any, subject: str) -> None:
    await client.jetstream().publish(subject, envelope.to_json(), headers={bus.Header.MSG_ID: envelope.id})


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        else:
            return result
        await asyncio.sleep(0.1)


def admin(gateway: ServiceProcess) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=gateway.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=15
    )


@pytest.mark.browser
async def test_the_feed_shows_each_verdict_and_follows_each_reaction(
    system: tuple[ServiceProcess, Any], chromium: Any
) -> None:
    gateway, client = system
    # Before the page opens: it comes from the backlog.
    await publish(
        client, factories.donation("1", donor_name=HOSTILE, message=HOSTILE), "donations.received.api"
    )
    await publish(
        client,
        factories.screened(
            "api:1",
            reactions=EVERY_REACTION,
            decision=Decision.DOWNGRADE,
            reason=f"personal data: {HOSTILE}",
            donor_name=HOSTILE,
            message=None,
        ),
        bus.DONATION_SCREENED,
    )
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
    first = page.locator('#feed > li[data-id="api:1"]')
    await first.locator(".verdict").filter(has_text="downgraded").wait_for(timeout=10_000)
    assert await first.locator(".donor").text_content() == HOSTILE
    assert await first.locator(".verdict").get_attribute("data-decision") == "downgrade"
    assert HOSTILE in (await first.locator(".verdict").text_content() or ""), "the reason, as text"

    async def chips(item: Any) -> dict[str, str]:
        rows = await item.locator(".reaction").evaluate_all(
            "rows => rows.map(row => [row.dataset.reaction, row.textContent])"
        )
        return dict(rows)

    async def chips_become(item: Any, expected: dict[str, str]) -> None:
        async def check() -> None:
            assert await chips(item) == expected

        await eventually(check)

    await chips_become(
        first,
        {
            "alert": "alert · queued",
            "video": "video · routed",
            "painter": "painter · routed",
            "voice": "voice · routed",
        },
    )

    # Live, as the workers report.
    for envelope in (
        factories.job_status("api:1", ReactionKind.VIDEO, JobState.QUEUED),
        factories.job_status("api:1", ReactionKind.VIDEO, JobState.GENERATING, progress=0.4),
        factories.job_status("api:1", ReactionKind.PAINTER, JobState.PLANNING),
        factories.job_status("api:1", ReactionKind.VOICE, JobState.QUEUED),
    ):
        await publish(client, envelope, bus.job_status(envelope.payload.reaction))
    await chips_become(
        first,
        {
            "alert": "alert · queued",
            "video": "video · generating 40%",
            "painter": "painter · planning",
            "voice": "voice · queued",
        },
    )
    ack = PlaybackAck(cue_id="api:1:alert", donation_id="api:1", state=PlaybackState.ENDED)
    await publish(client, wrap(ack, id="api:1:alert:ended", correlation_id="api:1"), bus.STAGE_PLAYBACK)
    for envelope in (
        factories.job_status("api:1", ReactionKind.VIDEO, JobState.READY),
        factories.job_status("api:1", ReactionKind.PAINTER, JobState.FAILED, reason=HOSTILE),
        factories.job_status("api:1", ReactionKind.VOICE, JobState.FALLBACK, reason="Boson is away"),
    ):
        await publish(client, envelope, bus.job_status(envelope.payload.reaction))
    await chips_become(
        first,
        {
            "alert": "alert · played",
            "video": "video · ready",
            "painter": f"painter · failed ({HOSTILE})",
            "voice": "voice · fallback (Boson is away)",
        },
    )
    assert await first.locator('.reaction[data-reaction="painter"]').get_attribute("data-state") == "failed"

    # Held for approval, then approved by a moderator.
    await publish(client, factories.donation("2", donor_name="Waiting"), "donations.received.api")
    held = (ReactionKind.ALERT, ReactionKind.VOICE)
    await publish(
        client,
        factories.screened("api:2", reactions=held, approval=Approval.PENDING, reason="first donation"),
        bus.DONATION_SCREENED,
    )
    second = page.locator('#feed > li[data-id="api:2"]')
    await second.locator(".verdict").filter(has_text="held for approval").wait_for(timeout=10_000)
    await chips_become(second, {"alert": "alert · held", "voice": "voice · held"})
    await publish(
        client,
        factories.screened("api:2", reactions=held, approval=Approval.APPROVED, suffix="approved"),
        bus.DONATION_SCREENED,
    )
    await second.locator(".verdict").filter(has_text="approved by a moderator").wait_for(timeout=10_000)
    await chips_become(second, {"alert": "alert · queued", "voice": "voice · routed"})

    # Out of order: the worker's status before the verdict, the verdict before the donation itself.
    await publish(
        client, factories.job_status("api:3", ReactionKind.VIDEO, JobState.RENDERING), bus.job_status("video")
    )
    await publish(
        client,
        factories.screened("api:3", reactions=(ReactionKind.VIDEO,), donor_name="Early"),
        bus.DONATION_SCREENED,
    )
    await publish(client, factories.donation("3", donor_name="Early"), "donations.received.api")
    third = page.locator('#feed > li[data-id="api:3"]')
    await chips_become(third, {"video": "video · rendering"})
    assert await page.locator('#feed > li[data-id="api:3"]').count() == 1, "one item per donation"

    # Blocked: no reaction at all.
    await publish(client, factories.donation("4", donor_name="Spammer"), "donations.received.api")
    await publish(
        client,
        factories.screened("api:4", reactions=(), decision=Decision.BLOCK, reason="spam"),
        bus.DONATION_SCREENED,
    )
    fourth = page.locator('#feed > li[data-id="api:4"]')
    await fourth.locator(".verdict").filter(has_text="blocked · spam").wait_for(timeout=10_000)
    assert await fourth.locator(".reaction").text_content() == "no reaction"

    # A log line is text too.
    line = ServiceLog(
        service="voice",
        instance="host-1",
        level=LogLevel.ERROR,
        logger="voice.show",
        message=HOSTILE,
        logged_at=utc_now(),
        donation_id="api:1",
    )
    await client.publish(bus.logs("voice"), wrap(line, id="log:1", correlation_id="api:1").to_json())
    logged = page.locator('#logs > li[data-service="voice"]')
    await logged.wait_for(timeout=10_000)
    assert await logged.locator(".log-message").text_content() == HOSTILE
    assert await logged.locator(".log-donation").text_content() == "api:1"
    assert await logged.get_attribute("data-level") == "error"

    # A page opened now rebuilds the same picture from the backlog.
    late = await chromium.new_page()
    await late.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
    late_first = late.locator('#feed > li[data-id="api:1"]')
    await late_first.locator(".verdict").filter(has_text="downgraded").wait_for(timeout=10_000)
    await chips_become(late_first, await chips(first))
    await chips_become(
        late.locator('#feed > li[data-id="api:2"]'), {"alert": "alert · queued", "voice": "voice · routed"}
    )

    assert await page.evaluate("window.__xss") is None
    assert await late.evaluate("window.__xss") is None
    assert errors == []


@pytest.mark.browser
async def test_todays_figures_survive_a_gateway_restart(
    system: tuple[ServiceProcess, Any], chromium: Any
) -> None:
    gateway, client = system
    await publish(
        client, factories.screened("api:1", reactions=EVERY_REACTION, amount="500"), bus.DONATION_SCREENED
    )
    await publish(
        client,
        factories.screened("api:2", reactions=(ReactionKind.ALERT,), amount="250.50"),
        bus.DONATION_SCREENED,
    )
    await publish(
        client,
        factories.screened("api:3", reactions=(), decision=Decision.BLOCK, amount="100"),
        bus.DONATION_SCREENED,
    )
    await publish(
        client,
        factories.screened("api:4", reactions=(ReactionKind.VOICE,), approval=Approval.PENDING),
        bus.DONATION_SCREENED,
    )
    for envelope in (
        factories.job_status("api:1", ReactionKind.VIDEO, JobState.READY),
        factories.job_status("api:1", ReactionKind.PAINTER, JobState.FAILED, reason="planner crashed"),
        factories.job_status("api:1", ReactionKind.VOICE, JobState.GENERATING),
    ):
        await publish(client, envelope, bus.job_status(envelope.payload.reaction))

    async with admin(gateway) as http:

        async def figures() -> dict[str, Any]:
            today: dict[str, Any] = (await http.get("/api/v1/stats")).json()
            assert today["complete"] is True
            assert today["donations"] == 4
            assert today["reactions"]["voice"]["in_progress"] == 1
            return today

        before = await eventually(figures)
        assert before["totals"] == [{"amount": "1350.50", "currency": "RUB"}]
        assert before["verdicts"] == {"allow": 3, "block": 1}
        assert before["held_for_approval"] == 1
        assert before["failures"] == 1
        assert before["reactions"]["alert"]["routed"] == 2
        assert before["reactions"]["video"] == {
            "routed": 1,
            "in_progress": 0,
            "ready": 1,
            "fallback": 0,
            "failed": 0,
            "skipped": 0,
            "refused": 0,
        }

        gateway.stop()
        # While it is away, one more donation: the restarted gateway counts it from the stream with the rest.
        await publish(
            client,
            factories.screened("api:5", reactions=(ReactionKind.ALERT,), amount="49.5"),
            bus.DONATION_SCREENED,
        )
        gateway.start()

        async def rebuilt() -> dict[str, Any]:
            today: dict[str, Any] = (await http.get("/api/v1/stats")).json()
            assert today["complete"] is True
            assert today["donations"] == 5
            return today

        after = await eventually(rebuilt, timeout=15)
        assert after["totals"] == [{"amount": "1400.00", "currency": "RUB"}]
        assert {k: after[k] for k in ("verdicts", "held_for_approval", "failures", "day")} == {
            "verdicts": {"allow": 4, "block": 1},
            "held_for_approval": 1,
            "failures": 1,
            "day": before["day"],
        }
        assert after["reactions"]["painter"]["failed"] == 1

        page = await chromium.new_page()
        await page.goto(f"{gateway.url}/dashboard#token={ADMIN_TOKEN}")
        await page.locator("#stats-donations").filter(has_text="5").wait_for(timeout=10_000)
        assert await page.locator("#stats-failures").text_content() == "1"
        assert "1,400" in (await page.locator("#stats-total").text_content() or "").replace("\u202f", ",")

        metrics = (await http.get("/metrics")).text
        assert re.search(
            r'ovation_http_requests_total\{method="GET",route="/api/v1/stats",status="200"\} [1-9]', metrics
        ), "the counter of this very endpoint, by its template"
        anonymous = await httpx.AsyncClient(base_url=gateway.url).get("/api/v1/stats")
        assert anonymous.status_code == 401
        metrics = (await http.get("/metrics")).text
        assert re.search(
            r'ovation_http_requests_total\{method="GET",route="/api/v1/stats",status="401"\} 1\.0', metrics
        )


async def test_warnings_reach_the_dashboard_with_the_donation_id_and_without_secrets(
    system: tuple[ServiceProcess, Any],
) -> None:
    gateway, client = system
    # Not a stage cue: the gateway sends it to its DLQ and logs an error about it, naming the donation.
    await client.jetstream().publish(
        bus.STAGE_CUE,
        f"{ADMIN_TOKEN} is not a cue".encode(),
        headers={bus.Header.MSG_ID: "garbage:1", bus.Header.CORRELATION_ID: "api:77"},
    )
    async with admin(gateway) as http:

        async def logged() -> dict[str, Any]:
            lines = (await http.get("/api/v1/logs", params={"service": "gateway"})).json()["lines"]
            matching = [line for line in lines if "dlq.gateway" in line["message"]]
            assert matching, lines
            return matching[0]

        line = await eventually(logged)
        assert line["level"] == "error"
        assert line["donation_id"] == "api:77"
        assert line["service"] == "gateway"
        assert ADMIN_TOKEN not in line["message"]
        assert "[redacted]" in line["message"]
        everything = (await http.get("/api/v1/logs")).text
        assert ADMIN_TOKEN not in everything
        assert (await http.get("/api/v1/logs", params={"level": "critical"})).json()["lines"] == []


async def test_the_gateway_listens_to_events_without_answering_their_publishers(
    system: tuple[ServiceProcess, Any],
) -> None:
    """A JetStream publish is a request: only the stream may answer it. The gateway's live listeners once answered
    too, with an empty message that raced the acknowledgement and failed the publish at random."""
    _, client = system
    subjects = {
        bus.DONATION_SCREENED: factories.screened("api:90", reactions=(ReactionKind.ALERT,)).to_json(),
        bus.job_status(ReactionKind.VIDEO): factories.job_status(
            "api:90", ReactionKind.VIDEO, JobState.QUEUED
        ).to_json(),
        bus.STAGE_PLAYBACK: b"{}",
        bus.LIVE_PAINTER_FRAME: b"frame",
        bus.logs(bus.Service.VOICE): b"{}",
        "chat.twitch.message": b"{}",
    }
    for subject, data in subjects.items():
        inbox = client.new_inbox()
        answers = await client.subscribe(inbox)
        await client.publish(subject, data, reply=inbox)
        await asyncio.sleep(0.5)
        received = []
        while True:
            try:
                received.append((await answers.next_msg(timeout=0.05)).data)
            except nats.errors.TimeoutError:
                break
        await answers.unsubscribe()
        assert all(received), f"someone answered a publish to {subject} with an empty message: {received}"
