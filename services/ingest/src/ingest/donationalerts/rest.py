"""The DonationAlerts REST API v1: the profile, the donation list (catch-up to a cursor), channel tokens.

Every call goes through one :class:`RateLimiter` (DonationAlerts allows 60 requests a minute per application:
share one limiter between every client of the same application), carries explicit timeouts, and fails with a
typed error from :mod:`ingest.donationalerts.errors`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx

from .errors import (
    Forbidden,
    Malformed,
    MalformedReason,
    RateLimited,
    RequestRejected,
    Unauthorized,
    Unreachable,
    UpstreamError,
)
from .oauth import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, StaticToken, TokenSource
from .parse import DonationParser, DonationReceived, Rejected, decode_json, read_currency, read_id

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
REQUESTS_PER_MINUTE = 60
DEFAULT_RETRY_AFTER = 60.0
MAX_BODY_BYTES = 4 << 20
DEFAULT_MAX_PAGES = 50
"""Catch-up walks at most this many pages (1,500 donations) back before giving up on reaching the cursor."""


class RateLimiter:
    """At most ``max_requests`` in any ``per_seconds`` window (sliding), plus pauses a 429 asks for.

    Waiters are served in arrival order. ``clock`` and ``sleep`` are injectable so tests never wait.
    """

    def __init__(
        self,
        max_requests: int = REQUESTS_PER_MINUTE,
        per_seconds: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if max_requests < 1 or per_seconds <= 0:
            raise ValueError("a rate limit needs at least one request per positive period")
        self.max_requests = max_requests
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request is allowed, and count it as sent."""
        async with self._lock:
            while True:
                now = self._clock()
                while self._sent and self._sent[0] + self.per_seconds <= now:
                    self._sent.popleft()
                if self._paused_until > now:
                    wait = self._paused_until - now
                elif len(self._sent) >= self.max_requests:
                    wait = self._sent[0] + self.per_seconds - now
                else:
                    self._sent.append(now)
                    return
                await self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (DonationAlerts said 429 with this Retry-After)."""
        self._paused_until = max(self._paused_until, self._clock() + max(0.0, seconds))


@dataclass(frozen=True)
class DonationAlertsUser:
    """The streamer's profile from ``/user/oauth``. Its repr shows no token."""

    id: int
    code: str
    name: str
    socket_connection_token: str = field(repr=False)
    language: str | None = None
    currency: str | None = None
    """Not documented by DonationAlerts; read when the profile happens to carry it."""

    @property
    def donation_channel(self) -> str:
        return f"$alerts:donation_{self.id}"


@dataclass(frozen=True)
class DonationsPage:
    """One page of ``/alerts/donations``: raw donation objects, newest first, and where it sits."""

    items: tuple[object, ...]
    current_page: int
    last_page: int
    total: int | None = None

    @property
    def is_last(self) -> bool:
        return not self.items or self.current_page >= self.last_page


@dataclass(frozen=True)
class CatchUp:
    """Everything newer than a cursor, oldest first, read and ready to publish.

    ``complete`` is False only when the walk stopped at ``max_pages`` before reaching the cursor (or the end
    of the history): then older donations may be missing. ``newest_id`` is the highest id among ``items``.
    """

    items: tuple[DonationReceived | Rejected, ...]
    complete: bool
    pages: int
    newest_id: int | None


def _retry_after(value: str | None, now: datetime) -> float:
    if not value:
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - now).total_seconds())


def _int_field(container: Mapping[str, Any], name: str, where: str) -> int:
    value = container.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        if name not in container:
            raise Malformed(MalformedReason.MISSING_FIELD, f"{where} has no {name}", field=name)
        raise Malformed(MalformedReason.WRONG_TYPE, f"{where}.{name} is not an integer", field=name)
    return value


