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
