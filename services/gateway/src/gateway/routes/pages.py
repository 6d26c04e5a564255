"""The pages people open: the dashboard (and, later, the OBS widget)."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/dashboard")


def _page(name: str) -> HTMLResponse:
    return HTMLResponse(resources.files("gateway").joinpath(f"static/{name}").read_text(encoding="utf-8"))


@router.get("/dashboard")
async def dashboard() -> HTMLResponse:
    return _page("dashboard.html")


@router.get("/widget")
async def widget() -> HTMLResponse:
    """The OBS browser source. The page is public; what it shows needs the widget token in its URL."""
    return _page("widget.html")
