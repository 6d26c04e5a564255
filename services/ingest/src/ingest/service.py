"""What ingest does with an event from any source: publish it once, as a typed event, without losing it."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from ovation_contracts import ChatEvent, Donation, Envelope, SimulatorSettings, bus, wrap

from .simulator import SOURCE, Simulator

log = logging.getLogger(__name__)

Publish = Callable[[Envelope[Donation] | Envelope[ChatEvent], str], Awaitable[object]]
LoadSettings = Callable[[], Awaitable[SimulatorSettings]]


def envelope_for(event: Donation | ChatEvent) -> tuple[Envelope[Donation] | Envelope[ChatEvent], str]:
    """The envelope (its id is the event's global id, hence the ``Nats-Msg-Id``) and the subject of an event."""
    if isinstance(event, Donation):
        return wrap(event, id=event.id, correlation_id=event.id), bus.donation_received(event.source)
    return wrap(event, id=event.id, correlation_id=event.id), bus.chat_received(
        event.kind.value, event.source
    )


async def run_simulator(
    publish: Publish,
    load_settings: LoadSettings,
    *,
    rng: random.Random,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    settings_refresh: float = 5.0,
) -> None:
    """Send simulated events forever at the configured rate, picking up setting changes within ``settings_refresh`` s.

    Each event is published (and retried) until JetStream has it before the next one is made, so an outage pauses
    the simulator instead of piling up events. The first event goes out at once, so a demo shows something at once.
    """
    settings = await load_settings()
    simulator = Simulator(settings, rng)
    loop = asyncio.get_running_loop()
    refreshed = loop.time()
    next_burst = loop.time() + settings.burst_every_seconds if settings.burst_every_seconds else None
    first = True
    while True:
        if loop.time() - refreshed >= settings_refresh:
            settings = await load_settings()
            simulator.settings = settings
            refreshed = loop.time()
            if settings.burst_every_seconds and next_burst is None:
                next_burst = loop.time() + settings.burst_every_seconds
        delay = simulator.next_delay() if settings.enabled else None
        if delay is None:
            await asyncio.sleep(min(1.0, settings_refresh))
            continue
        await asyncio.sleep(0 if first else delay)
        first = False
        count = 1
        if next_burst is not None and settings.burst_size and loop.time() >= next_burst:
            count += settings.burst_size
            next_burst = loop.time() + settings.burst_every_seconds
            log.info("simulated burst of %d donations", settings.burst_size)
        for _ in range(count):
            event = simulator.next_event(clock())
            envelope, subject = envelope_for(event)
            await publish(envelope, subject)
            log.debug("simulated %s", event.id, extra={"source": SOURCE})
