"""Voice benchmark: how long an interrupt takes to become a clip ready to play, beyond Boson's own time, and how
many clips the show has made ahead of playback at steady state and under a flood of interrupts.

Interrupts share the look-ahead bound with the script: one arriving while the bound is taken is made when the clip on
stage ends (``interrupt_wait_for_room``), then it takes Boson's latency plus the show's overhead
(``interrupt_to_ready_overhead``, counted from the start of its making) and plays at that boundary.

Prints one JSON object. The show runs in this process (``voice.show.Show`` with the real studio, writer, speech
normalisation and the local artifact store) against the fake Boson over loopback with a fixed latency; the widget
is simulated (each clip "plays" for ``BENCH_PLAY_MS`` and is acknowledged); moderation answers at once and the
show state is kept in memory, so NATS round trips are not included (``bench_moderation.py`` measures those).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from voice.boson import BosonSpeech, SpeechOptions
from voice.keys import KeyPool
from voice.offline import Espeak
from voice.openai_api import ChatCompletions
from voice.personas import BUNDLED, PersonaBook
from voice.show import Show, ShowOptions
from voice.state import MemoryShowStore
from voice.studio import Studio
from voice.writer import Writer

from ovation_artifacts import LocalArtifactStore
from ovation_contracts import (
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
from tests.fakes.boson import FakeBoson

INTERRUPTS = int(os.environ.get("BENCH_INTERRUPTS", "20"))
BOSON_LATENCY = float(os.environ.get("BENCH_BOSON_LATENCY", "0.1"))
PLAY_MS = int(os.environ.get("BENCH_PLAY_MS", "60"))
LOOKAHEAD = int(os.environ.get("BENCH_LOOKAHEAD", "2"))
STEADY_SECONDS = float(os.environ.get("BENCH_STEADY_SECONDS", "3"))
FLOOD = int(os.environ.get("BENCH_FLOOD", "30"))
KEY = "bai-bench"


class Widget:
    """Plays every cue for PLAY_MS and reports it ended; records when each cue arrived."""

    def __init__(self) -> None:
        self.show: Show | None = None
        self.cues: list[tuple[float, StageCue]] = []
        self.making: dict[str, float] = {}
        """When the show began making each job's clip (its first "generating" status)."""
        self._tasks: set[asyncio.Task[None]] = set()

    async def cue(self, cue: StageCue) -> None:
        self.cues.append((time.perf_counter(), cue))
        task = asyncio.create_task(self._play(cue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def has(self, job: VoiceJob) -> bool:
        return any(c.donation_id == job.donation_id for _, c in self.cues)

    async def _play(self, cue: StageCue) -> None:
        await asyncio.sleep(PLAY_MS / 1000)
        assert self.show is not None
        await self.show.played(
            PlaybackAck(cue_id=cue.cue_id, donation_id=cue.donation_id, state=PlaybackState.ENDED)
        )

    async def status(self, status: JobStatus, event_id: str) -> None:
        if status.state is JobState.GENERATING:
            self.making.setdefault(status.job_id, time.perf_counter())

    async def report(self, job: VoiceJob, reason: str) -> None:
        pass


async def allow(_: str) -> Verdict:
    return Verdict(decision=Decision.ALLOW)


def superchat(number: int) -> VoiceJob:
    donation = f"bench:{number}"
    money = Money(amount=Decimal("500"), currency="RUB")
    return VoiceJob(
        job_id=job_id(donation, "voice"),
        donation_id=donation,
        kind=EventKind.SUPERCHAT,
        donor_name=f"donor{number}",
        amount=money,
        amount_base=money,
        message=f"Hello from viewer number {number}!",
    )


async def run(workdir: Path) -> dict[str, object]:
    async with FakeBoson(keys=(KEY,)) as fake:
        fake.latency = BOSON_LATENCY
        fake.seconds_per_char = 0.002
        api = ChatCompletions(
            name="Boson",
            base_url=fake.base_url,
            keys=KeyPool([KEY]),
            key_setting="VOICE_BOSON_API_KEYS",
            timeout=10,
        )
        widget = Widget()
        settings = VoiceSettings(active_personas=("nova",))

        async def load_settings() -> VoiceSettings:
            return settings

        async def save_settings(_: VoiceSettings) -> None:
            pass

        show = Show(
            store=MemoryShowStore(),
            studio=Studio(
                boson=BosonSpeech(api, SpeechOptions()),
                espeak=Espeak(),
                artifacts=LocalArtifactStore(workdir),
            ),
            writer=Writer(None),
            personas=PersonaBook.load(BUNDLED),
            moderate=allow,
            outbox=widget,
            load_settings=load_settings,
            save_settings=save_settings,
            options=ShowOptions(lookahead=LOOKAHEAD, idle_poll=0.05, interrupt_wait=5.0),
        )
        widget.show = show
        runner = asyncio.create_task(show.run())

        # Steady state: the show alone, sampled every 10 ms.
        await asyncio.sleep(0.5)
        samples: list[int] = []
        started = time.perf_counter()
        while time.perf_counter() - started < STEADY_SECONDS:
            samples.append(show.made_ahead())
            await asyncio.sleep(0.01)
        boson_requests_steady = len(fake.spoken())

        # Interrupts, one at a time, each arriving when the show has its look-ahead made (the producer is idle).
        to_room: list[float] = []
        to_ready: list[float] = []
        to_cue: list[float] = []
        for number in range(INTERRUPTS):
            while show.made_ahead() < LOOKAHEAD:  # noqa: ASYNC110 - polling the show is the measurement
                await asyncio.sleep(0.005)
            job = superchat(number)
            arrived = time.perf_counter()
            await show.accept(job)
            while not show.is_ready(job.job_id) and not widget.has(job):  # noqa: ASYNC110 - as above
                await asyncio.sleep(0.0005)
            making = widget.making[job.job_id]
            to_room.append(making - arrived)
            to_ready.append(time.perf_counter() - making - BOSON_LATENCY)
            while not widget.has(job):  # noqa: ASYNC110 - as above
                await asyncio.sleep(0.001)
            cued = next(t for t, c in widget.cues if c.donation_id == job.donation_id)
            to_cue.append(cued - arrived)

        # A flood: FLOOD superchats at once; clips made and not yet played never exceed the look-ahead.
        flood = [superchat(1000 + number) for number in range(FLOOD)]
        for job in flood:
            await show.accept(job)
        flood_samples: list[int] = []
        while not all(widget.has(job) for job in flood):
            flood_samples.append(show.made_ahead())
            await asyncio.sleep(0.005)

        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await api.aclose()

    def ms(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {
        "benchmark": "voice",
        "python": platform.python_version(),
        "boson_latency_ms": BOSON_LATENCY * 1000,
        "interrupts": INTERRUPTS,
        "interrupt_wait_for_room_ms_p50": ms(to_room, 0.5),
        "interrupt_wait_for_room_ms_p95": ms(to_room, 0.95),
        "interrupt_to_ready_overhead_ms_p50": ms(to_ready, 0.5),
        "interrupt_to_ready_overhead_ms_p95": ms(to_ready, 0.95),
        "interrupt_to_cue_ms_p50": ms(to_cue, 0.5),
        "interrupt_to_cue_ms_p95": ms(to_cue, 0.95),
        "clip_play_ms": PLAY_MS,
        "lookahead": LOOKAHEAD,
        "clips_ahead_steady_max": max(samples),
        "clips_ahead_steady_mean": round(statistics.fmean(samples), 2),
        "flood_interrupts": FLOOD,
        "clips_ahead_flood_max": max(flood_samples),
        "clips_played_steady": sum(
            1 for t, c in widget.cues if t - started < STEADY_SECONDS and not c.amount
        ),
        "boson_requests_steady": boson_requests_steady,
        "note": "the steady state replays the 12-line script: after its first pass every clip comes from the cache",
    }


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="ovation-bench-voice-") as workdir:
        print(json.dumps(asyncio.run(run(Path(workdir)))))


if __name__ == "__main__":
    main()
