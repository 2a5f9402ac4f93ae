"""The one interface every LLM backend implements: stream a chat reply as text pieces."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Iterator


class LLM(ABC):
    """A chat model. Subclasses implement `stream`; `generate` is its joined result.

    `messages` are OpenAI-style `{"role": "system" | "user" | "assistant", "content": str}` dicts.
    """

    name: str = "llm"

    @abstractmethod
    def stream(self, messages: list[dict], *, max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        """Yield the reply as it is produced, in pieces whose concatenation is the whole reply."""

    def generate(self, messages: list[dict], **kw) -> str:
        return "".join(self.stream(messages, **kw))
