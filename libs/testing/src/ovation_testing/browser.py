"""Debian's Chromium, headless, driven by Playwright (no browser download: ``executable_path``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    """Debian's chromium; ``OVATION_CHROMIUM`` overrides. Fails with what to install when it is missing."""
    for candidate in (os.environ.get("OVATION_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    raise RuntimeError("Chromium is missing: `apt-get install chromium` (the tests drive Debian's build)")
