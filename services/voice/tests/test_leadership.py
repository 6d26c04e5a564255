"""One show per deployment, in memory: two voice instances share the show state and a lease; only the holder runs
the show, the other takes jobs and playback reports into it; when the holder dies the other takes over once the
lease lapses and goes on from the state, no clip lost or repeated; a clean stop hands over at once; a stale holder
is fenced off by the term in the state. (The same with two real processes on nats-server: test_end_to_end.py.)"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from voice.lease import Leadership, Lease, LeaseLost, MemoryLease, Term
from voice.personas import PersonaBook, Voice
from voice.state import MemoryShowStore
from voice.studio import Recording

from ovation_contracts import EventKind, StageCue
from tests.fakes.boson import FakeBoson

from .conftest import Rig, RigFactory, make_job
from .test_show import _spoken, script_texts

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def short_clips(fake: FakeBoson) -> None:
    fake.seconds_per_char = 0.002  # the fake makes its tones in this event loop: keep them short


TTL = 2.0


class Link:
    """One instance's way to the shared lease; ``cut`` is the instance gone (no renewal, no release)."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        self.cut = False

    def _check(self) -> None:
        if self.cut:
            raise ConnectionError("this instance is gone")

    async def current(self) -> tuple[str, int] | None:
        self._check()
        return await self.lease.current()

    async def take(self, holder: str, last: int | None) -> int | None:
        self._check()
        return await self.lease.take(holder, last)

    async def renew(self, holder: str, revision: int) -> int:
        self._check()
        return await self.lease.renew(holder, revision)

    async def release(self, revision: int) -> None:
        self._check()
        await self.lease.release(revision)


@dataclass
class Instance:
    name: str
    rig: Rig
    link: Link
    leadership: Leadership
    made: list[str]

    def start(self) -> None:
        self.rig.tasks.append(asyncio.create_task(self.rig.show.follow()))
        self.rig.tasks.append(asyncio.create_task(self.leadership.run(self.rig.show.perform)))

    def leads(self) -> bool:
        return self.leadership.role == "leader"


def instance(name: str, rig: Rig, lease: Lease, *, ttl: float = TTL) -> Instance:
    link = Link(lease)
    made: list[str] = []
    record = rig.studio.record

    async def counted(text: str, voice: Voice) -> Recording:
        made.append(text)
        return await record(text, voice)

    rig.studio.record = counted  # type: ignore[method-assign]
    return Instance(name, rig, link, Leadership(link, name, ttl=ttl, poll=0.05), made)


async def next_cue(rig: Rig, seen: set[str]) -> StageCue:
    """The next clip this instance cued that the widget has not played yet."""
    await rig.until(lambda: any(c.cue_id not in seen for c in rig.outbox.cues), what="a new cue")
    return next(c for c in rig.outbox.cues if c.cue_id not in seen)


async def test_only_the_lease_holder_runs_the_show_and_a_standby_takes_over_without_losing_or_repeating_a_clip(
    make_rig: RigFactory, personas: PersonaBook
) -> None:
    store, lease = MemoryShowStore(), MemoryLease(ttl=TTL)
    one, two = (instance(name, make_rig(store=store), lease) for name in ("one", "two"))
    one.start()
    await one.rig.until(one.leads, what="the first instance leading")
    two.start()
    await two.rig.until(lambda: two.leadership.role == "standby", what="the second standing by")
    leader, standby = one, two
    played: list[StageCue] = []
    seen: set[str] = set()

    async def play(via: Instance, cue: StageCue) -> None:
        played.append(cue)
        seen.add(cue.cue_id)
        await via.rig.ended(cue)

    # The widget's reports and a superchat reach the standby (replicas share the consumers): the leader goes on.
    for _ in range(2):
        await play(standby, await next_cue(leader.rig, seen))
    on_stage = await next_cue(leader.rig, seen)
    superchat = make_job(1, kind=EventKind.SUPERCHAT, donor="Olga", message="Hello from Riga")
    await standby.rig.show.accept(superchat)
    await play(standby, on_stage)
    await play(standby, await next_cue(leader.rig, seen))  # the superchat, at the next boundary
    assert played[-1].donation_id == superchat.donation_id
    assert standby.rig.outbox.cues == [] and standby.made == []  # the standby spoke nothing
    assert leader.leadership.health().detail.startswith("leader: this instance (one) runs the show")
    assert standby.leadership.health().detail.startswith("standby: one runs the show")

    # The leader dies with a clip on stage: no renewal, no release; the lease lapses and the standby takes over.
    on_stage = await next_cue(leader.rig, seen)
    leader.link.cut = True
    await leader.rig.stop()
    died = time.monotonic()
    await standby.rig.until(standby.leads, timeout=TTL * 5, what="the standby taking over")
    took_over = time.monotonic() - died
    again = await next_cue(standby.rig, set())
    assert again == on_stage  # cued again, same id: the widget and the stream drop the duplicate
    await play(standby, again)
    for _ in range(3):
        await play(standby, await next_cue(standby.rig, seen))

    assert took_over < TTL * 3
    assert standby.leadership.health().detail.startswith("leader: this instance (two)")
    assert leader.made and standby.made
    script = [_spoken(t) for t in script_texts(personas, "nova")]
    spoken = [c.message for c in played if c.donation_id != superchat.donation_id]
    assert spoken == script[: len(spoken)]  # in order, none lost, none twice
    assert [c.donation_id for c in played].count(superchat.donation_id) == 1
    assert len({c.cue_id for c in played}) == len(played) == 8


