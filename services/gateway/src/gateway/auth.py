"""Who may call what: the admin token, as a bearer header."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

HOW_TO_AUTHENTICATE = (
    "send the admin token as 'Authorization: Bearer <token>'; `ovation up` prints it, "
    "and it is OVATION_ADMIN_TOKEN in your .env"
)


def require_admin(request: Request) -> None:
    expected: str = request.app.state.admin_token
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"Missing admin token: {HOW_TO_AUTHENTICATE}.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(presented.strip().encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"Wrong admin token: {HOW_TO_AUTHENTICATE}.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


Admin = Annotated[None, Depends(require_admin)]


def require_widget(request: Request, token: str = "") -> None:
    """The widget token, from the ``token`` query parameter (OBS browser sources cannot send headers)."""
    expected: str | None = request.app.state.widget_token
    if expected is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="The OBS widget is off: set OVATION_WIDGET_TOKEN (16+ characters); `ovation up` sets one for you.",
        )
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Missing or wrong widget token: copy the widget URL that `ovation up` printed into OBS.",
        )


Widget = Annotated[None, Depends(require_widget)]


def require_widget_or_admin(request: Request, token: str) -> None:
    """Media for the widget: the widget token in the URL, or the admin bearer header (the dashboard's preview)."""
    if request.headers.get("authorization"):
        require_admin(request)
        return
    require_widget(request, token)
