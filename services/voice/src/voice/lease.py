"""Who runs the show: one voice instance at a time, by a lease in KV (``ovation-leases``/``voice-show``).

Several voice processes may run at once (replicas, or a restart that overlaps the old process). All of them take
voice jobs and playback reports into the show state; only the holder of the lease runs the show (makes the clips and
cues them), so nothing is spoken twice. The lease is one KV entry holding the holder's instance name:

- taken with a create, a compare-and-set on "no entry", so of two instances trying at once exactly one wins;
- renewed by its holder four times per term with an update on the revision it last wrote, so a holder whose lease
  lapsed and was taken learns it at its next renewal and stops;
- gone by itself when the holder stops renewing (killed, hung, cut off from NATS): the bucket's TTL removes the
  entry, and a standby, trying every ``poll`` seconds, takes it and resumes the show from the state in KV;
- released (deleted at its revision) when the holder shuts down cleanly, so a standby takes over at once.

A holder that cannot renew stops leading once its lease may have lapsed. Should a stale holder still take a step,
the fence in the show state (the term written into it at each take-over, see ``show.py``) refuses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from ovation_bus import cancel_and_wait
from ovation_contracts import Check, bus

log = logging.getLogger(__name__)

BUCKET = bus.KV_LEASES
KEY = "voice-show"
TTL = bus.kv_spec(BUCKET).ttl_seconds or 6.0
"""The lease term: the bucket's TTL, one value for every instance."""
RENEWALS_PER_TERM = 4


@dataclass(frozen=True, slots=True)
class Term:
    """One holder's tenure: its instance name and the KV revision at which it took the lease (unique per term)."""

    holder: str
    revision: int


class LeaseLost(Exception):
    """The lease is no longer ours: it lapsed and another instance took it, or it could not be renewed in time."""


class Lease(Protocol):
    async def current(self) -> tuple[str, int] | None:
        """The holder and the revision of the lease, or None when nobody holds it."""
        ...

    async def take(self, holder: str, last: int | None) -> int | None:
        """Take the lease when free (``last`` None) or over the entry at revision ``last``; its revision, or None
        when another instance got there first."""
        ...

    async def renew(self, holder: str, revision: int) -> int:
        """Renew the lease written at ``revision``; the new revision, or ``LeaseLost``."""
        ...

    async def release(self, revision: int) -> None:
        """Give the lease up, if it is still the one written at ``revision``."""
        ...


def _wrong_last(exc: Exception) -> bool:
    # nats-py reports some compare-and-set failures as a generic API error ("wrong last sequence")
    return isinstance(exc, KeyWrongLastSequenceError) or "wrong last sequence" in str(exc).lower()


class KvLease:
    """The lease as a KV entry; every call gives up after ``timeout`` seconds (a renewal must not hang)."""

    def __init__(
        self, bucket: Callable[[], Awaitable[KeyValue]], key: str = KEY, timeout: float = 2.0
    ) -> None:
        self.bucket = bucket
        self.key = key
        self.timeout = timeout

    async def current(self) -> tuple[str, int] | None:
        async with asyncio.timeout(self.timeout):
            kv = await self.bucket()
            try:
                entry = await kv.get(self.key)
            except KeyNotFoundError:
                return None
        if not entry.value:
            return None
        return entry.value.decode(), int(entry.revision or 0)

    async def take(self, holder: str, last: int | None) -> int | None:
        async with asyncio.timeout(self.timeout):
            kv = await self.bucket()
            try:
                if last is None:
                    return int(await kv.create(self.key, holder.encode()))
                return int(await kv.update(self.key, holder.encode(), last=last))
            except KeyNotFoundError:
                return None  # it lapsed between nats-py's create and its check for a delete marker
            except Exception as exc:
                if _wrong_last(exc):
                    return None
                raise

    async def renew(self, holder: str, revision: int) -> int:
        async with asyncio.timeout(self.timeout):
            kv = await self.bucket()
            try:
                return int(await kv.update(self.key, holder.encode(), last=revision))
            except Exception as exc:
                if _wrong_last(exc):
                    raise LeaseLost("the lease lapsed and was taken, or was removed") from exc
                raise

    async def release(self, revision: int) -> None:
        async with asyncio.timeout(self.timeout):
            kv = await self.bucket()
            await kv.delete(self.key, last=revision)


class MemoryLease:
    """The same in memory, with the bucket's TTL on a clock (tests)."""

    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entry: tuple[str, int, float] | None = None
        self._revision = 0

    def _live(self) -> tuple[str, int, float] | None:
        if self._entry is not None and self.clock() - self._entry[2] >= self.ttl:
            self._entry = None
        return self._entry

    def _write(self, holder: str) -> int:
        self._revision += 1
        self._entry = (holder, self._revision, self.clock())
        return self._revision

    async def current(self) -> tuple[str, int] | None:
        entry = self._live()
        return None if entry is None else (entry[0], entry[1])

    async def take(self, holder: str, last: int | None) -> int | None:
        entry = self._live()
        if (entry[1] if entry else None) != last:
            return None
        return self._write(holder)

    async def renew(self, holder: str, revision: int) -> int:
        entry = self._live()
        if entry is None or entry[1] != revision:
            raise LeaseLost("the lease lapsed and was taken, or was removed")
        return self._write(holder)

    async def release(self, revision: int) -> None:
        entry = self._live()
        if entry is not None and entry[1] == revision:
            self._entry = None


