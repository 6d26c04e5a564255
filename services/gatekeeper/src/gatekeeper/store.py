"""The gatekeeper's state in KV: one decision per donation, the approval queue, the last good exchange rates."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from faststream.nats import NatsBroker
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError

from ovation_bus import key_value
from ovation_contracts import ScreenedDonation, bus

from .currency import RateTable

RATES_KEY = "exchange-rates"


def _key(prefix: str, donation_id: str) -> str:
    # Donation ids hold ':' which KV keys may not; a digest is unambiguous and fixed-length.
    return f"{prefix}.{hashlib.sha256(donation_id.encode()).hexdigest()[:40]}"


class GatekeeperStore:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def decision(self, donation_id: str) -> ScreenedDonation | None:
        kv = await key_value(self.broker, bus.KV_SCREENINGS)
        try:
            entry = await kv.get(_key("screened", donation_id))
        except (KeyNotFoundError, KeyDeletedError):
            return None
        return ScreenedDonation.model_validate_json(entry.value) if entry.value else None

    async def keep_decision(self, screened: ScreenedDonation) -> ScreenedDonation:
        """Store the decision unless one exists already (a replica or an earlier delivery); return the one kept."""
        kv = await key_value(self.broker, bus.KV_SCREENINGS)
        try:
            await kv.create(_key("screened", screened.donation_id), screened.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            existing = await self.decision(screened.donation_id)
            if existing is not None:
                return existing
            raise
        return screened

    async def replace_decision(self, screened: ScreenedDonation) -> None:
        kv = await key_value(self.broker, bus.KV_SCREENINGS)
        await kv.put(_key("screened", screened.donation_id), screened.model_dump_json().encode())

    # Approval queue --------------------------------------------------------------------------------------------
    async def add_pending(self, screened: ScreenedDonation) -> None:
        kv = await key_value(self.broker, bus.KV_QUEUES)
        await kv.put(_key("approval", screened.donation_id), screened.model_dump_json().encode())

    async def pending(self) -> list[ScreenedDonation]:
        kv = await key_value(self.broker, bus.KV_QUEUES)
        try:
            keys = await kv.keys()  # nats-py's filters are substrings (and warn on every call): filter here
        except NoKeysError:
            return []
        waiting = []
        for key in (k for k in keys if k.startswith("approval.")):
            try:
                entry = await kv.get(key)
            except (KeyNotFoundError, KeyDeletedError):
                continue
            if entry.value:
                waiting.append(ScreenedDonation.model_validate_json(entry.value))
        return waiting

    async def take_pending(self, donation_id: str) -> ScreenedDonation | None:
        """Remove a waiting donation from the queue exactly once (two moderators clicking at once: one wins)."""
        kv = await key_value(self.broker, bus.KV_QUEUES)
        key = _key("approval", donation_id)
        try:
            entry = await kv.get(key)
            await kv.delete(key, last=entry.revision)
        except (KeyNotFoundError, KeyDeletedError, KeyWrongLastSequenceError):
            return None
        return ScreenedDonation.model_validate_json(entry.value) if entry.value else None

    # Rates cache -----------------------------------------------------------------------------------------------
    async def load_rates(self) -> RateTable | None:
        kv = await key_value(self.broker, bus.KV_SETTINGS)
        try:
            entry = await kv.get(RATES_KEY)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        try:
            return RateTable.from_json(entry.value) if entry.value else None
        except (ValueError, KeyError, json.JSONDecodeError):
            return None

    async def save_rates(self, table: RateTable) -> None:
        kv = await key_value(self.broker, bus.KV_SETTINGS)
        await kv.put(RATES_KEY, table.to_json().encode())


def as_data(screened: list[ScreenedDonation]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") for s in screened]