async def test_a_leader_that_stops_cleanly_hands_over_at_once(make_rig: RigFactory) -> None:
    store, lease = MemoryShowStore(), MemoryLease(ttl=30.0)  # a lapse would take far longer than the test
    one, two = (instance(name, make_rig(store=store), lease, ttl=30.0) for name in ("one", "two"))
    one.start()
    await one.rig.until(one.leads, what="the first instance leading")
    two.start()
    await one.rig.cues(1)
    await one.rig.stop()  # SIGTERM: the lease is released on the way out
    await two.rig.until(two.leads, timeout=5, what="the second taking over")
    [again] = await two.rig.cues(1)
    assert again == one.rig.outbox.cues[0]


async def test_a_leader_that_cannot_renew_stops_before_its_lease_may_lapse(make_rig: RigFactory) -> None:
    lease = MemoryLease(ttl=TTL)
    one = instance("one", make_rig(), lease)
    one.start()
    await one.rig.until(one.leads, what="leading")
    await one.rig.cues(1)
    one.link.cut = True  # NATS unreachable: renewals fail
    [(_, _, renewed)] = [lease._entry] if lease._entry else []  # the last renewal that reached the lease
    await one.rig.until(lambda: not one.leads(), timeout=TTL * 3, what="standing down")
    assert time.monotonic() - renewed < TTL  # before the lease could lapse and another instance take it
    cued = len(one.rig.outbox.cues)
    await asyncio.sleep(0.3)
    assert len(one.rig.outbox.cues) == cued  # the show stopped here


async def test_a_stale_leader_that_missed_the_take_over_is_fenced_off_by_the_term_in_the_state(
    make_rig: RigFactory, personas: PersonaBook
) -> None:
    store = MemoryShowStore()
    old, new = make_rig(store=store), make_rig(store=store)
    new.tasks.append(asyncio.create_task(new.show.follow()))
    await old.show.load()  # and not following: it will not see the take-over
    stale = asyncio.create_task(old.show.perform(Term("old", 1)))
    first = (await old.cues(1))[0]
    await new.show.loaded.wait()
    new.tasks.append(asyncio.create_task(new.show.perform(Term("new", 2))))
    await new.cues(1)

    # A superchat reaches the stale leader: taken in (any instance takes jobs), but its next step is refused.
    superchat = make_job(1, kind=EventKind.SUPERCHAT, donor="Olga")
    await old.show.accept(superchat)
    await asyncio.wait_for(stale, timeout=10)  # ShowTakenOver, handled: perform returned
    played = [first]
    await new.ended(first)
    for _ in range(3):
        cue = await next_cue(new, {c.cue_id for c in played})
        played.append(cue)
        await new.ended(cue)

    assert old.outbox.cues == [first]
    assert new.outbox.cues[0] == first  # cued again by the new leader, same id
    assert played[1].donation_id == superchat.donation_id
    script = [_spoken(t) for t in script_texts(personas, "nova")]
    assert [c.message for c in played if c.donation_id != superchat.donation_id] == script[:3]
    assert store.data is not None and '"leader":"new"' in store.data


async def test_a_leader_that_sees_another_take_the_show_stops_at_once(make_rig: RigFactory) -> None:
    store = MemoryShowStore()
    old, new = make_rig(store=store), make_rig(store=store)
    old.tasks.append(asyncio.create_task(old.show.follow()))
    stale = asyncio.create_task(old.show.perform(Term("old", 1)))
    await old.cues(1)
    await new.show.load()
    new.tasks.append(asyncio.create_task(new.show.perform(Term("new", 2))))
    await asyncio.wait_for(stale, timeout=5)  # without any step of its own to be refused
    assert len(old.outbox.cues) == 1


async def test_a_renewal_of_a_lapsed_lease_fails_and_only_one_instance_wins_it() -> None:
    clock = [0.0]
    lease = MemoryLease(ttl=5.0, clock=lambda: clock[0])
    first = await lease.take("one", None)
    assert first is not None and await lease.take("two", None) is None
    clock[0] = 5.0
    assert await lease.current() is None
    second = await lease.take("two", None)
    assert second is not None and second > first
    with pytest.raises(LeaseLost):
        await lease.renew("one", first)
