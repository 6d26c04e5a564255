"""Which reactions a donation gets: the routing rules (KV, editable live) applied to its kind, source and amount."""

from __future__ import annotations

from decimal import Decimal

from ovation_contracts import Decision, EventKind, ReactionKind, ReactionRule, RoutingRules, Verdict


def rule_matches(
    rule: ReactionRule, *, kind: EventKind, source: str, amount_base: Decimal, has_message: bool
) -> bool:
    if not rule.enabled or kind not in rule.kinds:
        return False
    if rule.sources is not None and source not in rule.sources:
        return False
    if amount_base < rule.min_amount or (rule.max_amount is not None and amount_base > rule.max_amount):
        return False
    return has_message or not rule.requires_message


def choose_reactions(
    rules: RoutingRules,
    *,
    kind: EventKind,
    source: str,
    amount_base: Decimal,
    has_message: bool,
    verdict: Verdict,
) -> tuple[ReactionKind, ...]:
    """The reactions, in ``ReactionKind`` order. A blocked donation gets none; a downgraded one keeps its reactions
    (each then thanks without the message: the painter's "You are too small" card, the generic video prompt)."""
    if verdict.decision is Decision.BLOCK:
        return ()
    return tuple(
        reaction
        for reaction in ReactionKind
        if rule_matches(
            rules.rule(reaction), kind=kind, source=source, amount_base=amount_base, has_message=has_message
        )
    )
