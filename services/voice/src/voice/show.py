"""The show: a scripted programme that runs by itself, interrupted by priority, without any transport.

Two loops share the show state:

- the *producer* makes clips, one at a time, only while fewer than ``lookahead`` clips are made and not yet played
  (clips on stage, plus interrupt replies and script lines ready): the best waiting interrupt first, else the next
  script line. Interrupts and script share that one bound, so audio is made a little ahead and a flood of superchats
  never makes more; when the upcoming lines run short it adds the next segment (LLM continuation when configured,
  else the host's script again);
- the *cuer* hands clips to the widget (a ``StageCue``) whenever fewer than ``cue_window`` are on stage: a waiting
  interrupt first (superchat > gift > donation > chat, then priority, then amount, then arrival), else the next
  script line. An interrupt still being made (or that the bound lets be made) holds the script for at most
  ``interrupt_wait`` seconds. So an interrupt plays at the next clip boundary and the script resumes exactly where
  it stopped.

Playback acknowledgements free the stage. Every step is written to the show state (KV) before its cue is
published; when an instance takes the show the clips on stage are cued again (same cue id: the stream and the widget
drop the duplicate), so a restart or a take-over neither loses nor repeats a clip.

Only one instance runs the loops (``perform``, under the lease of ``lease.py``); every instance takes jobs, playback
reports and controls into the state and follows it (``follow``). Each take-over writes its term into the state, and
every step of the loops is a compare-and-set that requires that term: a stale leader cannot take a step.

Every spoken line is normalised and then moderated by the gatekeeper; when the gatekeeper does not answer the show
fails closed and speaks a safe line of its own instead. A failing interrupt is retried ``interrupt_attempts``
times (the attempt is recorded before it runs, so a crash counts too) and then reported, never looped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from ovation_contracts import (
    Check,
    ControlReply,
    CueKind,
    Decision,
    EventKind,
    JobState,
    JobStatus,
    PlaybackAck,
    PlaybackState,
    ReactionKind,
    StageCue,
    Verdict,
    VoiceClip,
    VoiceClipKind,
    VoiceEngine,
    VoiceJob,
    VoiceQueueItem,
    VoiceSettings,
    VoiceShowSnapshot,
    utc_now,
)

from .lease import Term
from .personas import PersonaBook, ScriptLine, Voice
from .speech import normalise
from .state import Conflict, LineSource, OnStage, PendingInterrupt, ShowState, ShowStore, UpcomingLine
from .studio import Recording, SpeechFailed, Studio
from .writer import Writer

log = logging.getLogger(__name__)

CUE_PREFIX = "voice:"
KIND_RANK = {EventKind.SUPERCHAT: 3, EventKind.GIFT: 2, EventKind.DONATION: 1, EventKind.CHAT: 0}
CLIP_KIND = {
    EventKind.SUPERCHAT: VoiceClipKind.SUPERCHAT,
    EventKind.GIFT: VoiceClipKind.GIFT,
    EventKind.DONATION: VoiceClipKind.DONATION,
    EventKind.CHAT: VoiceClipKind.CHAT,
}
FINISHED_JOBS_KEPT = 1000
T = TypeVar("T")


class ModerationUnavailable(Exception):
    """The gatekeeper did not answer a moderation request."""


class ShowTakenOver(Exception):
    """Another instance took the show over: this one must not take another step."""


class Outbox(Protocol):
    """Where cues, job statuses and reports of failed jobs go (the bus, in production)."""

    async def cue(self, cue: StageCue) -> None: ...
    async def status(self, status: JobStatus, event_id: str) -> None: ...
    async def report(self, job: VoiceJob, reason: str) -> None: ...


Moderate = Callable[[str], Awaitable[Verdict]]
"""The gatekeeper's verdict on a text; raises ``ModerationUnavailable`` when it does not answer."""


@dataclass(frozen=True, slots=True)
class ShowOptions:
    lookahead: int = 2
    """Clips made and not yet played (on stage plus ready), at most."""
    cue_window: int = 1
    """Clips handed to the widget at once; 1 plays an interrupt right after the current clip."""
    interrupt_attempts: int = 3
    retry_delay: float = 2.0
    interrupt_wait: float = 10.0
    """Seconds the script may be held at a clip boundary for an interrupt still being made."""
    playback_grace: float = 15.0
    """A clip the widget started counts as played this long after its duration, even without an "ended" report."""
    line_attempts: int = 3
    line_chars: int = 300
    continuation_lines: int = 6
    max_interrupts: int = 200
    recent_clips: int = 50
    history_lines: int = 12
    settings_ttl: float = 2.0
    moderation_wait: float = 20.0
    """Seconds the show waits at start-up for the gatekeeper to answer before its first line."""
    idle_poll: float = 1.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """A clip made and waiting for its turn."""

    text: str
    voice: Voice
    recording: Recording
    detail: str
    fallback: str | None = None
    """Why this is not the full answer (offline voice, generic line); None when it is."""


