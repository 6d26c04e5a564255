"""A fake DonationAlerts that speaks the real protocol on a loopback port (see EXTERNAL_APIS.md section 1).

It serves, on one host: OAuth (``/oauth/authorize``, ``/oauth/token``), the REST API v1
(``/api/v1/user/oauth``, ``/api/v1/alerts/donations``, ``/api/v1/centrifuge/subscribe``) and the Centrifugo v2
JSON websocket (``/connection/websocket``), with DonationAlerts' own push format, PHP-style JSON escaping
(``\\/``, ``\\uXXXX``) and its 60 requests per minute limit.

Tests drive it in-process::

    async with FakeDonationAlerts() as fake:
        token = fake.issue_token()                       # or the full OAuth round trip
        fake.add_donation(username="Ivan", amount="500", message="Hello!")   # stored and pushed
        fake.fail_next(429, retry_after=7)                # the next API request answers 429
        await fake.drop_connections()                     # every websocket closes (code 3001)

Run standalone with ``python -m tests.fakes.donationalerts --port 8765``; it prints a ready access token, and
``POST /_fake/donations`` (JSON ``{"username", "message", "amount", "currency"}``) adds a donation.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .server import FakeServer

log = logging.getLogger(__name__)

SCOPES = ("oauth-user-show", "oauth-donation-subscribe", "oauth-donation-index")
ENDPOINTS = ("authorize", "token", "user", "donations", "subscribe", "websocket")
"""The names :attr:`FakeDonationAlerts.requests` counts by, and ``endpoint=`` of the fault methods accepts."""
API_ENDPOINTS = ("user", "donations", "subscribe")

# Centrifugo v2 disconnect codes and client error codes
CLOSE_SHUTDOWN = 3001
CLOSE_BAD_REQUEST = 3003
CLOSE_INVALID_TOKEN = 3500
ERROR_PERMISSION_DENIED = 103
ERROR_METHOD_NOT_FOUND = 104

Malformation = Literal["invalid-json", "invalid-utf8", "huge", "not-an-object", "missing-meta"]


def php_json(value: object) -> str:
    """JSON as PHP's ``json_encode`` writes it: ``\\/``, ``\\uXXXX`` for non-ASCII, exact decimals."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=True).replace("/", "\\/")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{php_json(str(k))}:{php_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(php_json(item) for item in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _php_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(php_json(body), status_code=status, media_type="application/json", headers=headers)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class _Token:
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None


@dataclass
class _Code:
    redirect_uri: str
    scopes: frozenset[str]
    used: bool = False


@dataclass
class _Fault:
    endpoint: str | None
    remaining: int
    status: int | None = None
    retry_after: float | None = None
    malformation: Malformation | None = None


@dataclass(eq=False)
class _Connection:
    ws: WebSocket
    client_id: str | None = None
    channels: set[str] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    closed: bool = False

    async def send(self, frame: str | bytes) -> None:
        async with self.lock:
            if self.closed:
                return
            try:
                if isinstance(frame, bytes):
                    await self.ws.send_bytes(frame)
                else:
                    await self.ws.send_text(frame)
            except (RuntimeError, OSError, WebSocketDisconnect):
                self.closed = True

    async def close(self, code: int, reason: str) -> None:
        async with self.lock:
            if self.closed:
                return
            self.closed = True
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await self.ws.close(code=code, reason=reason)


