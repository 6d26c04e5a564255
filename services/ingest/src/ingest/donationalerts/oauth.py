"""DonationAlerts OAuth2: the authorize URL, the code exchange, refresh, and access-token sources for the API.

The gateway owns the HTTP endpoints (login redirect and callback) and the ingest service owns where tokens are
stored; this module only builds URLs, talks to ``/oauth/token`` and keeps a token fresh.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import httpx

from ovation_contracts.envelope import utc_now

from .errors import (
    AuthorizationRejected,
    DonationAlertsError,
    Malformed,
    MalformedReason,
    Unreachable,
    UpstreamError,
)
from .parse import decode_json

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.donationalerts.com"
SCOPES: tuple[str, ...] = ("oauth-user-show", "oauth-donation-subscribe", "oauth-donation-index")
"""Every scope Ovation needs: the profile (user id, socket token), realtime donations, the donation list."""

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_REFRESH_MARGIN = timedelta(minutes=5)
_MAX_TOKEN_RESPONSE_BYTES = 64 * 1024
_BEARER = "Bearer"


@dataclass(frozen=True)
class OAuthApp:
    """A DonationAlerts application (``/application/clients``): its App ID, API key and redirect URI."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    base_url: str = DEFAULT_BASE_URL
    scopes: tuple[str, ...] = SCOPES

    @property
    def token_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/oauth/token"


@dataclass(frozen=True)
class TokenSet:
    """What ``/oauth/token`` gave: keep it (all of it) to survive restarts. Its repr shows no token."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime
    token_type: str = _BEARER

    def expires_within(self, margin: timedelta, now: datetime) -> bool:
        return self.expires_at - margin <= now

    def to_dict(self) -> dict[str, str | None]:
        """A JSON-ready form for storage (it contains secrets: store it, never log it)."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_at": self.expires_at.isoformat(),
            "token_type": self.token_type,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TokenSet:
        """The inverse of :meth:`to_dict`."""
        expires_at = datetime.fromisoformat(str(data["expires_at"]))
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must carry a zone")
        refresh = data.get("refresh_token")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(refresh) if refresh else None,
            expires_at=expires_at,
            token_type=str(data.get("token_type") or _BEARER),
        )


def new_state() -> str:
    """A fresh, unguessable ``state`` for one authorize round trip (store it, single use, short-lived)."""
    return secrets.token_urlsafe(32)


def state_matches(expected: str | None, received: str | None) -> bool:
    """Whether the callback's ``state`` is the one issued, compared in constant time."""
    if not expected or not received:
        return False
    return hmac.compare_digest(expected.encode(), received.encode())


def authorize_url(app: OAuthApp, state: str) -> str:
    """Where to send the streamer's browser to grant Ovation access (``response_type=code``)."""
    if not state:
        raise ValueError("an authorize URL needs a state; make one with new_state()")
    query = urlencode(
        {
            "client_id": app.client_id,
            "redirect_uri": app.redirect_uri,
            "response_type": "code",
            "scope": " ".join(app.scopes),
            "state": state,
        },
        quote_via=quote,  # spaces as %20, as in DonationAlerts' own examples
    )
    return f"{app.base_url.rstrip('/')}/oauth/authorize?{query}"


def parse_token_response(
    body: object, *, now: datetime, previous_refresh_token: str | None = None
) -> TokenSet:
    """Read ``/oauth/token``'s answer. A refresh answer without ``refresh_token`` keeps the previous one."""
    if not isinstance(body, Mapping):
        raise Malformed(MalformedReason.WRONG_TYPE, "the token response is not a JSON object")
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise Malformed(MalformedReason.MISSING_FIELD, "no access token in the answer", field="access_token")
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
        raise Malformed(MalformedReason.WRONG_TYPE, "expected positive seconds", field="expires_in")
    refresh = body.get("refresh_token")
    if refresh is not None and not isinstance(refresh, str):
        raise Malformed(MalformedReason.WRONG_TYPE, "expected a string", field="refresh_token")
    token_type = body.get("token_type")
    return TokenSet(
        access_token=access,
        refresh_token=refresh or previous_refresh_token,
        expires_at=now + timedelta(seconds=expires_in),
        token_type=token_type if isinstance(token_type, str) and token_type else _BEARER,
    )


