"""Sources and what enters through the API: DonationAlerts connection, test donations, chat, superchats, gifts.

The gateway decides nothing here: each request becomes a command to ingest over NATS, and ingest's answer (written
for the streamer) comes back as the response.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from ovation_bus import ServiceUnavailable, request
from ovation_contracts import (
    ChatKind,
    ControlReply,
    DisconnectSource,
    OAuthFinish,
    OAuthStart,
    Payload,
    SetAccessToken,
    SourcesQuery,
    SubmitChat,
    SubmitDonation,
    TestConnection,
    VoiceClipsQuery,
    bus,
)

from ..auth import Admin

router = APIRouter(prefix="/api/v1", tags=["sources"])

INVALID_STATE = "invalid_state"


async def ask_ingest(http_request: Request, command: Payload, *, failure_status: int = 400) -> ControlReply:
    broker = http_request.app.state.runtime.broker
    try:
        reply = await request(broker, bus.Service.INGEST, command, timeout=8.0)
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        raise HTTPException(failure_status, detail=reply.message)
    return reply


class Accepted(BaseModel):
    id: str = Field(description="The global id of what was published; every reaction carries it")


class Message(BaseModel):
    message: str


# DonationAlerts -----------------------------------------------------------------------------------------------------


class LoginLink(BaseModel):
    authorize_url: str = Field(
        description="Open this in the streamer's browser; it is valid once, for 10 minutes"
    )


@router.post(
    "/donationalerts/login", summary="Start connecting DonationAlerts (OAuth)", response_model=LoginLink
)
async def donationalerts_login(http_request: Request, _: Admin) -> LoginLink:
    reply = await ask_ingest(http_request, OAuthStart(), failure_status=status.HTTP_409_CONFLICT)
    data: dict[str, Any] = reply.data if isinstance(reply.data, dict) else {}
    return LoginLink(authorize_url=str(data["authorize_url"]))


@router.get(
    "/donationalerts/callback",
    summary="Where DonationAlerts sends the streamer back (OAuth redirect URI)",
    responses={
        303: {"description": "Connected; back to the dashboard"},
        403: {"description": "Forged, used or expired state"},
    },
)
async def donationalerts_callback(
    http_request: Request,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=200)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    if error:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail=f"DonationAlerts did not grant access ({error})."
        )
    if not state:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, detail="The sign-in link has no state: start again from the dashboard."
        )
    if not code:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, detail="DonationAlerts sent no code: start again from the dashboard."
        )
    broker = http_request.app.state.runtime.broker
    try:
        reply = await request(broker, bus.Service.INGEST, OAuthFinish(code=code, state=state), timeout=15.0)
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        refused = isinstance(reply.data, dict) and reply.data.get("reason") == INVALID_STATE
        raise HTTPException(
            status.HTTP_403_FORBIDDEN if refused else status.HTTP_502_BAD_GATEWAY, detail=reply.message
        )
    return RedirectResponse("/dashboard#donationalerts=connected", status_code=status.HTTP_303_SEE_OTHER)


@router.post(
    "/donationalerts/disconnect",
    summary="Disconnect DonationAlerts and delete its tokens",
    response_model=Message,
)
async def donationalerts_disconnect(http_request: Request, _: Admin) -> Message:
    return Message(message=(await ask_ingest(http_request, DisconnectSource())).message)


class TokenBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: str = Field(
        min_length=8, max_length=4000, pattern=r"^[\x21-\x7e]+$", description="A DonationAlerts access token"
    )


@router.put(
    "/donationalerts/token",
    summary="Use a pasted DonationAlerts token instead of OAuth",
    response_model=Message,
)
async def donationalerts_token(http_request: Request, _: Admin, body: TokenBody) -> Message:
    reply = await ask_ingest(http_request, SetAccessToken(access_token=body.access_token))
    return Message(message=reply.message)


# Sources ------------------------------------------------------------------------------------------------------------


@router.get(
    "/sources", summary="Each source's state: connected, polling, catching up, needs re-authorisation, ..."
)
async def sources(http_request: Request, _: Admin) -> Any:
    reply = await ask_ingest(http_request, SourcesQuery())
    return reply.data


class ConnectionTest(BaseModel):
    ok: bool = Field(description="Whether DonationAlerts accepted the credentials")
    message: str


@router.post(
    "/sources/donationalerts/test",
    summary="Test the DonationAlerts connection now",
    response_model=ConnectionTest,
)
async def check_donationalerts(http_request: Request, _: Admin) -> ConnectionTest:
    """200 either way: a refused or unreachable DonationAlerts is the test's answer, not a gateway failure."""
    try:
        reply = await request(
            http_request.app.state.runtime.broker, bus.Service.INGEST, TestConnection(), timeout=15.0
        )
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    return ConnectionTest(ok=reply.ok, message=reply.message)


