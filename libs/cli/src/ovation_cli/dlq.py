"""``ovation dlq``: list, show, replay and purge the dead letters in the ``DLQ`` stream (``dlq.<service>``).

A dead letter is the original message, body unchanged, with why and where from in ``Ovation-Dlq-*`` headers
(``ovation_bus.consume.dead_letter``). A replay publishes that body again to its original subject, in the stream
that stored it, under a new ``Nats-Msg-Id`` (``<envelope id>:replay:<DLQ sequence>``): the original id would be
dropped as a duplicate by JetStream within the stream's dedupe window, while the unchanged envelope id keeps the
services' own idempotency (screenings kept per donation, jobs per job id) in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import nats
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError, ServiceUnavailableError
from pydantic import ValidationError

from ovation_contracts import UnknownMessageType, bus, decode
from ovation_contracts.envelope import MESSAGE_ID_PATTERN

from .local import RunState, current_state, data_dir, environment

REQUEST_TIMEOUT = 5.0
REASON_WIDTH = 80
ID_WIDTH = 48
SHOW_LIMIT = 16 * 1024
"""Characters of a body ``show`` prints unless ``--full``."""
ALL_DEAD_LETTERS = bus.DLQ.subjects[0]
_TYPE_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,99}")
T = TypeVar("T")


class DlqError(Exception):
    """A failure the user reads: what failed and what to do about it."""


# What a dead letter holds ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """What the body says it is, when it is (or looks like) an Ovation envelope."""

    id: str | None = None
    type: str | None = None
    correlation_id: str | None = None
    problem: str | None = None
    """Why the body does not validate as an envelope of this code's contracts; None when it does."""


def identify(data: bytes) -> Identity:
    """The envelope id, type and correlation id of a body: validated, else read leniently from its JSON.

    Lenient, because the services may run newer contracts than this CLI; only values safe to put in a header
    (an id matching ``MESSAGE_ID_PATTERN``, a plain type name) are taken.
    """
    try:
        envelope = decode(data)
    except (ValidationError, UnknownMessageType, ValueError, RecursionError) as exc:
        problem = _one_line(str(exc), 300)
    else:
        return Identity(envelope.id, envelope.type, envelope.correlation_id)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return Identity(problem="not JSON")
    if not isinstance(document, dict):
        return Identity(problem="JSON, but not an object")

    def message_id(key: str) -> str | None:
        value = document.get(key)
        ok = isinstance(value, str) and len(value) <= 256 and re.fullmatch(MESSAGE_ID_PATTERN, value)
        return value if ok else None

    kind = document.get("type")
    envelope_id = message_id("id")
    if envelope_id is None:
        problem = 'its "id" is missing or not a message id'
    return Identity(
        id=envelope_id,
        type=kind if isinstance(kind, str) and _TYPE_PATTERN.fullmatch(kind) else None,
        correlation_id=message_id("correlation_id"),
        problem=problem,
    )


@dataclass(frozen=True, slots=True)
class DeadLetter:
    seq: int
    stored: datetime
    subject: str
    headers: dict[str, str] = field(default_factory=dict)
    data: bytes | None = None
    """None when only the headers were read."""

    @property
    def service(self) -> str:
        return self.headers.get(bus.Header.DLQ_SERVICE) or self.subject.removeprefix("dlq.")

    @property
    def original_subject(self) -> str | None:
        return self.headers.get(bus.Header.DLQ_SUBJECT) or None

    @property
    def reason(self) -> str:
        return self.headers.get(bus.Header.DLQ_REASON, "")

    @property
    def deliveries(self) -> str:
        return self.headers.get(bus.Header.DLQ_DELIVERIES, "-")

    @property
    def original_size(self) -> int | None:
        """The size of the original body when only its start was kept (``Ovation-Dlq-Truncated``)."""
        value = self.headers.get(bus.Header.DLQ_TRUNCATED)
        return int(value) if value and value.isdigit() else None

    @property
    def body(self) -> bytes:
        return self.data or b""


# Replay plans ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Replay:
    """How a dead letter goes back: its body, unchanged, to ``subject`` in ``stream`` under ``msg_id``."""

    letter: DeadLetter
    subject: str
    stream: str
    msg_id: str
    headers: dict[str, str]
    notes: tuple[str, ...] = ()


class NotReplayable(Exception):
    """Why a dead letter cannot be replayed."""