async def _token_request(
    http: httpx.AsyncClient, app: OAuthApp, form: dict[str, str], grant: str, http_timeout: httpx.Timeout
) -> object:
    try:
        response = await http.post(
            app.token_url, data=form, headers={"Accept": "application/json"}, timeout=http_timeout
        )
    except httpx.TransportError as exc:
        raise Unreachable(f"the {grant} grant", type(exc).__name__) from exc
    content = response.content[: _MAX_TOKEN_RESPONSE_BYTES + 1]
    if response.status_code in (400, 401, 403):
        error: str | None = None
        try:
            answer = decode_json(content, max_bytes=_MAX_TOKEN_RESPONSE_BYTES)
            if isinstance(answer, Mapping) and isinstance(answer.get("error"), str):
                error = str(answer["error"])[:64]
        except Malformed:
            pass
        raise AuthorizationRejected(grant, response.status_code, error)
    if response.status_code >= 300:
        raise UpstreamError(
            f"DonationAlerts' token endpoint failed the {grant} grant (HTTP {response.status_code}): "
            "Ovation retries; if it persists, DonationAlerts is down",
            status=response.status_code,
        )
    return decode_json(content, max_bytes=_MAX_TOKEN_RESPONSE_BYTES)


async def exchange_code(
    http: httpx.AsyncClient,
    app: OAuthApp,
    code: str,
    *,
    now: Callable[[], datetime] = utc_now,
    http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Trade the callback's ``code`` for tokens; check ``state`` with :func:`state_matches` first.

    Raises :class:`AuthorizationRejected` (bad or used code, wrong client), :class:`Unreachable`,
    :class:`UpstreamError` or :class:`Malformed`.
    """
    form = {
        "grant_type": "authorization_code",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "code": code,
        "redirect_uri": app.redirect_uri,
    }
    body = await _token_request(http, app, form, "authorization_code", http_timeout)
    return parse_token_response(body, now=now())


async def refresh_tokens(
    http: httpx.AsyncClient,
    app: OAuthApp,
    refresh_token: str,
    *,
    now: Callable[[], datetime] = utc_now,
    http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
) -> TokenSet:
    """Get a new access token. Sends exactly the scopes of the original grant, as DonationAlerts requires.

    Raises :class:`AuthorizationRejected` when the grant was revoked (the streamer has to connect again).
    """
    form = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "scope": " ".join(app.scopes),
    }
    body = await _token_request(http, app, form, "refresh_token", http_timeout)
    return parse_token_response(body, now=now(), previous_refresh_token=refresh_token)


class TokenSource(Protocol):
    """Where the API client gets its bearer token, and whom it tells when DonationAlerts refuses it."""

    async def access_token(self) -> str:
        """A token to use now."""
        ...

    async def on_unauthorized(self, rejected: str) -> bool:
        """DonationAlerts answered 401 to ``rejected``: True when a new token is ready for one retry."""
        ...


@dataclass
class StaticToken:
    """A token pasted by the streamer (the direct-token alternative): never refreshed."""

    token: str = field(repr=False)

    async def access_token(self) -> str:
        return self.token

    async def on_unauthorized(self, rejected: str) -> bool:
        return False


class RefreshingToken:
    """An OAuth token kept fresh: refreshed shortly before it expires, and once after a 401.

    ``on_refreshed`` is awaited with every new :class:`TokenSet` so the service can persist it (tokens must
    survive restarts). Concurrent callers share one refresh.
    """

    def __init__(
        self,
        app: OAuthApp,
        tokens: TokenSet,
        http: httpx.AsyncClient,
        *,
        on_refreshed: Callable[[TokenSet], Awaitable[None]] | None = None,
        now: Callable[[], datetime] = utc_now,
        margin: timedelta = DEFAULT_REFRESH_MARGIN,
        http_timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self._app = app
        self._tokens = tokens
        self._http = http
        self._on_refreshed = on_refreshed
        self._now = now
        self._margin = margin
        self._timeout = http_timeout
        self._lock = asyncio.Lock()

    @property
    def tokens(self) -> TokenSet:
        return self._tokens

    async def access_token(self) -> str:
        if self._tokens.expires_within(self._margin, self._now()) and self._tokens.refresh_token:
            async with self._lock:
                if self._tokens.expires_within(self._margin, self._now()):
                    try:
                        await self._refresh()
                    except AuthorizationRejected:
                        raise
                    except DonationAlertsError:
                        if self._tokens.expires_within(timedelta(0), self._now()):
                            raise
                        # the current token still works for a while: use it, refresh on the next call
        return self._tokens.access_token

    async def on_unauthorized(self, rejected: str) -> bool:
        async with self._lock:
            if self._tokens.access_token != rejected:
                return True  # someone else refreshed while this request was in flight
            if not self._tokens.refresh_token:
                return False
            await self._refresh()
            return True

    async def _refresh(self) -> None:
        refresh_token = self._tokens.refresh_token
        if refresh_token is None:
            return
        try:
            fresh = await refresh_tokens(
                self._http, self._app, refresh_token, now=self._now, http_timeout=self._timeout
            )
        except DonationAlertsError as exc:
            log.warning("DonationAlerts token refresh failed: %s", exc)
            raise
        self._tokens = fresh
        log.info("DonationAlerts access token refreshed; it expires at %s", fresh.expires_at.isoformat())
        if self._on_refreshed is not None:
            await self._on_refreshed(fresh)
