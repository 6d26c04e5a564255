"""The live canvas in a browser: the page streams the picture on stage, frame by frame, as the window shows it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from painter.board import Board, Showing, StageView, monotonic
from painter.live import live_router
from painter.planner import OfflinePlanner
from painter.render import final_frame
from painter.timeline import build_timeline

PLAN = OfflinePlanner().plan("a red heart", seed=5)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield

    async def main_loop(self) -> None:
        await self.exit_requested.wait()


@pytest.fixture
async def live() -> AsyncIterator[tuple[str, Board]]:
    board = Board()
    closing = asyncio.Event()
    app = FastAPI()
    app.include_router(live_router(board, fps=30, closing=closing))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = _Server(uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()  # the server failed to start: show why
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", board
    closing.set()
    server.should_exit = True
    server.exit_requested.set()
    await task


def finished(board: Board, key: str = "j1#1") -> None:
    board.publish(StageView(showing=Showing(key, build_timeline(PLAN), started_at=monotonic() - 600)))


async def next_frame(lines: AsyncIterator[str]) -> dict[str, Any]:
    async for line in lines:
        if line.startswith("data: "):
            frame: dict[str, Any] = json.loads(line[6:])
            return frame
    raise AssertionError("the stream ended")


async def test_the_stream_sends_the_picture_on_stage_and_an_empty_frame_when_nothing_is(
    live: tuple[str, Board],
) -> None:
    url, board = live
    async with (
        httpx.AsyncClient(timeout=10) as client,
        client.stream("GET", f"{url}/live/frames") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.aiter_lines()
        assert await next_frame(lines) == {"key": None}
        finished(board)
        frame = await asyncio.wait_for(next_frame(lines), 5)
        assert frame["key"] == "j1#1" and (frame["w"], frame["h"]) == (96, 96)
        assert base64.b64decode(frame["rgb"]) == bytes(final_frame(PLAN).rgb)
        board.publish(StageView())
        assert await asyncio.wait_for(next_frame(lines), 5) == {"key": None}


async def test_the_page_is_served_to_loopback_names_only(live: tuple[str, Board]) -> None:
    url, _ = live
    async with httpx.AsyncClient(timeout=5) as client:
        page = await client.get(f"{url}/live")
        assert page.status_code == 200 and '<script src="/live/live.js">' in page.text
        rebound = await client.get(f"{url}/live", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and "loopback" in rebound.json()["detail"]
        assert (await client.get(f"{url}/live/live.js", headers={"Host": "localhost:1"})).status_code == 200


@pytest.mark.browser
async def test_the_browser_shows_the_picture_pixel_for_pixel(live: tuple[str, Board], chromium: Any) -> None:
    url, board = live
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/live")
    finished(board, "j7#1")
    await page.wait_for_function("document.getElementById('canvas').dataset.key === 'j7#1'", timeout=10_000)
    pixels = await page.evaluate(
        "Array.from(document.getElementById('canvas').getContext('2d').getImageData(0, 0, 96, 96).data)"
    )
    expected = final_frame(PLAN)
    for x, y in [(0, 0), (48, 50), (36, 38), (60, 40), (95, 95)]:
        offset = 4 * (y * 96 + x)
        assert tuple(pixels[offset : offset + 3]) == expected.pixel(x, y), (x, y)
    assert errors == []
