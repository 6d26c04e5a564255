"""`ovation dlq` on a real nats-server: dead letters written the way the bus writes them, then listed, shown,
replayed to their original subject and purged."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nats
import pytest
from faststream.nats import NatsBroker

from ovation_bus import (
    BusSettings,
    Consumer,
    Health,
    Reject,
    dead_letter,
    ensure_streams,
    jetstream,
    make_broker,
    publish,
    subscribe,
)
from ovation_cli import main as cli
from ovation_cli.dlq import identify, replay_msg_id
from ovation_cli.embedded import free_port
from ovation_cli.local import RunState
from ovation_contracts import Envelope, VideoJob, bus, decode
from ovation_testing import factories

pytestmark = pytest.mark.nats

T = TypeVar("T")
DONATION = "donationalerts:30530030"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def ovation(
    nats_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Result]:
    """Run `ovation ...` in this process against the test's NATS (no run.json, no .env of the checkout)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OVATION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OVATION_NATS_URL", nats_url)

    def run(*args: str) -> Result:
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main(list(args))
        captured = capsys.readouterr()
        return Result(int(exited.value.code or 0), captured.out, captured.err)

    return run


@asynccontextmanager
async def connected_broker(nats_url: str) -> AsyncIterator[NatsBroker]:
    broker = make_broker(BusSettings(nats_url=nats_url), Health("test"))
    await broker.connect()
    await ensure_streams(jetstream(broker))
    try:
        yield broker
    finally:
        await broker.stop()


def run(coroutine: Awaitable[T]) -> T:
    async def wrapped() -> T:
        return await coroutine

    return asyncio.run(wrapped())


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def stream_messages(nats_url: str, stream: str, subject: str | None = None) -> list[Any]:
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        info = await js.stream_info(stream)
        found = []
        for seq in range(max(info.state.first_seq, 1), info.state.last_seq + 1):
            try:
                message = await js.get_msg(stream, seq)
            except nats.js.errors.NotFoundError:
                continue
            if subject is None or message.subject == subject:
                found.append(message)
        return found
    finally:
        await client.close()


async def rejected_video_job(nats_url: str) -> Envelope[VideoJob]:
    """A video job the video consumer rejects: into dlq.video by the bus's own consumer path."""
    envelope = factories.video_job(DONATION)
    async with connected_broker(nats_url) as broker:

        async def reject(_: Envelope[VideoJob]) -> None:
            raise Reject("the prompt is empty")

        subscribe(
            broker,
            service=bus.Service.VIDEO,
            consumer=Consumer(bus.JOBS_VIDEO, "test-video", fetch_timeout=0.5),
            model=VideoJob,
            handler=reject,
        )
        await broker.start()
        await publish(broker, envelope, bus.JOBS_VIDEO)

        async def dead_lettered() -> bool:
            return bool(await stream_messages(nats_url, bus.DLQ.name, bus.dlq(bus.Service.VIDEO)))

        await until(dead_lettered)
    return envelope


async def letter(nats_url: str, service: str, data: bytes, subject: str, *, reason: str, key: str) -> None:
    """A dead letter through ovation_bus.dead_letter, as a service reports one itself."""
    async with connected_broker(nats_url) as broker:
        await dead_letter(
            broker, service=service, data=data, reason=reason, msg_id=f"dlq:{key}", subject=subject
        )


def dlq_seqs(nats_url: str, service: str | None = None) -> list[int]:
    subject = bus.dlq(service) if service else None
    return [m.seq for m in run(stream_messages(nats_url, bus.DLQ.name, subject))]


# list and show --------------------------------------------------------------------------------------------------


def test_list_prints_one_line_per_dead_letter(nats_url: str, ovation: Callable[..., Result]) -> None:
    job = run(rejected_video_job(nats_url))
    run(
        letter(
            nats_url,
            "ingest",
            b"\x1b[31m{not json",
            "donations.received.donationalerts",
            reason="bad",
            key="a",
        )
    )

    listed = ovation("dlq", "list")

    assert listed.code == 0, listed.err
    header, video, ingest = listed.out.splitlines()
    assert header.split() == [
        "SEQ",
        "STORED",
        "(UTC)",
        "SERVICE",
        "SUBJECT",
        "DELIVERIES",
        "TYPE",
        "ID",
        "REASON",
    ]
    [video_seq, ingest_seq] = dlq_seqs(nats_url)
    assert re.match(
        rf"{video_seq}\s+\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d\s+video\s+jobs\.video\.render\s+1\s", video
    )
    assert f"job.video  {job.id}  rejected by video: the prompt is empty" in video
    assert re.match(
        rf"{ingest_seq}\s.*\singest\s+donations\.received\.donationalerts\s+-\s+-\s+-\s+bad$", ingest
    )

    only_video = ovation("dlq", "list", "--service", "video")
    assert [line.split()[0] for line in only_video.out.splitlines()] == ["SEQ", str(video_seq)]
    last = ovation("dlq", "list", "--limit", "1")
    assert [line.split()[0] for line in last.out.splitlines()] == ["SEQ", str(ingest_seq)]
    assert "the last 1 of 2" in last.err
    assert ovation("dlq", "list", "--since", "1h").out.count("\n") == 3
    empty = ovation("dlq", "list", "--service", "painter")
    assert empty.code == 0
    assert "no dead letters of painter" in empty.out
    assert run(consumer_count(nats_url)) == 0  # the listing's ephemeral consumers are gone


