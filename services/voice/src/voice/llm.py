"""The LLM that writes the persona's lines: Boson's Qwen3 models or Ollama, both OpenAI-compatible.

Qwen3 "thinking" models put their reasoning in ``<think>...</think>`` before the answer; it is removed, also when
the answer was cut off inside it (then there is no answer).
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from .openai_api import ChatCompletions, ProviderUnavailable

_THINK_BLOCK = re.compile(r"<think\b[^>]*>.*?</think\s*>", re.IGNORECASE | re.DOTALL)
_THINK_OPEN = re.compile(r"<think\b[^>]*>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think\s*>", re.IGNORECASE)


def strip_think(text: str) -> str:
    """``text`` without reasoning blocks: closed ones, an unclosed one (cut off: the rest is reasoning), and a
    stray closing tag whose opening tag the server dropped (what precedes it is reasoning)."""
    text = _THINK_BLOCK.sub("", text)
    opened = _THINK_OPEN.search(text)
    if opened:
        text = text[: opened.start()]
    closes = list(_THINK_CLOSE.finditer(text))
    if closes:
        text = text[closes[-1].end() :]
    return text.strip()


class Llm(Protocol):
    async def complete(self, system: str, user: str) -> str:
        """The model's answer to one system and one user message, without reasoning blocks."""
        ...


class ChatLlm:
    def __init__(self, api: ChatCompletions, model: str, *, max_tokens: int = 512, temperature: float = 0.8):
        self.api = api
        self.model = model
        self.max_tokens = max_tokens
        self.temperature = temperature

    async def complete(self, system: str, user: str) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stream": False,
        }
        answer = await self.api.create(body)
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderUnavailable(
                f"{self.api.name} answered without choices[0].message.content ({type(exc).__name__})"
            ) from exc
        if not isinstance(content, str):
            raise ProviderUnavailable(f"{self.api.name} answered with empty content")
        return strip_think(content)
