"""Where the video service keeps what must survive a restart: generation records and the budget ledger.

``KvRecords`` and ``KvBudget`` use the ``ovation-jobs`` KV bucket; the ledger is changed with compare-and-set, so
replicas sharing it never both take the last slot. ``MemoryRecords`` and ``MemoryBudget`` hold the same in memory
(tests, the benchmark).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError, NoKeysError
from nats.js.kv import KeyValue

from ovation_contracts import VideoBudgetLedger, VideoGeneration, VideoJob, VideoSettings

from . import budget
from .budget import BudgetDecision

log = logging.getLogger(__name__)

Bucket = Callable[[], Awaitable[KeyValue]]


class KvRecords:
    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    async def get(self, job_id: str) -> VideoGeneration | None:
        kv = await self.bucket()
        try:
            entry = await kv.get(VideoGeneration.key_for(job_id))
        except KeyNotFoundError:
            return None
        return VideoGeneration.model_validate_json(entry.value) if entry.value else None

    async def put(self, record: VideoGeneration) -> None:
        kv = await self.bucket()
        await kv.put(VideoGeneration.key_for(record.job_id), record.model_dump_json().encode())

    async def all(self) -> list[VideoGeneration]:
        """Every generation record (one read per job: fine for a library of hundreds or a few thousand)."""
        kv = await self.bucket()
        try:
            keys = (
                await kv.keys()
            )  # nats-py's ``filters`` match substrings, not subjects: filter here instead
        except NoKeysError:
            return []
        records = []
        for key in (k for k in keys if k.startswith(VideoGeneration.KEY_PREFIX)):
            try:
                entry = await kv.get(key)
            except KeyNotFoundError:
                continue
            if entry.value:
                records.append(VideoGeneration.model_validate_json(entry.value))
        return records


class KvBudget:
    """The spend budget's ledger in KV, changed only by compare-and-set."""

    ATTEMPTS = 20

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    async def _change(
        self, change: Callable[[VideoBudgetLedger], tuple[BudgetDecision, VideoBudgetLedger]]
    ) -> BudgetDecision:
        kv = await self.bucket()
        key = VideoBudgetLedger.KEY
        for _ in range(self.ATTEMPTS):
            revision: int | None
            try:
                entry = await kv.get(key)
                revision = entry.revision
                ledger = (
                    VideoBudgetLedger.model_validate_json(entry.value) if entry.value else VideoBudgetLedger()
                )
            except KeyNotFoundError:
                revision, ledger = None, VideoBudgetLedger()
            decision, changed = change(ledger)
            if changed == ledger:
                return decision
            data = changed.model_dump_json().encode()
            try:
                if revision is None:
                    await kv.create(key, data)
                else:
                    await kv.update(key, data, last=revision)
            except KeyWrongLastSequenceError:
                log.debug("the budget ledger changed meanwhile; trying again")
                continue
            return decision
        raise RuntimeError(f"the budget ledger kept changing during {self.ATTEMPTS} attempts to update it")

    async def reserve(
        self, job: VideoJob, settings: VideoSettings, clock: Callable[[], datetime]
    ) -> BudgetDecision:
        """Reserve at the time of each attempt: a retry after another writer's change reads the clock again."""
        return await self._change(lambda ledger: budget.reserve(ledger, job, settings, clock()))

    async def release(self, job: VideoJob) -> None:
        await self._change(lambda ledger: (BudgetDecision(True), budget.release(ledger, job)))

    async def ledger(self) -> VideoBudgetLedger:
        kv = await self.bucket()
        try:
            entry = await kv.get(VideoBudgetLedger.KEY)
        except KeyNotFoundError:
            return VideoBudgetLedger()
        return VideoBudgetLedger.model_validate_json(entry.value) if entry.value else VideoBudgetLedger()


class MemoryRecords:
    def __init__(self) -> None:
        self.records: dict[str, VideoGeneration] = {}

    async def get(self, job_id: str) -> VideoGeneration | None:
        return self.records.get(job_id)

    async def put(self, record: VideoGeneration) -> None:
        self.records[record.job_id] = record

    async def all(self) -> list[VideoGeneration]:
        return list(self.records.values())


class MemoryBudget:
    def __init__(self, ledger: VideoBudgetLedger | None = None) -> None:
        self.ledger = ledger or VideoBudgetLedger()

    async def reserve(
        self, job: VideoJob, settings: VideoSettings, clock: Callable[[], datetime]
    ) -> BudgetDecision:
        decision, self.ledger = budget.reserve(self.ledger, job, settings, clock())
        return decision

    async def release(self, job: VideoJob) -> None:
        self.ledger = budget.release(self.ledger, job)
