"""The video service's composition root: runtime, AIML client, downloader, card renderer, stores, consumer,
library controls, health."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from nats.js.kv import KeyValue

from ovation_artifacts import ArtifactSettings, make_store
from ovation_bus import Consumer, ServiceRuntime, key_value, load_or_create
from ovation_contracts import Check, VideoSettings, bus

from . import handlers
from .aiml import AimlClient
from .cards import CardFormat, CardRenderer
from .config import VideoServiceSettings
from .download import DownloadPolicy, SafeDownloader
from .library import VideoLibrary
from .media import FfmpegMissing, ffmpeg_exe
from .service import GenerationOptions, VideoService
from .store import KvBudget, KvRecords

log = logging.getLogger(__name__)


def create_app(
    settings: VideoServiceSettings | None = None, artifact_settings: ArtifactSettings | None = None
) -> FastAPI:
    settings = settings or VideoServiceSettings()
    runtime = ServiceRuntime(bus.Service.VIDEO)
    broker = runtime.broker

    key = settings.aiml_key
    aiml = (
        AimlClient(
            api_key=key,
            base_url=settings.aiml_base_url,
            path=settings.aiml_path,
            request_timeout=settings.aiml_request_timeout,
            retries=settings.aiml_retries,
            retry_base=min(1.0, settings.poll_interval),
        )
        if key
        else None
    )
    downloader = SafeDownloader(
        DownloadPolicy(
            allowed_hosts=settings.allowed_hosts,
            allow_loopback_http=settings.download_allow_loopback_http,
            max_bytes=settings.download_max_bytes,
            timeout=settings.download_timeout,
            max_redirects=settings.download_max_redirects,
        )
    )
    cards = CardRenderer(
        CardFormat(seconds=settings.card_seconds, fps=settings.card_fps, chime=settings.card_chime),
        settings.work_dir,
    )

    async def jobs_bucket() -> KeyValue:
        return await key_value(broker, bus.KV_JOBS)

    async def video_settings() -> VideoSettings:
        # Stored at the first start: the dashboard shows (and edits) the defaults in use.
        return await load_or_create(broker, VideoSettings())

    artifacts = make_store(artifact_settings)
    records, budget, outbox = KvRecords(jobs_bucket), KvBudget(jobs_bucket), handlers.BusOutbox(broker)
    service = VideoService(
        aiml=aiml,
        downloader=downloader,
        cards=cards,
        artifacts=artifacts,
        records=records,
        budget=budget,
        outbox=outbox,
        load_settings=video_settings,
        options=GenerationOptions(
            model=settings.aiml_model,
            aspect_ratio=settings.aspect_ratio,
            duration=settings.duration,
            resolution=settings.resolution,
            generate_audio=settings.generate_audio,
            enhance_prompt=settings.enhance_prompt,
            negative_prompt=settings.negative_prompt,
            message_max_chars=settings.message_max_chars,
            poll_interval=settings.poll_interval,
            poll_max_interval=max(settings.poll_interval, settings.poll_max_interval),
            generation_timeout=settings.generation_timeout,
        ),
        work_dir=settings.work_dir,
    )
    handlers.register(
        broker,
        service,
        Consumer(
            bus.JOBS_VIDEO,
            bus.durable(bus.Service.VIDEO, "render"),
            max_deliver=settings.max_deliver,
            ack_wait=settings.ack_wait,
            batch_size=settings.concurrency,
        ),
    )

    handlers.register_controls(
        broker,
        VideoLibrary(
            records=records,
            artifacts=artifacts,
            outbox=outbox,
            ledger=budget.ledger,
            load_settings=video_settings,
        ),
    )

    def aiml_check() -> Check:
        if aiml is None:
            return Check(ok=True, detail="no AIML key (VIDEO_AIML_API_KEY): every video is the offline card")
        if aiml.last_error:
            return Check(
                ok=False, detail=f"AIML is failing, videos fall back to the card: {aiml.last_error}"[:500]
            )
        return Check(ok=True, detail=f"AIML key set, model {settings.aiml_model}")

    def ffmpeg_check() -> Check:
        try:
            return Check(ok=True, detail=ffmpeg_exe())
        except FfmpegMissing as exc:
            return Check(ok=False, detail=str(exc)[:500])

    runtime.health.add_check("aiml", aiml_check)
    runtime.health.add_check("ffmpeg", ffmpeg_check)
    log.info(
        "video service: %s",
        f"AIML {settings.aiml_model} at {settings.aiml_base_url}"
        if aiml
        else "no AIML key, offline cards only",
    )
    app = runtime.http_app(title="Ovation video")
    app.state.video = service
    return app
