"""The painter's live frames: never stored, and a frame's pixels always match its size."""

from __future__ import annotations

import base64

import pytest
from pydantic import ValidationError

from ovation_contracts import LiveFrame, bus, decode, wrap
from ovation_contracts.painter import live_canvas_script


def test_live_frames_travel_on_core_nats_and_are_never_stored() -> None:
    with pytest.raises(LookupError):
        bus.stream_for(bus.LIVE_PAINTER_FRAME)


def test_a_frame_round_trips_in_its_envelope() -> None:
    frame = LiveFrame(key="api:1:painter#1", w=3, h=2, rgb=base64.b64encode(bytes(range(18))).decode())
    envelope = wrap(frame, id="painter:frame:1", correlation_id=LiveFrame.CORRELATION_ID)
    assert decode(envelope.to_json()).payload == frame
    assert LiveFrame() == LiveFrame(key=None), "the empty stage"


@pytest.mark.parametrize(
    "fields",
    [
        {"key": "j#1", "w": 2, "h": 2, "rgb": base64.b64encode(bytes(9)).decode()},  # one pixel short
        {"key": None, "w": 1, "h": 1, "rgb": "AAAA"},  # pixels of no picture
        {"key": "j#1", "w": 2, "h": 2},  # a size without pixels
        {"key": "j#1", "w": 1, "h": 1, "rgb": "AA=="},  # padding: not 3 bytes a pixel
        {"key": "j#1", "w": 300, "h": 1, "rgb": "AAAA" * 300},  # wider than any canvas
    ],
)
def test_a_frame_whose_pixels_do_not_match_its_size_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        LiveFrame.model_validate(fields)


def test_the_browser_script_is_shipped_with_the_contracts() -> None:
    script = live_canvas_script()
    assert "EventSource" in script and "dataset.stream" in script