def _require_mapping(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Malformed(MalformedReason.WRONG_TYPE, f"{what} is not a JSON object")
    return value


def parse_user(body: object) -> DonationAlertsUser:
    """Read ``/user/oauth``'s ``{"data": {...}}``."""
    data = _require_mapping(_require_mapping(body, "the profile answer").get("data"), "the profile's data")
    if "id" not in data:
        raise Malformed(MalformedReason.MISSING_FIELD, "the profile has no user id", field="id")
    user_id = read_id(data["id"])
    token = data.get("socket_connection_token")
    if not isinstance(token, str) or not token:
        raise Malformed(
            MalformedReason.MISSING_FIELD, "the profile has no socket token", field="socket_connection_token"
        )
    currency: str | None = None
    if isinstance(data.get("currency"), str):
        try:
            currency = read_currency(data["currency"])
        except Malformed:
            currency = None
    return DonationAlertsUser(
        id=user_id,
        code=str(data.get("code") or ""),
        name=str(data.get("name") or ""),
        socket_connection_token=token,
        language=data["language"] if isinstance(data.get("language"), str) else None,
        currency=currency,
    )


def parse_donations_page(body: object) -> DonationsPage:
    """Read one page of the Laravel paginator ``{"data": [...], "links": {...}, "meta": {...}}``."""
    answer = _require_mapping(body, "the donation list")
    items = answer.get("data")
    if not isinstance(items, list):
        if "data" not in answer:
            raise Malformed(MalformedReason.MISSING_FIELD, "the donation list has no data", field="data")
        raise Malformed(MalformedReason.WRONG_TYPE, "the donation list's data is not a list", field="data")
    if "meta" not in answer:
        raise Malformed(MalformedReason.MISSING_FIELD, "the donation list has no paging meta", field="meta")
    meta = _require_mapping(answer["meta"], "the donation list's meta")
    total = meta.get("total")
    return DonationsPage(
        items=tuple(items),
        current_page=_int_field(meta, "current_page", "meta"),
        last_page=_int_field(meta, "last_page", "meta"),
        total=total if isinstance(total, int) and not isinstance(total, bool) else None,
    )


def parse_channel_tokens(body: object, wanted: Sequence[str]) -> dict[str, str]:
    """Read ``/centrifuge/subscribe``'s ``{"channels": [{"channel": ..., "token": ...}]}``."""
    channels = _require_mapping(body, "the subscribe answer").get("channels")
    if not isinstance(channels, list):
        raise Malformed(MalformedReason.WRONG_TYPE, "channels is not a list", field="channels")
    tokens: dict[str, str] = {}
    for entry in channels:
        if isinstance(entry, Mapping) and isinstance(entry.get("channel"), str):
            token = entry.get("token")
            if isinstance(token, str) and token:
                tokens[entry["channel"]] = token
    missing = [name for name in wanted if name not in tokens]
    if missing:
        raise Malformed(MalformedReason.MISSING_FIELD, f"no token for {', '.join(missing)}", field="channels")
    return tokens


class DonationAlertsApi:
    """The REST client. One per streamer account; close it (or use ``async with``) when done.

    ``token`` is a :class:`~ingest.donationalerts.oauth.TokenSource` (a refreshing OAuth token) or a plain
    string (a pasted token). On a 401 the token source gets one chance to refresh, then :class:`Unauthorized`.
    Pass your own ``http`` client to share its connection pool; this client then does not close it.
    """

    def __init__(
        self,
        token: TokenSource | str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        limiter: RateLimiter | None = None,
        http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._tokens: TokenSource = StaticToken(token) if isinstance(token, str) else token
        self._base = base_url.rstrip("/") + API_PREFIX
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=http_timeout)
        self.limiter = limiter if limiter is not None else RateLimiter()
        self._timeout = http_timeout
        self._max_body = max_body_bytes

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def user(self) -> DonationAlertsUser:
        """``GET /user/oauth``: the streamer's id and a fresh socket connection token."""
        return parse_user(await self._call("GET", "/user/oauth", what="the profile"))

    async def donations_page(self, page: int = 1) -> DonationsPage:
        """``GET /alerts/donations?page=N``: 30 donations, newest first."""
        if page < 1:
            raise ValueError("pages start at 1")
        body = await self._call("GET", "/alerts/donations", what="the donation list", params={"page": page})
        return parse_donations_page(body)

    async def newest_donation_id(self) -> int | None:
        """The id of the newest donation, to start a cursor from (None when there is none yet)."""
        ids = [_readable_id(raw) for raw in (await self.donations_page(1)).items]
        return max((found for found in ids if found is not None), default=None)

    async def donations_since(
        self, after_id: int, parser: DonationParser, *, max_pages: int = DEFAULT_MAX_PAGES
    ) -> CatchUp:
        """Every donation with an id above ``after_id``, oldest first, walking pages back until it reaches it.

        Donations that shift between pages while walking are de-duplicated by id. Unreadable ones come back as
        :class:`Rejected` (those whose id can be read are placed in order; the others come last).
        """
        found: dict[int, DonationReceived | Rejected] = {}
        unplaced: list[Rejected] = []
        complete = False
        pages = 0
        page_number = 1
        while pages < max_pages:
            page = await self.donations_page(page_number)
            pages += 1
            reached = False
            for raw in page.items:
                upstream_id = _readable_id(raw)
                if upstream_id is None:
                    item = parser.parse(raw, "rest")
                    if isinstance(item, Rejected):
                        unplaced.append(item)
                    continue
                if upstream_id <= after_id:
                    reached = True
                elif upstream_id not in found:
                    found[upstream_id] = parser.parse(raw, "rest")
            if reached or page.is_last:
                complete = True
                break
            page_number += 1
        if not complete:
            log.warning(
                "DonationAlerts catch-up stopped after %d pages without reaching donation %d", pages, after_id
            )
        ordered = tuple(found[key] for key in sorted(found))
        return CatchUp(
            items=ordered + tuple(unplaced),
            complete=complete,
            pages=pages,
            newest_id=max(found) if found else None,
        )

    async def subscribe_channels(self, client_id: str, channels: Sequence[str]) -> dict[str, str]:
        """``POST /centrifuge/subscribe``: a subscription token per channel for this Centrifugo client id."""
        body = await self._call(
            "POST",
            "/centrifuge/subscribe",
            what="the realtime subscription",
            json_body={"channels": list(channels), "client": client_id},
        )
        return parse_channel_tokens(body, channels)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        params: Mapping[str, str | int] | None = None,
        json_body: object = None,
    ) -> object:
        for attempt in range(2):
            await self.limiter.acquire()
            token = await self._tokens.access_token()
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with self._http.stream(
                    method,
                    self._base + path,
                    params=params,
                    json=json_body,
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    status = response.status_code
                    if status == 401:
                        if attempt == 0 and await self._tokens.on_unauthorized(token):
                            continue
                        raise Unauthorized(
                            f"DonationAlerts refused the access token for {what} (401): "
                            "reconnect DonationAlerts from the dashboard"
                        )
                    if status == 403:
                        raise Forbidden(what)
                    if status == 429:
                        wait = _retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                        self.limiter.pause(wait)
                        raise RateLimited(wait, what)
                    if status >= 500:
                        raise UpstreamError(
                            f"DonationAlerts failed {what} (HTTP {status}): it is having trouble; "
                            "Ovation retries by itself",
                            status=status,
                        )
                    if status == 204:
                        return None
                    body = await self._read(response)
                    if status >= 300:
                        excerpt = body[:200].decode("utf-8", errors="replace")
                        raise RequestRejected(what, status, excerpt)
                    return decode_json(body, max_bytes=self._max_body)
            except httpx.TransportError as exc:
                raise Unreachable(what, type(exc).__name__) from exc
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _read(self, response: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self._max_body:
                raise Malformed(
                    MalformedReason.TOO_LARGE, f"the answer is over the {self._max_body} bytes accepted"
                )
            chunks.append(chunk)
        return b"".join(chunks)


def _readable_id(raw: object) -> int | None:
    if not isinstance(raw, Mapping) or "id" not in raw:
        return None
    try:
        return read_id(raw["id"])
    except Malformed:
        return None
