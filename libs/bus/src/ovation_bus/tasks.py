"""Stopping a child task without swallowing our own cancellation."""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel ``task`` and wait for it to end. A failure of the child is dropped; if the caller is itself being
    cancelled meanwhile, that cancellation is raised, never swallowed (``suppress(CancelledError)`` around the await
    would swallow it and leave the caller running forever)."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
    except Exception:  # noqa: S110 - the child's own failure is not the caller's concern once it is stopped
        pass
