"""Fixtures for the voice tests: the fake Boson on a loopback port, and the show wired to it in memory."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from voice.boson import BosonSpeech, SpeechOptions
from voice.keys import KeyPool
from voice.offline import Espeak
from voice.openai_api import ChatCompletions
from voice.personas import BUNDLED, PersonaBook
from voice.show import ModerationUnavailable, Show, ShowOptions
from voice.state import MemoryShowStore
from voice.studio import Studio
from voice.writer import Writer

from ovation_artifacts import LocalArtifactStore
from ovation_contracts import (
    Category,
    Decision,
    EventKind,
    JobState,
    JobStatus,
    Money,
    PlaybackAck,
    PlaybackState,
    StageCue,
    Verdict,
    VoiceJob,
    VoiceSettings,
    job_id,
)
from tests.fakes.boson import FakeBoson  # the repository root is on pythonpath (pyproject)

KEY_A, KEY_B = "bai-key-a", "bai-key-b"


def make_job(
    number: int = 1,
    *,
    kind: EventKind = EventKind.DONATION,
    donor: str = "Ivan",
    amount: str = "500",
    message: str | None = "Hello stream!",
    **fields: object,
) -> VoiceJob:
    donation = f"simulator:{1000 + number}"
    money = Money(amount=Decimal(amount), currency="RUB")
    return VoiceJob.model_validate(
        {
            "job_id": job_id(donation, "voice"),
            "donation_id": donation,
            "kind": kind,
            "donor_name": donor,
            "amount": money,
            "amount_base": money,
            "message": message,
            **fields,
        }
    )


class FakeModeration:
    """The gatekeeper's verdicts: block any text containing a blocked word; ``down`` makes it not answer."""

    def __init__(self, blocked: tuple[str, ...] = ("forbidden",)) -> None:
        self.blocked = blocked
        self.down = False
        self.checked: list[str] = []

    async def __call__(self, text: str) -> Verdict:
        if self.down:
            raise ModerationUnavailable("the gatekeeper did not answer within 3 s")
        self.checked.append(text)
        if any(word in text.lower() for word in self.blocked):
            return Verdict(decision=Decision.BLOCK, categories=(Category.VIOLENCE,), reason="blocked word")
        return Verdict(decision=Decision.ALLOW)


@dataclass
class Outbox:
    cues: list[StageCue] = field(default_factory=list)
    statuses: list[tuple[str, JobStatus]] = field(default_factory=list)
    reports: list[tuple[VoiceJob, str]] = field(default_factory=list)

    async def cue(self, cue: StageCue) -> None:
        self.cues.append(cue)

    async def status(self, status: JobStatus, event_id: str) -> None:
        self.statuses.append((event_id, status))

    async def report(self, job: VoiceJob, reason: str) -> None:
        self.reports.append((job, reason))

    def states(self, job: VoiceJob) -> list[JobState]:
        return [s.state for _, s in self.statuses if s.job_id == job.job_id]


@dataclass
class Rig:
    """The show wired to the fake Boson (or the offline voice), a local artifact directory and memory stores."""

    show: Show
    outbox: Outbox
    store: MemoryShowStore
    moderation: FakeModeration
    studio: Studio
    settings: VoiceSettings
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.show.run()))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()

    async def cues(self, count: int, timeout: float = 10.0) -> list[StageCue]:
        """Wait until at least ``count`` cues were published; return them all."""
        deadline = time.monotonic() + timeout
        while len(self.outbox.cues) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.outbox.cues)} cues of {count} after {timeout} s")
            await asyncio.sleep(0.01)
        return list(self.outbox.cues)

    async def until(
        self, condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached after {timeout} s")
            await asyncio.sleep(0.01)

    async def ended(self, cue: StageCue, state: PlaybackState = PlaybackState.ENDED) -> None:
        """The widget reports that ``cue`` finished."""
        await self.show.played(PlaybackAck(cue_id=cue.cue_id, donation_id=cue.donation_id, state=state))


@pytest.fixture(scope="session")
def personas() -> PersonaBook:
    return PersonaBook.load(BUNDLED)


@pytest.fixture
async def fake() -> AsyncIterator[FakeBoson]:
    async with FakeBoson(keys=(KEY_A, KEY_B)) as server:
        yield server


def boson_api(fake: FakeBoson, keys: KeyPool | None = None, **options: Any) -> ChatCompletions:
    return ChatCompletions(
        name="Boson",
        base_url=fake.base_url,
        keys=keys or KeyPool([KEY_A, KEY_B], cooldown=60.0),
        key_setting="VOICE_BOSON_API_KEYS",
        timeout=options.pop("timeout", 2.0),
        attempts=options.pop("attempts", 3),
        backoff=options.pop("backoff", 0.01),
        **options,
    )


RigFactory = Callable[..., Rig]


@pytest.fixture
async def make_rig(fake: FakeBoson, personas: PersonaBook, tmp_path: Path) -> AsyncIterator[RigFactory]:
    rigs: list[Rig] = []
    apis: list[ChatCompletions] = []

    def build(
        *,
        boson: bool = True,
        store: MemoryShowStore | None = None,
        moderation: FakeModeration | None = None,
        settings: VoiceSettings | None = None,
        writer: Writer | None = None,
        **options: Any,
    ) -> Rig:
        api = boson_api(fake) if boson else None
        if api is not None:
            apis.append(api)
        studio = Studio(
            boson=BosonSpeech(api, SpeechOptions()) if api else None,
            espeak=Espeak(),
            artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        )
        voice_settings = settings or VoiceSettings(active_personas=("nova",))

        async def load_settings() -> VoiceSettings:
            return rig.settings

        async def save_settings(document: VoiceSettings) -> None:
            rig.settings = document

        outbox, memory = Outbox(), store or MemoryShowStore()
        gate = moderation or FakeModeration()
        defaults: dict[str, Any] = {
            "retry_delay": 0.01,
            "interrupt_wait": 5.0,
            "idle_poll": 0.05,
            "moderation_wait": 0.2,
        }
        show = Show(
            store=memory,
            studio=studio,
            writer=writer or Writer(None),
            personas=personas,
            moderate=gate,
            outbox=outbox,
            load_settings=load_settings,
            save_settings=save_settings,
            options=ShowOptions(**{**defaults, **options}),
        )
        rig = Rig(show, outbox, memory, gate, studio, voice_settings)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        await rig.stop()
    for api in apis:
        await api.aclose()
