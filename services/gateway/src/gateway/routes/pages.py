"""The pages people open: the dashboard (and, later, the OBS widget)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


@router.get("/dashboard")
async def dashboard() -> HTMLResponse:
    html = resources.files("gateway").joinpath("static/dashboard.html").read_text(encoding="utf-8")
    return HTMLResponse(html)
