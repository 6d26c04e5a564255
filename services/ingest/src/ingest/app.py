"""Ingest's composition root: the runtime, the sources, the commands. Everything that moves is visible here."""

from __future__ import annotations

import random

import httpx
from fastapi import FastAPI

from ovation_bus import ServiceRuntime, dead_letter, load_or_create, publish
from ovation_contracts import ChatEvent, Donation, Envelope, SimulatorSettings, SourceState, bus

from .commands import IngestCommands
from .config import DonationAlertsSettings, IngestSettings
from .donationalerts_source import SOURCE as DONATIONALERTS
from .donationalerts_source import DonationAlertsSource
from .service import run_simulator
from .simulator import SOURCE as SIMULATOR
from .status import SourceTracker
from .store import KvSourceStore


def create_app(
    settings: IngestSettings | None = None, da_settings: DonationAlertsSettings | None = None
) -> FastAPI:
    settings = settings or IngestSettings()
    da_settings = da_settings or DonationAlertsSettings()
    runtime = ServiceRuntime(bus.Service.INGEST)
    broker = runtime.broker
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))

    async def publish_event(envelope: Envelope[Donation] | Envelope[ChatEvent], subject: str) -> object:
        return await publish(broker, envelope, subject)

    async def dead_letter_upstream(*, data: bytes, reason: str, key: str) -> None:
        await dead_letter(
            broker,
            service=bus.Service.INGEST,
            data=data,
            reason=reason,
            msg_id=f"dlq:{key}",
            subject=bus.donation_received(DONATIONALERTS),
            correlation_id=key,
        )

    # Sources --------------------------------------------------------------------------------------------------
    store = KvSourceStore(broker)
    donationalerts = DonationAlertsSource(
        da_settings,
        store,
        publish=publish_event,
        dead_letter=dead_letter_upstream,
        tracker=SourceTracker(DONATIONALERTS),
        http=http,
    )
    simulator_tracker = SourceTracker(
        SIMULATOR, SourceState.CONNECTED if settings.simulator else SourceState.DISABLED, "demo donations"
    )
    for tracker in (donationalerts.tracker, simulator_tracker):
        runtime.health.add_check(tracker.source, tracker.check)

    @runtime.background("donationalerts")
    async def run_donationalerts() -> None:
        await donationalerts.run()

    async def simulator_settings() -> SimulatorSettings:
        overrides = (
            {"donations_per_minute": settings.simulator_rate} if settings.simulator_rate is not None else {}
        )
        return await load_or_create(broker, SimulatorSettings.model_validate(overrides))

    if settings.simulator:

        @runtime.background("simulator")
        async def simulator() -> None:
            await run_simulator(publish_event, simulator_settings, rng=random.Random(settings.simulator_seed))

    # Commands from the gateway ----------------------------------------------------------------------------------
    IngestCommands(
        broker, store, donationalerts, [donationalerts.tracker, simulator_tracker], http
    ).register()

    return runtime.http_app(title="Ovation ingest")
