"""Fixtures for the video tests: the fake AIML on a loopback port, and the video service wired to it in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from ovation_artifacts import LocalArtifactStore
from ovation_contracts import JobState, JobStatus, Money, StageCue, VideoJob, VideoSettings, job_id
from tests.fakes.aiml import FakeAiml  # the repository root is on pythonpath (pyproject)
from video.aiml import AimlClient
from video.cards import CardFormat, CardRenderer
from video.download import DownloadPolicy, SafeDownloader
from video.service import GenerationOptions, VideoService
from video.store import MemoryBudget, MemoryRecords

QUICK_CARD = CardFormat(seconds=1.0, fps=10, chime=True)
LOOPBACK = DownloadPolicy(
    allowed_hosts=("127.0.0.1",), allow_loopback_http=True, max_bytes=2 * 1024 * 1024, timeout=5
)


def make_job(
    number: int = 1, *, donor: str = "Ivan", message: str | None = "a cat in space", **fields: object
) -> VideoJob:
    donation = f"donationalerts:{30530030 + number}"
    money = Money(amount=Decimal("1500"), currency="RUB")
    return VideoJob.model_validate(
        {
            "job_id": job_id(donation, "video"),
            "donation_id": donation,
            "donor_name": donor,
            "amount": money,
            "amount_base": money,
            "message": message,
            **fields,
        }
    )


@dataclass
class Outbox:
    statuses: list[tuple[str, JobStatus]] = field(default_factory=list)
    cues: list[StageCue] = field(default_factory=list)

    async def status(self, status: JobStatus, event_id: str) -> None:
        self.statuses.append((event_id, status))

    async def cue(self, cue: StageCue) -> None:
        self.cues.append(cue)

    def states(self, job: VideoJob) -> list[JobState]:
        return [s.state for _, s in self.statuses if s.job_id == job.job_id]

    def final(self, job: VideoJob) -> JobStatus:
        return [s for _, s in self.statuses if s.job_id == job.job_id][-1]


@dataclass
class Rig:
    """The video service wired to the fake AIML, a local artifact directory and in-memory records and budget."""

    service: VideoService
    fake: FakeAiml
    outbox: Outbox
    records: MemoryRecords
    budget: MemoryBudget
    store: LocalArtifactStore
    work_dir: Path
    settings: VideoSettings

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.store.root.rglob("*") if p.is_file())

    def scratch_files(self) -> list[Path]:
        return sorted(p for p in self.work_dir.rglob("*") if p.is_file())


@pytest.fixture
async def fake() -> AsyncIterator[FakeAiml]:
    async with FakeAiml(queued_seconds=0.05, generating_seconds=0.15) as server:
        yield server


@pytest.fixture
async def aiml(fake: FakeAiml) -> AsyncIterator[AimlClient]:
    client = AimlClient(
        api_key=fake.api_key, base_url=fake.base_url, request_timeout=0.5, retries=2, retry_base=0.02
    )
    yield client
    await client.aclose()


@pytest.fixture
async def downloader() -> AsyncIterator[SafeDownloader]:
    client = SafeDownloader(LOOPBACK)
    yield client
    await client.aclose()


RigFactory = Callable[..., Rig]


@pytest.fixture
def make_rig(fake: FakeAiml, aiml: AimlClient, downloader: SafeDownloader, tmp_path: Path) -> RigFactory:
    def build(*, with_key: bool = True, settings: VideoSettings | None = None, **options: object) -> Rig:
        video_settings = settings or VideoSettings(
            max_per_hour=100, max_per_day=1000, donor_cooldown_seconds=0
        )

        async def load_settings() -> VideoSettings:
            return video_settings

        outbox, records, budget = Outbox(), MemoryRecords(), MemoryBudget()
        store = LocalArtifactStore(tmp_path / "artifacts")
        work_dir = tmp_path / "scratch"
        defaults: dict[str, object] = {
            "poll_interval": 0.03,
            "poll_max_interval": 0.05,
            "generation_timeout": 5.0,
        }
        service = VideoService(
            aiml=aiml if with_key else None,
            downloader=downloader,
            cards=CardRenderer(QUICK_CARD, work_dir),
            artifacts=store,
            records=records,
            budget=budget,
            outbox=outbox,
            load_settings=load_settings,
            options=GenerationOptions(**{**defaults, **options}),  # type: ignore[arg-type]
            work_dir=work_dir,
        )
        return Rig(service, fake, outbox, records, budget, store, work_dir, video_settings)

    return build
