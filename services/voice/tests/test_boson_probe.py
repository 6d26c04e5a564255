"""The periodic Boson check: an outage shows in health even while nothing is being spoken."""

from __future__ import annotations

from voice.keys import KeyPool
from voice.openai_api import ChatCompletions

from tests.fakes.boson import FakeBoson


async def test_the_probe_reports_an_outage_and_clears_when_boson_answers() -> None:
    async with FakeBoson(keys=("bai-probe",)) as boson:
        api = ChatCompletions(
            name="Boson",
            base_url=boson.base_url,
            keys=KeyPool(["bai-probe"]),
            key_setting="VOICE_BOSON_API_KEYS",
        )
        try:
            assert await api.probe() is None
            boson.outage = 503
            problem = await api.probe()
            assert problem is not None
            assert "503" in problem
            boson.outage = None
            assert await api.probe() is None
        finally:
            await api.aclose()
    assert (
        await ChatCompletions(
            name="Boson", base_url="http://127.0.0.1:1/v1", keys=KeyPool(["k"]), key_setting="X", timeout=2
        ).probe()
        == "Boson does not answer (ConnectError)"
    )