def replay_msg_id(envelope_id: str, seq: int) -> str:
    """A new ``Nats-Msg-Id`` for the replay of DLQ message ``seq``: the original id would be dropped as a
    duplicate within the stream's dedupe window; this one is stable, so the same replay is stored once."""
    return f"{envelope_id}:replay:{seq}"


def plan_replay(letter: DeadLetter, producer: str) -> Replay:
    """The replay of ``letter``, or ``NotReplayable`` with the reason."""
    size = letter.original_size
    if size is not None:
        raise NotReplayable(
            f"only the first {len(letter.body)} of its {size} bytes were kept when it was dead-lettered, "
            "so the original message is lost"
        )
    subject = letter.original_subject
    if not subject:
        raise NotReplayable(f"it has no {bus.Header.DLQ_SUBJECT} header, so where it came from is unknown")
    identity = identify(letter.body)
    if identity.id is None:
        raise NotReplayable(
            f"its body is not an Ovation envelope ({identity.problem}), "
            f"so the consumers of {subject} would only dead-letter it again"
        )
    stream = letter.headers.get(bus.Header.DLQ_STREAM)
    notes: list[str] = []
    if not stream:
        try:
            stream = bus.stream_for(subject).name
        except LookupError:
            raise NotReplayable(f"no Ovation stream stores its subject {subject!r}") from None
        notes.append(
            f"{letter.service} reported it itself after giving up on it (no {bus.Header.DLQ_STREAM} header): "
            "if it keeps a record of that, it treats the replay as done and does nothing"
        )
    if identity.problem is not None:
        notes.append(
            f"it does not validate against this CLI's contracts ({identity.problem}); "
            f"if {letter.service} reads it the same way, it comes back to the DLQ"
        )
    msg_id = replay_msg_id(identity.id, letter.seq)
    headers: dict[str, str] = {bus.Header.MSG_ID: msg_id, bus.Header.PRODUCER: producer}
    correlation_id = identity.correlation_id or _header_id(letter.headers.get(bus.Header.CORRELATION_ID))
    if correlation_id:
        headers[bus.Header.CORRELATION_ID] = correlation_id
    if identity.type:
        headers[bus.Header.TYPE] = identity.type
    return Replay(letter, subject, stream, msg_id, headers, tuple(notes))


def _header_id(value: str | None) -> str | None:
    return value if value and len(value) <= 256 and re.fullmatch(MESSAGE_ID_PATTERN, value) else None


def producer_name() -> str:
    return f"ovation-dlq:{socket.gethostname()}"


# Talking to NATS ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    origin: str
    """Where the URL came from, for error messages."""
    advice: str
    """What to do when it cannot be reached."""


def target() -> Target:
    """The NATS of the running ``ovation up`` (its run.json), else ``OVATION_NATS_URL``, else the default."""
    env = environment()
    url = current_state(env).nats_url
    advice = "Start Ovation with `ovation up`, or set OVATION_NATS_URL to the NATS server your services use."
    run_file = data_dir(env) / "run.json"
    if RunState.read(data_dir(env)) is not None:
        origin = f"from {run_file}, written by `ovation up`"
        advice = f"Is that `ovation up` still running? If it was killed, delete {run_file}."
    elif env.get("OVATION_NATS_URL"):
        origin = "from OVATION_NATS_URL"
    else:
        origin = "the default: no `ovation up` is running here and OVATION_NATS_URL is not set"
    return Target(url, origin, advice)


@contextlib.asynccontextmanager
async def connect(where: Target) -> AsyncIterator[Any]:
    async def ignore(_: Exception) -> None:
        return None

    try:
        client = await nats.connect(
            where.url,
            name="ovation-dlq",
            connect_timeout=3,
            allow_reconnect=False,
            # Two tries, then NoServersError (0 would mean no limit: nats-py retries the first connect forever).
            max_reconnect_attempts=1,
            reconnect_time_wait=0.5,
            error_cb=ignore,
        )
    except Exception as exc:
        raise DlqError(
            f"cannot reach NATS at {where.url} ({where.origin}): {_one_line(str(exc) or repr(exc), 200)}.\n"
            f"{where.advice}"
        ) from None
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.close()


