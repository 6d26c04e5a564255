"""DonationAlerts realtime donations over its Centrifugo websocket (Centrifugo v2 JSON, as centrifuge-js 2.x).

One connection (:meth:`DonationAlertsRealtime.session`) runs the real handshake:

1. ``GET /api/v1/user/oauth`` for the user id and a fresh ``socket_connection_token``;
2. open the websocket, send ``{"id": 1, "params": {"token": <socket token>}}``, read the client id in the
   reply;
3. ``POST /api/v1/centrifuge/subscribe`` with ``{"channels": ["$alerts:donation_<user id>"], "client": <id>}``
   for a channel token;
4. send ``{"id": 2, "method": 1, "params": {"channel": ..., "token": <channel token>}}``;
5. yield :class:`Connected`, then every donation pushed on the channel, pinging (method 7) to notice a dead
   link.

:meth:`DonationAlertsRealtime.events` runs sessions forever with exponential backoff and full jitter, yielding
:class:`Disconnected` between them. Every :class:`Connected` (the first one and each after a reconnect) is the
caller's cue to catch up through REST (:meth:`~ingest.donationalerts.rest.DonationAlertsApi.donations_since`);
pushes that arrive meanwhile wait in a queue, so nothing falls between the catch-up and the websocket. Both
paths can return the same donation: de-duplicate by ``donation.id`` downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from .errors import (
    DonationAlertsError,
    Malformed,
    MalformedReason,
    RateLimited,
    RealtimeError,
    Unauthorized,
    Unreachable,
)
from .parse import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    DonationParser,
    DonationReceived,
    Rejected,
    decode_json,
    excerpt_of,
)
from .rest import DonationAlertsApi, DonationAlertsUser

log = logging.getLogger(__name__)

DEFAULT_WS_URL = "wss://centrifugo.donationalerts.com/connection/websocket"
_CLOSE_TOO_BIG = 1009
_CLOSE_INVALID_DATA = 1007


class Method(IntEnum):
    """Centrifugo v2 command methods (``method`` omitted means CONNECT)."""

    CONNECT = 0
    SUBSCRIBE = 1
    UNSUBSCRIBE = 2
    PUBLISH = 3
    PRESENCE = 4
    PRESENCE_STATS = 5
    HISTORY = 6
    PING = 7
    SEND = 8
    RPC = 9
    REFRESH = 10
    SUB_REFRESH = 11


class PushType(IntEnum):
    """Centrifugo v2 asynchronous push types (``type`` omitted means PUBLICATION)."""

    PUBLICATION = 0
    JOIN = 1
    LEAVE = 2
    UNSUBSCRIBE = 3
    MESSAGE = 4
    SUBSCRIBE = 5


@dataclass(frozen=True)
class Connected:
    """Subscribed and listening. Catch up through REST now: anything older than this moment is not pushed."""

    user: DonationAlertsUser
    client_id: str
    channel: str
    connection: int
    """1 for the first connection of :meth:`DonationAlertsRealtime.events`, 2 after a reconnect, ..."""


@dataclass(frozen=True)
class Disconnected:
    """The connection ended (or could not be made); the next attempt starts in ``retry_in`` seconds."""

    reason: str
    error: DonationAlertsError | None
    retry_in: float


RealtimeEvent = Connected | DonationReceived | Rejected | Disconnected
"""What :meth:`DonationAlertsRealtime.events` yields. A :class:`Rejected` from the websocket may still be
readable through REST: treat it as a cue to catch up, and dead-letter it only if REST rejects it too."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with full jitter: attempt ``n`` waits ``uniform(0, min(cap, base * 2**n))``.

    The attempt count starts again once a connection has stayed up for ``stable_after`` seconds.
    """

    base: float = 1.0
    cap: float = 60.0
    stable_after: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float] = random.random) -> float:
        return rng() * min(self.cap, math.ldexp(self.base, min(attempt, 32)))


class _RecentIds:
    """The last ``size`` donation ids pushed, to drop DonationAlerts' duplicate pushes of one donation."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._ids: OrderedDict[str, None] = OrderedDict()

    def first_time(self, key: str) -> bool:
        if self._size <= 0:
            return True
        if key in self._ids:
            self._ids.move_to_end(key)
            return False
        self._ids[key] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


@dataclass(frozen=True)
class _Closed:
    error: DonationAlertsError


