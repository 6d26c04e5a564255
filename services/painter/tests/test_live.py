"""The live canvas in a browser: the page streams the picture on stage, frame by frame, as the window shows it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import expect

from ovation_contracts import LiveFrame
from ovation_contracts.painter import live_canvas_script
from painter.board import Board, Showing, StageView, monotonic
from painter.live import FrameMaker, live_router, publish_frames
from painter.planner import OfflinePlanner
from painter.render import final_frame, render_frame
from painter.timeline import build_timeline

PLAN = OfflinePlanner().plan("a red heart", seed=5)
EMPTY = LiveFrame()


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
        assert LiveFrame.model_validate(await next_frame(lines)) == EMPTY
        finished(board)
        frame = LiveFrame.model_validate(await asyncio.wait_for(next_frame(lines), 5))
        assert frame.key == "j1#1" and (frame.w, frame.h) == (96, 96)
        assert base64.b64decode(frame.rgb or "") == bytes(final_frame(PLAN).rgb)
        board.publish(StageView())
        assert LiveFrame.model_validate(await asyncio.wait_for(next_frame(lines), 5)) == EMPTY


async def test_the_page_is_served_to_loopback_names_only(live: tuple[str, Board]) -> None:
    url, _ = live
    async with httpx.AsyncClient(timeout=5) as client:
        page = await client.get(f"{url}/live")
        assert page.status_code == 200 and '<script src="/live/live.js">' in page.text
        rebound = await client.get(f"{url}/live", headers={"Host": "attacker.example"})
        assert rebound.status_code == 403 and "loopback" in rebound.json()["detail"]
        script = await client.get(f"{url}/live/live.js", headers={"Host": "localhost:1"})
        assert script.status_code == 200 and script.text == live_canvas_script()


@pytest.mark.browser
async def test_the_browser_shows_the_picture_pixel_for_pixel(live: tuple[str, Board], chromium: Any) -> None:
    url, board = live
    page = await chromium.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{url}/live")
    finished(board, "j7#1")
    await expect(page.locator("#canvas")).to_have_attribute("data-key", "j7#1", timeout=10_000)
    pixels = await page.evaluate(
        "Array.from(document.getElementById('canvas').getContext('2d').getImageData(0, 0, 96, 96).data)"
    )
    expected = final_frame(PLAN)
    for x, y in [(0, 0), (48, 50), (36, 38), (60, 40), (95, 95)]:
        offset = 4 * (y * 96 + x)
        assert tuple(pixels[offset : offset + 3]) == expected.pixel(x, y), (x, y)
    assert errors == []


# the frames themselves, for the bus and every viewer -----------------------------------------------------------


def test_a_frame_is_made_only_when_the_picture_changed() -> None:
    board = Board()
    maker = FrameMaker(board)
    start = monotonic()
    assert maker.advance(start) == EMPTY, "a viewer gets a frame at once, even of an empty stage"
    assert maker.advance(start + 0.1) is None
    timeline = build_timeline(PLAN)
    board.publish(StageView(showing=Showing("j1#1", timeline, started_at=start)))
    halfway = maker.advance(start + timeline.duration_ms / 2000)
    assert halfway is not None and halfway.key == "j1#1"
    assert base64.b64decode(halfway.rgb or "") == bytes(render_frame(timeline, timeline.duration_ms / 2).rgb)
    assert halfway.rgb != base64.b64encode(final_frame(PLAN).rgb).decode(), "drawn halfway, not finished"
    assert maker.advance(start + timeline.duration_ms / 2000) is None, "the same moment again: no frame"
    done = maker.advance(start + timeline.duration_ms / 1000 + 5)
    assert done is not None and base64.b64decode(done.rgb or "") == bytes(final_frame(PLAN).rgb)
    assert maker.advance(start + timeline.duration_ms / 1000 + 60) is None, "the finished picture holds"
    board.publish(StageView(showing=Showing("j2#2", timeline, started_at=start - 600)))
    again = maker.advance(start + 61)
    assert again is not None and again.key == "j2#2", "the same picture for another request is a new frame"
    board.publish(StageView())
    assert maker.advance(start + 62) == EMPTY
    assert maker.frame == EMPTY


async def test_frames_are_published_on_change_at_most_fps_and_again_as_keyframes() -> None:
    board = Board()
    finished(board)
    closing = asyncio.Event()
    sent: list[tuple[float, LiveFrame]] = []

    async def send(frame: LiveFrame) -> bool:
        sent.append((monotonic(), frame))
        if len(sent) == 3:
            board.publish(StageView())
        if len(sent) == 5:
            closing.set()
        return True

    await asyncio.wait_for(publish_frames(board, send, fps=50, closing=closing, keyframe_seconds=0.2), 10)
    frames = [frame for _, frame in sent]
    picture = base64.b64encode(final_frame(PLAN).rgb).decode()
    assert [frame.rgb for frame in frames[:3]] == [picture] * 3, "the picture, then the same as keyframes"
    assert frames[3:] == [EMPTY, EMPTY], "the empty stage right after it emptied, then as a keyframe"
    times = [at for at, _ in sent]
    assert times[1] - times[0] >= 0.19 and times[2] - times[1] >= 0.19, "an unchanged picture waits"
    assert all(b - a >= 1 / 50 - 0.005 for a, b in itertools.pairwise(times)), "never more than fps"


async def test_a_frame_that_could_not_be_published_is_sent_again_at_once() -> None:
    board = Board()
    finished(board)
    closing = asyncio.Event()
    attempts: list[LiveFrame] = []

    async def send(frame: LiveFrame) -> bool:
        attempts.append(frame)
        if len(attempts) == 1:
            return False  # NATS is away
        if len(attempts) == 2:
            raise ConnectionError("the connection closed while publishing")
        closing.set()
        return True

    # no keyframe for a minute: only the failures can explain the attempts after the first
    await asyncio.wait_for(publish_frames(board, send, fps=50, closing=closing, keyframe_seconds=60), 10)
    assert len(attempts) == 3 and attempts[0] == attempts[1] == attempts[2]
    assert attempts[0].key == "j1#1"
