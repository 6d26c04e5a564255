"""The LLM planner: Ollama's OpenAI-compatible ``/v1/chat/completions`` asked for a Canvas-DSL plan.

The request carries the plan's JSON Schema as ``response_format`` (Ollama >= 0.5 constrains its output to it,
EXTERNAL_APIS.md 4.1). Each call has a timeout; a call that fails in transport (refused, timed out, 429, 5xx, a
body that is not a chat completion) is retried a bounded number of times with backoff. A reply that is not a
valid plan gets exactly one repair round: the model sees its reply and the validation error and answers again.
Anything else raises ``PlannerError``, and the caller falls back to the offline planner.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import ValidationError

from ovation_contracts.canvas import CanvasPlan, CanvasStep, GroupStep, TextStep, canvas_plan_json_schema

from . import prompt

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
BACKOFF_SECONDS = (0.5, 2.0, 5.0)


class PlannerError(RuntimeError):
    """The LLM gave no usable plan; the message says why and what to check."""


class InvalidPlan(ValueError):
    """The model's reply is not a plan the painter accepts; the message is fed back to the model."""


@dataclass(frozen=True, slots=True)
class OllamaOptions:
    base_url: str
    """Ollama's address, ``http://127.0.0.1:11434`` (``/v1`` is added when missing)."""
    model: str
    timeout: float = 30.0
    """Seconds one call may take."""
    retries: int = 1
    """Extra attempts after a call failed in transport; the repair round is not counted."""
    temperature: float = 0.4
    max_tokens: int = 4096
    backoff: tuple[float, ...] = BACKOFF_SECONDS
    """Seconds to wait before each retry."""

    @property
    def completions_url(self) -> str:
        base = self.base_url.rstrip("/")
        return f"{base if base.endswith('/v1') else base + '/v1'}/chat/completions"


