"""Which reactions a donation gets: the routing rules (KV, editable live) applied to its kind, source and amount,
and the voice for whatever addresses a persona."""

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
    addressed: bool = False,
) -> tuple[ReactionKind, ...]:
    """The reactions, in ``ReactionKind`` order. A blocked donation gets none; a downgraded one keeps its reactions
    (each then thanks without the message: the painter's "You are too small" card, the generic video prompt).

    An event ``addressed`` to a persona (an API interrupt, a chat message naming one) is a request to be spoken: it
    gets the voice whenever the voice rule is enabled, whatever its kind, source, amount or message; the other
    reactions follow their rules as usual, and moderation still decides (blocked: nothing at all)."""
    if verdict.decision is Decision.BLOCK:
        return ()
    return tuple(
        reaction
        for reaction in ReactionKind
        if (addressed and reaction is ReactionKind.VOICE and rules.voice.enabled)
        or rule_matches(
            rules.rule(reaction), kind=kind, source=source, amount_base=amount_base, has_message=has_message
        )
    )
