"""``ovation``: run Ovation locally and look inside it.

Services add their own commands (``ovation moderate``, ``ovation paint``, ...) through the ``ovation.commands``
entry-point group: each entry point is a function ``register(subcommands)`` that adds a parser whose ``handler``
default returns the exit code.
"""

from __future__ import annotations

import argparse
import re
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


def _sequence(text: str) -> int:
    try:
        seq = int(text)
    except ValueError:
        seq = 0
    if seq < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a dead letter's number (the SEQ `ovation dlq list` shows)"
        )
    return seq


def _service(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a service name (gatekeeper, video, ...)")
    return text


BUILT_IN = frozenset({"up", "status", "tail", "dlq"})

DLQ_HELP = """\
Dead letters are messages a service could not handle: the original message, body unchanged, in the DLQ stream
(subject dlq.<service>) with the reason and where it came from in Ovation-Dlq-* headers. They stay 30 days.

  ovation dlq list                      what is there, oldest first
  ovation dlq show SEQ                  one dead letter: headers and body
  ovation dlq replay SEQ ...            put them back on their original subject, then delete them
  ovation dlq purge --service S --yes   delete them for good

NATS is the one the running `ovation up` uses, else OVATION_NATS_URL.
"""

REPLAY_HELP = """\
Publish each dead letter's body, unchanged, to the subject it came from (Ovation-Dlq-Subject), in the stream
that stored it, then delete it from the DLQ (unless --keep).

The replay gets a new Nats-Msg-Id, <envelope id>:replay:<SEQ>. The original id would not do: JetStream drops a
message whose Nats-Msg-Id it stored within the stream's dedupe window (1 h for DONATIONS and JOBS, 10 min for
EVENTS), so a replay of a recent dead letter would be acknowledged as a duplicate and never delivered. The new id
is safe because the body, and so the envelope id the services key their work by, is unchanged: a replay is a
redelivery, not an order to redo. A donation screened before gets its stored screening again, and work a service
finished (or gave up on for good, like the voice show's failed interrupts) is not done twice. The id is also
stable: replaying the same dead letter again within the window (after a crash, or with --keep) is stored once.

Every consumer of the subject gets the message again, not only the service that dead-lettered it.
Not replayed: a dead letter whose body was truncated (Ovation-Dlq-Truncated: the original is lost) or is not an
Ovation envelope (its consumers would dead-letter it again). Exits 1 when any of those asked for was not replayed.
"""


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

    _add_dlq(commands)

    if plugins:
        for plugin in entry_points(group="ovation.commands"):
            register: Callable[[Any], None] = plugin.load()
            register(commands)
    return parser


def _add_dlq(commands: Any) -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    dlq = commands.add_parser(
        "dlq",
        help="list, show, replay and purge dead letters",
        description=DLQ_HELP,
        formatter_class=formatter,
    )
    actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="one line per dead letter, oldest first")
    listing.add_argument(
        "--service", type=_service, metavar="S", help="only this service's (gatekeeper, video, voice, ...)"
    )
    listing.add_argument(
        "--since",
        type=_parse_duration,
        metavar="DURATION",
        help="only those stored in this window (30m, 2h, 7d)",
    )
    listing.add_argument(
        "--limit", type=int, default=50, metavar="N", help="the last N (default: 50; 0 for all)"
    )
    listing.set_defaults(handler=_run_dlq_list)

    show = actions.add_parser("show", help="a dead letter's headers and body")
    show.add_argument("seq", type=_sequence, metavar="SEQ", help="its number, as `ovation dlq list` shows")
    show.add_argument("--full", action="store_true", help="the whole body, however long")
    show.set_defaults(handler=_run_dlq_show)

    replay = actions.add_parser(
        "replay",
        help="republish dead letters to their original subject",
        description=REPLAY_HELP,
        formatter_class=formatter,
        usage="%(prog)s [-h] [--keep] [--dry-run] (SEQ [SEQ ...] | --service S | --all)",
    )
    replay.add_argument("seqs", type=_sequence, nargs="*", metavar="SEQ", help="the dead letters to replay")
    replay.add_argument(
        "--service", type=_service, metavar="S", help="every dead letter of this service (with SEQ: a check)"
    )
    replay.add_argument("--all", dest="every", action="store_true", help="every dead letter (of --service S)")
    replay.add_argument("--keep", action="store_true", help="leave them in the DLQ after the replay")
    replay.add_argument("--dry-run", action="store_true", help="say what would be published, publish nothing")
    replay.set_defaults(handler=_run_dlq_replay)

    purge = actions.add_parser("purge", help="delete dead letters for good")
    purge.add_argument(
        "--service", type=_service, metavar="S", help="only this service's (default: every dead letter)"
    )
    purge.add_argument("--yes", action="store_true", help="really delete them (without it: say how many)")
    purge.set_defaults(handler=_run_dlq_purge)


def _run_dlq_list(args: argparse.Namespace) -> int:
    from .dlq import list_letters

    return list_letters(service=args.service, since=args.since, limit=args.limit)


def _run_dlq_show(args: argparse.Namespace) -> int:
    from .dlq import show

    return show(args.seq, full=args.full)


def _run_dlq_replay(args: argparse.Namespace) -> int:
    from .dlq import replay

    return replay(args.seqs, service=args.service, every=args.every, keep=args.keep, dry_run=args.dry_run)


def _run_dlq_purge(args: argparse.Namespace) -> int:
    from .dlq import purge

    return purge(service=args.service, yes=args.yes)


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