async def consumer_count(nats_url: str) -> int:
    client = await nats.connect(nats_url)
    try:
        return int((await client.jetstream().stream_info(bus.DLQ.name)).state.consumer_count)
    finally:
        await client.close()


def test_show_prints_headers_and_the_body(nats_url: str, ovation: Callable[..., Result]) -> None:
    job = run(rejected_video_job(nats_url))
    run(
        letter(nats_url, "ingest", b"\x1b[2Jpoison\x00", "donations.received.api", reason="not JSON", key="p")
    )
    [video_seq, poison_seq] = dlq_seqs(nats_url)

    shown = ovation("dlq", "show", str(video_seq))

    assert shown.code == 0, shown.err
    assert f"dead letter #{video_seq} in DLQ" in shown.out
    assert "reason      rejected by video: the prompt is empty" in shown.out
    assert f"envelope    job.video {job.id}" in shown.out
    assert f"Ovation-Dlq-Stream: {bus.JOBS.name}" in shown.out
    assert f"Ovation-Dlq-Subject: {bus.JOBS_VIDEO}" in shown.out
    assert f"as {job.id}:replay:{video_seq}" in shown.out
    body = shown.out.split(" bytes, JSON)\n", 1)[1]
    assert json.loads(body) == json.loads(job.to_json())

    poison = ovation("dlq", "show", str(poison_seq))
    assert poison.code == 0, poison.err
    assert "\x1b" not in poison.out
    assert "\\x1b[2Jpoison\\x00" in poison.out
    assert "not JSON" in poison.out
    assert "replay      not possible: its body is not an Ovation envelope" in poison.out

    missing = ovation("dlq", "show", "999")
    assert missing.code == 1
    assert "there is no dead letter #999" in missing.err
    assert "ovation dlq list" in missing.err


def test_show_cuts_a_huge_body_unless_full(nats_url: str, ovation: Callable[..., Result]) -> None:
    body = json.dumps({"text": "x" * 100_000}).encode()
    run(letter(nats_url, "video", body, bus.JOBS_VIDEO, reason="too long", key="big"))
    [seq] = dlq_seqs(nats_url)

    assert "more characters; --full prints them all" in ovation("dlq", "show", str(seq)).out
    assert "x" * 100_000 in ovation("dlq", "show", str(seq), "--full").out


# replay ---------------------------------------------------------------------------------------------------------


def test_replay_puts_the_body_back_on_its_subject_under_a_new_msg_id(
    nats_url: str, ovation: Callable[..., Result]
) -> None:
    job = run(rejected_video_job(nats_url))
    [seq] = dlq_seqs(nats_url)

    replayed = ovation("dlq", "replay", str(seq))

    assert replayed.code == 0, replayed.err
    assert f"#{seq} replayed to {bus.JOBS_VIDEO} as {bus.JOBS.name} #" in replayed.out
    assert "removed from the DLQ" in replayed.out
    assert dlq_seqs(nats_url) == []
    # The work queue holds it again, body unchanged, under the replay's msg id: the original id, stored seconds ago,
    # is still inside the hour JOBS drops duplicates for.
    [again] = run(stream_messages(nats_url, bus.JOBS.name, bus.JOBS_VIDEO))
    assert again.data == job.to_json()
    assert again.headers[bus.Header.MSG_ID] == replay_msg_id(job.id, seq) == f"{job.id}:replay:{seq}"
    assert again.headers[bus.Header.CORRELATION_ID] == DONATION
    assert again.headers[bus.Header.TYPE] == "job.video"

    async def original_id_is_a_duplicate() -> bool:
        async with connected_broker(nats_url) as broker:
            return bool((await publish(broker, job, bus.JOBS_VIDEO)).duplicate)

    assert run(original_id_is_a_duplicate())

    # And the video service's consumer takes the replay like any job.
    async def consumed() -> Envelope[VideoJob]:
        taken: asyncio.Queue[Envelope[VideoJob]] = asyncio.Queue()
        async with connected_broker(nats_url) as broker:

            async def take(envelope: Envelope[VideoJob]) -> None:
                await taken.put(envelope)

            consumer = Consumer(bus.JOBS_VIDEO, "test-video", fetch_timeout=0.5)
            subscribe(broker, service=bus.Service.VIDEO, consumer=consumer, model=VideoJob, handler=take)
            await broker.start()
            return await asyncio.wait_for(taken.get(), 10)

    assert run(consumed()) == decode(job.to_json(), VideoJob)


