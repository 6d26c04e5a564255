"""The bus as an AsyncAPI 3.0 document: every channel (subject), what travels on it, and which stream keeps it.

Written next to the JSON Schemas (``schemas/asyncapi.json``) by ``python -m ovation_contracts.schemas``; each message
points at its envelope schema in ``schemas/messages``. ``docs/operations.md`` links to it. A test checks that every
payload type travels on some channel, so a new message cannot be left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import PAYLOAD_TYPES, bus


@dataclass(frozen=True, slots=True)
class Channel:
    address: str
    messages: tuple[str, ...]
    """Payload type names (``Payload.TYPE``)"""
    description: str
    kept: str
    """Which stream stores it, or how it travels when none does"""


CONTROL_COMMANDS = (
    "control.list",
    "control.skip",
    "control.pause",
    "control.remove",
    "control.move",
    "control.clear",
    "control.replay",
    "control.health",
    "gatekeeper.approvals",
    "gatekeeper.decide",
    "gatekeeper.convert",
    "ingest.sources",
    "ingest.oauth-start",
    "ingest.oauth-finish",
    "ingest.set-token",
    "ingest.disconnect",
    "ingest.test-connection",
    "ingest.submit-donation",
    "ingest.submit-chat",
    "voice.clips",
    "control.reply",
)

CHANNELS: tuple[Channel, ...] = (
    Channel(
        "donations.received.{source}",
        ("donation.received",),
        "A donation as its source reported it (source: donationalerts, simulator, api).",
        f"stream {bus.DONATIONS.name}",
    ),
    Channel(
        "chat.{kind}.{source}",
        ("chat.received",),
        "A superchat, gift or chat line (kind: superchat, gift, chat).",
        f"stream {bus.DONATIONS.name}",
    ),
    Channel(
        bus.JOBS_VIDEO, ("job.video",), "Make a celebration video (work queue).", f"stream {bus.JOBS.name}"
    ),
    Channel(
        bus.JOBS_PAINTER, ("job.painter",), "Plan and draw a picture (work queue).", f"stream {bus.JOBS.name}"
    ),
    Channel(
        bus.JOBS_VOICE, ("job.voice",), "Speak a reply in the show (work queue).", f"stream {bus.JOBS.name}"
    ),
    Channel(
        bus.DONATION_SCREENED,
        ("donation.screened",),
        "The gatekeeper's verdict, amount in the base currency and chosen reactions, once per event.",
        f"stream {bus.EVENTS.name}",
    ),
    Channel(
        "events.job.{reaction}",
        ("job.status",),
        "Progress and outcome of a job (reaction: video, painter, voice).",
        f"stream {bus.EVENTS.name}",
    ),
    Channel(
        bus.STAGE_CUE,
        ("stage.cue",),
        "A video or voice clip ready for the widget.",
        f"stream {bus.EVENTS.name}",
    ),
    Channel(
        bus.STAGE_PLAYBACK,
        ("stage.playback",),
        "What a widget reported: started, ended or failed.",
        f"stream {bus.EVENTS.name}",
    ),
    Channel(
        "events.health.{service}",
        ("service.health",),
        "A service's health when it changes.",
        f"stream {bus.EVENTS.name}",
    ),
    Channel(
        "dlq.{service}",
        tuple(sorted(PAYLOAD_TYPES)),
        "A message a service could not handle, unchanged, with Ovation-Dlq-* headers saying why and where from.",
        f"stream {bus.DLQ.name}",
    ),
    Channel(
        "control.{service}.{command}",
        CONTROL_COMMANDS,
        "Commands and queries, request/reply with a ControlReply (queue group: one replica answers).",
        "core NATS request/reply, not stored",
    ),
    Channel(
        bus.MODERATION_CHECK,
        ("moderation.request", "moderation.reply"),
        "Moderate a line of text before it is drawn or spoken (request/reply).",
        "core NATS request/reply, not stored",
    ),
    Channel(
        "logs.{service}",
        ("service.log",),
        "A service's warnings and errors, redacted, for the dashboard.",
        "core NATS, not stored",
    ),
    Channel(
        bus.LIVE_PAINTER_FRAME,
        ("painter.frame",),
        "The painter's live canvas, frame by frame, for the browser view.",
        "core NATS, not stored",
    ),
)


def document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel in CHANNELS:
        key = channel.address.replace(".", "_").replace("{", "").replace("}", "")
        channels[key] = {
            "address": channel.address,
            "description": f"{channel.description} Kept: {channel.kept}.",
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in channel.messages},
        }
        operations[f"{key}_send"] = {"action": "send", "channel": {"$ref": f"#/channels/{key}"}}
    messages = {
        name: {
            "name": name,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().split("\n")[0],
            "contentType": "application/json",
            "headers": {
                "type": "object",
                "properties": {str(h.value): {"type": "string"} for h in bus.Header},
            },
            "payload": {"$ref": f"messages/{name}.json"},
        }
        for name, model in sorted(PAYLOAD_TYPES.items())
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Ovation bus",
            "version": "1",
            "description": "Every subject on Ovation's NATS, its payload (in the versioned envelope) and where "
            "it is kept. Streams: "
            + ", ".join(f"{s.name} ({', '.join(s.subjects)})" for s in bus.STREAMS)
            + ".",
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:4222", "protocol": "nats"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def markdown_table() -> str:
    """The channels as the Markdown table of ``docs/operations.md`` (a test keeps the two the same)."""
    rows = ["| Subject | Payload types | Kept | What it is |", "|---|---|---|---|"]
    for channel in CHANNELS:
        types = ", ".join(f"`{name}`" for name in channel.messages) if len(channel.messages) < 6 else "any"
        rows.append(f"| `{channel.address}` | {types} | {channel.kept} | {channel.description} |")
    return "\n".join(rows) + "\n"
