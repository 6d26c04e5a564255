"""uvicorn inside the test's event loop, on a loopback port: how every fake server here is served, and the
lifecycle the fakes share (``FakeServer``).

No signal handlers (the test process owns them), and it stops as soon as asked instead of waiting out connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any, ClassVar, Self

import uvicorn


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_requested = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def main_loop(self) -> None:
        await self.exit_requested.wait()


class LoopbackServer:
    """A started server; ``port`` is the one it got. Use :meth:`start`, then :meth:`stop`."""

    def __init__(self, server: _Server, task: asyncio.Task[None], port: int) -> None:
        self._server = server
        self._task = task
        self.port = port

    @classmethod
    async def start(
        cls, app: Any, *, host: str = "127.0.0.1", port: int = 0, name: str = "fake", **options: Any
    ) -> LoopbackServer:
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say so (else 40 ms per reply).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        config = uvicorn.Config(
            app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=1, **options
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name=f"{name}-server")
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.005)
        return cls(server, task, sock.getsockname()[1])

    async def stop(self) -> None:
        self._server.should_exit = True
        self._server.exit_requested.set()
        await self._task


class FakeServer:
    """What every fake shares: it serves ``self.app`` on ``host`` and ``port`` (0: a free one) from :meth:`start`
    to :meth:`stop`, or as an async context manager. A fake sets ``app`` in its ``__init__``, may pass uvicorn
    options in ``server_options``, and overrides :meth:`_before_start`, :meth:`_after_start` and :meth:`_before_stop` for its own resources."""

    name = "fake"
    server_options: ClassVar[dict[str, Any]] = {}
    app: Any

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._port = port
        self._server: LoopbackServer | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"the {self.name} is not started")
        return self._port

    async def start(self) -> None:
        await self._before_start()
        self._server = await LoopbackServer.start(
            self.app, host=self.host, port=self._port, name=self.name, **self.server_options
        )
        self._port = self._server.port
        await self._after_start()

    async def stop(self) -> None:
        if self._server is None:
            return
        await self._before_stop()
        await self._server.stop()
        self._server = None

    async def _before_start(self) -> None:
        """Before the server starts."""

    async def _after_start(self) -> None:
        """Once it serves."""

    async def _before_stop(self) -> None:
        """Before the server stops (end slow answers and open connections here)."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
