"""``ovation up``: embedded NATS and every service as local processes, supervised, with prefixed logs.

Start order: nats-server (JetStream, store under the data directory), then each service of ``SERVICES``. It waits
until every one is ready, prints the URLs with their tokens, restarts anything that dies (with backoff), and on
Ctrl+C or SIGTERM stops the services, then NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .embedded import nats_server_command, port_is_free
from .local import RunState, data_dir, environment, stored_token
from .services import SERVICES, ServiceSpec

COLOURS = ("\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[91m", "\033[96m")
RESET = "\033[0m"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


class LaunchError(RuntimeError):
    """Something the person running ``ovation up`` must fix; the message says what."""


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str
    colour: str
    first: bool = True
    """Started in the first wave (NATS, then what a new user sees first); the others follow once those are ready."""
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    stopping: bool = False
    pump: asyncio.Task[None] | None = field(default=None, repr=False)


class Launcher:
    def __init__(self, env: dict[str, str], *, colour: bool) -> None:
        self.env = env
        self.colour = colour
        self.directory = data_dir(env)
        self.width = max(len(spec.name) for spec in SERVICES) if SERVICES else 4
        self.width = max(self.width, len("nats"))
        self.children: list[Child] = []
        self.stopping = asyncio.Event()

    # Output -----------------------------------------------------------------------------------------------------
    def say(self, name: str, line: str, colour: str = "") -> None:
        prefix = f"{name:<{self.width}} | "
        if self.colour and colour:
            prefix = f"{colour}{prefix}{RESET}"
        sys.stdout.write(prefix + line + "\n")
        sys.stdout.flush()

    async def _pump(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        async for raw in child.process.stdout:
            self.say(child.name, raw.decode(errors="replace").rstrip(), child.colour)

    # Plan -------------------------------------------------------------------------------------------------------
    def plan(self) -> tuple[list[Child], dict[str, str]]:
        env = self.env
        gateway_port = int(env.get("OVATION_PORT", "8080"))
        nats_port = int(env.get("OVATION_NATS_PORT", "4222"))
        monitor_port = int(env.get("OVATION_NATS_MONITOR_PORT", "8222"))
        ports = {"NATS": nats_port, "NATS monitoring": monitor_port}
        ports.update({spec.name: self.port(spec, gateway_port) for spec in SERVICES})
        for what, port in ports.items():
            if not port_is_free(port):
                raise LaunchError(
                    f"port {port} for {what} is already in use. Stop whatever uses it (another `ovation up`?) or "
                    f"choose other ports with OVATION_PORT, OVATION_NATS_PORT or OVATION_NATS_MONITOR_PORT."
                )
        self.directory.mkdir(parents=True, exist_ok=True)
        admin_token = stored_token(self.directory, "admin_token", env, "OVATION_ADMIN_TOKEN")
        widget_token = stored_token(self.directory, "widget_token", env, "OVATION_WIDGET_TOKEN")
        nats_url = f"nats://127.0.0.1:{nats_port}"
        children = [
            Child(
                name="nats",
                argv=nats_server_command(
                    host="127.0.0.1",
                    port=nats_port,
                    monitor_port=monitor_port,
                    store_dir=self.directory / "nats",
                ),
                env=dict(os.environ),
                ready_url=f"http://127.0.0.1:{monitor_port}/healthz?js-enabled-only=true",
                colour=COLOURS[0],
            )
        ]
        shared = {
            **env,
            "OVATION_NATS_URL": nats_url,
            "OVATION_ADMIN_TOKEN": admin_token,
            "OVATION_WIDGET_TOKEN": widget_token,
            "OVATION_DATA_DIR": str(self.directory),
            "OVATION_LOG_FORMAT": env.get("OVATION_LOG_FORMAT", "text"),
            "PYTHONUNBUFFERED": "1",
            # glibc gives each new thread its own malloc arena, and an arena keeps its peak: the first time two
            # video cards render at once, the service's memory rose 14 MiB for good. Two arenas keep it flat.
            "MALLOC_ARENA_MAX": env.get("MALLOC_ARENA_MAX", "2"),
        }
        for index, spec in enumerate(SERVICES, start=1):
            port = self.port(spec, gateway_port)
            children.append(
                Child(
                    name=spec.name,
                    argv=[sys.executable, "-m", spec.module],
                    env={**shared, spec.port_variable: str(port)},
                    ready_url=f"http://127.0.0.1:{port}/health/ready",
                    colour=COLOURS[index % len(COLOURS)],
                    first=spec.first,
                )
            )
        links = {
            "dashboard": f"http://127.0.0.1:{gateway_port}/dashboard#token={admin_token}",
            "widget": f"http://127.0.0.1:{gateway_port}/widget?token={widget_token}",
            "painter": f"http://127.0.0.1:{gateway_port}/widget/painter?token={widget_token}",
            "events": f"http://127.0.0.1:{gateway_port}/api/v1/events",
            "admin token": admin_token,
        }
        RunState(
            nats_url=nats_url,
            nats_monitor_url=f"http://127.0.0.1:{monitor_port}",
            services={spec.name: f"http://127.0.0.1:{self.port(spec, gateway_port)}" for spec in SERVICES},
            pid=os.getpid(),
        ).write(self.directory)
        return children, links

    def port(self, spec: ServiceSpec, gateway_port: int) -> int:
        if spec.port_variable != "OVATION_PORT" and self.env.get(spec.port_variable):
            return int(self.env[spec.port_variable])
        return gateway_port + spec.port_offset

    # Processes --------------------------------------------------------------------------------------------------
    async def start(self, child: Child) -> None:
        child.process = await asyncio.create_subprocess_exec(
            *child.argv,
            env=child.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # Ctrl+C reaches us only; we stop the children in order
        )
        child.pump = asyncio.create_task(self._pump(child))

    async def wait_ready(self, child: Child, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if child.process is None or child.process.returncode is not None:
                    raise LaunchError(f"{child.name} exited during start-up; its last lines are above")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(child.ready_url)).is_success:
                        return
                await asyncio.sleep(0.1)
        raise LaunchError(
            f"{child.name} was not ready within {timeout:g} s ({child.ready_url}); see its lines above"
        )

    async def supervise(self, child: Child) -> None:
        """Restart ``child`` whenever it exits on its own, with backoff, until we are stopping."""
        while not self.stopping.is_set():
            assert child.process is not None
            code = await child.process.wait()
            if child.pump:
                await child.pump
            if self.stopping.is_set() or child.stopping:
                return
            child.restarts += 1
            delay = min(30.0, 0.5 * 2 ** min(child.restarts, 6))
            self.say(child.name, f"exited with code {code}; restarting in {delay:g} s", child.colour)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)
            if self.stopping.is_set():
                return
            await self.start(child)

    async def stop(self, child: Child) -> None:
        child.stopping = True
        process = child.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            self.say(child.name, f"did not stop within {STOP_TIMEOUT:g} s; killing it", child.colour)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        if child.pump:
            with contextlib.suppress(Exception):
                await child.pump

    # The run ----------------------------------------------------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stopping.set)
        started = time.monotonic()
        supervisors: list[asyncio.Task[None]] = []
        try:
            children, links = self.plan()
            nats, services = children[0], children[1:]
            # Waves: NATS; then what a new user sees first (ingest and the gateway: donations on the dashboard); then
            # the gatekeeper and the generators, so on a small machine the dashboard shows donations before every
            # service has imported its libraries.
            waves = [[nats], [c for c in services if c.first], [c for c in services if not c.first]]
            ready = True
            for wave in (w for w in waves if w):
                for child in wave:
                    await self.start(child)
                    self.children.append(child)
                    supervisors.append(asyncio.create_task(self.supervise(child)))
                ready = await self.until_ready(wave)
                if not ready:
                    break
            if ready:
                self.banner(links, time.monotonic() - started)
            await self.stopping.wait()
            return 0
        except LaunchError as error:
            self.say("ovation", f"error: {error}")
            return 1
        finally:
            self.stopping.set()
            self.say("ovation", "stopping…")
            for child in reversed(self.children):
                await self.stop(child)
            for task in supervisors:
                task.cancel()
            await asyncio.gather(*supervisors, return_exceptions=True)
            with contextlib.suppress(FileNotFoundError):
                (self.directory / "run.json").unlink()
            self.say("ovation", "stopped")

    async def until_ready(self, wave: list[Child]) -> bool:
        """Wait until every child of ``wave`` is ready; False when a stop came first."""
        waiting: asyncio.Future[Any] = asyncio.gather(*(self.wait_ready(child) for child in wave))
        stop_wait: asyncio.Future[Any] = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({waiting, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
        if waiting in done:
            stop_wait.cancel()
            waiting.result()
            return True
        waiting.cancel()
        return False

    def banner(self, links: dict[str, str], elapsed: float) -> None:
        lines = [
            f"Ovation is up in {elapsed:.1f} s: {', '.join(c.name for c in self.children)}",
            f"  Dashboard:   {links['dashboard']}",
            f"  OBS widget:  {links['widget']}",
            f"  Painter:     {links['painter']}  (or a window capture of the painter's window)",
            f"  Event API:   {links['events']}  (Authorization: Bearer <admin token>)",
            f"  Admin token: {links['admin token']}",
            f"  Data:        {self.directory}",
            "  Ctrl+C stops everything.",
        ]
        for line in lines:
            self.say("ovation", line)


def up(colour: bool | None = None) -> int:
    env = environment(Path.cwd())
    use_colour = sys.stdout.isatty() and not env.get("NO_COLOR") if colour is None else colour
    return asyncio.run(Launcher(env, colour=use_colour).run())
