"""Runtime settings kept in JetStream KV, read and changed live (the services re-read them)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status

from ovation_bus import load, save
from ovation_contracts import SimulatorSettings

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
