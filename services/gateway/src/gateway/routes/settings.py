"""Runtime settings kept in JetStream KV, read and changed live (the services re-read them)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import ValidationError

from ovation_bus import load, save
from ovation_contracts import SETTINGS_DOCUMENTS, KvDocument, SimulatorSettings

from ..auth import Admin

router = APIRouter(prefix="/api/v1", tags=["settings"])


@router.get("/simulator", summary="The simulator's rate, language and currency mix, harmful share and bursts")
async def get_simulator(request: Request, _: Admin) -> SimulatorSettings:
    broker = request.app.state.runtime.broker
    return await load(broker, SimulatorSettings) or SimulatorSettings()


@router.put("/simulator", summary="Change the simulator; ingest applies it within five seconds")
async def put_simulator(request: Request, _: Admin, settings: SimulatorSettings) -> SimulatorSettings:
    broker = request.app.state.runtime.broker
    if not broker.connection.is_connected:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail="NATS is not reachable; try again shortly."
        )
    await save(broker, settings)
    return settings


DOCUMENTS: dict[str, type[KvDocument]] = {document.KEY: document for document in SETTINGS_DOCUMENTS}


@router.get(
    "/settings",
    summary="Every runtime settings document (routing, moderation, video, voice, painter, simulator)",
)
async def all_settings(request: Request, _: Admin) -> dict[str, Any]:
    broker = request.app.state.runtime.broker
    return {
        key: (await load(broker, model) or model()).model_dump(mode="json")
        for key, model in DOCUMENTS.items()
    }


@router.get("/settings/{name}", summary="One settings document")
async def get_settings(request: Request, _: Admin, name: str) -> dict[str, Any]:
    model = _document(name)
    return (await load(request.app.state.runtime.broker, model) or model()).model_dump(mode="json")


@router.put(
    "/settings/{name}", summary="Replace one settings document; the service applies it within seconds"
)
async def put_settings(request: Request, _: Admin, name: str, body: dict[str, Any]) -> dict[str, Any]:
    model = _document(name)
    try:
        document = model.model_validate(body)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=json.loads(exc.json(include_url=False, include_input=False)),
        ) from exc
    await save(request.app.state.runtime.broker, document)
    return document.model_dump(mode="json")


def _document(name: str) -> type[KvDocument]:
    if name not in DOCUMENTS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, detail=f"No settings called {name!r}: one of {', '.join(DOCUMENTS)}."
        )
    return DOCUMENTS[name]