async def _dlq_info(js: Any, where: Target, subjects_filter: str | None = None) -> Any:
    try:
        return await js.stream_info(bus.DLQ.name, subjects_filter=subjects_filter)
    except NotFoundError:
        raise DlqError(
            f"NATS at {where.url} has no {bus.DLQ.name} stream. The services create it when they start: "
            "run `ovation up` (or start the services) once, or check that OVATION_NATS_URL points at "
            "Ovation's NATS."
        ) from None
    except ServiceUnavailableError:
        raise DlqError(
            f"NATS at {where.url} does not answer JetStream requests: is JetStream enabled on it "
            "(nats-server -js)?"
        ) from None


async def scan(js: Any, *, service: str | None = None, since: float | None = None) -> list[DeadLetter]:
    """The headers of every dead letter (of ``service``, stored in the last ``since`` seconds), oldest first.

    An ephemeral headers-only consumer: the bodies, up to 1 MiB each, stay on the server.
    """
    config = ConsumerConfig(
        ack_policy=AckPolicy.NONE,
        headers_only=True,
        mem_storage=True,
        inactive_threshold=60.0,
    )
    if since is not None:
        config.deliver_policy = DeliverPolicy.BY_START_TIME
        config.opt_start_time = datetime.now(UTC) - timedelta(seconds=since)
    subscription = await js.pull_subscribe(subject_for(service), stream=bus.DLQ.name, config=config)
    letters: list[DeadLetter] = []
    try:
        pending = int((await subscription.consumer_info()).num_pending)
        while pending > 0:
            try:
                batch = await subscription.fetch(min(pending, 256), timeout=REQUEST_TIMEOUT)
            except TimeoutError:
                break  # the rest went meanwhile (replayed or purged by someone else)
            for message in batch:
                metadata = message.metadata
                letters.append(
                    DeadLetter(
                        seq=metadata.sequence.stream,
                        stored=metadata.timestamp,
                        subject=message.subject,
                        headers=dict(message.headers or {}),
                    )
                )
                pending = metadata.num_pending
    finally:
        # Gone anyway a minute after (inactive_threshold), but not left behind to show up in the monitoring.
        with contextlib.suppress(Exception):
            await subscription.unsubscribe()
        with contextlib.suppress(Exception):
            await js.delete_consumer(bus.DLQ.name, config.name)
    return letters


async def read(js: Any, seq: int) -> DeadLetter:
    try:
        message = await js.get_msg(bus.DLQ.name, seq)
    except NotFoundError:
        raise DlqError(
            f"there is no dead letter #{seq} (replayed, purged, or older than {bus.DLQ.max_age_seconds / 86400:g} "
            "days): `ovation dlq list` shows those there are."
        ) from None
    return DeadLetter(
        seq=int(message.seq),
        stored=message.time,
        subject=message.subject,
        headers=dict(message.headers or {}),
        data=message.data or b"",
    )


def subject_for(service: str | None) -> str:
    return bus.dlq(service) if service else ALL_DEAD_LETTERS


async def _run(work: Callable[[Any, Target], Awaitable[T]]) -> T:
    where = target()
    async with connect(where) as client:
        try:
            return await work(client, where)
        except (NatsError, TimeoutError) as exc:
            raise DlqError(
                f"NATS at {where.url} failed a request ({_one_line(str(exc) or type(exc).__name__, 300)}). "
                "Check that it is up (`ovation status`) and try again."
            ) from None


def _main(work: Callable[[Any, Target], Awaitable[int]]) -> int:
    try:
        return asyncio.run(_run(work))
    except DlqError as exc:
        print(f"ovation dlq: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# ovation dlq list -----------------------------------------------------------------------------------------------


def list_letters(*, service: str | None, since: float | None, limit: int) -> int:
    async def work(client: Any, where: Target) -> int:
        js = client.jetstream()
        await _dlq_info(js, where)
        letters = await scan(js, service=service, since=since)
        shown = letters[-limit:] if limit > 0 else letters
        full: list[DeadLetter] = []
        for letter in shown:
            with contextlib.suppress(DlqError):  # replayed or purged since the scan
                full.append(await read(js, letter.seq))
        if not full:
            print(f"no dead letters{_scope(service, since)} in {bus.DLQ.name} on {where.url}")
            return 0
        for line in list_lines(full):
            print(line)
        if len(shown) < len(letters):
            print(f"(the last {len(shown)} of {len(letters)}; --limit 0 lists them all)", file=sys.stderr)
        return 0

    return _main(work)


def list_lines(letters: Iterable[DeadLetter]) -> list[str]:
    """A header line, then one line per dead letter, in aligned columns."""
    rows = [("SEQ", "STORED (UTC)", "SERVICE", "SUBJECT", "DELIVERIES", "TYPE", "ID", "REASON")]
    for letter in letters:
        identity = identify(letter.body)
        rows.append(
            (
                str(letter.seq),
                _time(letter.stored),
                _one_line(letter.service, 32),
                _one_line(letter.original_subject or "-", 64),
                _one_line(letter.deliveries, 10),
                identity.type or "-",
                _one_line(identity.id or "-", ID_WIDTH),
                _one_line(letter.reason, REASON_WIDTH),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(row, widths, strict=False)), row[-1]]).rstrip()
        for row in rows
    ]