# What enters through the API ------------------------------------------------------------------------------------------


class TestDonationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    donor: str = Field(default="Test donor", min_length=1, max_length=100)
    amount: Decimal = Field(gt=0, max_digits=20, decimal_places=8)
    currency: str = Field(default="RUB", pattern=r"^[A-Za-z]{3}$")
    message: str = Field(default="", max_length=2000)


@router.post(
    "/donations/test",
    summary="Send a test donation through the whole system",
    response_model=Accepted,
    status_code=201,
)
async def send_test_donation(http_request: Request, _: Admin, body: TestDonationBody) -> Accepted:
    command = SubmitDonation(
        donor=body.donor, amount=body.amount, currency=body.currency.upper(), message=body.message
    )
    return _accepted(
        await ask_ingest(http_request, command, failure_status=status.HTTP_503_SERVICE_UNAVAILABLE)
    )


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ChatKind = ChatKind.CHAT
    author: str = Field(min_length=1, max_length=100)
    message: str = Field(default="", max_length=2000)
    amount: Decimal | None = Field(default=None, gt=0, max_digits=20, decimal_places=8)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    gift_name: str | None = Field(default=None, max_length=100)
    gift_count: int | None = Field(default=None, ge=1, le=100_000)
    persona: str | None = Field(default=None, max_length=64)


@router.post(
    "/chat", summary="Post a chat message, superchat or gift", response_model=Accepted, status_code=201
)
async def chat(http_request: Request, _: Admin, body: ChatBody) -> Accepted:
    if body.kind is ChatKind.GIFT and not body.gift_name:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail="A gift needs gift_name.")
    command = SubmitChat(
        kind=body.kind,
        author=body.author,
        message=body.message,
        amount=body.amount,
        currency=body.currency.upper() if body.currency else None,
        gift_name=body.gift_name,
        gift_count=body.gift_count,
        persona=body.persona,
    )
    return _accepted(
        await ask_ingest(http_request, command, failure_status=status.HTTP_503_SERVICE_UNAVAILABLE)
    )


INTERRUPT_DONATION_AMOUNT = Decimal(1)
"""What a ``kind=donation`` interrupt is entered as: the body has no amount and a donation must have one (more than
zero), so the smallest whole rouble. The voice does not depend on it: the gatekeeper speaks whatever addresses a
persona; the other reactions (the alert) follow the routing rules at this amount."""


class InterruptBody(BaseModel):
    """The AI Live Stream Backend's interrupt body, accepted as it was."""

    kind: Literal["superchat", "gift", "donation", "chat"] = "superchat"
    persona: str | None = Field(
        default=None,
        max_length=64,
        description="Who speaks it: addressed, it is spoken whenever voice is enabled, whatever the threshold",
    )
    message: str = Field(min_length=1, max_length=2000)
    author: str = Field(default="viewer", min_length=1, max_length=100)


@router.post(
    "/interrupt",
    summary="Interrupt the show (the AI Live Stream Backend's own path)",
    response_model=Accepted,
    status_code=201,
)
@router.post(
    "/audio/interrupt",
    summary="Interrupt the show with a message (AI Live Stream Backend compatible)",
    response_model=Accepted,
    status_code=201,
)
async def audio_interrupt(http_request: Request, _: Admin, body: InterruptBody) -> Accepted:
    if body.kind == "donation":
        command: Payload = SubmitDonation(
            donor=body.author,
            amount=INTERRUPT_DONATION_AMOUNT,
            message=body.message,
            is_test=False,
            persona=body.persona,
        )
    else:
        gift = body.kind == "gift"
        command = SubmitChat(
            kind=ChatKind(body.kind),
            author=body.author,
            message=body.message,
            persona=body.persona,
            gift_name="gift" if gift else None,
            gift_count=1 if gift else None,
        )
    return _accepted(
        await ask_ingest(http_request, command, failure_status=status.HTTP_503_SERVICE_UNAVAILABLE)
    )


@router.get(
    "/audio", summary="The voice clips made so far, newest first (AI Live Stream Backend's GET /api/v1/audio)"
)
async def audio_clips(http_request: Request, _: Admin) -> Any:
    try:
        reply = await request(
            http_request.app.state.runtime.broker, bus.Service.VOICE, VoiceClipsQuery(), timeout=8.0
        )
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=reply.message)
    return reply.data


def _accepted(reply: ControlReply) -> Accepted:
    data: dict[str, Any] = reply.data if isinstance(reply.data, dict) else {}
    return Accepted(id=str(data["id"]))
