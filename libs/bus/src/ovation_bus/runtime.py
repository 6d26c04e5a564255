"""What every service's composition root uses: logs, broker, health, ops routes, start-up and shutdown.

A service builds one ``ServiceRuntime``, registers its subscribers on ``runtime.broker`` and its long-running work
with ``runtime.background``, and serves ``runtime.http_app()`` with ``serve``. The HTTP side (health, metrics) is up
at once; NATS is connected in the background, retried for as long as it takes, so a service started before NATS
(or during an outage) waits in "degraded" instead of crash-looping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import uvicorn
from fastapi import FastAPI
from faststream.nats import NatsBroker

from ovation_contracts import bus, wrap

from .broker import ensure_buckets, ensure_streams, jetstream, make_broker
from .config import BusSettings
from .health import Health, ops_router
from .logs import LogPublisher, configure_logging
from .metrics import HttpMetrics, count_tasks

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[None]]


class ServiceRuntime:
    def __init__(self, service: str, settings: BusSettings | None = None) -> None:
        self.service = service
        self.settings = settings or BusSettings()
        configure_logging(service, self.settings.log_level, self.settings.log_format)
        self.health = Health(service, self.settings.instance)
        self.broker: NatsBroker = make_broker(self.settings, self.health)
        self._on_ready: list[Work] = []
        self._background: list[tuple[str, Work]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._on_shutdown: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ready = asyncio.Event()
        self._answer_health_queries()
        # Warnings and errors go to ``logs.<service>`` too, for the dashboard (configure_logging reset the handlers).
        self.log_publisher = LogPublisher(service, self.health.instance)
        logging.getLogger().addHandler(self.log_publisher)
        self.background("log-publisher")(self._publish_logs)

    def on_ready(self, work: Work) -> Work:
        """Run ``work`` once, after NATS is connected and the streams exist, before the service reports ready."""
        self._on_ready.append(work)
        return work

    def background(self, name: str) -> Callable[[Work], Work]:
        """Run the decorated coroutine for the service's lifetime once ready; restarted with backoff if it crashes."""

        def register(work: Work) -> Work:
            self._background.append((name, work))
            return work

        return register

    def on_shutdown(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` as soon as shutdown begins (e.g. to end open event streams), before waiting for requests."""
        self._on_shutdown.append(hook)

    def begin_shutdown(self) -> None:
        """Run the shutdown hooks on the service's event loop; safe to call from a signal handler."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._run_shutdown_hooks)

    def _run_shutdown_hooks(self) -> None:
        hooks, self._on_shutdown = self._on_shutdown, []
        for hook in hooks:
            try:
                hook()
            except Exception:
                log.exception("shutdown hook %r failed", hook)

    # Lifecycle --------------------------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lifespan(self, _app: Any = None) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        count_tasks(self._loop)
        starter = asyncio.create_task(self._start(), name=f"{self.service}-start")
        try:
            yield
        finally:
            log.info("shutting down")
            self.health.stopping = True
            self._run_shutdown_hooks()
            starter.cancel()
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(starter, *self._tasks, return_exceptions=True)
            await self.broker.stop()
            log.info("stopped")

    async def _start(self) -> None:
        url = self.settings.nats_url
        delay = 0.2
        # nats-py retries the first connection by itself (max_reconnect_attempts=-1), so this may wait a long time.
        self.health.nats_lost(f"connecting to NATS at {url}")
        while True:
            try:
                await self.broker.connect()
                js = jetstream(self.broker)
                await ensure_streams(js, replicas=self.settings.stream_replicas)
                await ensure_buckets(js, replicas=self.settings.stream_replicas)
                await self.broker.start()
                break
            except Exception as exc:
                self.health.nats_lost(f"cannot use NATS at {url} yet ({exc!r}); retrying")
                log.warning("NATS at %s not usable yet, retrying in %.1f s: %r", url, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.health.nats_connected(url)
        for work in self._on_ready:
            await work()
        for name, work in self._background:
            self._tasks.append(asyncio.create_task(self._supervise(name, work), name=name))
        self.health.started = True
        self.ready.set()
        log.info("ready")

    async def _supervise(self, name: str, work: Work) -> None:
        failures = 0
        while True:
            try:
                await work()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                failures += 1
                delay = min(30.0, 0.5 * 2**failures) * random.uniform(0.5, 1.0)
                log.exception("%s crashed (%d times so far); restarting in %.1f s", name, failures, delay)
                await asyncio.sleep(delay)

    async def _publish_logs(self) -> None:
        connection = self.broker.connection

        async def send(subject: str, data: bytes) -> None:
            await connection.publish(subject, data)

        await self.log_publisher.run(send, lambda: bool(connection.is_connected))

    def _answer_health_queries(self) -> None:
        @self.broker.subscriber(bus.control(self.service, "health"))
        async def answer(_: dict[str, Any]) -> bytes:
            report = self.health.report()
            return wrap(
                report, id=f"health:{self.health.instance}", correlation_id=f"health:{self.service}"
            ).to_json()

    # HTTP -------------------------------------------------------------------------------------------------------
    def http_app(self, app: FastAPI | None = None, *, title: str | None = None) -> FastAPI:
        """``app`` (or a new one) with the runtime's lifespan and the operations routes."""
        if app is None:
            app = FastAPI(title=title or f"Ovation {self.service}", lifespan=self.lifespan)
        else:
            app.router.lifespan_context = self.lifespan
        app.include_router(ops_router(self.health))
        app.add_middleware(HttpMetrics)
        app.state.runtime = self
        return app


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, runtime: ServiceRuntime | None) -> None:
        super().__init__(config)
        self.runtime = runtime

    def handle_exit(self, sig: int, frame: Any) -> None:
        # uvicorn waits for open connections before the lifespan ends; end long-lived streams first.
        if self.runtime is not None:
            self.runtime.begin_shutdown()
        super().handle_exit(sig, frame)


def serve(app: FastAPI, *, host: str, port: int) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then shut down gracefully."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=5,
        proxy_headers=False,
    )
    _Server(config, getattr(app.state, "runtime", None)).run()