# ovation dlq show -----------------------------------------------------------------------------------------------


def show(seq: int, *, full: bool) -> int:
    async def work(client: Any, where: Target) -> int:
        js = client.jetstream()
        await _dlq_info(js, where)
        print(describe(await read(js, seq), full=full))
        return 0

    return _main(work)


def describe(letter: DeadLetter, *, full: bool = False) -> str:
    identity = identify(letter.body)
    lines = [f"dead letter #{letter.seq} in {bus.DLQ.name}, stored {_time(letter.stored)} UTC"]

    def row(name: str, value: str) -> None:
        lines.append(f"  {name:<11} {value}")

    row("service", _one_line(letter.service, 200))
    origin = letter.original_subject or "(unknown)"
    stream = letter.headers.get(bus.Header.DLQ_STREAM)
    if stream:
        origin += f" (stream {stream} #{letter.headers.get(bus.Header.DLQ_SEQUENCE, '?')})"
    row("subject", _one_line(origin, 300))
    row("deliveries", _one_line(letter.deliveries, 20))
    row("reason", _one_line(letter.reason, 2000))
    if identity.id or identity.type:
        row("envelope", _one_line(f"{identity.type or '?'} {identity.id or '?'}", 400))
        if identity.correlation_id:
            row("correlation", identity.correlation_id)
    try:
        replay = plan_replay(letter, producer_name())
    except NotReplayable as exc:
        row("replay", f"not possible: {_one_line(str(exc), 600)}")
    else:
        row(
            "replay", f"`ovation dlq replay {letter.seq}` publishes it to {replay.subject} as {replay.msg_id}"
        )
    lines.append("headers")
    lines.extend(f"  {_one_line(k, 200)}: {_one_line(v, 2000)}" for k, v in sorted(letter.headers.items()))
    lines.extend(body_lines(letter.body, full=full))
    return "\n".join(lines)


