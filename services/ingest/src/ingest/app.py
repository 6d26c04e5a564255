"""Ingest's composition root: the runtime, the sources, the HTTP side. Everything that moves is visible here."""

from __future__ import annotations

import random

from fastapi import FastAPI

from ovation_bus import ServiceRuntime, load, publish, save
from ovation_contracts import ChatEvent, Donation, Envelope, SimulatorSettings, bus

from .config import IngestSettings
from .service import run_simulator


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    runtime = ServiceRuntime(bus.Service.INGEST)
    broker = runtime.broker

    async def publish_event(envelope: Envelope[Donation] | Envelope[ChatEvent], subject: str) -> object:
        return await publish(broker, envelope, subject)

    async def simulator_settings() -> SimulatorSettings:
        stored = await load(broker, SimulatorSettings)
        if stored is None:
            stored = SimulatorSettings(
                **(
                    {"donations_per_minute": settings.simulator_rate}
                    if settings.simulator_rate is not None
                    else {}
                )
            )
            await save(broker, stored)
        return stored

    if settings.simulator:

        @runtime.background("simulator")
        async def simulator() -> None:
            await run_simulator(publish_event, simulator_settings, rng=random.Random(settings.simulator_seed))

    return runtime.http_app(title="Ovation ingest")
