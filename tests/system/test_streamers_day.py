"""Issue 9, part 1: the streamer's day, end to end.

Every service runs as a real process on a real nats-server, with the fake DonationAlerts, AIML, Boson, Ollama and
exchange rates; the OBS widget runs in headless Chromium and reports playback. The day: OAuth connect, an hour of
donations compressed to a couple of minutes (languages, currencies, amounts, superchats, gifts, chat, offensive and
obfuscated text, duplicates), the streamer's dashboard actions (pause, remove, move, skip, resume, approve, reject,
replay, thresholds changed in USD), then a raid of 500 donations in 10 s. At the end, two separate accounts of the
day must agree: what the audience sent (with the reactions the rules call for, computed by the test) and what the bus
stored and the widget reported. Nothing offensive may reach the widget, the painter or a spoken line.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest

from ovation_testing import NatsServer
from tests.system.day import (
    OFFENSIVE,
    OFFENSIVE_NAMES,
    WIDGET,
    Account,
    System,
    Traffic,
    fakes,
    until,
)

pytestmark = [
    pytest.mark.xdist_group("streamers-day"),  # one worker: two whole systems at once overload two cores
    pytest.mark.nats,
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

# Whatever the widget ever showed as text, recorded by the page itself (an init script is not subject to the CSP).
RECORD_SHOWN = """
window.__shown = [];
document.addEventListener("DOMContentLoaded", () => {
  const note = () => {
    for (const el of document.querySelectorAll("#alert, #caption")) {
      if (!el.hidden && el.textContent.trim()) window.__shown.push(el.textContent);
    }
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true,
                                                    attributes: true});
});
"""


@pytest.fixture
async def system(nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[System]:
    async with fakes() as found:
        running = System(nats_server, found, tmp_path)
        try:
            await running.start()
            yield running
        finally:
            await running.stop()


async def prepare(system: System) -> None:
    """The streamer's set-up on the dashboard: the compressed day's (alerts last 1 s too, by the widget's
    ``alert_seconds``), and moderation holding flagged messages for approval."""
    await system.set_up_for_a_compressed_day()
    moderation = await system.api("GET", "/moderation")
    await system.api("PUT", "/moderation", json=moderation | {"approval": "flagged"})


async def screened(system: System, ids: list[str], timeout: float = 60) -> Account:
    """Wait until every id has a screening on the bus."""
    deadline = time.monotonic() + timeout
    while True:
        account = await Account.read(system.nats.url)
        missing = [i for i in ids if i not in account.screened]
        if not missing:
            return account
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(missing)} never screened, e.g. {missing[:5]}")
        await asyncio.sleep(0.5)


async def the_hour(traffic: Traffic, rounds: int) -> None:
    """Donations, superchats, gifts, chat and abuse, interleaved, at a few events a second."""
    rng = traffic.rng
    offensive = list(OFFENSIVE)
    for n in range(rounds):
        traffic.donation()
        if n % 2 == 0 and offensive:
            message, decision = offensive.pop(0)
            traffic.donation(
                message=message,
                decision=decision,
                offensive=message,
                currency="RUB",
                amount=Decimal(rng.randint(150, 1200)),
            )
        if n % 4 == 1:
            await traffic.chat(
                "superchat",
                message=rng.choice(["hi from Berlin!", "love the stream"]),
                amount=Decimal(rng.randint(2, 20)),
                currency="EUR",
                author="Lena",
            )
        if n % 5 == 2:
            await traffic.chat("gift", message="a rose for you", amount=Decimal(3), author="Tom")
        if n % 2 == 0:
            await traffic.chat("chat", message=rng.choice(["lol", "gg", "привет всем"]), author="viewer")
        if n % 7 == 3:
            traffic.duplicate(traffic.sent[-1] if traffic.sent[-1].kind == "donation" else traffic.sent[0])
        await asyncio.sleep(0.15)
    for name in OFFENSIVE_NAMES:
        traffic.donation(
            donor=name,
            message="hello",
            currency="RUB",
            amount=Decimal(90),
            decision="downgrade",
            offensive=name,
        )


async def test_a_streamers_day(system: System, chromium: Any) -> None:
    # Jobs leave their work-queue stream once done: record every one as it is published.
    jobs: list[dict[str, Any]] = []
    client = await nats.connect(system.nats.url)

    async def record(message: Any) -> None:
        jobs.append(json.loads(message.data)["payload"])

    await client.subscribe("jobs.>", cb=record)
    await prepare(system)
    widget = await chromium.new_page()
    await widget.add_init_script(RECORD_SHOWN)
    await widget.goto(f"{system.gateway_url}/widget?token={WIDGET}&alert_seconds=1")
    traffic = Traffic(system)

    # The stage is paused while the first donations arrive; the streamer tidies the queue, then resumes.
    await system.api("POST", "/stage/pause")
    await until(lambda: _current(system), None, timeout=30)
    first = [
        traffic.donation(message=message, currency="RUB", amount=Decimal(50 + n))
        for n, message in enumerate(["first!", "second", "third", "fourth", "fifth"])
    ]
    await until(lambda: _waiting_alerts(system), 5, timeout=30)
    queue = [item["cue"]["cue_id"] for item in (await system.api("GET", "/stage"))["queue"]]
    removed = f"{first[1].id}:alert"
    moved = f"{first[4].id}:alert"
    await system.api("DELETE", f"/stage/queue/{removed}")
    await system.api("POST", f"/stage/queue/{moved}/move", json={"by": -1})
    assert queue.index(moved) > queue.index(f"{first[3].id}:alert")
    await system.api("POST", "/stage/resume")
    skipped = await _skip_when_playing(system)

    # An hour of the audience, then the moderator's decisions on what waited.
    await the_hour(traffic, rounds=24)
    account = await screened(system, [s.id for s in traffic.sent])
    pending = (await system.api("GET", "/approvals"))["pending"]
    waiting = {p["donation_id"]: p for p in pending}
    downgraded = {s.id for s in traffic.sent if s.decision == "downgrade"}
    assert downgraded <= waiting.keys(), "every flagged message waits for a moderator"
    for donation_id in waiting.keys() - downgraded:
        assert waiting[donation_id]["verdict"]["uncertain"], "only flagged or uncertain ones wait"
    rejected = next(s.id for s in traffic.sent if s.decision == "downgrade" and s.offensive == s.message)
    for donation_id in sorted(waiting):
        verb = "reject" if donation_id == rejected else "approve"
        await system.api("POST", f"/approvals/{donation_id}/{verb}")
        traffic.by_id()[donation_id].approval = "rejected" if verb == "reject" else "approved"

    # A replay of a recent alert plays once more (the end checks that nothing was generated twice).
    history = (await system.api("GET", "/stage"))["history"]
    replayed = next(cue["cue_id"] for cue in reversed(history) if cue["kind"] == "alert")
    await system.api("POST", f"/stage/replay/{replayed}")
    await until(lambda: _started(system, f"{replayed}:replay:"), True, timeout=60)

    # The streamer raises the alert minimum to 1 USD and the video minimum to 15 USD before the raid.
    await system.api(
        "PUT", "/routing/alert/threshold", json={"min_amount": {"amount": "1", "currency": "USD"}}
    )
    await system.api(
        "PUT", "/routing/video/threshold", json={"min_amount": {"amount": "15", "currency": "USD"}}
    )
    traffic.rules.alert, traffic.rules.video = Decimal(80), Decimal(1200)
    for amount in (70, 85, 1100, 1300):
        traffic.donation(amount=Decimal(amount), currency="RUB", message="after the change")

    raid = traffic.raid(500)
    started = time.monotonic()
    await system.fakes.donationalerts.flush()
    assert time.monotonic() - started < 10, "the fake must deliver the raid within 10 s"

    ids = [s.id for s in traffic.sent]
    account = await screened(system, ids, timeout=120)
    late = await _wait_for_reactions(system, traffic, removed, timeout=300)
    assert not late, f"{len(late)} reactions did not happen within 300 s: {sorted(late)[:8]}"

    account = await Account.read(system.nats.url)
    _assert_exactly_the_reactions(account, traffic, removed=removed, skipped=skipped)
    _assert_alerts_in_order(account, traffic, exclude={removed, moved, skipped})
    await client.drain()
    await _assert_nothing_offensive(system, account, traffic, widget, jobs)
    videos = sum("video" in s.expected for s in traffic.sent)
    assert system.fakes.aiml.requests["submit"] == videos, "one paid generation per video, none for a replay"
    assert len(raid) == 500


async def _current(system: System) -> str | None:
    current = (await system.api("GET", "/stage"))["current"]
    return current["cue"]["cue_id"] if current else None


async def _waiting_alerts(system: System) -> int:
    return sum(1 for item in (await system.api("GET", "/stage"))["queue"] if item["cue"]["kind"] == "alert")


async def _skip_when_playing(system: System) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stage = await system.api("GET", "/stage")
        if stage["current"] and stage["started"]:
            cue_id: str = stage["current"]["cue"]["cue_id"]
            response = await system.http.post("/api/v1/stage/skip")
            if response.is_success:
                return cue_id
        await asyncio.sleep(0.05)
    raise AssertionError("nothing played after the resume")


async def _started(system: System, prefix: str) -> bool:
    account = await Account.read(system.nats.url)
    return any(cue.startswith(prefix) for cue in account.played())


async def _wait_for_reactions(
    system: System, traffic: Traffic, removed: str, timeout: float
) -> set[tuple[str, str]]:
    """Until every reaction the day calls for has happened (alerts, videos and voice replies played on the widget,
    pictures drawn), or the deadline: what is still missing, as (donation id, reaction)."""
    deadline = time.monotonic() + timeout
    missing: list[str] = []
    while time.monotonic() < deadline:
        account = await Account.read(system.nats.url)
        played = account.played()
        donations_played = {p["donation_id"] for p in account.playback if p["state"] == "started"}
        missing = []
        for sent in traffic.sent:
            for reaction in sent.expected:
                if reaction == "alert":
                    if f"{sent.id}:alert" != removed and not played[f"{sent.id}:alert"]:
                        missing.append(f"{sent.id} alert")
                elif not account.final_jobs(sent.id, reaction):
                    missing.append(f"{sent.id} {reaction} job")
                elif reaction in {"video", "voice"} and sent.id not in donations_played:
                    missing.append(f"{sent.id} {reaction} on the widget")
        if not missing:
            return set()
        await asyncio.sleep(1)
    return {(item.split(" ")[0], item.split(" ")[1]) for item in missing}


def _assert_exactly_the_reactions(account: Account, traffic: Traffic, *, removed: str, skipped: str) -> None:
    for sent in traffic.sent:
        decisions = account.screened[sent.id]
        approvals = [d["approval"] for d in decisions]
        assert len(approvals) == len(set(approvals)), f"{sent.id} screened twice: {approvals}"
        final = decisions[-1]
        assert final["verdict"]["decision"] == sent.decision, (sent, final["verdict"])
        expected = sent.expected if final["approval"] != "pending" else ()
        assert tuple(final["reactions"]) == expected or (
            final["approval"] == "rejected" and not sent.expected
        ), (sent, final["reactions"], final["approval"])
        for reaction in ("video", "painter", "voice"):
            finals = account.final_jobs(sent.id, reaction)
            if reaction in sent.expected:
                assert len(finals) == 1, f"{sent.id} {reaction}: {finals}"
                assert finals[0]["state"] in {"ready", "fallback"}, finals[0]
                if reaction == "painter":
                    assert finals[0]["artifact"], "the finished picture is stored"
            else:
                assert not account.jobs.get((sent.id, reaction)), f"{sent.id} must not get {reaction}"

    played = account.played()
    for cue_id, times in played.items():
        assert times == 1, f"{cue_id} started {times} times"
    assert not played[removed], "a removed cue never plays"
    alerted = {s.id for s in traffic.sent if "alert" in s.expected}
    for cue_id in played:
        if cue_id.endswith(":alert"):
            assert cue_id.removesuffix(":alert") in alerted, f"{cue_id} played without a reason"
    assert played[skipped] == 1


def _assert_alerts_in_order(account: Account, traffic: Traffic, exclude: set[str]) -> None:
    """Alerts of equal priority (plain donations) start in the order their donations became routable."""
    routable = []
    for donation_id, decisions in account.screened.items():
        final = decisions[-1]
        if final["kind"] == "donation" and "alert" in final["reactions"] and final["approval"] != "rejected":
            routable.append((final["_seq"], f"{donation_id}:alert"))
    expected = [cue for _, cue in sorted(routable) if cue not in exclude]
    order = [
        p["cue_id"] for p in account.playback if p["state"] == "started" and p["cue_id"] in set(expected)
    ]
    assert order == expected


async def _assert_nothing_offensive(
    system: System, account: Account, traffic: Traffic, widget: Any, jobs: list[dict[str, Any]]
) -> None:
    secrets = [sent.offensive.casefold() for sent in traffic.sent if sent.offensive]
    assert len(secrets) >= len(OFFENSIVE) + len(OFFENSIVE_NAMES)
    shown: list[str] = await widget.evaluate("window.__shown")
    assert shown, "the widget recorded what it showed"
    assert jobs, "the jobs were recorded"
    spoken = system.fakes.boson.spoken()
    clips = [clip["transcript"] for clip in (await system.api("GET", "/audio"))["clips"]]
    everything = {
        "widget": shown,
        "cues": list(account.spoken_and_shown()),
        "jobs": [f"{j.get('donor_name')} {j.get('message')} {j.get('prompt')}" for j in jobs],
        "spoken": spoken,
        "clips": clips,
    }
    for where, texts in everything.items():
        for text in texts:
            folded = (text or "").casefold()
            for secret in secrets:
                assert secret not in folded, f"offensive text reached the {where}: {text!r}"
    assert any("Anonymous" in text for text in shown), "the offensive name is shown as Anonymous"
    assert spoken, "the show spoke"
