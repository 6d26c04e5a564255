"""The painter's live canvas at the gateway: the latest frame to each viewer at once, then every change (never a
queue of old frames), keyframes only keep it fresh, and a painter gone quiet turns the view empty."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator

from gateway.painter_view import PainterView
from ovation_contracts import LiveFrame, wrap

EMPTY = LiveFrame()


def picture(key: str, shade: int) -> LiveFrame:
    return LiveFrame(key=key, w=2, h=2, rgb=base64.b64encode(bytes([shade]) * 12).decode())


def message(frame: LiveFrame, n: int = 1) -> bytes:
    return wrap(frame, id=f"painter:frame:{n}", correlation_id=LiveFrame.CORRELATION_ID).to_json()


async def next_frame(stream: AsyncIterator[str], timeout: float = 2.0) -> LiveFrame:
    async def first() -> LiveFrame:
        async for chunk in stream:
            if chunk.startswith("event: frame\n"):
                return LiveFrame.model_validate(json.loads(chunk.split("data: ", 1)[1]))
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(first(), timeout)


async def test_a_viewer_gets_the_latest_frame_at_once_then_each_change() -> None:
    view = PainterView()
    assert view.receive(message(picture("j1#1", 10)))
    assert view.receive(message(picture("j1#1", 20), 2))
    stream = view.stream()
    assert await next_frame(stream) == picture("j1#1", 20), "the latest, not the ones before it"
    assert not view.receive(message(picture("j1#1", 20), 3)), "a keyframe of the same picture changes nothing"
    assert view.receive(message(EMPTY, 4))
    assert await next_frame(stream) == EMPTY
    view.close()
    assert [chunk async for chunk in stream] == [], "closing ends the stream"


async def test_a_slow_viewer_skips_to_the_latest_picture() -> None:
    view = PainterView()
    stream = view.stream()
    assert await next_frame(stream) == EMPTY, "before any frame: the empty stage"
    for shade in range(1, 50):
        view.receive(message(picture("j1#1", shade), shade))
    assert await next_frame(stream) == picture("j1#1", 49)
    view.close()


def test_invalid_frames_are_not_shown() -> None:
    view = PainterView()
    assert not view.receive(b"garbage")
    broken = json.loads(message(picture("j1#1", 10)))
    broken["payload"]["rgb"] = broken["payload"]["rgb"][:-4]  # one pixel short
    assert not view.receive(json.dumps(broken).encode())
    assert LiveFrame.model_validate_json(view.current()) == EMPTY


async def test_a_picture_goes_away_when_the_painter_stops_sending() -> None:
    view = PainterView(stale_seconds=0.3)
    view.receive(message(picture("j1#1", 10)))
    stream = view.stream()
    assert await next_frame(stream) == picture("j1#1", 10)
    assert await next_frame(stream, timeout=3) == EMPTY, "no keyframe for longer than stale_seconds"
    view.receive(message(picture("j1#1", 10), 2))
    assert await next_frame(stream) == picture("j1#1", 10), "the painter is back: its picture again"
    view.close()
