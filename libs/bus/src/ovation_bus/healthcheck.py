"""``python -m ovation_bus.healthcheck URL``: exit 0 when URL answers 2xx (for container healthchecks, no curl needed)."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m ovation_bus.healthcheck URL", file=sys.stderr)  # noqa: T201
        return 2
    try:
        with urllib.request.urlopen(argv[1], timeout=3) as response:  # noqa: S310 - a URL the operator configured
            return 0 if 200 <= response.status < 300 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)  # noqa: T201
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
