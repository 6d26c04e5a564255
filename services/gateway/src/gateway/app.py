"""The gateway's composition root: runtime, event hub, routes, pages, static files."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from faststream.nats import NatsMessage

from ovation_bus import ServiceRuntime, jetstream
from ovation_contracts import bus

from .config import GatewaySettings
from .events import EventHub, backfill_recent
from .routes import events, gate, ingest, pages
from .routes import settings as settings_routes
from .security import SecurityHeaders

FORWARDED_SUBJECTS = ("donations.>", "chat.>", "events.>")


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()
    runtime = ServiceRuntime(bus.Service.GATEWAY)
    hub = EventHub(backlog=settings.events_backlog, client_queue=settings.events_client_queue)

    # Core subscriptions: every gateway replica sees every event, and nats-py resubscribes after a reconnect.
    for subject in FORWARDED_SUBJECTS:
        runtime.broker.subscriber(subject)(_forwarder(hub))

    app = FastAPI(
        title="Ovation gateway",
        version="0.1.0",
        description="Dashboard, OBS widget pages, control API and the live event stream.",
    )
    app.state.admin_token = settings.admin_token.get_secret_value()
    app.state.widget_token = settings.widget_token.get_secret_value() if settings.widget_token else None
    app.state.hub = hub
    app.include_router(events.router)
    app.include_router(ingest.router)
    app.include_router(gate.router)
    app.include_router(settings_routes.router)
    app.include_router(pages.router)
    static = resources.files("gateway").joinpath("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(SecurityHeaders)
    runtime.on_shutdown(hub.close)

    @runtime.on_ready
    async def backfill() -> None:
        await backfill_recent(jetstream(runtime.broker), hub)

    return runtime.http_app(app)


def _forwarder(hub: EventHub):  # type: ignore[no-untyped-def]
    async def forward(message: NatsMessage) -> None:
        hub.receive(message.body)

    return forward
