"""Multi-turn chat: a follow-up is made standalone from the history before retrieval.
Deterministic on purpose: a 135M model cannot be trusted to rewrite a question."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .models import Answer

if TYPE_CHECKING:
    from .api import Assistant

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|so|also|then|what about|how about|what else|who else)\b|"
    r"\b(he|she|they|it|this|that|them|him|his|her|hers|their|its|there|those|these|then)\b", re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    return len(question.split()) <= 4 or bool(_FOLLOW_UP.search(question))


def with_context(question: str, context: str | None) -> str:
    """The retrieval query of a question asked after `context` (None: it stands alone)."""
    return f"{question.strip()} (context: {context})" if context else question.strip()


def standalone(question: str, history: list[str]) -> str:
    """The question with the previous standalone question as context when it is a follow-up."""
    return with_context(question, history[-1] if history and is_follow_up(question) else None)


class Chat:
    """A conversation: `ask` and `stream` take the filters `Assistant.ask` takes."""

    def __init__(self, assistant: "Assistant") -> None:
        self.assistant = assistant
        self.history: list[str] = []  # standalone questions, oldest first
        self.answers: list[Answer] = []

    def ask(self, question: str, **filters) -> Answer:
        for item in self.stream(question, **filters):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")

    def stream(self, question: str, **filters) -> Iterator[str | Answer]:
        context = self.history[-1] if self.history and is_follow_up(question) else None
        self.history.append(standalone(question, self.history))
        for item in self.assistant.stream(question, context=context, **filters):
            if isinstance(item, Answer):
                self.answers.append(item)
            yield item
