"""From a painter job to a Canvas-DSL plan, whatever happens: the LLM, the offline planner, or the card.

* a downgraded request gets the "You are too small" card (PREDECESSORS.md 3.8: reachable by design here), and
  its message is never used;
* otherwise the LLM planner, when one is configured; if it fails in any way, the offline planner, with the
  reason;
* otherwise the offline planner.

``DrawingPlanner.plan`` never raises (but for cancellation): planner failure never blocks the painter.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from ovation_contracts import PainterJob
from ovation_contracts.canvas import CANVAS_DSL_VERSION, CanvasPlan

from .llm import LlmPlanner, OllamaOptions, PlannerError
from .offline import OfflinePlanner

log = logging.getLogger(__name__)

TOO_SMALL = "You are too small"
THANK_YOU = "Thank you!"
CARD_BACKGROUND = "#202020"


class PlanSource(StrEnum):
    LLM = "llm"
    OFFLINE = "offline"
    CARD = "card"


@dataclass(frozen=True, slots=True)
class PlanOutcome:
    plan: CanvasPlan
    source: PlanSource
    fallback_reason: str | None = None
    """Why the plan is not the LLM's, when an LLM was configured and did not deliver."""


def seed_for(job_id: str) -> int:
    """A stable seed per job: the same job is drawn the same way after a restart."""
    return int(hashlib.sha256(job_id.encode()).hexdigest()[:12], 16)


def card_plan(text: str, width: int = 96, height: int = 96, caption: str = "") -> CanvasPlan:
    """A text card instead of a drawing: shown at once, white pixel letters on dark grey."""
    return CanvasPlan.model_validate(
        {
            "version": CANVAS_DSL_VERSION,
            "canvas": {"w": width, "h": height, "bg": CARD_BACKGROUND},
            "caption": caption,
            "render_text": text,
        }
    )


class DrawingPlanner:
    """Chooses and runs the planner for each job; see the module's docstring for the order."""

    def __init__(self, offline: OfflinePlanner, llm: LlmPlanner | None = None) -> None:
        self.offline = offline
        self.llm = llm
        self.last_llm_failure: str | None = None
        """Why the last LLM call failed; None once it succeeds again (the health check shows it)."""

    async def plan(self, job: PainterJob, caption: str = "") -> PlanOutcome:
        width, height = self.offline.width, self.offline.height
        if job.downgraded:
            return PlanOutcome(card_plan(TOO_SMALL, width, height, caption), PlanSource.CARD)
        subject = (job.message or "").strip()
        seed = seed_for(job.job_id)
        reason: str | None = None
        if self.llm is not None and subject:
            try:
                plan = await self.llm.plan(subject, seed=seed, caption=caption)
            except PlannerError as exc:
                reason = str(exc)
            except Exception as exc:  # any failure of the LLM path falls back; the drawing still happens
                log.exception("the LLM planner failed unexpectedly")
                reason = f"the LLM planner failed: {type(exc).__name__}: {exc}"
            else:
                self.last_llm_failure = None
                return PlanOutcome(plan, PlanSource.LLM)
            self.last_llm_failure = reason
            log.warning("drawing %s with the offline planner: %s", job.job_id, reason)
        try:
            plan = self.offline.plan(subject, seed=seed, caption=caption)
        except Exception as exc:  # a bug in a hand-drawn subject must not cost the donor their thank-you
            log.exception("the offline planner failed for %s", job.job_id)
            failure = f"the offline planner failed: {type(exc).__name__}: {exc}"
            return PlanOutcome(
                card_plan(THANK_YOU, width, height, caption),
                PlanSource.CARD,
                f"{reason}; {failure}" if reason else failure,
            )
        return PlanOutcome(plan, PlanSource.OFFLINE, reason)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()


__all__ = [
    "THANK_YOU",
    "TOO_SMALL",
    "DrawingPlanner",
    "LlmPlanner",
    "OfflinePlanner",
    "OllamaOptions",
    "PlanOutcome",
    "PlanSource",
    "PlannerError",
    "card_plan",
    "seed_for",
]