def test_replay_with_keep_twice_is_stored_once(nats_url: str, ovation: Callable[..., Result]) -> None:
    run(rejected_video_job(nats_url))
    [seq] = dlq_seqs(nats_url)

    first = ovation("dlq", "replay", str(seq), "--keep")
    second = ovation("dlq", "replay", str(seq), "--keep")

    assert first.code == second.code == 0
    assert "kept in the DLQ (--keep)" in first.out
    assert f"#{seq} was replayed before" in second.out
    assert dlq_seqs(nats_url) == [seq]
    assert len(run(stream_messages(nats_url, bus.JOBS.name, bus.JOBS_VIDEO))) == 1

    # Then without --keep: deduplicated again, and now gone from the DLQ.
    third = ovation("dlq", "replay", str(seq))
    assert third.code == 0
    assert dlq_seqs(nats_url) == []
    assert len(run(stream_messages(nats_url, bus.JOBS.name, bus.JOBS_VIDEO))) == 1


def test_replay_of_a_service_takes_its_replayable_dead_letters(
    nats_url: str, ovation: Callable[..., Result]
) -> None:
    donation = factories.donation("77")
    run(letter(nats_url, "gatekeeper", donation.to_json(), "donations.received.api", reason="rates", key="g"))
    run(letter(nats_url, "gatekeeper", b"[]", "donations.received.api", reason="not an object", key="h"))
    cut = b'{"id": "x", "type": "donation.recei'
    run(letter(nats_url, "gatekeeper", cut, "donations.received.api", reason="big", key="t"))
    run(_mark_truncated(nats_url))
    run(letter(nats_url, "video", factories.video_job("x").to_json(), bus.JOBS_VIDEO, reason="v", key="v"))
    good, not_envelope, truncated, video = dlq_seqs(nats_url)

    dry = ovation("dlq", "replay", "--service", "gatekeeper", "--dry-run")
    assert dry.code == 1
    assert (
        f"#{good} would be published to donations.received.api (DONATIONS) as {donation.id}:replay:{good}"
        in dry.out
    )
    assert len(dlq_seqs(nats_url)) == 4

    replayed = ovation("dlq", "replay", "--service", "gatekeeper")

    assert replayed.code == 1
    assert f"#{not_envelope} not replayed: its body is not an Ovation envelope" in replayed.err
    assert f"#{truncated} not replayed: only the first" in replayed.err
    assert "replayed 1 of 3 dead letter(s)" in replayed.err
    # Reported by the service itself (no Ovation-Dlq-Stream): the operator is told it may count as done.
    assert "gatekeeper reported it itself" in replayed.err
    assert dlq_seqs(nats_url) == [not_envelope, truncated, video]
    [stored] = run(stream_messages(nats_url, bus.DONATIONS.name, "donations.received.api"))
    assert stored.data == donation.to_json()

    wrong_service = ovation("dlq", "replay", str(video), "--service", "gatekeeper")
    assert wrong_service.code == 1
    assert "is a dead letter of video, not of gatekeeper" in wrong_service.err
    nothing = ovation("dlq", "replay")
    assert nothing.code == 1
    assert "say which dead letters to replay" in nothing.err
    both = ovation("dlq", "replay", str(video), "--all")
    assert both.code == 1
    assert "not both" in both.err


async def _mark_truncated(nats_url: str) -> None:
    """Rewrite the last dead letter as the bus writes one too big to keep whole (Ovation-Dlq-Truncated)."""
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        seq = (await js.stream_info(bus.DLQ.name)).state.last_seq
        original = await js.get_msg(bus.DLQ.name, seq)
        assert original.subject and original.data and original.headers
        await js.delete_msg(bus.DLQ.name, seq)
        headers = {**original.headers, bus.Header.DLQ_TRUNCATED: "2000000", bus.Header.MSG_ID: "dlq:t2"}
        await js.publish(original.subject, original.data, headers=headers)
    finally:
        await client.close()


