"""The gatekeeper's composition root: consumers, commands, the moderation service. Everything that moves is here."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from ovation_bus import Consumer, ServiceRuntime, load, publish, respond, subscribe
from ovation_contracts import (
    ApprovalDecision,
    ApprovalsQuery,
    ChatEvent,
    ControlReply,
    ConvertAmount,
    Donation,
    Envelope,
    ModerationRequest,
    ModerationSettings,
    RoutingRules,
    bus,
)

from .config import GatekeeperSettings
from .currency import ExchangeRates, to_base
from .moderation import Moderator
from .screening import Screener
from .second_opinion import LlmSecondOpinion
from .service import Gatekeeper
from .store import GatekeeperStore

SERVICE = bus.Service.GATEKEEPER


def create_app(settings: GatekeeperSettings | None = None) -> FastAPI:
    settings = settings or GatekeeperSettings()
    runtime = ServiceRuntime(SERVICE)
    broker = runtime.broker
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    store = GatekeeperStore(broker)

    async def load_rules() -> RoutingRules:
        return await load(broker, RoutingRules) or RoutingRules()

    async def load_moderation() -> ModerationSettings:
        return await load(broker, ModerationSettings) or ModerationSettings()

    async def publish_message(envelope: Envelope[Any], subject: str) -> object:
        return await publish(broker, envelope, subject)

    rates = ExchangeRates(
        http,
        url=settings.rates_url,
        ttl=settings.rates_ttl,
        retry_after_failure=min(300.0, settings.rates_ttl),
        load_cache=store.load_rates,
        save_cache=store.save_rates,
    )
    runtime.health.add_check("rates", rates.check)
    second_opinion = LlmSecondOpinion(
        http, base_url=settings.ollama_base_url, model=settings.ollama_model, timeout=settings.ollama_timeout
    )
    gatekeeper = Gatekeeper(
        Screener(Moderator(), rates, load_rules, load_moderation, second_opinion), store, publish_message
    )

    # Consumers: every donation and every chat event, once each.
    async def on_donation(envelope: Envelope[Donation]) -> None:
        await gatekeeper.handle(envelope.payload)

    async def on_chat(envelope: Envelope[ChatEvent]) -> None:
        await gatekeeper.handle(envelope.payload)

    subscribe(
        broker,
        service=SERVICE,
        consumer=Consumer(bus.DONATIONS_RECEIVED, bus.durable(SERVICE, "donations")),
        model=Donation,
        handler=on_donation,
    )
    subscribe(
        broker,
        service=SERVICE,
        consumer=Consumer(bus.CHAT_RECEIVED, bus.durable(SERVICE, "chat")),
        model=ChatEvent,
        handler=on_chat,
    )

    # Commands.
    async def moderate(request: ModerationRequest) -> Any:
        return await gatekeeper.moderate(request, await load_moderation())

    async def convert(command: ConvertAmount) -> ControlReply:
        rules = await load_rules()
        amount, conversion = await to_base(command.amount, rules.base_currency, rates)
        return ControlReply(
            ok=True, data={**amount.model_dump(mode="json"), "source": conversion.source.value}
        )

    async def approvals(_: ApprovalsQuery) -> ControlReply:
        return await gatekeeper.pending()

    respond(broker, SERVICE, ModerationRequest, moderate, subject=bus.MODERATION_CHECK)
    respond(broker, SERVICE, ConvertAmount, convert)
    respond(broker, SERVICE, ApprovalsQuery, approvals)
    respond(broker, SERVICE, ApprovalDecision, gatekeeper.decide)
    return runtime.http_app(title="Ovation gatekeeper")
