"""The AIML client against the fake AIML over loopback: the protocol, retries that never pay twice, clear errors."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from tests.fakes.aiml import LEGACY_PATH, FakeAiml
from video.aiml import (
    AimlClient,
    AimlGenerationFailed,
    AimlRejected,
    AimlTimedOut,
    AimlUnanswered,
    AimlUnavailable,
    Generation,
    GenerationRequest,
)

REQUEST = GenerationRequest(model="google/veo3", prompt="Confetti.", negative_prompt="text")


async def test_submit_sends_the_documented_body_with_the_bearer_key(fake: FakeAiml, aiml: AimlClient) -> None:
    generation_id = await aiml.submit(REQUEST)

    assert generation_id.endswith(":veo3")
    assert fake.submissions == 1
    assert fake.bodies == [
        {
            "model": "google/veo3",
            "prompt": "Confetti.",
            "aspect_ratio": "16:9",
            "duration": 8,
            "resolution": "720P",
            "generate_audio": True,
            "enhance_prompt": True,
            "negative_prompt": "text",
        }
    ]
    assert fake.authorization_headers == [f"Bearer {fake.api_key}"]


async def test_wait_polls_through_queued_and_generating_to_the_video_url(
    fake: FakeAiml, aiml: AimlClient
) -> None:
    seen: list[str] = []

    async def progress(generation: Generation, _elapsed: float) -> None:
        seen.append(generation.status)

    generation_id = await aiml.submit(REQUEST)
    url = await aiml.wait(generation_id, timeout=5, interval=0.02, max_interval=0.05, on_progress=progress)

    assert url == fake.video_url(generation_id)
    assert seen[0] == "queued"
    assert "generating" in seen
    assert seen[-1] == "completed"


async def test_legacy_vendor_path_answers_201_and_works_the_same(fake: FakeAiml) -> None:
    client = AimlClient(api_key=fake.api_key, base_url=fake.base_url, path=LEGACY_PATH, retry_base=0.01)
    try:
        generation_id = await client.submit(REQUEST)
        assert await client.wait(generation_id, timeout=5, interval=0.02) == fake.video_url(generation_id)
    finally:
        await client.aclose()


async def test_5xx_and_429_on_submit_are_retried_and_the_generation_is_paid_once(
    fake: FakeAiml, aiml: AimlClient
) -> None:
    fake.fail_next(503)
    fake.fail_next(429, retry_after=0.05)

    await aiml.submit(REQUEST)

    assert fake.requests["submit"] == 3
    assert fake.submissions == 1


async def test_persistent_5xx_gives_up_after_the_retries_with_a_clear_error(
    fake: FakeAiml, aiml: AimlClient
) -> None:
    fake.fail_next(500, times=10)
    with pytest.raises(
        AimlUnavailable, match=r"AIML answered 500: Internal server error; gave up after 3 attempts"
    ):
        await aiml.submit(REQUEST)
    assert fake.submissions == 0


async def test_comma_less_429_body_is_still_read(fake: FakeAiml, aiml: AimlClient) -> None:
    fake.fail_next(429, times=10, endpoint="submit")
    with pytest.raises(AimlUnavailable, match="Free-tier limit"):
        await aiml.submit(REQUEST)


@pytest.mark.parametrize(
    ("status", "advice"),
    [(401, "Set VIDEO_AIML_API_KEY"), (403, "Top up the AIML balance"), (400, "Check VIDEO_AIML_MODEL")],
)
async def test_refusals_are_not_retried_and_say_what_to_do(
    fake: FakeAiml, aiml: AimlClient, status: int, advice: str
) -> None:
    fake.fail_next(status)
    with pytest.raises(AimlRejected, match=advice):
        await aiml.submit(REQUEST)
    assert fake.requests["submit"] == 1


async def test_invalid_settings_are_refused_by_body_validation(fake: FakeAiml, aiml: AimlClient) -> None:
    with pytest.raises(AimlRejected, match=r"Body validation error! duration: Invalid enum value"):
        await aiml.submit(GenerationRequest(model="google/veo3", prompt="x", duration=5))


async def test_a_submit_without_an_answer_is_never_sent_again(fake: FakeAiml, aiml: AimlClient) -> None:
    fake.delay_next(1.0, endpoint="submit")  # longer than the client's 0.5 s timeout
    with pytest.raises(AimlUnanswered, match="was not sent again so that it cannot be paid twice"):
        await aiml.submit(REQUEST)
    assert fake.requests["submit"] == 1


class _ClosingKeepAlive:
    """An HTTP server that answers the first request on a connection and keeps it open, then closes it when a
    second request arrives there, unanswered: what a server closing an idle connection looks like to a client that
    picked that connection at the same moment."""

    def __init__(self) -> None:
        self.posts = 0
        self.connections = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        served = 0
        while head := await reader.readuntil(b"\r\n\r\n"):
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            await reader.readexactly(length)
            if served:
                writer.close()
                return
            served += 1
            posted = head.startswith(b"POST")
            self.posts += posted
            body = json.dumps({"id": "g-1", "status": "queued" if posted else "generating"}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()


async def test_a_submit_never_rides_a_kept_alive_connection_the_server_may_be_closing() -> None:
    server = _ClosingKeepAlive()
    listening = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    aiml = AimlClient(api_key="k", base_url=f"http://127.0.0.1:{port}", request_timeout=2, retry_base=0.01)
    try:
        assert (await aiml.poll("g-1")).status == "generating"  # leaves a kept-alive connection in the pool

        assert await aiml.submit(REQUEST) == "g-1"
        assert await aiml.submit(REQUEST) == "g-1"
    finally:
        await aiml.aclose()
        listening.close()
    assert server.posts == 2
    assert server.connections == 3, "each submit on its own connection"


async def test_poll_timeouts_5xx_and_garbage_are_tolerated(fake: FakeAiml, aiml: AimlClient) -> None:
    generation_id = await aiml.submit(REQUEST)
    fake.garbage_next(endpoint="poll")
    fake.fail_next(502, endpoint="poll")
    url = await aiml.wait(generation_id, timeout=10, interval=0.02)
    assert url == fake.video_url(generation_id)
    assert aiml.last_error is None


async def test_garbage_answers_in_a_row_give_up(fake: FakeAiml, aiml: AimlClient) -> None:
    generation_id = await aiml.submit(REQUEST)
    fake.garbage_next(times=10, endpoint="poll")
    with pytest.raises(AimlUnavailable, match=r"not JSON.*3 status requests failed in a row"):
        await aiml.wait(generation_id, timeout=10, interval=0.02)
    assert aiml.last_error is not None


async def test_failed_generation_reports_aimls_reason(fake: FakeAiml, aiml: AimlClient) -> None:
    fake.fail_generations = "The prompt was flagged by the safety filter"
    generation_id = await aiml.submit(REQUEST)
    with pytest.raises(AimlGenerationFailed, match="flagged by the safety filter"):
        await aiml.wait(generation_id, timeout=5, interval=0.02)


async def test_a_generation_that_never_finishes_times_out(fake: FakeAiml, aiml: AimlClient) -> None:
    fake.hold = True
    generation_id = await aiml.submit(REQUEST)
    with pytest.raises(AimlTimedOut, match="VIDEO_GENERATION_TIMEOUT"):
        await aiml.wait(generation_id, timeout=0.3, interval=0.05)


async def test_the_key_never_appears_in_logs_or_errors(
    fake: FakeAiml, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = AimlClient(api_key="sk-secret-never-logged", base_url=fake.base_url, retries=1, retry_base=0.01)
    try:
        with pytest.raises(AimlRejected) as refused:
            await client.submit(REQUEST)
    finally:
        await client.aclose()
    assert "sk-secret-never-logged" not in str(refused.value)
    assert "sk-secret-never-logged" not in caplog.text
    assert "sk-secret" not in repr(client.__dict__)