@dataclass
class LlmPlanner:
    """Plans drawings with a model on Ollama. ``plan`` raises ``PlannerError`` when it gets no valid plan."""

    options: OllamaOptions
    width: int = 96
    height: int = 96
    client: httpx.AsyncClient | None = None
    name: str = field(default="llm", init=False)
    _schema: dict[str, Any] = field(default_factory=canvas_plan_json_schema, init=False, repr=False)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def plan(self, subject: str, *, seed: int, caption: str = "") -> CanvasPlan:
        """A validated plan for ``subject`` (the moderated request), with ``caption`` as its caption."""
        conversation: list[dict[str, str]] = prompt.messages(subject, self.width, self.height)
        content = await self._complete(conversation, seed)
        try:
            return self._accept(content, subject, caption)
        except InvalidPlan as first:
            log.info("the model's plan was invalid, asking it once to repair it: %s", first)
            conversation += [
                {"role": "assistant", "content": content[:20_000]},
                {"role": "user", "content": prompt.repair_message(str(first))},
            ]
        content = await self._complete(conversation, seed)
        try:
            return self._accept(content, subject, caption)
        except InvalidPlan as second:
            raise PlannerError(
                f"the model {self.options.model!r} gave no valid plan, even after one repair round: {second}"
            ) from second

    # the call -------------------------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            self.client = httpx.AsyncClient(headers={"Authorization": "Bearer ollama"})
        return self.client

    async def _complete(self, conversation: list[dict[str, str]], seed: int) -> str:
        options = self.options
        body = {
            "model": options.model,
            "messages": conversation,
            "temperature": options.temperature,
            "max_tokens": options.max_tokens,
            "seed": seed,
            "stream": False,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "canvas_plan", "strict": True, "schema": self._schema},
            },
        }
        attempts = 1 + max(0, options.retries)
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                response = await self._client().post(
                    options.completions_url, json=body, timeout=httpx.Timeout(options.timeout)
                )
            except httpx.TimeoutException:
                last = f"no answer within {options.timeout:g} s (PAINTER_OLLAMA_TIMEOUT)"
            except httpx.HTTPError as exc:
                last = f"cannot reach Ollama at {options.base_url}: {type(exc).__name__}: {exc}"
            else:
                if response.status_code == 404:
                    raise PlannerError(
                        f"Ollama at {options.base_url} has no model {options.model!r}: "
                        f"run `ollama pull {options.model}` or set PAINTER_OLLAMA_MODEL ({_error_of(response)})"
                    )
                if response.status_code in RETRY_STATUSES:
                    last = f"Ollama answered {response.status_code}: {_error_of(response)}"
                elif response.status_code >= 400:
                    raise PlannerError(
                        f"Ollama refused the request ({response.status_code}): {_error_of(response)}"
                    )
                else:
                    try:
                        return _content_of(response)
                    except ValueError as exc:
                        last = str(exc)
            if attempt < attempts:
                delay = options.backoff[min(attempt, len(options.backoff)) - 1] if options.backoff else 0.0
                log.warning("LLM call %d of %d failed, retrying in %g s: %s", attempt, attempts, delay, last)
                await asyncio.sleep(delay)
        raise PlannerError(f"the LLM planner gave up after {attempts} attempts: {last}")

    # the reply ------------------------------------------------------------------------------------------------

    def _accept(self, content: str, subject: str, caption: str) -> CanvasPlan:
        try:
            data = json.loads(_strip_fences(content))
        except json.JSONDecodeError as exc:
            raise InvalidPlan(f"not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from exc
        if not isinstance(data, dict):
            raise InvalidPlan(
                f"the reply is a JSON {type(data).__name__}, not an object with the plan's fields"
            )
        data.pop("duration_sec", None)  # the hold time is the streamer's setting, not the model's
        data["caption"] = caption
        try:
            plan = CanvasPlan.model_validate(data)
        except ValidationError as exc:
            raise InvalidPlan(_describe(exc)) from exc
        if (plan.canvas.w, plan.canvas.h) != (self.width, self.height):
            raise InvalidPlan(
                f"canvas is {plan.canvas.w}x{plan.canvas.h}; it must be {self.width}x{self.height}"
            )
        if plan.render_text:
            raise InvalidPlan("give drawing steps, not render_text")
        return keep_requested_text(plan, subject)


def _error_of(response: httpx.Response) -> str:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return response.text[:200] or "(empty body)"
    if isinstance(error, dict):
        return str(error.get("message", error))[:300]
    return str(error)[:300]


def _content_of(response: httpx.Response) -> str:
    """``choices[0].message.content`` of a chat completion; ``ValueError`` for any other body."""
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ValueError(
            f"Ollama's answer is not a chat completion ({type(exc).__name__}): {response.text[:120]!r}"
        ) from exc
    if not isinstance(content, str) or not content.strip():
        raise ValueError("Ollama's answer has no message content")
    return content


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _strip_fences(content: str) -> str:
    match = _FENCE.match(content)
    return match.group(1) if match else content


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:6]:
        where = ".".join(str(part) for part in error["loc"]) or "plan"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more errors" if more > 0 else "")


_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {word.lower().replace("ё", "е") for word in _WORD.findall(text)}  # noqa: RUF001 - Russian letters


def keep_requested_text(plan: CanvasPlan, request: str) -> CanvasPlan:
    """The plan without any text step that writes a word the viewer did not ask for.

    The request was moderated; words the model made up were not, so they never reach the screen.
    Raises ``InvalidPlan`` when nothing but such text was drawn.
    """
    allowed = _words(request)

    def kept(steps: Iterable[CanvasStep]) -> list[CanvasStep]:
        result: list[CanvasStep] = []
        for step in steps:
            if isinstance(step, TextStep):
                if _words(step.value) <= allowed:
                    result.append(step)
                else:
                    log.info("dropped a text step with words the viewer did not ask for")
            elif isinstance(step, GroupStep):
                children = kept(step.steps)
                if children:
                    result.append(step.model_copy(update={"steps": tuple(children)}))
            else:
                result.append(step)
        return result

    steps = kept(plan.steps or ())
    if not steps:
        raise InvalidPlan("the plan only writes words that are not in the request; draw the request instead")
    if len(steps) == len(plan.steps or ()) and steps == list(plan.steps or ()):
        return plan
    return plan.model_copy(update={"steps": tuple(steps)})