Role = Literal["starting", "leader", "standby"]


class Leadership:
    """Campaigns for the lease, leads while it holds it, stands by otherwise; says which in ``health``."""

    def __init__(
        self,
        lease: Lease,
        instance: str,
        *,
        ttl: float = TTL,
        poll: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease = lease
        self.instance = instance
        self.ttl = ttl
        self.poll = poll
        self.renew_every = ttl / RENEWALS_PER_TERM
        self.monotonic = monotonic
        self.role: Role = "starting"
        self.leader: str | None = None
        """The instance that leads, as last seen (this one while it leads)."""
        self.problem: str | None = None

    async def run(self, lead: Callable[[Term], Coroutine[Any, Any, None]]) -> None:
        """For the service's lifetime: stand by until the lease is ours, then ``lead`` until it is lost, and again.

        ``lead`` runs for as long as the lease is held and is cancelled when it is lost; when ``lead`` ends by
        itself (the show was taken over, or it failed) the lease is released and, after a failure, the error raised.
        """
        while True:
            term = await self._campaign()
            await self._hold(term, lead)

    async def _campaign(self) -> Term:
        while True:
            try:
                current = await self.lease.current()
                # The same name holding it is this instance's previous life (a restart under a fixed name).
                if current is None or current[0] == self.instance:
                    revision = await self.lease.take(self.instance, None if current is None else current[1])
                    if revision is not None:
                        return Term(self.instance, revision)
                    current = await self.lease.current()
                self.leader = current[0] if current else None
                self.problem = None
            except Exception as exc:  # NATS away or slow: keep trying, the nats check reports the outage
                self.problem = f"cannot read the show's lease ({type(exc).__name__}: {exc})"
                log.debug("cannot campaign for the show's lease: %r", exc)
            if self.role != "standby":
                log.info("standing by: %s runs the show", self.leader or "no instance yet")
            self.role = "standby"
            await asyncio.sleep(self.poll)

    async def _hold(self, term: Term, lead: Callable[[Term], Coroutine[Any, Any, None]]) -> None:
        self.role, self.leader, self.problem = "leader", self.instance, None
        log.info("this instance (%s) runs the show now (lease revision %d)", self.instance, term.revision)
        revision = term.revision
        held = True
        renewed = self.monotonic()  # when the last renewal that succeeded was sent
        show = asyncio.create_task(lead(term), name="voice-show-lead")
        try:
            while True:
                await asyncio.wait({show}, timeout=self.renew_every)
                if show.done():
                    show.result()  # the show's failure, if it failed
                    log.warning("the show stopped under this instance's lease; giving the lease up")
                    return
                sent = self.monotonic()
                try:
                    revision = await self.lease.renew(self.instance, revision)
                    renewed, self.problem = sent, None
                except LeaseLost:
                    held = False
                    raise
                except Exception as exc:
                    self.problem = f"cannot renew the show's lease ({type(exc).__name__}: {exc})"
                    if self.monotonic() - renewed >= self.ttl - self.renew_every:
                        held = False  # it may have lapsed by now, and another instance may lead
                        raise LeaseLost(f"not renewed for {self.ttl:g} s: {exc}") from exc
                    log.warning("could not renew the show's lease, retrying: %r", exc)
        except LeaseLost as exc:
            log.warning("this instance no longer runs the show: %s", exc)
        finally:
            try:
                await cancel_and_wait(show)
            finally:
                # Also on shutdown (this task cancelled): released, a standby takes over at once.
                self.role = "standby"
                if self.leader == self.instance:
                    self.leader = None
                if held:
                    with contextlib.suppress(Exception):
                        await self.lease.release(revision)
                    log.info("gave up the show's lease")
        if not held:  # lost (the show is stopped by now): was it taken under this very name?
            with contextlib.suppress(Exception):
                current = await self.lease.current()
                if current is not None and current[0] == self.instance:
                    log.warning(
                        "the show's lease is held under this instance's own name (%s): a renewal whose answer was "
                        "lost, or another replica with the same OVATION_INSTANCE (give each its own)",
                        self.instance,
                    )

    def health(self) -> Check:
        if self.role == "leader":
            detail = (
                f"leader: this instance ({self.instance}) runs the show; "
                f"its lease ({self.ttl:g} s) is renewed every {self.renew_every:g} s"
            )
            if self.problem:
                detail += f"; {self.problem}"
            return Check(ok=self.problem is None, detail=detail[:500])
        if self.role == "starting":
            return Check(ok=True, detail=f"starting: this instance ({self.instance}) has not looked yet")
        runs = f"{self.leader} runs the show" if self.leader else "no instance runs the show yet"
        detail = (
            f"standby: {runs}; this instance ({self.instance}) takes voice jobs and playback reports, and takes "
            f"the show over when that lease lapses ({self.ttl:g} s)"
        )
        if self.problem:
            detail += f"; {self.problem}"
        return Check(ok=True, detail=detail[:500])
