"""Who may call what: the admin token (bearer header or session cookie), and the read-only widget token."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

HOW_TO_AUTHENTICATE = (
    "send the admin token as 'Authorization: Bearer <token>'; `ovation up` prints it, "
    "and it is OVATION_ADMIN_TOKEN in your .env"
)


SESSION_COOKIE = "ovation_session"


def _matches(presented: str, expected: str | None) -> bool:
    return expected is not None and hmac.compare_digest(presented.encode(), expected.encode())


def session_value(admin_token: str) -> str:
    """A session cookie value: a nonce and its HMAC under the admin token (valid until the token changes)."""
    nonce = secrets.token_urlsafe(16)
    return f"{nonce}.{hmac.new(admin_token.encode(), nonce.encode(), hashlib.sha256).hexdigest()}"


def session_is_valid(value: str, admin_token: str) -> bool:
    nonce, _, signature = value.partition(".")
    expected = hmac.new(admin_token.encode(), nonce.encode(), hashlib.sha256).hexdigest()
    return bool(nonce) and hmac.compare_digest(signature.encode(), expected.encode())


def require_admin(request: Request) -> None:
    """The admin token as a bearer header, or the session cookie the login sets."""
    expected: str = request.app.state.admin_token
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    presented = presented.strip()
    if scheme.lower() == "bearer" and presented:
        if _matches(presented, expected):
            return
        if _matches(presented, request.app.state.widget_token):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail="The widget token only reads the widget feed; this needs the admin token.",
            )
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail=f"Wrong admin token: {HOW_TO_AUTHENTICATE}.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and session_is_valid(cookie, expected):
        return
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=f"Missing admin token: {HOW_TO_AUTHENTICATE}.",
        headers={"WWW-Authenticate": "Bearer"},
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
