"""Routing rules, moderation settings and lists, and the approval queue (the gatekeeper applies them live)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from ovation_bus import ServiceUnavailable, load, request, save
from ovation_contracts import (
    ApprovalDecision,
    ApprovalsQuery,
    ControlReply,
    ConvertAmount,
    ModerationSettings,
    Money,
    Payload,
    ReactionKind,
    RoutingRules,
    bus,
)
from ovation_contracts.envelope import MESSAGE_ID_PATTERN

from ..auth import Admin

router = APIRouter(prefix="/api/v1", tags=["gatekeeper"])

DonationId = Annotated[
    str, Path(max_length=256, pattern=MESSAGE_ID_PATTERN, description="The donation's global id")
]


async def ask_gatekeeper(http_request: Request, command: Payload) -> ControlReply:
    try:
        reply = await request(
            http_request.app.state.runtime.broker, bus.Service.GATEKEEPER, command, timeout=8.0
        )
    except ServiceUnavailable as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
    if not reply.ok:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=reply.message)
    return reply


@router.get(
    "/routing", summary="Which reactions each donation gets, by amount (base currency), kind and source"
)
async def get_routing(http_request: Request, _: Admin) -> RoutingRules:
    return await load(http_request.app.state.runtime.broker, RoutingRules) or RoutingRules()


@router.put("/routing", summary="Replace the routing rules; applied to the next donation")
async def put_routing(http_request: Request, _: Admin, rules: RoutingRules) -> RoutingRules:
    await save(http_request.app.state.runtime.broker, rules)
    return rules


class Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_amount: Money = Field(description="In any currency; converted to the base currency when set")
    max_amount: Money | None = None


@router.put(
    "/routing/{reaction}/threshold",
    summary="Set a reaction's minimum (and maximum) in any currency; stored in the base currency",
)
async def put_threshold(
    http_request: Request, _: Admin, reaction: ReactionKind, threshold: Threshold
) -> RoutingRules:
    broker = http_request.app.state.runtime.broker
    rules = await load(broker, RoutingRules) or RoutingRules()

    async def in_base(money: Money) -> Decimal:
        if money.currency == rules.base_currency:
            return money.amount
        reply = await ask_gatekeeper(http_request, ConvertAmount(amount=money))
        data: dict[str, Any] = reply.data if isinstance(reply.data, dict) else {}
        if data.get("source") == "unknown":
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"No exchange rate for {money.currency}."
            )
        return Decimal(str(data["amount"]))

    rule = rules.rule(reaction)
    changes: dict[str, Any] = {"min_amount": await in_base(threshold.min_amount)}
    changes["max_amount"] = await in_base(threshold.max_amount) if threshold.max_amount else None
    try:
        updated = rules.model_copy(
            update={reaction.value: type(rule).model_validate({**rule.model_dump(), **changes})}
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
    await save(broker, updated)
    return updated


@router.get("/moderation", summary="Moderation lists, approval mode, LLM second opinion")
async def get_moderation(http_request: Request, _: Admin) -> ModerationSettings:
    return await load(http_request.app.state.runtime.broker, ModerationSettings) or ModerationSettings()


@router.put("/moderation", summary="Change the lists and modes; applied to the next message")
async def put_moderation(http_request: Request, _: Admin, settings: ModerationSettings) -> ModerationSettings:
    await save(http_request.app.state.runtime.broker, settings)
    return settings


@router.get("/approvals", summary="Donations waiting for a moderator")
async def approvals(http_request: Request, _: Admin) -> Any:
    return (await ask_gatekeeper(http_request, ApprovalsQuery())).data


@router.post("/approvals/{donation_id}/approve", summary="Approve: the donation is routed as usual")
async def approve(http_request: Request, _: Admin, donation_id: DonationId) -> Any:
    return (await ask_gatekeeper(http_request, ApprovalDecision(donation_id=donation_id, approve=True))).data


@router.post("/approvals/{donation_id}/reject", summary="Reject: no reaction at all")
async def reject(http_request: Request, _: Admin, donation_id: DonationId) -> Any:
    return (await ask_gatekeeper(http_request, ApprovalDecision(donation_id=donation_id, approve=False))).data
