"""Ingest's state in JetStream KV: the DonationAlerts cursor, tokens and issued OAuth states."""

from __future__ import annotations

from datetime import datetime

from faststream.nats import NatsBroker
from nats.js.errors import KeyDeletedError, KeyNotFoundError, KeyWrongLastSequenceError

from ovation_bus import key_value, load, save
from ovation_contracts import DonationAlertsTokens, IngestCursor, OAuthState, bus, utc_now

SOURCE = "donationalerts"


class KvSourceStore:
    def __init__(self, broker: NatsBroker) -> None:
        self.broker = broker

    async def load_cursor(self) -> int | None:
        cursor = await load(self.broker, IngestCursor, SOURCE)
        return int(cursor.last_upstream_id) if cursor and cursor.last_upstream_id else None

    async def save_cursor(self, upstream_id: int, created_at: datetime | None) -> None:
        cursor = IngestCursor(
            source=SOURCE, last_upstream_id=str(upstream_id), last_created_at=created_at, updated_at=utc_now()
        )
        await save(self.broker, cursor, SOURCE)

    async def load_tokens(self) -> tuple[DonationAlertsTokens | None, int]:
        kv = await key_value(self.broker, DonationAlertsTokens.BUCKET)
        try:
            entry = await kv.get(DonationAlertsTokens.KEY)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        if not entry.value:
            return None, int(entry.revision or 0)
        return DonationAlertsTokens.model_validate_json(entry.value), int(entry.revision or 0)

    async def save_tokens(self, tokens: DonationAlertsTokens) -> None:
        await save(self.broker, tokens)

    async def delete_tokens(self) -> None:
        kv = await key_value(self.broker, DonationAlertsTokens.BUCKET)
        await kv.delete(DonationAlertsTokens.KEY)

    # OAuth states: issued once, used once -------------------------------------------------------------------------
    async def issue_state(self, state: str, expires_at: datetime) -> None:
        kv = await key_value(self.broker, bus.KV_SECRETS)
        await kv.create(_state_key(state), OAuthState(expires_at=expires_at).model_dump_json().encode())

    async def use_state(self, state: str) -> bool:
        """True exactly once for a state that was issued and has not expired; the state is gone afterwards."""
        if not state.replace("-", "").replace("_", "").isalnum():
            return False
        kv = await key_value(self.broker, bus.KV_SECRETS)
        try:
            entry = await kv.get(_state_key(state))
        except (KeyNotFoundError, KeyDeletedError):
            return False
        if not entry.value:
            return False
        try:
            # Deleting at the revision we read makes the use single even when two callbacks race.
            await kv.delete(_state_key(state), last=entry.revision)
        except KeyWrongLastSequenceError:
            return False
        return OAuthState.model_validate_json(entry.value).expires_at > utc_now()


def _state_key(state: str) -> str:
    return f"oauth-state.{state}"
