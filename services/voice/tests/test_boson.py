"""Boson over loopback (the fake speaks its protocol): voice cloning, key rotation with cool-downs, timeouts,
the offline voice when Boson fails, the clip cache, and the Qwen3 LLM with its <think> blocks."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from voice.app import create_app, language_model
from voice.audio import wav_info
from voice.boson import BosonSpeech, SpeechOptions
from voice.config import VoiceServiceSettings
from voice.keys import KeyPool
from voice.llm import ChatLlm
from voice.offline import Espeak
from voice.openai_api import ProviderRejected, ProviderUnavailable
from voice.personas import PersonaBook
from voice.studio import Studio, cache_key

from ovation_artifacts import ArtifactSettings, LocalArtifactStore
from ovation_contracts import HealthStatus, VoiceEngine
from tests.fakes.boson import FakeBoson
from tests.fakes.ollama import FakeOllama, Reply

from .conftest import KEY_A, KEY_B, boson_api

pytestmark = pytest.mark.timeout(60)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def studio_for(api: object, tmp_path: Path, **options: object) -> Studio:
    return Studio(
        boson=BosonSpeech(api, SpeechOptions()) if api is not None else None,  # type: ignore[arg-type]
        espeak=Espeak(),
        artifacts=LocalArtifactStore(tmp_path / "artifacts"),
        **options,  # type: ignore[arg-type]
    )


async def test_the_clone_request_is_the_one_boson_documents(fake: FakeBoson, personas: PersonaBook) -> None:
    api = boson_api(fake)
    nova = personas.host(["nova"])
    audio = await BosonSpeech(api, SpeechOptions()).synthesize("Hello there!", nova)
    await api.aclose()

    assert wav_info(audio).duration_ms > 0
    [request] = fake.requests
    body = request.body
    assert request.status == 200 and request.path == "/v1/chat/completions"
    assert body["model"] == "higgs-audio-generation-Hackathon"
    assert body["modalities"] == ["text", "audio"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "<|scene_desc_start|>\n" + nova.persona.scene_description in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == nova.persona.reference_transcript
    part = body["messages"][2]["content"][0]
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"])[:4] == b"RIFF"
    assert body["messages"][3]["content"] == "Hello there!"
    assert body["stop"] == ["<|eot_id|>", "<|end_of_text|>", "<|audio_eos|>"]
    assert (body["top_k"], body["top_p"], body["stream"]) == (50, 0.95, False)


async def test_with_key_a_rate_limited_every_clip_is_made_with_b_and_a_returns_after_its_cooldown(
    fake: FakeBoson, personas: PersonaBook, tmp_path: Path
) -> None:
    clock = Clock()
    api = boson_api(fake, KeyPool([KEY_A, KEY_B], cooldown=60.0, clock=clock))
    studio = studio_for(api, tmp_path)
    fake.rate_limited.add(KEY_A)
    nova = personas.host(["nova"])

    made = [await studio.record(f"Clip number {n}.", nova) for n in range(4)]

    assert [r.engine for r in made] == [VoiceEngine.BOSON] * 4
    assert fake.keys_used("speech") == [KEY_A, KEY_B, KEY_B, KEY_B, KEY_B]
    assert [r.status for r in fake.requests] == [429, 200, 200, 200, 200]
    assert api.keys.status()[0].startswith("key 1 of 2: resting")

    fake.rate_limited.clear()
    clock.now += 59.0
    await studio.record("Still resting.", nova)
    clock.now += 2.0
    await studio.record("After the cooldown.", nova)
    await studio.record("And in turn again.", nova)
    assert fake.keys_used("speech")[-3:] == [KEY_B, KEY_A, KEY_B]
    await api.aclose()


async def test_a_key_whose_quota_is_spent_or_that_is_refused_rests_long(
    fake: FakeBoson, personas: PersonaBook
) -> None:
    clock = Clock()
    api = boson_api(
        fake, KeyPool([KEY_A, "bai-unknown", KEY_B], cooldown=60, refused_cooldown=900, clock=clock)
    )
    fake.quota_spent.add(KEY_A)
    speech = BosonSpeech(api, SpeechOptions())
    await speech.synthesize("One.", personas.host())
    assert [r.status for r in fake.requests] == [429, 401, 200]
    assert "quota spent" in api.keys.status()[0] and "refused (401)" in api.keys.status()[1]
    clock.now += 600
    await speech.synthesize("Two.", personas.host())
    assert fake.keys_used()[-1] == KEY_B
    await api.aclose()


async def test_every_key_resting_fails_at_once_with_what_to_check(
    fake: FakeBoson, personas: PersonaBook
) -> None:
    api = boson_api(fake, KeyPool([KEY_A, KEY_B], cooldown=60, clock=Clock()))
    fake.rate_limited.update({KEY_A, KEY_B})
    with pytest.raises(ProviderUnavailable, match="every key is resting") as failure:
        await BosonSpeech(api, SpeechOptions()).synthesize("Hi.", personas.host())
    assert "VOICE_BOSON_API_KEYS" in str(failure.value)
    assert KEY_A not in str(failure.value) and KEY_B not in str(failure.value)
    assert len(fake.requests) == 2
    await api.aclose()


async def test_server_errors_are_retried_a_bounded_number_of_times(
    fake: FakeBoson, personas: PersonaBook
) -> None:
    api = boson_api(fake, attempts=3)
    fake.fail_next(503, times=2)
    assert await BosonSpeech(api, SpeechOptions()).synthesize("Hi.", personas.host())
    fake.fail_next(500, times=5)
    with pytest.raises(ProviderUnavailable, match="after 3 attempt"):
        await BosonSpeech(api, SpeechOptions()).synthesize("Hi.", personas.host())
    assert len(fake.requests) == 6
    await api.aclose()


async def test_a_wrong_model_is_not_retried(fake: FakeBoson, personas: PersonaBook) -> None:
    api = boson_api(fake)
    with pytest.raises(ProviderRejected, match="model names"):
        await BosonSpeech(api, SpeechOptions(model="no-such-model")).synthesize("Hi.", personas.host())
    assert len(fake.requests) == 1
    await api.aclose()


async def test_a_slow_boson_times_out_and_the_offline_voice_speaks(
    fake: FakeBoson, personas: PersonaBook, tmp_path: Path
) -> None:
    api = boson_api(fake, timeout=0.2, attempts=2)
    studio = studio_for(api, tmp_path, boson_pause=30.0)
    fake.latency = 1.0
    recording = await studio.record("Hello from the offline voice.", personas.host())
    assert recording.engine is VoiceEngine.OFFLINE
    assert studio.boson_problem is not None and "no answer within 0.2 s" in studio.boson_problem
    assert wav_info(await studio.artifacts.get(recording.artifact.key)).duration_ms > 500
    # Boson rests for boson_pause: the next clip does not wait for its timeouts again.
    requests = len(fake.requests)
    await studio.record("Straight to the offline voice.", personas.host())
    assert len(fake.requests) == requests
    await api.aclose()


async def test_boson_down_the_offline_voice_speaks_and_health_says_degraded_with_the_reason(
    fake: FakeBoson, tmp_path: Path
) -> None:
    fake.outage = 503
    settings = VoiceServiceSettings(
        boson_api_keys=f"{KEY_A},{KEY_B}",
        boson_base_url=fake.base_url,
        boson_timeout=2,
        llm_provider="none",
    )
    app = create_app(settings, ArtifactSettings(artifacts_dir=tmp_path / "artifacts"))
    show = app.state.show
    recording = await show.studio.record("Nobody at Boson today.", show.personas.host())
    report = app.state.runtime.health.report()

    assert recording.engine is VoiceEngine.OFFLINE
    assert report.status is HealthStatus.DEGRADED
    assert not report.checks["tts"].ok
    assert "Boson is failing, the offline voice speaks meanwhile" in report.checks["tts"].detail
    assert "503" in report.checks["tts"].detail
    assert report.checks["offline_voice"].ok
    assert KEY_A not in report.model_dump_json() and KEY_B not in report.model_dump_json()
    await show.studio.boson.api.aclose()


async def test_clips_are_cached_by_exact_text_and_voice(
    fake: FakeBoson, personas: PersonaBook, tmp_path: Path
) -> None:
    api = boson_api(fake)
    studio = studio_for(api, tmp_path)
    nova, baron = personas.get("nova"), personas.get("baron")
    assert nova is not None and baron is not None
    first = await studio.record("The same words.", nova)
    again = await Studio(boson=studio.boson, espeak=Espeak(), artifacts=studio.artifacts).record(
        "The same words.", nova
    )  # a new studio (a restart) finds it in the store
    other_voice = await studio.record("The same words.", baron)
    other_text = await studio.record("The same words!", nova)

    assert again.cached and again.artifact == first.artifact
    assert len({first.artifact.key, other_voice.artifact.key, other_text.artifact.key}) == 3
    assert fake.spoken() == ["The same words.", "The same words.", "The same words!"]
    await api.aclose()


def test_the_cache_key_is_the_text_and_the_voice_never_a_position() -> None:
    voice = {"model": "higgs", "reference_sha256": "ab" * 32}
    key = cache_key("Hello!", "nova", VoiceEngine.BOSON, voice)
    assert key.startswith("voice/nova/boson-") and key.endswith(".wav")
    assert key == cache_key("Hello!", "nova", VoiceEngine.BOSON, dict(voice))
    assert key != cache_key("Hello!!", "nova", VoiceEngine.BOSON, voice)
    assert key != cache_key("Hello!", "nova", VoiceEngine.BOSON, {**voice, "reference_sha256": "cd" * 32})
    assert key != cache_key("Hello!", "nova", VoiceEngine.OFFLINE, voice)
    assert key != cache_key("Hello!", "baron", VoiceEngine.BOSON, voice)


async def test_the_qwen_llm_answer_loses_its_think_block(fake: FakeBoson) -> None:
    api = boson_api(fake)
    fake.text_reply = "Thank you, Ivan!"
    llm = ChatLlm(api, "Qwen3-32B-thinking-Hackathon")
    assert await llm.complete("system", "user") == "Thank you, Ivan!"
    fake.think = "empty"
    assert await llm.complete("system", "user") == "Thank you, Ivan!"
    assert fake.requests[-1].body["messages"][0] == {"role": "system", "content": "system"}
    await api.aclose()


async def test_ollama_writes_replies_through_its_openai_endpoint() -> None:
    async with FakeOllama() as ollama:
        ollama.default = Reply.text("<think>hm</think>Thanks, Ivan!")
        settings = VoiceServiceSettings(
            llm_provider="ollama", llm_model="llama3.2", ollama_base_url=ollama.openai_base_url
        )
        llm = language_model(settings, None)
        assert llm is not None
        assert await llm.complete("You are Nova.", "<viewer_event>{}</viewer_event>") == "Thanks, Ivan!"
        assert ollama.requests[-1].model == "llama3.2"
        await llm.api.aclose()


async def test_the_fake_can_speak_with_espeak(personas: PersonaBook) -> None:
    async with FakeBoson(keys=(KEY_A,), voice="espeak") as fake:
        api = boson_api(fake, KeyPool([KEY_A]))
        audio = await BosonSpeech(api, SpeechOptions()).synthesize("Hello from espeak.", personas.host())
        assert wav_info(audio).duration_ms > 500
        await api.aclose()
