"""Stopping a child task must never swallow the caller's own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from ovation_bus import cancel_and_wait


async def test_a_cancelled_caller_stays_cancelled_while_it_stops_a_slow_child() -> None:
    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0.2)  # cleaning up takes a moment
            raise

    async def caller() -> None:
        child = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0)
        while True:  # the shape of a service loop that stops its child and goes round again
            await cancel_and_wait(child)
            child = asyncio.create_task(slow_to_stop())
            await asyncio.sleep(0)

    task = asyncio.create_task(caller())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 2)


async def test_a_childs_failure_does_not_reach_the_caller() -> None:
    async def failing() -> None:
        raise RuntimeError("boom")

    child = asyncio.create_task(failing())
    await asyncio.sleep(0)
    await cancel_and_wait(child)
    assert child.done()
