"""A minimal worker service for bus tests: a durable consumer on video jobs that records each job it handles.

``python -m ovation_testing.echo_worker`` with ``ECHO_WORKER_OUTPUT`` (a file, one job id per line) and
``ECHO_WORKER_HTTP_PORT``. It is built exactly like a real service, from ``ServiceRuntime`` and ``subscribe``.
"""

from __future__ import annotations

import os
from pathlib import Path

from ovation_bus import Consumer, ServiceRuntime, serve, subscribe
from ovation_contracts import Envelope, VideoJob, bus


def main() -> None:
    output = Path(os.environ["ECHO_WORKER_OUTPUT"])
    runtime = ServiceRuntime("echo")

    async def handle(envelope: Envelope[VideoJob]) -> None:
        with output.open("a") as handle:  # noqa: ASYNC230 - one short line per job in a test worker
            handle.write(envelope.payload.job_id + "\n")

    subscribe(
        runtime.broker,
        service="echo",
        consumer=Consumer(bus.JOBS_VIDEO, "echo-worker", fetch_timeout=2.0),
        model=VideoJob,
        handler=handle,
    )
    serve(runtime.http_app(), host="127.0.0.1", port=int(os.environ["ECHO_WORKER_HTTP_PORT"]))


if __name__ == "__main__":
    main()
