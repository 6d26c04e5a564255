"""``ovation``: run Ovation locally and look inside it.

Services add their own commands (``ovation moderate``, ``ovation paint``, ...) through the ``ovation.commands``
entry-point group: each entry point is a function ``register(subcommands)`` that adds a parser whose ``handler``
default returns the exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any


def _parse_duration(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        if text[-1] in units:
            return float(text[:-1]) * units[text[-1]]
        return float(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30s, 5m, 2h") from None


BUILT_IN = frozenset({"up", "status", "tail"})


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ovation", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser("up", help="run NATS and every service locally, until Ctrl+C")
    up.add_argument("--no-colour", "--no-color", dest="colour", action="store_false", default=None)
    up.set_defaults(handler=lambda args: _run_up(args.colour))

    status = commands.add_parser("status", help="print each service's health")
    status.set_defaults(handler=_run_status)

    tail = commands.add_parser("tail", help="print decoded events on a subject, live")
    tail.add_argument(
        "subject", nargs="?", default=">", help="NATS subject, wildcards allowed (default: everything)"
    )
    tail.add_argument("--raw", action="store_true", help="print each envelope as JSON")
    tail.add_argument("-n", "--count", type=int, help="stop after this many messages")
    tail.add_argument(
        "--since", type=_parse_duration, help="first replay what the streams stored in this window (5m, 1h)"
    )
    tail.set_defaults(handler=_run_tail)

    if plugins:
        for plugin in entry_points(group="ovation.commands"):
            register: Callable[[Any], None] = plugin.load()
            register(commands)
    return parser


def _run_up(colour: bool | None) -> int:
    from .up import up

    return up(colour)


def _run_status(_: argparse.Namespace) -> int:
    from .status import status

    return status()


def _run_tail(args: argparse.Namespace) -> int:
    from .tail import tail

    return tail(args.subject, raw=args.raw, count=args.count, since=args.since)


def main(argv: Sequence[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    # A built-in command does not import the services' plugins (the painter's pulls in pygame): `ovation up` starts
    # as fast as it can, since a new user is waiting for the first donation.
    plugins = not arguments or arguments[0] not in BUILT_IN
    args = build_parser(plugins=plugins).parse_args(arguments)
    sys.exit(args.handler(args))
