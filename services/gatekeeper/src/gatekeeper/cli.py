"""``ovation moderate``: one message per line on stdin, one JSON verdict per line on stdout."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "moderate", help="print a moderation verdict (JSON) for each line of stdin, to test your word lists"
    )
    parser.set_defaults(handler=_run)


def _run(_: argparse.Namespace) -> int:
    from .moderation.cli import run

    return run(sys.stdin, sys.stdout)