def body_lines(data: bytes, *, full: bool) -> list[str]:
    """The body for a terminal: pretty JSON when it parses, else text or a bytes literal, control characters
    escaped, cut at ``SHOW_LIMIT`` characters unless ``full``."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        kind, text = "binary, as a Python bytes literal", repr(data)
    else:
        try:
            text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            kind = "JSON"
        except (ValueError, RecursionError):
            kind = "not JSON"
        text = _printable(text, keep_newlines=True)
    header = f"body ({len(data)} bytes, {kind})" if data else "body (empty)"
    if not full and len(text) > SHOW_LIMIT:
        cut = len(text) - SHOW_LIMIT
        text = f"{text[:SHOW_LIMIT]}\n... ({cut} more characters; --full prints them all)"
    return [header, text] if data else [header]


# ovation dlq replay ---------------------------------------------------------------------------------------------


def replay(seqs: Sequence[int], *, service: str | None, every: bool, keep: bool, dry_run: bool) -> int:
    async def work(client: Any, where: Target) -> int:
        js = client.jetstream()
        await _dlq_info(js, where)
        if seqs and every:
            raise DlqError("give the dead letters' numbers (SEQ ...) or --all, not both")
        if seqs:
            wanted = sorted(set(seqs))
        elif service is not None or every:
            wanted = [letter.seq for letter in await scan(js, service=service)]
            if not wanted:
                print(f"no dead letters{_scope(service, None)} to replay in {bus.DLQ.name} on {where.url}")
                return 0
        else:
            raise DlqError("say which dead letters to replay: their numbers (SEQ ...), --service S, or --all")
        failed = 0
        producer = producer_name()
        for seq in wanted:
            try:
                letter = await read(js, seq)
                if service is not None and letter.service != service:
                    raise DlqError(
                        f"#{seq} is a dead letter of {letter.service}, not of {service}: left alone"
                    )
                plan = plan_replay(letter, producer)
            except (DlqError, NotReplayable) as exc:
                print(f"#{seq} not replayed: {exc}", file=sys.stderr)
                failed += 1
                continue
            if not await _replay_one(js, plan, keep=keep, dry_run=dry_run):
                failed += 1
        done = len(wanted) - failed
        verb = "would replay" if dry_run else "replayed"
        print(f"{verb} {done} of {len(wanted)} dead letter(s) on {where.url}", file=sys.stderr)
        return 1 if failed else 0

    return _main(work)


async def _replay_one(js: Any, plan: Replay, *, keep: bool, dry_run: bool) -> bool:
    seq = plan.letter.seq
    for note in plan.notes:
        print(f"#{seq} note: {note}", file=sys.stderr)
    if dry_run:
        print(f"#{seq} would be published to {plan.subject} ({plan.stream}) as {plan.msg_id}")
        return True
    try:
        ack = await js.publish(
            plan.subject,
            plan.letter.body,
            timeout=REQUEST_TIMEOUT,
            stream=plan.stream,
            headers=dict(plan.headers),
        )
    except (NatsError, TimeoutError) as exc:
        print(
            f"#{seq} not replayed: publishing to {plan.subject} in {plan.stream} failed "
            f"({_one_line(str(exc) or type(exc).__name__, 300)}); it stays in the DLQ.",
            file=sys.stderr,
        )
        return False
    if ack.duplicate:
        done = (
            f"#{seq} was replayed before: {ack.stream} #{ack.seq} already holds {plan.msg_id} "
            "(stored once within the stream's dedupe window)"
        )
    else:
        done = f"#{seq} replayed to {plan.subject} as {ack.stream} #{ack.seq} ({plan.msg_id})"
    if keep:
        print(f"{done}; kept in the DLQ (--keep)")
        return True
    try:
        await js.delete_msg(bus.DLQ.name, seq)
    except NotFoundError:
        print(f"{done}; it had already left the DLQ")
    except (NatsError, TimeoutError) as exc:
        print(
            f"{done}, but removing it from the DLQ failed ({_one_line(str(exc), 200)}): a second replay of #{seq} "
            "is stored once within the dedupe window; `ovation dlq purge` clears the DLQ.",
            file=sys.stderr,
        )
    else:
        print(f"{done}; removed from the DLQ")
    return True


# ovation dlq purge ----------------------------------------------------------------------------------------------


def purge(*, service: str | None, yes: bool) -> int:
    async def work(client: Any, where: Target) -> int:
        js = client.jetstream()
        subject = subject_for(service)
        info = await _dlq_info(js, where, subjects_filter=subject)
        counts: dict[str, int] = dict(info.state.subjects or {})
        total = sum(counts.values())
        if not total:
            print(f"no dead letters{_scope(service, None)} in {bus.DLQ.name} on {where.url}")
            return 0
        if not yes:
            by_service = ", ".join(f"{s.removeprefix('dlq.')} {n}" for s, n in sorted(counts.items()))
            print(
                f"this deletes {total} dead letter(s) ({by_service}) from {bus.DLQ.name} on {where.url}, "
                "for good: run again with --yes to do it (`ovation dlq list` shows them first).",
                file=sys.stderr,
            )
            return 1
        purged = await purge_stream(client, subject)
        print(f"deleted {purged} dead letter(s){_scope(service, None)} from {bus.DLQ.name} on {where.url}")
        return 0

    return _main(work)


async def purge_stream(client: Any, subject: str) -> int:
    """Purge the DLQ messages on ``subject``; returns how many went (nats-py's purge_stream only says whether)."""
    reply = await client.request(
        f"$JS.API.STREAM.PURGE.{bus.DLQ.name}",
        json.dumps({"filter": subject}).encode(),
        timeout=REQUEST_TIMEOUT,
    )
    answer = json.loads(reply.data)
    if "error" in answer:
        raise DlqError(
            f"NATS refused to purge {subject}: {answer['error'].get('description', answer['error'])}"
        )
    return int(answer.get("purged", 0))


# Text -----------------------------------------------------------------------------------------------------------


def _scope(service: str | None, since: float | None) -> str:
    scope = f" of {service}" if service else ""
    return scope + (f" from the last {since:g} s" if since is not None else "")


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _printable(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with every character a terminal could act on (escape sequences, bidi controls) escaped."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() or (keep_newlines and ch == "\n") else repr(ch)[1:-1] for ch in text
    )


def _one_line(text: str, width: int) -> str:
    text = _printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"
