"""The gateway's composition root: runtime, event hub, widget stage, routes, pages, static files."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from faststream.nats import NatsMessage

from ovation_artifacts import make_store
from ovation_bus import Consumer, ServiceRuntime, jetstream, publish, subscribe
from ovation_contracts import Envelope, ScreenedDonation, StageCue, bus

from .config import GatewaySettings
from .events import EventHub, backfill_recent
from .logbook import LogBook
from .painter_view import PainterView
from .routes import events, gate, ingest, operations, pages, painter, queues, stage, videos
from .routes import settings as settings_routes
from .security import RequestGuard, SecurityHeaders
from .stage_service import KvStageStore, StageService
from .stats import DailyStats, rebuild_today

FORWARDED_SUBJECTS = ("donations.>", "chat.>", "events.>")
SERVICE = bus.Service.GATEWAY


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(SERVICE)
    broker = runtime.broker
    hub = EventHub(backlog=settings.events_backlog, client_queue=settings.events_client_queue)

    async def publish_message(envelope: Envelope[Any], subject: str) -> object:
        return await publish(broker, envelope, subject)

    stage_service = StageService(
        KvStageStore(broker), publish_message, hold_seconds=settings.stage_hold_seconds
    )

    # Live feed: core subscriptions, so every gateway replica sees every event (nats-py resubscribes on reconnect).
    # They listen and never answer: a JetStream publish is a request, and an empty answer from a listener would race
    # the stream's acknowledgement to the publisher's inbox (it read as an unparsable PubAck, and the publish failed).
    for subject in FORWARDED_SUBJECTS:
        broker.subscriber(subject, no_reply=True)(_forwarder(hub))

    # The painter's live canvas for /widget/painter: core NATS too, frames are never stored.
    painter_view = PainterView()

    @broker.subscriber(bus.LIVE_PAINTER_FRAME, no_reply=True)
    async def on_painter_frame(message: NatsMessage) -> None:
        painter_view.receive(message.body)

    # Operations: today's figures (rebuilt from EVENTS at start, then live) and every service's recent warnings.
    stats = DailyStats()
    logbook = LogBook(settings.logs_kept)
    for subject in (bus.DONATION_SCREENED, bus.JOB_STATUS):
        broker.subscriber(subject, no_reply=True)(_feeder(stats.receive_bytes))
    broker.subscriber(bus.LOGS, no_reply=True)(_feeder(logbook.receive))

    # The widget stage: durable consumers, so no alert or cue is lost while the gateway is down.
    async def on_screened(envelope: Envelope[ScreenedDonation]) -> None:
        await stage_service.on_screened(envelope.payload)

    async def on_cue(envelope: Envelope[StageCue]) -> None:
        await stage_service.on_cue(envelope.payload)

    subscribe(
        broker,
        service=SERVICE,
        consumer=Consumer(bus.DONATION_SCREENED, bus.durable(SERVICE, "screened")),
        model=ScreenedDonation,
        handler=on_screened,
    )
    subscribe(
        broker,
        service=SERVICE,
        consumer=Consumer(bus.STAGE_CUE, bus.durable(SERVICE, "cues")),
        model=StageCue,
        handler=on_cue,
    )

    app = FastAPI(
        title="Ovation gateway",
        version="0.1.0",
        description="Dashboard, OBS widget pages, control API and the live event stream.",
    )
    app.state.admin_token = settings.admin_token.get_secret_value()
    app.state.widget_token = settings.widget_token.get_secret_value() if settings.widget_token else None
    app.state.hub = hub
    app.state.stage = stage_service
    app.state.painter_view = painter_view
    app.state.stats = stats
    app.state.logbook = logbook
    app.state.artifacts = make_store()
    for router in (
        events.router,
        ingest.router,
        gate.router,
        settings_routes.router,
        stage.router,
        painter.router,
        operations.router,
        queues.router,
        videos.router,
        pages.router,
    ):
        app.include_router(router)
    static = resources.files("gateway").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(RequestGuard, allowed_hosts=settings.allowed_host_names)
    app.add_middleware(SecurityHeaders)
    runtime.on_shutdown(hub.close)
    runtime.on_shutdown(stage_service.close)
    runtime.on_shutdown(painter_view.close)

    @runtime.on_ready
    async def restore() -> None:
        await stage_service.load()
        await backfill_recent(jetstream(broker), hub)

    runtime.background("stage-watchdog")(stage_service.watch)
    runtime.background("stage-acks")(stage_service.send_acks)

    @runtime.background("stats-rebuild")
    async def rebuild_stats() -> None:
        await rebuild_today(jetstream(broker), stats)

    return runtime.http_app(app)


def _feeder(receive: Callable[[bytes], object]) -> Callable[[NatsMessage], Awaitable[None]]:
    async def feed(message: NatsMessage) -> None:
        receive(message.body)

    return feed


def _forwarder(hub: EventHub) -> Callable[[NatsMessage], Awaitable[None]]:
    async def forward(message: NatsMessage) -> None:
        hub.receive(message.body)

    return forward