def test_plan_refuses_unsafe_ids_for_headers() -> None:
    """A body's id goes into a header only if it is a valid message id (no CR/LF smuggled into the headers)."""
    assert identify(b'{"id": "a\\r\\nNats-Msg-Id: x", "type": "job.video"}').id is None
    assert identify(b'{"id": "ok:1", "type": "job.video\\r\\n"}').type is None
    assert identify(b'{"id": "ok:1\\n", "type": "job.video"}').id is None
    assert identify(b'{"id": "ok:1", "type": "job.video"}').id == "ok:1"


# purge ----------------------------------------------------------------------------------------------------------


def test_purge_asks_for_yes_then_empties_the_dlq(nats_url: str, ovation: Callable[..., Result]) -> None:
    for key, service in (("a", "video"), ("b", "video"), ("c", "voice")):
        run(letter(nats_url, service, b"{}", bus.JOBS_VIDEO, reason="r", key=key))

    unconfirmed = ovation("dlq", "purge")
    assert unconfirmed.code == 1
    assert "this deletes 3 dead letter(s) (video 2, voice 1)" in unconfirmed.err
    assert "--yes" in unconfirmed.err
    assert len(dlq_seqs(nats_url)) == 3

    voice = ovation("dlq", "purge", "--service", "voice", "--yes")
    assert voice.code == 0
    assert "deleted 1 dead letter(s) of voice" in voice.out
    assert len(dlq_seqs(nats_url, "video")) == 2
    assert dlq_seqs(nats_url, "voice") == []

    everything = ovation("dlq", "purge", "--yes")
    assert "deleted 2 dead letter(s)" in everything.out
    assert dlq_seqs(nats_url) == []
    assert "no dead letters" in ovation("dlq", "purge", "--yes").out


# what a user reads when something is wrong ----------------------------------------------------------------------


def test_unreachable_nats_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("OVATION_DATA_DIR", str(tmp_path / "data"))
    url = f"nats://127.0.0.1:{free_port()}"
    monkeypatch.setenv("OVATION_NATS_URL", url)

    with pytest.raises(SystemExit) as exited:
        cli.main(["dlq", "list"])

    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"cannot reach NATS at {url} (from OVATION_NATS_URL)" in err
    assert "`ovation up`" in err
    assert "Traceback" not in err

    # A run.json left by an `ovation up` that was killed: the message names the file.
    run_file = tmp_path / "data" / "run.json"
    run_file.parent.mkdir()
    RunState(nats_url=url, nats_monitor_url="http://127.0.0.1:1", pid=1).write(run_file.parent)
    with pytest.raises(SystemExit):
        cli.main(["dlq", "show", "1"])
    err = capsys.readouterr().err
    assert f"from {run_file}, written by `ovation up`" in err
    assert f"If it was killed, delete {run_file}." in err


def test_nats_without_ovation_streams_says_what_to_do(nats_url: str, ovation: Callable[..., Result]) -> None:
    result = ovation("dlq", "list")
    assert result.code == 1
    assert "has no DLQ stream" in result.err
    assert "ovation up" in result.err


def test_bad_arguments_are_usage_errors(ovation: Callable[..., Result]) -> None:
    assert ovation("dlq", "show", "0").code == 2
    assert ovation("dlq", "replay", "abc").code == 2
    bad = ovation("dlq", "list", "--service", "dlq.>")
    assert bad.code == 2
    assert "is not a service name" in bad.err


def test_help_states_the_windows_the_contracts_set() -> None:
    assert f"They stay {bus.DLQ.max_age_seconds / 86400:g} days" in cli.DLQ_HELP
    windows = " ".join(cli.REPLAY_HELP.split())
    assert f"{bus.DONATIONS.duplicate_window_seconds / 3600:g} h for DONATIONS and JOBS" in windows
    assert bus.JOBS.duplicate_window_seconds == bus.DONATIONS.duplicate_window_seconds
    assert f"{bus.EVENTS.duplicate_window_seconds / 60:g} min for EVENTS" in windows


def test_dlq_is_a_built_in_command_that_loads_no_plugins() -> None:
    script = (
        "import sys\n"
        "from ovation_cli.main import main\n"
        "try:\n"
        "    main(['dlq', 'replay', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in ('gatekeeper', 'painter', 'pygame') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "<envelope id>:replay:<SEQ>" in result.stdout
    assert result.stdout.splitlines()[-1] == "[]"
