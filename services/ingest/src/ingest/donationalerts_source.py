"""DonationAlerts as a source: every donation published exactly once, in upstream order, whatever happens.

How "exactly once" holds:
- A cursor (the last published upstream id) lives in KV and moves only after JetStream acknowledged the donation.
- On start and on every (re)connect of the realtime channel, REST catch-up publishes everything after the cursor,
  oldest first, before any push is trusted; pushes wait meanwhile (one lock orders catch-up and pushes).
- While the realtime channel is down, REST is polled every ``poll_interval`` seconds.
- A delivery at or below the cursor is a duplicate (an overlap of REST and websocket, a repeated push) and is
  skipped; the ``Nats-Msg-Id`` ``donationalerts:<id>`` catches the rest inside JetStream's window.
- A payload that cannot be read goes to ``dlq.ingest`` with the reason; the cursor passes it when its id is known.
- Without a stored cursor (first connection ever), the cursor starts at the newest existing donation: history is not
  replayed as new reactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from ovation_bus import cancel_and_wait
from ovation_contracts import ChatEvent, Donation, DonationAlertsTokens, Envelope, SourceState

from .config import DonationAlertsSettings
from .donationalerts import (
    Connected,
    DonationAlertsApi,
    DonationAlertsError,
    DonationAlertsRealtime,
    DonationParser,
    DonationReceived,
    OAuthApp,
    RateLimiter,
    RefreshingToken,
    Rejected,
    StaticToken,
    TokenSet,
    TokenSource,
    Unauthorized,
)
from .service import envelope_for
from .status import SourceTracker

log = logging.getLogger(__name__)

SOURCE = "donationalerts"
REAUTHORISE = "connect DonationAlerts again from the dashboard (or set a new token)"

Publish = Callable[[Envelope[Donation] | Envelope[ChatEvent], str], Awaitable[object]]


class DeadLetter(Protocol):
    async def __call__(self, *, data: bytes, reason: str, key: str) -> None: ...


class SourceStore(Protocol):
    """Where the source keeps what must survive a restart (KV in the service, memory in unit tests)."""

    async def load_cursor(self) -> int | None: ...
    async def save_cursor(self, upstream_id: int, created_at: datetime | None) -> None: ...
    async def load_tokens(self) -> tuple[DonationAlertsTokens | None, int]:
        """The stored tokens and a revision that changes whenever they are replaced or deleted."""
        ...

    async def save_tokens(self, tokens: DonationAlertsTokens) -> None: ...


@dataclass
class Credentials:
    source: TokenSource
    revision: int
    description: str


class DonationAlertsSource:
    def __init__(
        self,
        settings: DonationAlertsSettings,
        store: SourceStore,
        *,
        publish: Publish,
        dead_letter: DeadLetter,
        tracker: SourceTracker,
        http: httpx.AsyncClient,
        token_check_interval: float = 2.0,
    ) -> None:
        self.settings = settings
        self.store = store
        self.publish = publish
        self.dead_letter = dead_letter
        self.tracker = tracker
        self.http = http
        self.parser = DonationParser(user_currency=settings.user_currency)
        self.limiter = (
            RateLimiter()
        )  # one per DonationAlerts application, shared by REST, catch-up and polling
        self.token_check_interval = token_check_interval
        self.cursor: int | None = None
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        tracker.set(SourceState.CONNECTING, "starting")

    # Credentials ------------------------------------------------------------------------------------------------
    def oauth_app(self) -> OAuthApp | None:
        if not self.settings.oauth_configured:
            return None
        assert self.settings.client_id is not None
        assert self.settings.client_secret is not None
        return OAuthApp(
            client_id=self.settings.client_id,
            client_secret=self.settings.client_secret.get_secret_value(),
            redirect_uri=self.settings.redirect_uri,
            base_url=self.settings.oauth_base,
        )

    async def credentials(self) -> Credentials | None:
        stored, revision = await self.store.load_tokens()
        if stored is not None:
            app = self.oauth_app()
            if stored.refresh_token and stored.expires_at and app is not None:
                tokens = TokenSet(stored.access_token, stored.refresh_token, stored.expires_at)
                return Credentials(
                    RefreshingToken(app, tokens, self.http, on_refreshed=self._refreshed), revision, "OAuth"
                )
            return Credentials(StaticToken(stored.access_token), revision, "a stored token")
        if self.settings.access_token is not None:
            return Credentials(
                StaticToken(self.settings.access_token.get_secret_value()),
                revision,
                "DONATIONALERTS_ACCESS_TOKEN",
            )
        return None

    async def _refreshed(self, tokens: TokenSet) -> None:
        current, _ = await self.store.load_tokens()
        await self.store.save_tokens(
            DonationAlertsTokens(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
                scope=current.scope if current else "",
            )
        )
        log.info("DonationAlerts token refreshed; it now expires at %s", tokens.expires_at.isoformat())

    # The run ----------------------------------------------------------------------------------------------------
    async def run(self) -> None:
        """Forever: wait for credentials, stream donations, start over when the credentials change."""
        self.cursor = await self.store.load_cursor()
        while True:
            credentials = await self.credentials()
            if credentials is None:
                self.tracker.set(
                    SourceState.DISABLED, "not connected: connect DonationAlerts from the dashboard"
                )
                await self._wait_for_new_tokens(None)
                continue
            self.tracker.set(SourceState.CONNECTING, f"connecting with {credentials.description}")
            api = DonationAlertsApi(
                credentials.source, base_url=self.settings.api_base, http=self.http, limiter=self.limiter
            )
            streaming = asyncio.create_task(self._stream(api))
            watching = asyncio.create_task(self._wait_for_new_tokens(credentials.revision))
            try:
                done, _ = await asyncio.wait({streaming, watching}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (streaming, watching):
                    await cancel_and_wait(task)
            if streaming in done and isinstance(streaming.exception(), Unauthorized):
                self.tracker.error("unauthorized")
                self.tracker.set(SourceState.NEEDS_REAUTHORISATION, f"{streaming.exception()}; {REAUTHORISE}")
                log.error("DonationAlerts refused the credentials: %s", streaming.exception())
                await self._wait_for_new_tokens(credentials.revision)
            elif streaming in done and streaming.exception() is not None:
                log.error("DonationAlerts source stopped unexpectedly: %r; restarting", streaming.exception())
                await asyncio.sleep(1.0)
            else:
                log.info("DonationAlerts credentials changed; reconnecting")

    async def _wait_for_new_tokens(self, revision: int | None) -> None:
        """Return once the stored tokens differ from ``revision`` (with None: once any are stored)."""
        while True:
            stored, current = await self.store.load_tokens()
            if (stored is not None) if revision is None else (current != revision):
                return
            await asyncio.sleep(self.token_check_interval)

    async def _stream(self, api: DonationAlertsApi) -> None:
        realtime = DonationAlertsRealtime(api, self.parser, ws_url=self.settings.ws_url)
        poller = asyncio.create_task(self._poll_while_disconnected(api))
        try:
            async with contextlib.aclosing(realtime.events()) as events:
                async for event in events:
                    if isinstance(event, Connected):
                        self.tracker.set(
                            SourceState.CATCHING_UP, f"catching up for {event.user.name or event.user.id}"
                        )
                        await self.catch_up(api)
                        self._connected.set()
                        self.tracker.set(SourceState.CONNECTED, f"realtime, channel {event.channel}")
                    elif isinstance(event, DonationReceived):
                        async with self._lock:
                            await self._accept(event)
                    elif isinstance(event, Rejected):
                        # A push we cannot read may still be readable through REST: catch up, which dead-letters it
                        # only if REST cannot read it either.
                        self.tracker.error("malformed_push")
                        await self.catch_up(api)
                    else:
                        self._connected.clear()
                        self.tracker.error("disconnected")
                        self.tracker.set(
                            SourceState.POLLING,
                            f"realtime down ({event.reason}); polling REST every {self.settings.poll_interval:g} s",
                        )
        finally:
            self._connected.clear()
            await cancel_and_wait(poller)

    async def _poll_while_disconnected(self, api: DonationAlertsApi) -> None:
        while True:
            await asyncio.sleep(self.settings.poll_interval)
            if self._connected.is_set():
                continue
            try:
                await self.catch_up(api)
            except Unauthorized:
                raise
            except DonationAlertsError as exc:
                self.tracker.error("poll")
                log.warning("DonationAlerts REST poll failed: %s", exc)

    # Exactly once ------------------------------------------------------------------------------------------------
    async def catch_up(self, api: DonationAlertsApi) -> int:
        """Publish everything after the cursor, oldest first; returns how many were published."""
        async with self._lock:
            if self.cursor is None:
                newest = await api.newest_donation_id()
                self.cursor = newest if newest is not None else 0
                await self.store.save_cursor(self.cursor, None)
                log.info(
                    "first DonationAlerts connection: starting after donation %s, history is not replayed",
                    newest,
                )
                return 0
            result = await api.donations_since(self.cursor, self.parser)
            before = self.tracker.published
            for item in result.items:
                await self._accept(item)
            return self.tracker.published - before

    async def _accept(self, item: DonationReceived | Rejected) -> None:
        """Publish one delivery unless it is a duplicate; the caller holds the lock."""
        upstream_id = item.upstream_id
        if upstream_id is not None and self.cursor is not None and upstream_id <= self.cursor:
            self.tracker.duplicate()
            return
        if isinstance(item, Rejected):
            self.tracker.error("malformed")
            await self.dead_letter(
                data=item.excerpt.encode(),
                reason=f"unreadable DonationAlerts donation: {item.error}",
                key=item.key,
            )
        else:
            envelope, subject = envelope_for(item.donation)
            await self.publish(envelope, subject)
            self.tracker.published_one(item.donation.created_at)
        if upstream_id is not None:
            self.cursor = upstream_id
            created = item.donation.created_at if isinstance(item, DonationReceived) else None
            await self.store.save_cursor(upstream_id, created)
