"""uvicorn inside the test's event loop, on a loopback port: how every fake server here is served.

No signal handlers (the test process owns them), and it stops as soon as asked instead of waiting out connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from typing import Any

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
