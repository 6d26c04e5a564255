"""The services ``ovation up`` runs, in start order. A new service registers itself here, in one line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    module: str
    """Run as ``python -m <module>``."""
    port_variable: str
    """The environment variable that sets its HTTP port (health, metrics, and for the gateway everything else)."""
    port_offset: int
    """Its port in the local run: the gateway's port (``OVATION_PORT``) plus this."""
    first: bool = False
    """Started (and awaited) before the others: what a new user sees first, the donations on the dashboard. On two
    cores every process started at once slows the others' imports, so the first wave is as small as it can be."""


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("ingest", "ingest", "INGEST_HTTP_PORT", 1, first=True),
    ServiceSpec("gatekeeper", "gatekeeper", "GATEKEEPER_HTTP_PORT", 2),
    ServiceSpec("video", "video", "VIDEO_HTTP_PORT", 3),
    ServiceSpec("painter", "painter", "PAINTER_HTTP_PORT", 4),
    ServiceSpec("voice", "voice", "VOICE_HTTP_PORT", 5),
    ServiceSpec("gateway", "gateway", "OVATION_PORT", 0, first=True),
)