class _Centrifuge:
    """One Centrifugo v2 JSON connection: commands with ids and their replies, pushes into a queue."""

    def __init__(self, ws: ClientConnection, *, reply_timeout: float, max_message_bytes: int) -> None:
        self._ws = ws
        self._reply_timeout = reply_timeout
        self._max_bytes = max_message_bytes
        self._next_id = 1
        self._pending: dict[int, asyncio.Future[Mapping[str, Any]]] = {}
        self.pushes: asyncio.Queue[Mapping[str, Any] | Rejected | _Closed] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed: DonationAlertsError | None = None

    def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._read_loop(), name="donationalerts-ws-reader"))

    def start_pings(self, interval: float) -> None:
        if interval > 0:
            self._tasks.append(asyncio.create_task(self._ping_loop(interval), name="donationalerts-ws-ping"))

    async def call(self, method: Method, params: Mapping[str, Any] | None, what: str) -> Mapping[str, Any]:
        """Send one command and wait for its reply's ``result``; raise :class:`RealtimeError` on an error."""
        if self._closed is not None:
            raise self._closed
        command_id = self._next_id
        self._next_id += 1
        command: dict[str, Any] = {"id": command_id}
        if method is not Method.CONNECT:
            command["method"] = int(method)
        if params is not None:
            command["params"] = dict(params)
        future: asyncio.Future[Mapping[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[command_id] = future
        try:
            await self._ws.send(_dumps(command))
            async with asyncio.timeout(self._reply_timeout):
                reply = await future
        except ConnectionClosed as exc:
            raise self._closed or _closure_error(exc) from exc
        except TimeoutError as exc:
            raise RealtimeError(
                f"DonationAlerts' realtime server did not answer {what} within {self._reply_timeout:g} s: "
                "Ovation reconnects by itself"
            ) from exc
        finally:
            self._pending.pop(command_id, None)
        error = reply.get("error")
        if error is not None:
            code = error.get("code") if isinstance(error, Mapping) else None
            message = error.get("message") if isinstance(error, Mapping) else error
            raise RealtimeError(
                f"DonationAlerts' realtime server refused {what}: {str(message)[:200]} (code {code}); "
                "Ovation reconnects with a fresh token",
                code=code if isinstance(code, int) else None,
            )
        result = reply.get("result", {})
        if not isinstance(result, Mapping):
            raise Malformed(
                MalformedReason.WRONG_TYPE, f"the reply to {what} is not an object", field="result"
            )
        return result

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._ws.close()

    async def _ping_loop(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.call(Method.PING, None, "a ping")
            except DonationAlertsError as exc:
                log.warning("DonationAlerts realtime ping failed, reconnecting: %s", exc)
                self._finish(exc)
                await self._ws.close(code=1000, reason="ping timeout")
                return

    async def _read_loop(self) -> None:
        try:
            while True:
                frame = await self._ws.recv()
                self._on_frame(frame)
        except ConnectionClosed as exc:
            self._finish(_closure_error(exc))
        except Exception as exc:  # a bug here must end the session visibly, not hang it
            log.exception("DonationAlerts realtime reader failed")
            self._finish(RealtimeError(f"the realtime reader failed: {type(exc).__name__}"))

    def _finish(self, error: DonationAlertsError) -> None:
        if self._closed is not None:
            return
        self._closed = error
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self.pushes.put_nowait(_Closed(error))

    def _on_frame(self, frame: str | bytes) -> None:
        if isinstance(frame, bytes):
            try:
                text = frame.decode("utf-8")
            except UnicodeDecodeError as exc:
                error = Malformed(MalformedReason.INVALID_UTF8, f"byte {exc.start} of a frame is not UTF-8")
                self.pushes.put_nowait(Rejected(error=error, via="realtime", excerpt=excerpt_of(frame)))
                return
        else:
            text = frame
        for line in text.split("\n"):  # several messages may share one frame
            if line.strip():
                self._on_message(line)

    def _on_message(self, line: str) -> None:
        try:
            message = decode_json(line, max_bytes=self._max_bytes)
        except Malformed as exc:
            self.pushes.put_nowait(Rejected(error=exc, via="realtime", excerpt=excerpt_of(line)))
            return
        if not isinstance(message, Mapping):
            error = Malformed(MalformedReason.WRONG_TYPE, "a realtime message is not a JSON object")
            self.pushes.put_nowait(Rejected(error=error, via="realtime", excerpt=excerpt_of(line)))
            return
        reply_id = message.get("id")
        if isinstance(reply_id, int) and not isinstance(reply_id, bool) and reply_id > 0:
            future = self._pending.get(reply_id)
            if future is not None and not future.done():
                future.set_result(message)
            return
        self.pushes.put_nowait(message)


def _dumps(command: Mapping[str, Any]) -> str:
    return json.dumps(command, separators=(",", ":"))


def _closure_error(exc: ConnectionClosed) -> DonationAlertsError:
    sent = exc.sent.code if exc.sent is not None else None
    if sent == _CLOSE_TOO_BIG:
        return Malformed(MalformedReason.TOO_LARGE, "a realtime message was larger than Ovation accepts")
    if sent == _CLOSE_INVALID_DATA:
        return Malformed(MalformedReason.INVALID_UTF8, "a realtime text frame was not valid UTF-8")
    if exc.rcvd is not None:
        reason = exc.rcvd.reason[:200]
        return RealtimeError(
            f"DonationAlerts closed the realtime connection (code {exc.rcvd.code}"
            f"{', ' + reason if reason else ''}): Ovation reconnects by itself",
            code=exc.rcvd.code,
        )
    return RealtimeError("The realtime connection to DonationAlerts dropped: Ovation reconnects by itself")


class DonationAlertsRealtime:
    """Realtime donations for one streamer account, through its :class:`DonationAlertsApi`.

    Use :meth:`events` (reconnects forever) inside ``contextlib.aclosing`` so the socket closes when you stop.
    """

    def __init__(
        self,
        api: DonationAlertsApi,
        parser: DonationParser | None = None,
        *,
        ws_url: str = DEFAULT_WS_URL,
        backoff: Backoff | None = None,
        ping_interval: float = 15.0,
        reply_timeout: float = 10.0,
        open_timeout: float = 10.0,
        max_message_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        remember_ids: int = 1024,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._parser = parser if parser is not None else DonationParser()
        self._ws_url = ws_url
        self._backoff = backoff if backoff is not None else Backoff()
        self._ping_interval = ping_interval
        self._reply_timeout = reply_timeout
        self._open_timeout = open_timeout
        self._max_bytes = max_message_bytes
        self._recent = _RecentIds(remember_ids)
        self._rng = rng
        self._sleep = sleep
        self._clock = clock
        self._connections = 0

    async def events(self) -> AsyncGenerator[RealtimeEvent, None]:
        """Connect, yield, reconnect after any failure, forever.

        Raises :class:`~ingest.donationalerts.errors.Unauthorized` (the streamer must reconnect
        DonationAlerts: retrying cannot help); every other failure becomes a :class:`Disconnected` and a new
        attempt.
        """
        failures = 0
        while True:
            up_since: float | None = None
            error: DonationAlertsError | None = None
            try:
                async with contextlib.aclosing(self.session()) as session:
                    async for event in session:
                        if isinstance(event, Connected):
                            up_since = self._clock()
                        yield event
            except Unauthorized:
                raise
            except DonationAlertsError as exc:
                error = exc
            if up_since is not None and self._clock() - up_since >= self._backoff.stable_after:
                failures = 0
            delay = self._backoff.delay(failures, self._rng)
            failures += 1
            if isinstance(error, RateLimited):
                delay = max(delay, error.retry_after)
            reason = str(error) if error is not None else "the realtime connection ended"
            log.warning("DonationAlerts realtime disconnected, retrying in %.1f s: %s", delay, reason)
            yield Disconnected(reason=reason, error=error, retry_in=delay)
            await self._sleep(delay)

    async def session(self) -> AsyncGenerator[RealtimeEvent, None]:
        """One connection: :class:`Connected`, then donations until it fails with a DonationAlertsError."""
        user = await self._api.user()
        parser = self._parser.with_user_currency(user.currency)
        channel = user.donation_channel
        try:
            ws = await connect(
                self._ws_url,
                open_timeout=self._open_timeout,
                ping_interval=None,  # Centrifugo-level pings below, as centrifuge-js does
                close_timeout=2,
                max_size=self._max_bytes,
                compression=None,
            )
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
            raise Unreachable("the realtime websocket", type(exc).__name__) from exc
        connection = _Centrifuge(ws, reply_timeout=self._reply_timeout, max_message_bytes=self._max_bytes)
        try:
            connection.start()
            reply = await connection.call(
                Method.CONNECT, {"token": user.socket_connection_token}, "the connect command"
            )
            client_id = reply.get("client")
            if not isinstance(client_id, str) or not client_id:
                raise Malformed(
                    MalformedReason.MISSING_FIELD, "the connect reply has no client id", field="client"
                )
            tokens = await self._api.subscribe_channels(client_id, [channel])
            await connection.call(
                Method.SUBSCRIBE,
                {"channel": channel, "token": tokens[channel]},
                f"the subscription to {channel}",
            )
            connection.start_pings(self._ping_interval)
            self._connections += 1
            log.info("DonationAlerts realtime subscribed to %s", channel)
            yield Connected(user=user, client_id=client_id, channel=channel, connection=self._connections)
            while True:
                item = await connection.pushes.get()
                if isinstance(item, _Closed):
                    raise item.error
                if isinstance(item, Rejected):
                    yield item
                    continue
                event = self._on_push(item, channel, parser)
                if event is not None:
                    yield event
        finally:
            await connection.close()

    def _on_push(
        self, message: Mapping[str, Any], channel: str, parser: DonationParser
    ) -> DonationReceived | Rejected | None:
        result = message.get("result")
        if not isinstance(result, Mapping):
            return None  # an id-less error or an empty message: nothing to deliver
        push_type = result.get("type", PushType.PUBLICATION)
        if result.get("channel") != channel:
            return None
        if push_type == PushType.UNSUBSCRIBE:
            raise RealtimeError(
                f"DonationAlerts unsubscribed Ovation from {channel}: Ovation reconnects by itself"
            )
        if push_type != PushType.PUBLICATION:
            return None  # join/leave/info pushes carry no donation
        publication = result.get("data")
        if not isinstance(publication, Mapping) or "data" not in publication:
            error = Malformed(MalformedReason.MISSING_FIELD, "a publication has no data", field="data")
            return Rejected(error=error, via="realtime", excerpt=excerpt_of(message))
        event = parser.parse(publication["data"], "realtime")
        key = event.donation.id if isinstance(event, DonationReceived) else event.key
        if not self._recent.first_time(key):
            log.debug("DonationAlerts pushed %s again; dropped", key)
            return None
        return event
