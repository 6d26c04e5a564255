"""``ovation_asyncio_tasks`` on /metrics counts the tasks alive on the service's loop when it is read."""

from __future__ import annotations

import asyncio
import re

import httpx
from fastapi import FastAPI

from ovation_bus import Health, ops_router
from ovation_bus.metrics import count_tasks


def tasks_on(text: str) -> float:
    match = re.search(r"^ovation_asyncio_tasks (\S+)$", text, re.M)
    assert match, text
    return float(match.group(1))


async def test_the_gauge_follows_the_tasks_of_the_loop() -> None:
    app = FastAPI()
    app.include_router(ops_router(Health("test")))
    count_tasks(asyncio.get_running_loop())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        before = tasks_on((await http.get("/metrics")).text)
        sleepers = [asyncio.create_task(asyncio.sleep(60)) for _ in range(5)]
        during = tasks_on((await http.get("/metrics")).text)
        for task in sleepers:
            task.cancel()
        await asyncio.gather(*sleepers, return_exceptions=True)
        after = tasks_on((await http.get("/metrics")).text)
    assert during == before + 5
    assert after == before
