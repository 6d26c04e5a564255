"""What the gateway can ask ingest to do (control.ingest.*): sources, DonationAlerts login, test donations, chat."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import httpx
from faststream.nats import NatsBroker

from ovation_bus import PublishFailed, publish, respond
from ovation_contracts import (
    ChatEvent,
    ControlReply,
    DisconnectSource,
    Donation,
    DonationAlertsTokens,
    Money,
    OAuthFinish,
    OAuthStart,
    SetAccessToken,
    SourcesQuery,
    SubmitChat,
    SubmitDonation,
    TestConnection,
    bus,
    global_id,
    utc_now,
)

from .donationalerts import (
    SCOPES,
    DonationAlertsApi,
    DonationAlertsError,
    authorize_url,
    exchange_code,
    new_state,
)
from .donationalerts_source import DonationAlertsSource
from .service import envelope_for
from .status import SourceTracker
from .store import KvSourceStore

log = logging.getLogger(__name__)

API_SOURCE = "api"
INVALID_STATE = "invalid_state"


class IngestCommands:
    def __init__(
        self,
        broker: NatsBroker,
        store: KvSourceStore,
        source: DonationAlertsSource,
        trackers: list[SourceTracker],
        http: httpx.AsyncClient,
    ) -> None:
        self.broker = broker
        self.store = store
        self.source = source
        self.trackers = trackers
        self.http = http

    def register(self) -> None:
        service = bus.Service.INGEST
        respond(self.broker, service, SourcesQuery, self.sources)
        respond(self.broker, service, TestConnection, self.check_connection)
        respond(self.broker, service, OAuthStart, self.oauth_start)
        respond(self.broker, service, OAuthFinish, self.oauth_finish)
        respond(self.broker, service, SetAccessToken, self.set_token)
        respond(self.broker, service, DisconnectSource, self.disconnect)
        respond(self.broker, service, SubmitDonation, self.submit_donation)
        respond(self.broker, service, SubmitChat, self.submit_chat)

    async def sources(self, _: SourcesQuery) -> ControlReply:
        return ControlReply(
            ok=True, data={"sources": [t.snapshot().model_dump(mode="json") for t in self.trackers]}
        )

    async def check_connection(self, _: TestConnection) -> ControlReply:
        credentials = await self.source.credentials()
        if credentials is None:
            return ControlReply(
                ok=False, message="DonationAlerts is not connected: use Connect in the dashboard."
            )
        api = DonationAlertsApi(
            credentials.source,
            base_url=self.source.settings.api_base,
            http=self.http,
            limiter=self.source.limiter,
        )
        try:
            user = await api.user()
        except DonationAlertsError as exc:
            return ControlReply(ok=False, message=f"DonationAlerts answered: {exc}")
        return ControlReply(
            ok=True,
            message=f"Connected to DonationAlerts as {user.name or user.code or user.id}.",
            data={"user_id": user.id, "name": user.name},
        )

    async def oauth_start(self, _: OAuthStart) -> ControlReply:
        app = self.source.oauth_app()
        if app is None:
            return ControlReply(
                ok=False,
                message=(
                    "DonationAlerts login is not set up: create an application at "
                    "https://www.donationalerts.com/application/clients with the redirect URI "
                    f"{self.source.settings.redirect_uri}, then set DONATIONALERTS_CLIENT_ID and "
                    "DONATIONALERTS_CLIENT_SECRET (or paste a token instead)."
                ),
            )
        state = new_state()
        await self.store.issue_state(state, utc_now() + timedelta(seconds=self.source.settings.state_ttl))
        return ControlReply(ok=True, data={"authorize_url": authorize_url(app, state)})

    async def oauth_finish(self, command: OAuthFinish) -> ControlReply:
        if not await self.store.use_state(command.state):
            log.warning("refused a DonationAlerts callback with an unknown, used or expired state")
            return ControlReply(
                ok=False,
                message="This DonationAlerts sign-in link is invalid, expired or already used: start again from the dashboard.",
                data={"reason": INVALID_STATE},
            )
        app = self.source.oauth_app()
        if app is None:
            return ControlReply(
                ok=False, message="DonationAlerts login is not set up (DONATIONALERTS_CLIENT_ID/SECRET)."
            )
        try:
            tokens = await exchange_code(self.http, app, command.code)
        except DonationAlertsError as exc:
            return ControlReply(
                ok=False,
                message=f"DonationAlerts refused the sign-in: {exc}. Start again from the dashboard.",
            )
        await self.store.save_tokens(
            DonationAlertsTokens(
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
                scope=" ".join(SCOPES),
            )
        )
        log.info("DonationAlerts connected through OAuth")
        return ControlReply(ok=True, message="DonationAlerts is connected.")

    async def set_token(self, command: SetAccessToken) -> ControlReply:
        await self.store.save_tokens(DonationAlertsTokens(access_token=command.access_token))
        log.info("DonationAlerts token set through the API")
        return ControlReply(ok=True, message="Token saved; ingest is connecting with it.")

    async def disconnect(self, _: DisconnectSource) -> ControlReply:
        await self.store.delete_tokens()
        log.info("DonationAlerts disconnected through the API")
        return ControlReply(ok=True, message="DonationAlerts is disconnected; its tokens are deleted.")

    async def submit_donation(self, command: SubmitDonation) -> ControlReply:
        now = utc_now()
        upstream_id = uuid.uuid4().hex
        donation = Donation(
            id=global_id(API_SOURCE, upstream_id),
            source=API_SOURCE,
            upstream_id=upstream_id,
            donor_name=command.donor,
            message=command.message,
            amount=Money(amount=command.amount, currency=command.currency),
            created_at=now,
            received_at=now,
            is_test=command.is_test,
            persona=command.persona,
        )
        return await self._publish(donation)

    async def submit_chat(self, command: SubmitChat) -> ControlReply:
        now = utc_now()
        upstream_id = uuid.uuid4().hex
        amount = None
        if command.amount is not None:
            amount = Money(amount=command.amount, currency=command.currency or "RUB")
        event = ChatEvent(
            id=global_id(API_SOURCE, upstream_id),
            kind=command.kind,
            source=API_SOURCE,
            upstream_id=upstream_id,
            author=command.author,
            message=command.message,
            amount=amount,
            gift_name=command.gift_name,
            gift_count=command.gift_count,
            persona=command.persona,
            created_at=now,
            received_at=now,
        )
        return await self._publish(event)

    async def _publish(self, event: Donation | ChatEvent) -> ControlReply:
        envelope, subject = envelope_for(event)
        try:
            await publish(self.broker, envelope, subject, deadline=4.0)
        except PublishFailed as exc:
            return ControlReply(ok=False, message=f"Could not store it: {exc}")
        return ControlReply(ok=True, message="Published.", data={"id": event.id})