def interrupt_order(pending: PendingInterrupt) -> tuple[int, int, Any, int]:
    """Sort key, smallest first: superchat > gift > donation > chat, then priority, then amount, then arrival."""
    job = pending.job
    return (-KIND_RANK.get(job.kind, 0), -job.priority, -job.amount_base.amount, pending.arrival)


class Show:
    def __init__(
        self,
        *,
        store: ShowStore,
        studio: Studio,
        writer: Writer,
        personas: PersonaBook,
        moderate: Moderate,
        outbox: Outbox,
        load_settings: Callable[[], Awaitable[VoiceSettings]],
        save_settings: Callable[[VoiceSettings], Awaitable[None]],
        options: ShowOptions | None = None,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.studio = studio
        self.writer = writer
        self.personas = personas
        self.moderate = moderate
        self.outbox = outbox
        self.load_settings = load_settings
        self.save_settings = save_settings
        self.options = options or ShowOptions()
        self.clock = clock
        self.monotonic = monotonic

        self.state = ShowState(show_id=uuid.uuid4().hex[:12])
        self.revision: int | None = None
        self.loaded = asyncio.Event()
        self.moderation_problem: str | None = None
        self.speech_problem: str | None = None
        self._lock = asyncio.Lock()
        self._produce_wake = asyncio.Event()
        self._cue_wake = asyncio.Event()
        self._ready_lines: dict[str, Prepared] = {}
        self._ready_interrupts: dict[str, Prepared] = {}
        self._retry_at: dict[str, float] = {}
        self._line_failures: dict[str, int] = {}
        self._held_since: dict[str, float] = {}
        self._term: Term | None = None
        self._taken_over = asyncio.Event()
        self._making: str | None = None
        self._settings: VoiceSettings | None = None
        self._settings_read = float("-inf")

    # Start-up ----------------------------------------------------------------------------------------------------
    async def load(self) -> None:
        """Read the stored show, or start a new one (of two instances starting at once, one creates it)."""
        state, revision = await self.store.load()
        if state is None:
            fresh = ShowState(show_id=uuid.uuid4().hex[:12])
            try:
                revision = await self.store.save(fresh, revision)
            except Conflict:
                state, revision = await self.store.load()
                if state is None:
                    raise
            else:
                state = fresh
                log.info("a new show begins (%s)", fresh.show_id)
        self.state, self.revision = state, revision
        log.info(
            "the show is at clip %d: %d on stage, %d interrupts waiting, %d lines upcoming",
            state.seq,
            len(state.on_stage),
            len(state.interrupts),
            len(state.upcoming),
        )
        self.loaded.set()
        self._wake()

    async def follow(self) -> None:
        """Keep this instance's view of the show current, whoever changes it (every instance, for its lifetime)."""
        if not self.loaded.is_set():
            await self.load()
        while True:
            try:
                async for state, revision in self.store.changes():
                    async with self._lock:
                        newer = self.revision is None or revision > self.revision
                        if newer:
                            self._adopt(state, revision)
                    if newer:
                        self._wake()
            except Exception as exc:
                log.warning("lost sight of the show state (%r); watching it again in 1 s", exc)
                await asyncio.sleep(1.0)

    async def perform(self, term: Term) -> None:
        """Run the show under ``term``: make clips and cue them until cancelled, or until another instance takes
        the show over (then it returns)."""
        await self.loaded.wait()
        self._ready_lines.clear()  # anything made in an earlier term may be stale
        self._ready_interrupts.clear()
        self._retry_at.clear()
        self._held_since.clear()

        def take(state: ShowState) -> list[OnStage]:
            state.leader, state.term = term.holder, term.revision
            return list(state.on_stage)

        try:
            on_stage = await self._mutate(take)
            self._term = term
            self._taken_over.clear()
            for staged in on_stage:
                await self.outbox.cue(staged.cue)
            log.info("the show goes on under %s (term %d)", term.holder, term.revision)
            await self._await_moderation()
            tasks = [
                asyncio.create_task(self._produce_forever(), name="voice-producer"),
                asyncio.create_task(self._cue_forever(), name="voice-cuer"),
                asyncio.create_task(self._taken_over.wait(), name="voice-fence"),
            ]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    task.result()
                self._check_term(self.state)  # seen taken over in a state another instance stored
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except ShowTakenOver as exc:
            log.warning("%s; this instance stops running it", exc)
        finally:
            self._term = None

    async def run(self) -> None:
        """The whole show in one process without a lease (tests, the benchmark): follow the state and lead it."""
        if not self.loaded.is_set():
            await self.load()
        follower = asyncio.create_task(self.follow(), name="voice-follow")
        try:
            await self.perform(Term(f"solo-{uuid.uuid4().hex[:8]}", 0))
        finally:
            follower.cancel()
            await asyncio.gather(follower, return_exceptions=True)

    async def _await_moderation(self) -> None:
        """Give the gatekeeper a little time to come up (services start together) before the first line, so the
        show does not open with safe filler lines; after ``moderation_wait`` it starts anyway, failing closed."""
        deadline = self.monotonic() + self.options.moderation_wait
        while True:
            try:
                await self.moderate("Hello everyone!")
            except ModerationUnavailable as exc:
                if self.monotonic() >= deadline:
                    log.warning(
                        "the gatekeeper does not answer yet (%s); the show starts failing closed", exc
                    )
                    return
                await asyncio.sleep(0.5)
            else:
                return

    # Inputs -----------------------------------------------------------------------------------------------------
    async def accept(self, job: VoiceJob) -> None:
        """Take a voice job as an interrupt (once, however often it is delivered)."""
        await self.loaded.wait()

        def change(state: ShowState) -> str:
            if job.job_id in state.finished_jobs or state.pending(job.job_id) is not None:
                return "known"
            if len(state.interrupts) >= self.options.max_interrupts:
                state.finished_jobs = _bounded(state.finished_jobs, job.job_id, FINISHED_JOBS_KEPT)
                return "full"
            state.arrivals += 1
            state.interrupts.append(PendingInterrupt(job=job, arrival=state.arrivals))
            return "queued"

        outcome = await self._mutate(change)
        if outcome == "queued":
            log.info("interrupt queued: %s from %s", job.kind.value, job.donor_name)
            await self._status(job, JobState.QUEUED, detail="waiting for the next clip boundary")
            self._wake()
        elif outcome == "full":
            await self._status(
                job,
                JobState.REFUSED,
                reason=f"the voice queue is full ({self.options.max_interrupts} waiting); raise "
                "VOICE_MAX_INTERRUPTS or let the show catch up",
            )

    async def played(self, ack: PlaybackAck) -> None:
        """What the widget reports about a clip: started, or done (ended, failed, skipped) and off the stage."""
        if not ack.cue_id.startswith(CUE_PREFIX):
            return
        await self.loaded.wait()
        if ack.state is PlaybackState.STARTED:

            def start(state: ShowState) -> None:
                state.on_stage = [
                    s.model_copy(update={"started_at": self.clock()})
                    if s.clip.clip_id == ack.cue_id and s.started_at is None
                    else s
                    for s in state.on_stage
                ]

            if any(s.clip.clip_id == ack.cue_id and s.started_at is None for s in self.state.on_stage):
                await self._mutate(start)
            return

        def change(state: ShowState) -> bool:
            before = len(state.on_stage)
            state.on_stage = [s for s in state.on_stage if s.clip.clip_id != ack.cue_id]
            state.recent = [
                c.model_copy(update={"playback": ack.state}) if c.clip_id == ack.cue_id else c
                for c in state.recent
            ]
            return len(state.on_stage) != before

        if await self._mutate(change):
            if ack.state is PlaybackState.FAILED:
                log.warning("the widget could not play %s: %s", ack.cue_id, ack.reason or "no reason given")
            self._wake()

    # Controls ---------------------------------------------------------------------------------------------------
    async def skip(self) -> ControlReply:
        """Stop waiting for the clips on stage, so the next one is cued now (the widget stops its own)."""
        await self.loaded.wait()

        def change(state: ShowState) -> list[str]:
            skipped = [s.clip.clip_id for s in state.on_stage]
            state.on_stage = []
            state.recent = [
                c.model_copy(update={"playback": PlaybackState.SKIPPED}) if c.clip_id in skipped else c
                for c in state.recent
            ]
            return skipped

        skipped = await self._mutate(change)
        self._wake()
        if not skipped:
            return ControlReply(ok=True, message="Nothing of the voice is on stage; the show goes on.")
        return ControlReply(ok=True, message=f"Skipped {', '.join(skipped)}.", data={"skipped": skipped})

    async def pause(self, paused: bool) -> ControlReply:
        """Pause or resume the show (interrupts keep arriving and are spoken after the pause)."""
        settings = await self._current_settings(fresh=True)
        updated = settings.model_copy(update={"show_running": not paused})
        await self.save_settings(updated)
        self._settings, self._settings_read = updated, self.monotonic()
        self._wake()
        return ControlReply(
            ok=True, message="The voice show is paused." if paused else "The voice show is running again."
        )

    async def remove(self, item_id: str) -> ControlReply:
        """Remove a waiting interrupt (its job is marked skipped) or an upcoming script line."""
        await self.loaded.wait()

        def change(state: ShowState) -> PendingInterrupt | UpcomingLine | None:
            pending = state.pending(item_id)
            if pending is not None:
                state.interrupts.remove(pending)
                state.finished_jobs = _bounded(state.finished_jobs, item_id, FINISHED_JOBS_KEPT)
                return pending
            line = next((u for u in state.upcoming if u.line_id == item_id), None)
            if line is not None:
                state.upcoming.remove(line)
            return line

        removed = await self._mutate(change)
        if removed is None:
            return ControlReply(
                ok=False, message=f"{item_id} is not waiting in the voice show (already spoken?)."
            )
        self._forget(item_id)
        if isinstance(removed, PendingInterrupt):
            await self._status(removed.job, JobState.SKIPPED, detail="removed by a moderator")
        self._wake()
        return ControlReply(ok=True, message=f"Removed {item_id}.")

    def made_ahead(self) -> int:
        """Clips made and not yet played: on stage, plus interrupt replies and script lines ready for their turn."""
        ready_lines = sum(1 for line in self.state.upcoming if line.line_id in self._ready_lines)
        ready_interrupts = sum(1 for p in self.state.interrupts if p.job.job_id in self._ready_interrupts)
        return len(self.state.on_stage) + ready_lines + ready_interrupts

    def is_ready(self, item_id: str) -> bool:
        """Whether the clip of a waiting interrupt or an upcoming line is made."""
        return item_id in self._ready_interrupts or item_id in self._ready_lines

    def clips(self, limit: int = 50) -> list[VoiceClip]:
        """The latest clips, newest first."""
        return list(reversed(self.state.recent))[:limit]

    async def snapshot(self) -> VoiceShowSnapshot:
        settings = await self._current_settings()
        state = self.state
        interrupts = tuple(
            VoiceQueueItem(
                item_id=p.job.job_id,
                kind=CLIP_KIND.get(p.job.kind, VoiceClipKind.DONATION),
                persona=p.job.persona if self.personas.get(p.job.persona) else None,
                donor_name=p.job.donor_name,
                amount=p.job.amount,
                ready=self.is_ready(p.job.job_id),
            )
            for p in sorted(state.interrupts, key=interrupt_order)
        )
        upcoming = tuple(
            VoiceQueueItem(
                item_id=line.line_id,
                kind=VoiceClipKind.SCRIPT,
                persona=line.persona,
                text=line.text,
                ready=self.is_ready(line.line_id),
            )
            for line in state.upcoming[:20]
        )
        return VoiceShowSnapshot(
            paused=not settings.show_running,
            host=self.personas.host(settings.active_personas).id,
            on_stage=tuple(s.clip for s in state.on_stage),
            interrupts=interrupts,
            upcoming=upcoming,
        )

    def health(self) -> Check:
        state = self.state
        if not self.loaded.is_set():
            return Check(ok=True, detail="loading the show")
        if self.speech_problem:
            return Check(ok=False, detail=self.speech_problem[:500])
        parts = [f"{state.seq} clips cued"]
        if self._settings is not None and not self._settings.show_running:
            parts.append("paused")
        if state.interrupts:
            parts.append(f"{len(state.interrupts)} interrupts waiting")
        if state.on_stage:
            waiting = [s.clip.clip_id for s in state.on_stage if s.started_at is None]
            if waiting:
                parts.append(f"waiting for the widget to play {waiting[0]} (is the OBS widget open?)")
        return Check(ok=True, detail="; ".join(parts)[:500])

    def moderation_health(self) -> Check:
        if self.moderation_problem:
            return Check(ok=False, detail=self.moderation_problem[:500])
        return Check(ok=True, detail="every line is moderated by the gatekeeper before it is spoken")

    # The producer -----------------------------------------------------------------------------------------------
    async def _produce_forever(self) -> None:
        while True:
            if not await self._produce_once():
                await self._sleep_until(self._produce_wake, self._next_retry_in())

    async def _produce_once(self) -> bool:
        """Make one clip, or add a segment to the programme; False when there is nothing to do yet."""
        if self.made_ahead() < self.options.lookahead:
            now = self.monotonic()
            # Interrupts first, best first; they share the bound with the script, so a raid waits its turn.
            for pending in sorted(self.state.interrupts, key=interrupt_order):
                job_id = pending.job.job_id
                if job_id not in self._ready_interrupts and self._retry_at.get(job_id, 0.0) <= now:
                    await self._making_of(job_id, self._produce_interrupt(pending))
                    return True
            for line in self.state.upcoming:
                if line.line_id in self._ready_lines:
                    continue
                if self._retry_at.get(line.line_id, 0.0) > now:
                    break  # lines are made in order: the one after it waits too
                await self._making_of(line.line_id, self._produce_line(line))
                return True
        if len(self.state.upcoming) <= self.options.lookahead:
            await self._extend_programme()
            return True
        return False

    async def _making_of(self, item_id: str, making: Awaitable[None]) -> None:
        self._making = item_id
        try:
            await making
        finally:
            self._making = None

    async def _produce_interrupt(self, pending: PendingInterrupt) -> None:
        job = pending.job
        job_id = job.job_id
        if pending.attempts >= self.options.interrupt_attempts:
            await self._give_up(job, pending.last_error or "it failed every time it was tried")
            return

        def count_attempt(state: ShowState) -> int | None:
            current = state.pending(job_id)
            if current is None:
                return None
            current.attempts += 1
            return current.attempts

        attempt = await self._mutate(count_attempt, fenced=True)
        if attempt is None:
            return
        await self._status(
            job, JobState.GENERATING, detail=f"writing and speaking the reply (attempt {attempt})"
        )
        settings = await self._current_settings()
        voice = self.personas.for_job(job.persona, job.language, settings.active_personas)
        try:
            text, detail, fallback = await self._reply_text(job, voice)
            recording = await self.studio.record(text, voice)
        except SpeechFailed as exc:
            await self._interrupt_failed(job, attempt, str(exc))
            return
        self.speech_problem = None
        if self.state.pending(job_id) is None:
            return  # removed by a moderator while it was being made
        if recording.engine is VoiceEngine.OFFLINE and recording.boson_problem:
            fallback = f"the offline voice spoke: {recording.boson_problem}"
        self._ready_interrupts[job_id] = Prepared(text, voice, recording, detail, fallback)
        self._retry_at.pop(job_id, None)
        self._cue_wake.set()

    async def _interrupt_failed(self, job: VoiceJob, attempt: int, problem: str) -> None:
        self.speech_problem = problem
        limit = self.options.interrupt_attempts
        log.error("interrupt %s failed (attempt %d of %d): %s", job.job_id, attempt, limit, problem)

        def note(state: ShowState) -> None:
            current = state.pending(job.job_id)
            if current is not None:
                current.last_error = problem[:500]

        await self._mutate(note, fenced=True)
        if attempt >= limit:
            await self._give_up(job, problem)
        else:
            self._retry_at[job.job_id] = self.monotonic() + self.options.retry_delay * 2 ** (attempt - 1)

    async def _reply_text(self, job: VoiceJob, voice: Voice) -> tuple[str, str, str | None]:
        """The reply to speak, after moderation: (text, what it is, why it is a fallback or None)."""
        language = voice.language
        full = self._speakable(await self.writer.reply(job, voice), language)
        thanks = self._speakable(self.writer.thank_you(job, voice), language)
        candidates = [(full, "the persona's reply")]
        if thanks != full:
            candidates.append((thanks, "a thank-you without the message"))
        for text, detail in candidates:
            verdict = await self._check(text)
            if verdict is None:
                generic = self._speakable(self.writer.generic(job, voice), language)
                return (
                    generic,
                    "a generic thank-you",
                    "the gatekeeper did not answer, so nothing the donor wrote was spoken",
                )
            if verdict.decision is Decision.ALLOW:
                return text, detail, None
            log.info("moderation refused a reply line (%s); trying a safer one", verdict.decision.value)
        generic = self._speakable(self.writer.generic(job, voice), language)
        return generic, "a generic thank-you", "moderation refused the reply and the thank-you"

    async def _produce_line(self, line: UpcomingLine) -> None:
        voice = self.personas.get(line.persona) or self.personas.host()
        text = self._speakable(line.text, voice.language)
        verdict = await self._check(text)
        if verdict is None or verdict.decision is not Decision.ALLOW:
            if verdict is not None:
                log.warning(
                    "moderation refused script line %s (%s); a safe line replaces it",
                    line.line_id,
                    verdict.decision.value,
                )
            text = self._speakable(self.writer.filler(voice.language, line.line_id), voice.language)
        try:
            recording = await self.studio.record(text, voice)
        except SpeechFailed as exc:
            self.speech_problem = str(exc)
            failures = self._line_failures.get(line.line_id, 0) + 1
            self._line_failures[line.line_id] = failures
            if failures >= self.options.line_attempts:
                log.error("script line %s dropped after %d failures: %s", line.line_id, failures, exc)
                await self._mutate(lambda state: _drop_line(state, line.line_id), fenced=True)
                self._forget(line.line_id)
            else:
                self._retry_at[line.line_id] = self.monotonic() + self.options.retry_delay * 2 ** (
                    failures - 1
                )
            return
        self.speech_problem = None
        self._line_failures.pop(line.line_id, None)
        self._retry_at.pop(line.line_id, None)
        if not any(u.line_id == line.line_id for u in self.state.upcoming):
            return  # removed by a moderator while it was being made
        self._ready_lines[line.line_id] = Prepared(text, voice, recording, "script line")
        self._cue_wake.set()

    async def _extend_programme(self) -> None:
        settings = await self._current_settings()
        host = self.personas.host(settings.active_personas)
        lines: list[ScriptLine] = []
        source: LineSource = "script"
        if self.state.segments > 0 and self.writer.llm is not None:
            written = await self.writer.continuation(
                host, self.state.history[-self.options.history_lines :], self.options.continuation_lines
            )
            lines = [ScriptLine(host.id, text) for text in written]
            source = "llm"
        if not lines:
            lines, source = self.personas.script_of(host), "script"
        if not lines:
            lines = [
                ScriptLine(host.id, self.writer.filler(host.language, f"{self.state.segments}:{i}"))
                for i in range(3)
            ]
            source = "filler"

        def change(state: ShowState) -> None:
            segment = state.segments
            state.segments += 1
            state.upcoming.extend(
                UpcomingLine(
                    line_id=f"line:{segment}:{i}", persona=line.persona, text=line.text, source=source
                )
                for i, line in enumerate(lines)
            )

        await self._mutate(change, fenced=True)
        log.info("the programme goes on with %d %s lines hosted by %s", len(lines), source, host.id)

    # The cuer ---------------------------------------------------------------------------------------------------
    async def _cue_forever(self) -> None:
        while True:
            await self._cue_ready()
            await self._sleep_until(self._cue_wake, self.options.idle_poll)

    async def _cue_ready(self) -> None:
        await self._expire_stale_stage()
        settings = await self._current_settings()
        while settings.show_running and len(self.state.on_stage) < self.options.cue_window:
            if not await self._cue_next():
                return

    async def _cue_next(self) -> bool:
        """Cue the next clip if its turn has come and it is ready; False when the stage must wait."""
        now = self.monotonic()
        for pending in sorted(self.state.interrupts, key=interrupt_order):
            job_id = pending.job.job_id
            prepared = self._ready_interrupts.get(job_id)
            if prepared is not None:
                await self._cue_interrupt(pending, prepared)
                return True
            if not self._can_be_made_soon(job_id):
                continue  # the bound is taken by clips ready here and nothing on stage will free it: go on
            held = self._held_since.setdefault(job_id, now)
            if now - held < self.options.interrupt_wait:
                return False  # hold the script for it: it plays at this boundary when ready
        if self.state.upcoming:
            line = self.state.upcoming[0]
            prepared = self._ready_lines.get(line.line_id)
            if prepared is not None:
                await self._cue_line(line, prepared)
                return True
        return False

    def _can_be_made_soon(self, item_id: str) -> bool:
        """Being made, or the bound lets it be made now, or a clip on stage will make room when it ends."""
        return (
            self._making == item_id or self.made_ahead() < self.options.lookahead or bool(self.state.on_stage)
        )

    async def _cue_line(self, line: UpcomingLine, prepared: Prepared) -> None:
        def change(state: ShowState) -> OnStage | None:
            if not state.upcoming or state.upcoming[0].line_id != line.line_id:
                return None
            state.upcoming.pop(0)
            return self._put_on_stage(
                state, prepared, item_id=line.line_id, kind=VoiceClipKind.SCRIPT, job=None
            )

        staged = await self._mutate(change, fenced=True)
        self._ready_lines.pop(line.line_id, None)
        if staged is not None:
            await self.outbox.cue(staged.cue)

    async def _cue_interrupt(self, pending: PendingInterrupt, prepared: Prepared) -> None:
        job = pending.job

        def change(state: ShowState) -> OnStage | None:
            current = state.pending(job.job_id)
            if current is None:
                return None
            state.interrupts.remove(current)
            state.finished_jobs = _bounded(state.finished_jobs, job.job_id, FINISHED_JOBS_KEPT)
            return self._put_on_stage(
                state,
                prepared,
                item_id=job.job_id,
                kind=CLIP_KIND.get(job.kind, VoiceClipKind.DONATION),
                job=job,
            )

        staged = await self._mutate(change, fenced=True)
        self._forget(job.job_id)
        if staged is None:
            return
        await self.outbox.cue(staged.cue)
        log.info("interrupt on stage: %s (%s)", job.job_id, prepared.detail)
        state = JobState.FALLBACK if prepared.fallback else JobState.READY
        await self._status(
            job,
            state,
            detail=f"on stage: {prepared.detail}",
            reason=prepared.fallback,
            artifact=staged.clip.artifact,
        )

    def _put_on_stage(
        self, state: ShowState, prepared: Prepared, *, item_id: str, kind: VoiceClipKind, job: VoiceJob | None
    ) -> OnStage:
        state.seq += 1
        cue_id = f"{CUE_PREFIX}{state.show_id}:{state.seq}"
        recording = prepared.recording
        clip = VoiceClip(
            clip_id=cue_id,
            item_id=item_id,
            kind=kind,
            persona=prepared.voice.id,
            transcript=prepared.text,
            artifact=recording.artifact,
            duration_ms=recording.duration_ms,
            engine=recording.engine,
            donation_id=job.donation_id if job else None,
            cued_at=self.clock(),
        )
        cue = StageCue(
            cue_id=cue_id,
            donation_id=job.donation_id if job else f"voice-show:{state.show_id}",
            kind=CueKind.AUDIO,
            reaction=ReactionKind.VOICE,
            priority=job.priority if job else 0,
            donor_name=job.donor_name if job else "",
            amount=job.amount if job else None,
            message=prepared.text,
            artifact=recording.artifact,
            duration_ms=recording.duration_ms,
        )
        staged = OnStage(clip=clip, cue=cue)
        state.on_stage.append(staged)
        state.recent = [*state.recent, clip][-self.options.recent_clips :]
        speaker = prepared.voice.persona.display_name
        state.history = [*state.history, f"{speaker}: {prepared.text}"][-self.options.history_lines :]
        return staged

    async def _expire_stale_stage(self) -> None:
        """A clip the widget started and never reported finished counts as played after its duration plus grace."""
        now = self.clock()
        stale = [s.clip.clip_id for s in self.state.on_stage if s.overdue(now, self.options.playback_grace)]
        for cue_id in stale:
            log.warning("the widget never reported the end of %s; counting it as played", cue_id)
            await self.played(
                PlaybackAck(
                    cue_id=cue_id, donation_id="voice-show:grace", state=PlaybackState.ENDED, reason="grace"
                )
            )

    # Helpers ----------------------------------------------------------------------------------------------------
    async def _mutate(self, change: Callable[[ShowState], T], *, fenced: bool = False) -> T:
        """Apply ``change`` to a copy of the state and store it (compare-and-set); on a conflict, re-read and redo.

        ``fenced``: a step of the show itself, taken only while the stored term is this instance's (else
        ``ShowTakenOver``); inputs (jobs, playback, controls) are taken by any instance.
        """
        async with self._lock:
            for _ in range(10):
                candidate = self.state.model_copy(deep=True)
                if fenced:
                    self._check_term(candidate)
                result = change(candidate)
                try:
                    self.revision = await self.store.save(candidate, self.revision)
                except Conflict:
                    log.info("the show state changed elsewhere; reading it again")
                    stored, revision = await self.store.load()
                    if stored is not None and revision is not None:
                        self._adopt(stored, revision)
                    continue
                self.state = candidate
                return result
        raise RuntimeError("the show state kept changing elsewhere during 10 attempts to update it")

    def _check_term(self, state: ShowState) -> None:
        term = self._term
        if term is None or (state.leader, state.term) != (term.holder, term.revision):
            raise ShowTakenOver(
                f"{state.leader or 'another instance'} took the show over (term {state.term})"
            )

    def _adopt(self, state: ShowState, revision: int) -> None:
        """Take a state another instance (or an earlier write) stored; forget clips made for what is gone."""
        self.state, self.revision = state, revision
        term = self._term
        if term is not None and (state.leader, state.term) != (term.holder, term.revision):
            self._taken_over.set()  # stop making clips at once, not at the next step the fence refuses
        pending = {p.job.job_id for p in state.interrupts}
        upcoming = {u.line_id for u in state.upcoming}
        for job_id in [j for j in self._ready_interrupts if j not in pending]:
            self._forget(job_id)
        for line_id in [i for i in self._ready_lines if i not in upcoming]:
            self._forget(line_id)

    async def _check(self, text: str) -> Verdict | None:
        try:
            verdict = await self.moderate(text)
        except ModerationUnavailable as exc:
            self.moderation_problem = (
                f"the gatekeeper does not answer moderation requests ({exc}); safe lines of the show's own are "
                "spoken instead of anything unchecked"
            )
            log.warning("moderation unavailable, failing closed: %s", exc)
            return None
        self.moderation_problem = None
        return verdict

    def _speakable(self, text: str, language: str) -> str:
        return normalise(text, language=language, max_chars=self.options.line_chars)

    async def _current_settings(self, *, fresh: bool = False) -> VoiceSettings:
        now = self.monotonic()
        if fresh or self._settings is None or now - self._settings_read > self.options.settings_ttl:
            try:
                self._settings = await self.load_settings()
                self._settings_read = now
            except Exception as exc:
                if self._settings is None:
                    raise
                log.warning("could not read the voice settings, keeping the last ones: %r", exc)
        return self._settings

    async def _give_up(self, job: VoiceJob, reason: str) -> None:
        def change(state: ShowState) -> bool:
            current = state.pending(job.job_id)
            if current is None:
                return False
            state.interrupts.remove(current)
            state.finished_jobs = _bounded(state.finished_jobs, job.job_id, FINISHED_JOBS_KEPT)
            return True

        if not await self._mutate(change, fenced=True):
            return
        self._forget(job.job_id)
        message = f"gave up after {self.options.interrupt_attempts} attempts: {reason}"[:500]
        log.error("interrupt %s failed for good: %s", job.job_id, message)
        await self._status(job, JobState.FAILED, reason=message)
        await self.outbox.report(job, message)
        self._wake()

    async def _status(
        self,
        job: VoiceJob,
        state: JobState,
        *,
        detail: str = "",
        reason: str | None = None,
        artifact: Any = None,
    ) -> None:
        status = JobStatus(
            job_id=job.job_id,
            donation_id=job.donation_id,
            reaction=ReactionKind.VOICE,
            state=state,
            detail=detail[:500],
            reason=reason[:500] if reason else None,
            artifact=artifact,
        )
        suffix = state.value
        if state is JobState.GENERATING:
            pending = self.state.pending(job.job_id)
            suffix += f":{pending.attempts if pending else 0}"
        await self.outbox.status(status, f"{job.job_id}:{suffix}")

    def _forget(self, item_id: str) -> None:
        self._ready_lines.pop(item_id, None)
        self._ready_interrupts.pop(item_id, None)
        self._retry_at.pop(item_id, None)
        self._line_failures.pop(item_id, None)
        self._held_since.pop(item_id, None)

    def _next_retry_in(self) -> float:
        if not self._retry_at:
            return self.options.idle_poll * 5
        return max(0.01, min(self._retry_at.values()) - self.monotonic())

    def _wake(self) -> None:
        self._produce_wake.set()
        self._cue_wake.set()

    @staticmethod
    async def _sleep_until(event: asyncio.Event, timeout: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation (the shutdown would hang).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()
        event.clear()


def _bounded(items: list[str], item: str, keep: int) -> list[str]:
    return [*items, item][-keep:]


def _drop_line(state: ShowState, line_id: str) -> None:
    state.upcoming = [u for u in state.upcoming if u.line_id != line_id]