class FakeDonationAlerts(FakeServer):
    """The fake server and its controls. Start it with ``async with`` (or :meth:`start` / :meth:`stop`)."""

    name = "fake-donationalerts"
    server_options: ClassVar[dict[str, Any]] = {"ws_max_size": 64 << 20, "ws_ping_interval": None}

    def __init__(
        self,
        *,
        client_id: str = "ovation-test-app",
        client_secret: str = "ovation-test-secret",
        redirect_uris: Iterable[str] | None = None,
        user_id: int = 13907608,
        user_code: str = "jogaboga86",
        user_name: str = "jogaboga86",
        user_currency: str | None = None,
        token_ttl: float = 3600.0,
        per_page: int = 30,
        rate_limit: int | None = 60,
        first_donation_id: int = 164405432,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uris = set(redirect_uris) if redirect_uris is not None else None
        self.user_id = user_id
        self.user_code = user_code
        self.user_name = user_name
        self.user_currency = user_currency
        self.token_ttl = token_ttl
        self.per_page = per_page
        self.rate_limit = rate_limit
        super().__init__(host, port)

        self.requests: Counter[str] = Counter()
        """Requests served, by endpoint name (see ``ENDPOINTS``); websocket counts connections."""
        self.commands: list[dict[str, Any]] = []
        """Every Centrifugo command received, in order."""
        self.subscribe_bodies: list[Any] = []
        """Every JSON body POSTed to ``/api/v1/centrifuge/subscribe``."""
        self.token_forms: list[dict[str, str]] = []
        """Every form POSTed to ``/oauth/token``."""
        self.authorization_headers: list[str] = []
        """The ``Authorization`` header of every API request."""

        self.response_delay = 0.0
        """Seconds every API response waits."""
        self.push_delay = 0.0
        """Seconds every push waits before it is sent."""
        self.duplicate_pushes = 0
        """Send every donation push this many extra times."""
        self.ignore_pings = False
        """Stop answering Centrifugo pings (a half-dead connection)."""
        self.send_join_push = True
        """After a subscription, send the informational JOIN push (type 1) DonationAlerts sends."""
        self.refresh_keeps_refresh_token = False
        """Answer refresh grants without a new ``refresh_token`` (the client must keep the old one)."""

        self.donations: list[dict[str, Any]] = []
        self._next_id = first_donation_id
        self._codes: dict[str, _Code] = {}
        self._tokens: dict[str, _Token] = {}
        self._refresh: dict[str, frozenset[str]] = {}
        self._socket_tokens: set[str] = set()
        self._channel_tokens: dict[tuple[str, str], str] = {}
        self._faults: list[_Fault] = []
        self._sent: deque[float] = deque()
        self._seq: Counter[str] = Counter()
        self._connections: set[_Connection] = set()
        self._outbox: asyncio.Queue[tuple[str | bytes, bool]] | None = None
        self._pusher_task: asyncio.Task[None] | None = None
        self.app = self._build_app()

    # lifecycle

    @property
    def base_url(self) -> str:
        """Both the OAuth base and the REST base (``<base>/api/v1``), as ``https://www.donationalerts.com``."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}/connection/websocket"

    @property
    def channel(self) -> str:
        return f"$alerts:donation_{self.user_id}"

    async def _before_start(self) -> None:
        self._outbox = asyncio.Queue()

    async def _after_start(self) -> None:
        self._pusher_task = asyncio.create_task(self._pusher(), name="fake-donationalerts-pusher")

    async def _before_stop(self) -> None:
        await self.drop_connections(code=1001, reason="")
        if self._pusher_task is not None:
            self._pusher_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher_task

    # controls

    def issue_token(self, scopes: Iterable[str] = SCOPES, ttl: float | None = None) -> str:
        """An access token as if the OAuth flow had run (its refresh token is :meth:`refresh_token_for`)."""
        return str(self._issue(frozenset(scopes), ttl)["access_token"])

    def refresh_token_for(self, access_token: str) -> str | None:
        token = self._tokens.get(access_token)
        return token.refresh_token if token else None

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired now (refresh tokens stay valid)."""
        for token in self._tokens.values():
            token.expires_at = 0.0

    def revoke_grants(self) -> None:
        """Every access and refresh token is revoked: the streamer disconnected the app."""
        self._tokens.clear()
        self._refresh.clear()

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        endpoint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        """The next ``times`` requests (to ``endpoint``, or to any API endpoint) answer ``status``.

        401 answers ``{"message": "Unauthenticated."}``; 429 carries ``Retry-After`` (``retry_after`` or the
        seconds until the rate window frees); 5xx answers ``{"message": "Server Error"}``.
        """
        self._check_endpoint(endpoint)
        self._faults.append(_Fault(endpoint, times, status=status, retry_after=retry_after))

    def malform_next(
        self, malformation: Malformation, times: int = 1, *, endpoint: str | None = None
    ) -> None:
        """The next ``times`` API answers are broken: invalid JSON, invalid UTF-8, huge (8 MiB), and so on."""
        self._check_endpoint(endpoint)
        self._faults.append(_Fault(endpoint, times, malformation=malformation))

    def add_donation(
        self,
        *,
        username: object = "Ivan",
        message: str = "Hello!",
        amount: object = 500,
        currency: str = "RUB",
        message_type: str = "text",
        amount_in_user_currency: object = None,
        created_at: datetime | str | None = None,
        push: bool = True,
        omit: Sequence[str] = (),
        **overrides: object,
    ) -> dict[str, Any]:
        """Store a donation (REST) and push it to every subscribed websocket; returns the stored object.

        ``overrides`` replace any field with any value (wrong types included); ``omit`` removes fields.
        """
        donation_id = self._next_id
        self._next_id += 1 + donation_id % 3  # ids grow, with gaps, as real ones do
        amount_value = _number(amount)
        converted = amount_value if amount_in_user_currency is None else _number(amount_in_user_currency)
        moment = created_at if created_at is not None else datetime.now(UTC)
        donation: dict[str, Any] = {
            "id": donation_id,
            "name": "Donations",
            "username": username,
            "message": message,
            "message_type": message_type,
            "payin_system": None,
            "amount": amount_value,
            "currency": currency,
            "is_shown": 1,
            "amount_in_user_currency": converted,
            "recipient_name": self.user_name,
            "created_at": moment if isinstance(moment, str) else _timestamp(moment),
            "shown_at": None,
        }
        donation.update(overrides)
        for name in omit:
            donation.pop(name, None)
        self.donations.append(donation)
        if push:
            self._enqueue(self._push_message(donation))
        return donation

    def push_donations(self, donations: Sequence[Mapping[str, Any]], *, one_frame: bool = True) -> None:
        """Push already stored donations again; with ``one_frame`` all in one frame, separated by ``\\n``."""
        messages = [self._push_message(donation) for donation in donations]
        if one_frame:
            self._enqueue("\n".join(messages))
        else:
            for message in messages:
                self._enqueue(message)

    def push_raw(self, frame: str | bytes) -> None:
        """Send exactly this frame (text, or binary for bytes) to every subscribed websocket."""
        self._enqueue(frame, duplicate=False)

    async def flush(self) -> None:
        """Wait until every queued push has been sent."""
        assert self._outbox is not None
        await self._outbox.join()

    async def drop_connections(self, code: int = CLOSE_SHUTDOWN, reason: str | None = None) -> None:
        """Close every websocket, by default as Centrifugo does on shutdown (3001, reconnect allowed)."""
        if reason is None:
            reason = '{"reason":"shutdown","reconnect":true}'
        for connection in list(self._connections):
            await connection.close(code, reason)

    @property
    def subscribed_channels(self) -> list[str]:
        return sorted(channel for connection in self._connections for channel in connection.channels)

    # internals

    def _check_endpoint(self, endpoint: str | None) -> None:
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; one of {', '.join(ENDPOINTS)}")

    def _issue(self, scopes: frozenset[str], ttl: float | None = None) -> dict[str, Any]:
        access = "eyJ0eXAiOiJKV1Qi." + secrets.token_urlsafe(32)
        refresh = "def502" + secrets.token_hex(32)
        lifetime = self.token_ttl if ttl is None else ttl
        self._tokens[access] = _Token(scopes, time.monotonic() + lifetime, refresh)
        self._refresh[refresh] = scopes
        return {
            "token_type": "Bearer",
            "expires_in": math.ceil(lifetime),
            "access_token": access,
            "refresh_token": refresh,
        }

    def _take_fault(self, endpoint: str) -> _Fault | None:
        for fault in self._faults:
            applies = fault.endpoint == endpoint or (fault.endpoint is None and endpoint in API_ENDPOINTS)
            if applies and fault.remaining > 0:
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _fault_response(self, fault: _Fault) -> Response:
        if fault.malformation is not None:
            return _malformed_response(fault.malformation)
        status = fault.status or 500
        if status == 429:
            retry = fault.retry_after if fault.retry_after is not None else 60
            return _php_response(
                {"message": "Too Many Attempts."}, 429, {"Retry-After": str(math.ceil(retry))}
            )
        if status == 401:
            return _php_response({"message": "Unauthenticated."}, 401)
        if status >= 500:
            return _php_response({"message": "Server Error"}, status)
        return _php_response({"message": "Error"}, status)

    def _rate_limited(self) -> Response | None:
        if self.rate_limit is None:
            return None
        now = time.monotonic()
        while self._sent and self._sent[0] + 60.0 <= now:
            self._sent.popleft()
        if len(self._sent) >= self.rate_limit:
            retry = math.ceil(self._sent[0] + 60.0 - now)
            return _php_response({"message": "Too Many Attempts."}, 429, {"Retry-After": str(retry)})
        self._sent.append(now)
        return None

    async def _api_guard(self, request: Request, endpoint: str, scope: str) -> Response | None:
        """Count, delay, inject faults, limit the rate, check the bearer token and its scope."""
        self.requests[endpoint] += 1
        self.authorization_headers.append(request.headers.get("authorization", ""))
        if self.response_delay:
            await asyncio.sleep(self.response_delay)
        fault = self._take_fault(endpoint)
        if fault is not None and fault.malformation is None:
            return self._fault_response(fault)
        limited = self._rate_limited()
        if limited is not None:
            return limited
        header = request.headers.get("authorization", "")
        bearer = header[7:] if header.lower().startswith("bearer ") else ""
        token = self._tokens.get(bearer)
        if token is None or token.expires_at <= time.monotonic():
            return _php_response({"message": "Unauthenticated."}, 401)
        if scope not in token.scopes:
            return _php_response({"message": "Invalid scope(s) provided."}, 403)
        if fault is not None:
            return self._fault_response(fault)
        return None

    def _enqueue(self, frame: str | bytes, duplicate: bool = True) -> None:
        if self._outbox is None:
            return
        self._outbox.put_nowait((frame, duplicate))

    async def _pusher(self) -> None:
        assert self._outbox is not None
        while True:
            frame, duplicate = await self._outbox.get()
            try:
                if self.push_delay:
                    await asyncio.sleep(self.push_delay)
                copies = 1 + (self.duplicate_pushes if duplicate else 0)
                for connection in list(self._connections):
                    if self.channel in connection.channels:
                        for _ in range(copies):
                            await connection.send(frame)
            finally:
                self._outbox.task_done()

    def _push_message(self, donation: Mapping[str, Any]) -> str:
        self._seq[self.channel] += 1
        payload = dict(donation)
        payload["recipient"] = {
            "user_id": self.user_id,
            "code": self.user_code,
            "name": self.user_name,
            "avatar": "https://static-cdn.example/avatars/fake.png",
        }
        payload["reason"] = "default"
        return php_json(
            {"result": {"channel": self.channel, "data": {"seq": self._seq[self.channel], "data": payload}}}
        )

    def _build_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/authorize", self._authorize, methods=["GET"]),
                Route("/oauth/token", self._token, methods=["POST"]),
                Route("/api/v1/user/oauth", self._user, methods=["GET"]),
                Route("/api/v1/alerts/donations", self._donations, methods=["GET"]),
                Route("/api/v1/centrifuge/subscribe", self._subscribe, methods=["POST"]),
                Route("/_fake/donations", self._control_add_donation, methods=["POST"]),
                WebSocketRoute("/connection/websocket", self._websocket),
            ]
        )

    # OAuth

    async def _authorize(self, request: Request) -> Response:
        self.requests["authorize"] += 1
        query = request.query_params
        if query.get("client_id") != self.client_id:
            return PlainTextResponse("Client authentication failed", 401)
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri or (self.redirect_uris is not None and redirect_uri not in self.redirect_uris):
            return PlainTextResponse("The redirect URI is not registered for this application", 400)
        params: dict[str, str] = {}
        scopes = frozenset(query.get("scope", "").split())
        if query.get("response_type") != "code":
            params["error"] = "unsupported_response_type"
        elif not scopes or not scopes <= set(SCOPES) | {"oauth-custom_alert-store", "oauth-goal-subscribe"}:
            params["error"] = "invalid_scope"
        else:
            code = "def502" + secrets.token_hex(24)
            self._codes[code] = _Code(redirect_uri, scopes)
            params["code"] = code
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(redirect_uri + separator + urlencode(params), status_code=302)

    async def _token(self, request: Request) -> Response:
        self.requests["token"] += 1
        fault = self._take_fault("token")
        if fault is not None:
            return self._fault_response(fault)
        # parsed by hand: starlette's form parser needs python-multipart, which Ovation does not depend on
        pairs = parse_qsl((await request.body()).decode("utf-8", errors="replace"), keep_blank_values=True)
        form = dict(pairs)
        self.token_forms.append(form)
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _oauth_error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self._codes.get(form.get("code", ""))
            if code is None or code.used:
                return _oauth_error(400, "invalid_grant", "The authorization code is invalid or was used")
            if form.get("redirect_uri") != code.redirect_uri:
                return _oauth_error(400, "invalid_grant", "The redirect URI does not match")
            code.used = True
            return _php_response(self._issue(code.scopes))
        if grant == "refresh_token":
            refresh = form.get("refresh_token", "")
            scopes = self._refresh.pop(refresh, None)
            if scopes is None:
                return _oauth_error(400, "invalid_grant", "The refresh token is invalid")
            requested = frozenset(form.get("scope", "").split())
            if requested and requested != scopes:
                self._refresh[refresh] = scopes
                return _oauth_error(400, "invalid_scope", "The requested scopes differ from the grant's")
            for access, token in list(self._tokens.items()):
                if token.refresh_token == refresh:
                    del self._tokens[access]  # Passport revokes the old pair
            issued = self._issue(scopes)
            if self.refresh_keeps_refresh_token:
                del self._refresh[issued.pop("refresh_token")]
                self._refresh[refresh] = scopes
                self._tokens[issued["access_token"]].refresh_token = refresh
            return _php_response(issued)
        return _oauth_error(400, "unsupported_grant_type", "The grant type is not supported")

    # REST

    async def _user(self, request: Request) -> Response:
        refused = await self._api_guard(request, "user", "oauth-user-show")
        if refused is not None:
            return refused
        socket_token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(24)
        self._socket_tokens.add(socket_token)
        data: dict[str, Any] = {
            "id": self.user_id,
            "code": self.user_code,
            "name": self.user_name,
            "avatar": "https://static-cdn.example/avatars/fake.png",
            "email": "streamer@example.com",
            "language": "en_US",
            "socket_connection_token": socket_token,
        }
        if self.user_currency is not None:
            data["currency"] = self.user_currency
        return _php_response({"data": data})

    async def _donations(self, request: Request) -> Response:
        refused = await self._api_guard(request, "donations", "oauth-donation-index")
        if refused is not None:
            return refused
        raw_page = request.query_params.get("page", "1")
        page = int(raw_page) if raw_page.isdigit() and int(raw_page) > 0 else 1
        newest_first = self.donations[::-1]
        total = len(newest_first)
        last_page = max(1, math.ceil(total / self.per_page))
        start = (page - 1) * self.per_page
        items = newest_first[start : start + self.per_page]
        path = f"{self.base_url}/api/v1/alerts/donations"
        return _php_response(
            {
                "data": items,
                "links": {
                    "first": f"{path}?page=1",
                    "last": f"{path}?page={last_page}",
                    "prev": f"{path}?page={page - 1}" if page > 1 else None,
                    "next": f"{path}?page={page + 1}" if page < last_page else None,
                },
                "meta": {
                    "current_page": page,
                    "from": start + 1 if items else None,
                    "last_page": last_page,
                    "path": path,
                    "per_page": self.per_page,
                    "to": start + len(items) if items else None,
                    "total": total,
                },
            }
        )

    async def _subscribe(self, request: Request) -> Response:
        refused = await self._api_guard(request, "subscribe", "oauth-donation-subscribe")
        if refused is not None:
            return refused
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _php_response({"message": "The given data was invalid."}, 422)
        self.subscribe_bodies.append(body)
        if not isinstance(body, dict) or not isinstance(body.get("client"), str):
            return _php_response({"message": "The given data was invalid."}, 422)
        channels = body.get("channels")
        if not isinstance(channels, list):
            return _php_response({"message": "The given data was invalid."}, 422)
        own = {f"{prefix}_{self.user_id}" for prefix in ("$alerts:donation", "$goals:goal", "$polls:poll")}
        answer = []
        for channel in channels:
            if channel in own:
                token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9." + secrets.token_urlsafe(24)
                self._channel_tokens[(body["client"], channel)] = token
                answer.append({"channel": channel, "token": token})
        return _php_response({"channels": answer})

    async def _control_add_donation(self, request: Request) -> Response:
        body = await request.json()
        fields = {key: body[key] for key in ("username", "message", "currency") if key in body}
        donation = self.add_donation(amount=str(body.get("amount", "100")), **fields)
        return JSONResponse({"id": donation["id"]})

    # Centrifugo

    async def _websocket(self, ws: WebSocket) -> None:
        self.requests["websocket"] += 1
        await ws.accept()
        connection = _Connection(ws)
        self._connections.add(connection)
        try:
            while not connection.closed:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", errors="replace")
                for line in text.split("\n"):
                    if line.strip() and not await self._on_command(connection, line):
                        return
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            connection.closed = True
            self._connections.discard(connection)

    async def _on_command(self, connection: _Connection, line: str) -> bool:
        """Handle one command; False when the connection was closed for it."""
        try:
            command = json.loads(line)
        except ValueError:
            command = None
        if not isinstance(command, dict):
            await connection.close(CLOSE_BAD_REQUEST, '{"reason":"bad request","reconnect":false}')
            return False
        self.commands.append(command)
        command_id = command.get("id")
        method = command.get("method", 0)
        params = command.get("params")
        if method == 0:
            if not isinstance(params, dict) or not isinstance(params.get("token"), str):
                await connection.close(CLOSE_BAD_REQUEST, '{"reason":"bad request","reconnect":false}')
                return False
            if params["token"] not in self._socket_tokens:
                await connection.close(CLOSE_INVALID_TOKEN, '{"reason":"invalid token","reconnect":false}')
                return False
            connection.client_id = str(uuid.uuid4())
            await connection.send(
                php_json({"id": command_id, "result": {"client": connection.client_id, "version": "2.8.6"}})
            )
            return True
        if connection.client_id is None:
            await connection.close(CLOSE_BAD_REQUEST, '{"reason":"bad request","reconnect":false}')
            return False
        if method == 1:
            channel = params.get("channel") if isinstance(params, dict) else None
            token = params.get("token") if isinstance(params, dict) else None
            expected = self._channel_tokens.get((connection.client_id, str(channel)))
            if expected is None or token != expected:
                await connection.send(_error_reply(command_id, ERROR_PERMISSION_DENIED, "permission denied"))
                return True
            connection.channels.add(str(channel))
            await connection.send(php_json({"id": command_id, "result": {}}))
            if self.send_join_push:
                info = {"user": str(self.user_id), "client": connection.client_id}
                await connection.send(
                    php_json({"result": {"type": 1, "channel": channel, "data": {"info": info}}})
                )
            return True
        if method == 7:
            if not self.ignore_pings:
                await connection.send(php_json({"id": command_id}))
            return True
        await connection.send(_error_reply(command_id, ERROR_METHOD_NOT_FOUND, "method not found"))
        return True


