"""The simulator makes realistic, valid events at the configured rate and mix."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ingest.service import envelope_for, run_simulator
from ingest.simulator import AMOUNT_RANGES, SOURCE, Simulator, _lines
from ovation_contracts import ChatEvent, Donation, Envelope, SimulatorSettings, bus

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def simulator(**settings: object) -> Simulator:
    return Simulator(SimulatorSettings.model_validate(settings), random.Random(42))


def test_donations_are_valid_contracts_with_stable_global_ids() -> None:
    sim = simulator()
    donations = [sim.donation(NOW) for _ in range(200)]
    assert all(d.id == f"{SOURCE}:{d.upstream_id}" for d in donations)
    assert len({d.id for d in donations}) == 200


def test_amounts_look_like_real_donations_in_each_currency() -> None:
    sim = simulator()
    for currency, (low, high, step) in AMOUNT_RANGES.items():
        for _ in range(50):
            money = sim.amount(currency)
            assert money.currency == currency
            assert isinstance(money.amount, Decimal)
            assert low <= money.amount <= high + step
            assert money.amount % step == 0


def test_language_and_currency_mix_follow_the_settings() -> None:
    sim = simulator(russian_share=1.0, currencies={"KZT": 1.0})
    donations = [sim.donation(NOW) for _ in range(100)]
    assert {d.amount.currency for d in donations} == {"KZT"}
    russian = set(_lines("messages_ru.txt")) | {""}
    assert all(d.message in russian for d in donations)


def test_harmful_share_one_sends_only_messages_moderation_must_catch() -> None:
    sim = simulator(harmful_share=1.0)
    harmful = set(_lines("harmful_en.txt")) | set(_lines("harmful_ru.txt"))
    assert all(sim.donation(NOW).message in harmful for _ in range(50))


def test_chat_share_produces_chat_superchats_and_gifts() -> None:
    sim = simulator(chat_share=1.0)
    events = [sim.next_event(NOW) for _ in range(300)]
    assert all(isinstance(e, ChatEvent) for e in events)
    kinds = Counter(e.kind for e in events if isinstance(e, ChatEvent))
    assert set(kinds) == {"chat", "superchat", "gift"}


def test_zero_rate_means_no_events() -> None:
    assert simulator(donations_per_minute=0).next_delay() is None


def test_mean_delay_matches_the_rate() -> None:
    sim = simulator(donations_per_minute=60)
    delays = [sim.next_delay() or 0 for _ in range(5000)]
    assert sum(delays) / len(delays) == pytest.approx(1.0, rel=0.1)


def test_envelope_id_is_the_global_id_and_subject_names_the_source() -> None:
    donation = simulator().donation(NOW)
    envelope, subject = envelope_for(donation)
    assert envelope.id == envelope.correlation_id == donation.id
    assert subject == bus.donation_received("simulator")
    chat = simulator(chat_share=1.0).chat_event(NOW)
    envelope, subject = envelope_for(chat)
    assert subject == bus.chat_received(chat.kind.value, "simulator")


async def test_run_simulator_publishes_the_first_donation_at_once_then_a_burst() -> None:
    published: list[tuple[Envelope[Donation] | Envelope[ChatEvent], str]] = []
    settings = SimulatorSettings(donations_per_minute=6000, burst_size=5, burst_every_seconds=0.05)

    async def publish(envelope: Envelope[Donation] | Envelope[ChatEvent], subject: str) -> None:
        published.append((envelope, subject))

    async def load() -> SimulatorSettings:
        return settings

    task = asyncio.create_task(run_simulator(publish, load, rng=random.Random(1)))
    await asyncio.sleep(0.01)
    assert published, "the first donation must not wait for the rate"
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(published) >= 10
    assert len({e.id for e, _ in published}) == len(published)


async def test_run_simulator_picks_up_a_new_rate_without_restarting() -> None:
    published: list[str] = []
    current = {"settings": SimulatorSettings(enabled=False)}

    async def publish(envelope: Envelope[Donation] | Envelope[ChatEvent], subject: str) -> None:
        published.append(envelope.id)

    async def load() -> SimulatorSettings:
        return current["settings"]

    task = asyncio.create_task(run_simulator(publish, load, rng=random.Random(1), settings_refresh=0.05))
    await asyncio.sleep(0.2)
    assert published == []
    current["settings"] = SimulatorSettings(donations_per_minute=6000)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert published
