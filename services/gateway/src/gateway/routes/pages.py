"""The pages people open: the dashboard and the OBS widgets."""

from __future__ import annotations

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ovation_contracts.painter import live_canvas_script

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


@router.get("/widget/painter")
async def painter_widget() -> HTMLResponse:
    """The painter's live canvas as an OBS browser source (crisp pixels, transparent); its frames need the
    widget token in its URL."""
    return _page("painter.html")


@router.get("/static/live-canvas.js")
async def live_canvas() -> Response:
    """The live canvas's script, the same file the painter's own ``/live`` page runs."""
    return Response(live_canvas_script(), media_type="text/javascript")
