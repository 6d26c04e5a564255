"""The voice service's composition root: personas, Boson (speech and LLM) or Ollama, the offline voice, the
artifact store, the show and its state in KV, the lease that lets one instance run it, consumers, controls, health."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from ovation_artifacts import ArtifactSettings, make_store
from ovation_bus import Consumer, ServiceRuntime, key_value, load_or_create, save
from ovation_contracts import Check, VoiceSettings, bus

from . import handlers
from .boson import BosonSpeech, SpeechOptions
from .config import VoiceServiceSettings
from .keys import KeyPool
from .lease import KvLease, Leadership
from .llm import ChatLlm
from .offline import INSTALL_HINT, Espeak
from .openai_api import ChatCompletions
from .personas import BUNDLED, PersonaBook
from .show import Show, ShowOptions
from .state import KvShowStore
from .studio import Studio
from .writer import Writer

log = logging.getLogger(__name__)
SERVICE = bus.Service.VOICE


def create_app(
    settings: VoiceServiceSettings | None = None, artifact_settings: ArtifactSettings | None = None
) -> FastAPI:
    settings = settings or VoiceServiceSettings()
    runtime = ServiceRuntime(SERVICE)
    broker = runtime.broker
    personas = PersonaBook.load(settings.personas_dir or BUNDLED)

    # Boson: one key pool for speech and the LLM, so a key resting for one rests for both.
    boson_api: ChatCompletions | None = None
    keys = settings.boson_keys
    if keys:
        boson_api = ChatCompletions(
            name="Boson",
            base_url=settings.boson_base_url,
            keys=KeyPool(
                keys,
                cooldown=settings.boson_key_cooldown,
                refused_cooldown=settings.boson_key_refused_cooldown,
            ),
            key_setting="VOICE_BOSON_API_KEYS",
            timeout=settings.boson_timeout,
            attempts=settings.boson_attempts,
        )
    speech = (
        BosonSpeech(
            boson_api,
            SpeechOptions(
                model=settings.boson_tts_model,
                max_completion_tokens=settings.boson_max_completion_tokens,
                temperature=settings.boson_temperature,
            ),
        )
        if boson_api
        else None
    )
    llm = language_model(settings, boson_api)
    espeak = Espeak(settings.espeak_binary, timeout=settings.espeak_timeout)
    studio = Studio(
        boson=speech, espeak=espeak, artifacts=make_store(artifact_settings), boson_pause=settings.boson_pause
    )
    writer = Writer(llm, reply_chars=settings.line_max_chars)

    async def load_settings() -> VoiceSettings:
        # Stored at the first start: the dashboard shows (and edits) the defaults in use.
        return await load_or_create(broker, VoiceSettings())

    async def save_settings(document: VoiceSettings) -> None:
        await save(broker, document)

    show = Show(
        store=KvShowStore(lambda: key_value(broker, bus.KV_QUEUES)),
        studio=studio,
        writer=writer,
        personas=personas,
        moderate=handlers.gatekeeper_moderation(broker, settings.moderation_timeout),
        outbox=handlers.BusOutbox(broker),
        load_settings=load_settings,
        save_settings=save_settings,
        options=show_options(settings),
    )
    handlers.register(
        broker,
        show,
        jobs=Consumer(
            bus.JOBS_VOICE,
            bus.durable(SERVICE, "speak"),
            max_deliver=settings.max_deliver,
            ack_wait=settings.ack_wait,
        ),
        # One at a time: nats-py waits out the fetch timeout for a batch to fill, and a clip boundary must not.
        playback=Consumer(bus.STAGE_PLAYBACK, bus.durable(SERVICE, "playback")),
    )
    handlers.register_controls(broker, show)
    # Every instance follows the show and takes jobs into it; the holder of the lease runs it.
    leadership = Leadership(
        KvLease(lambda: key_value(broker, bus.KV_LEASES)), runtime.health.instance, poll=settings.lease_poll
    )
    runtime.background("voice-show-state")(show.follow)

    @runtime.background("voice-show")
    async def run_the_show_when_leading() -> None:
        await leadership.run(show.perform)

    if speech is not None:
        boson = speech

        @runtime.background("voice-boson-probe")
        async def probe_boson() -> None:
            while True:
                await asyncio.sleep(settings.boson_probe_interval)
                studio.probe_problem = await boson.api.probe()

    add_checks(
        runtime,
        settings,
        speech=speech,
        studio=studio,
        espeak=espeak,
        writer=writer,
        personas=personas,
        show=show,
    )
    runtime.health.add_check("leadership", leadership.health)
    log.info(
        "voice service: %s, LLM %s, personas %s",
        f"Boson {settings.boson_tts_model} with {len(keys)} key(s)" if speech else "offline voice only",
        settings.llm if llm else "none (templates)",
        ", ".join(personas.ids),
    )
    app = runtime.http_app(title="Ovation voice")
    app.state.show = show
    app.state.leadership = leadership
    return app


def language_model(settings: VoiceServiceSettings, boson_api: ChatCompletions | None) -> ChatLlm | None:
    """Boson's Qwen3 (sharing Boson's key pool), Ollama, or None (templates)."""
    api: ChatCompletions | None = None
    if settings.llm == "boson" and boson_api is not None:
        api = ChatCompletions(
            name="Boson",
            base_url=settings.boson_base_url,
            keys=boson_api.keys,
            key_setting="VOICE_BOSON_API_KEYS",
            timeout=settings.llm_timeout,
            attempts=settings.boson_attempts,
        )
    elif settings.llm == "ollama":
        api = ChatCompletions(
            name="Ollama",
            base_url=settings.ollama_base_url,
            keys=KeyPool(["ollama"], cooldown=5.0, refused_cooldown=5.0),  # Ollama ignores the key
            key_setting="VOICE_OLLAMA_BASE_URL",
            timeout=settings.llm_timeout,
            attempts=2,
        )
    if api is None:
        return None
    return ChatLlm(
        api, settings.llm_model_name, max_tokens=settings.llm_max_tokens, temperature=settings.llm_temperature
    )


def show_options(settings: VoiceServiceSettings) -> ShowOptions:
    return ShowOptions(
        lookahead=settings.lookahead,
        cue_window=settings.cue_window,
        interrupt_attempts=settings.interrupt_attempts,
        retry_delay=settings.retry_delay,
        interrupt_wait=settings.interrupt_wait,
        playback_grace=settings.playback_grace,
        line_chars=settings.line_max_chars,
        continuation_lines=settings.continuation_lines,
        max_interrupts=settings.max_interrupts,
    )


def add_checks(
    runtime: ServiceRuntime,
    settings: VoiceServiceSettings,
    *,
    speech: BosonSpeech | None,
    studio: Studio,
    espeak: Espeak,
    writer: Writer,
    personas: PersonaBook,
    show: Show,
) -> None:
    """The health report: each part of the voice, ok or degraded with the reason and what to do."""
    llm = writer.llm

    def tts_check() -> Check:
        if speech is None:
            return Check(
                ok=True, detail="no Boson key (VOICE_BOSON_API_KEYS): the offline voice (espeak-ng) speaks"
            )
        problem = studio.boson_problem or studio.probe_problem
        if problem:
            return Check(
                ok=False,
                detail=f"Boson is failing, the offline voice speaks meanwhile: {problem}"[:500],
            )
        return Check(
            ok=True, detail=f"Boson {settings.boson_tts_model}; {'; '.join(speech.api.keys.status())}"[:500]
        )

    def offline_check() -> Check:
        path = espeak.path()
        if path is None:
            return Check(
                ok=False, detail=f"espeak-ng is missing, so there is no offline voice: {INSTALL_HINT}"
            )
        if espeak.last_error:
            return Check(ok=False, detail=espeak.last_error[:500])
        return Check(ok=True, detail=path)

    def llm_check() -> Check:
        if llm is None:
            return Check(ok=True, detail="no LLM (VOICE_LLM_PROVIDER): templated replies, the script repeats")
        if writer.last_error:
            return Check(
                ok=False, detail=f"the LLM is failing, templates are used: {writer.last_error}"[:500]
            )
        return Check(ok=True, detail=f"{settings.llm} {settings.llm_model_name}")

    def personas_check() -> Check:
        if personas.problems:
            return Check(ok=False, detail="; ".join(personas.problems)[:500])
        placeholders = [v.id for v in personas.voices.values() if v.persona.placeholder]
        detail = f"{len(personas.voices)} personas: {', '.join(personas.ids)}"
        if placeholders:
            detail += f" (placeholders: {', '.join(placeholders)})"
        return Check(ok=True, detail=detail[:500])

    runtime.health.add_check("tts", tts_check)
    runtime.health.add_check("offline_voice", offline_check)
    runtime.health.add_check("llm", llm_check)
    runtime.health.add_check("personas", personas_check)
    runtime.health.add_check("moderation", show.moderation_health)
    runtime.health.add_check("show", show.health)