def _error_reply(command_id: object, code: int, message: str) -> str:
    return php_json({"id": command_id, "error": {"code": code, "message": message}})


def _number(value: object) -> object:
    """A decimal string becomes an exact JSON number; anything else (a wrong type, on purpose) stays as is."""
    if isinstance(value, str):
        try:
            return Decimal(value)
        except ArithmeticError:
            return value
    return value


def _oauth_error(status: int, error: str, description: str) -> Response:
    return _php_response({"error": error, "error_description": description, "message": description}, status)


def _malformed_response(malformation: Malformation) -> Response:
    if malformation == "invalid-json":
        return Response('{"data": [{"id": 1,', media_type="application/json")
    if malformation == "invalid-utf8":
        return Response(b'{"data": [], "message": "\xff\xfe broken"}', media_type="application/json")
    if malformation == "huge":
        return Response(b'{"data": "' + b"x" * (8 << 20) + b'"}', media_type="application/json")
    if malformation == "not-an-object":
        return Response("[1, 2, 3]", media_type="application/json")
    return Response('{"data": []}', media_type="application/json")  # missing-meta


@contextlib.asynccontextmanager
async def running_fake(**options: Any) -> AsyncIterator[FakeDonationAlerts]:
    """A started fake on a free loopback port, stopped afterwards (for a pytest fixture)."""
    fake = FakeDonationAlerts(**options)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def _serve_forever(port: int) -> None:
    async with FakeDonationAlerts(port=port) as fake:
        token = fake.issue_token(ttl=24 * 3600)
        print(f"Fake DonationAlerts on {fake.base_url} (websocket {fake.ws_url})")
        print(f"client_id={fake.client_id} client_secret={fake.client_secret}")
        print(f"access token (24 h): {token}")
        print(f"add a donation: curl -X POST {fake.base_url}/_fake/donations -d '{{\"amount\": 100}}'")
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the fake DonationAlerts on a loopback port")
    parser.add_argument("--port", type=int, default=8765)
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(arguments.port))


if __name__ == "__main__":
    main()
