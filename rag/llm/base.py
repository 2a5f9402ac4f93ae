"""The one handle the answer step uses for any model: a LlamaIndex `LLM` (a maintained integration,
the bundled llama.cpp model, or any class named by dotted path) with newsrag's guards around it:
a cap on the reply's length, a deadline for the whole reply, and every failure turned into an
`LLMError` that says the fix."""
from __future__ import annotations

import time
from contextlib import nullcontext
from types import SimpleNamespace
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import ConfigError, LLMError, LLMUnavailableError

CHARS_PER_TOKEN = 8


class NestedCall(RuntimeError):
    """A model asked again from the thread still reading its reply: a programming error, not a model's."""
  # a reply may hold this many characters per token asked for (English averages ~4)


def per_call(model: Any, max_tokens: int, temperature: float) -> Any:
    """`model` with this call's limits: a copy (sharing its client) whose declared `max_tokens`
    and `temperature` fields are set, so concurrent calls never change each other's limits."""
    fields = type(model).model_fields
    update = {k: v for k, v in (("max_tokens", max_tokens), ("temperature", temperature)) if k in fields}
    return model.model_copy(update=update) if update else model


class LLM:
    """A chat model behind newsrag's guards. `stream` yields the reply's text pieces.

    `messages` are OpenAI-style `{"role": "system" | "user" | "assistant", "content": str}` dicts.
    `service` and `where` name the model in errors; `limits(model, max_tokens, temperature)` gives
    the model to use for one call (default `per_call`); `watch` (an `http.Watch`) hangs up on a
    server at the deadline and when the reply is cut short."""

    def __init__(self, model: Any, name: str, *, service: str = "the language model", where: str = "",
                 timeout: float = 60.0, limits: Callable = per_call, explain: Callable | None = None,
                 watch=None) -> None:
        self.model, self.name, self.service, self.where = model, name, service, where
        self.deadline, self.limits, self.watch = timeout, limits, watch
        self.explain = explain or _explain_any

    def stream(self, messages: list[dict], *, max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        """The reply's text, ending early at `max_tokens * CHARS_PER_TOKEN` characters: a server that
        ignores the token limit cannot flood the answer step."""
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m["role"], content=m["content"]) for m in messages]
        room, deadline = max_tokens * CHARS_PER_TOKEN, time.monotonic() + self.deadline
        watching = self.watch.watching(self.deadline) if self.watch else nullcontext(SimpleNamespace(late=False))
        with watching as state:
            replies = None
            try:
                replies = self.limits(self.model, max_tokens, temperature).stream_chat(chat)
                for reply in replies:
                    if time.monotonic() > deadline:
                        raise self._late()
                    piece = reply.delta
                    if not piece:
                        continue
                    if not isinstance(piece, str):
                        raise LLMError(f"{self._who()} sent a reply whose content is {type(piece).__name__} "
                                       f"{str(piece)[:60]!r}, not text. Check that the base URL points at "
                                       f"{self.service}, or choose another backend with --llm.")
                    yield piece[:room]
                    room -= len(piece)
                    if room <= 0:
                        return
            except (LLMError, ConfigError, NestedCall):
                raise
            except Exception as exc:  # each integration raises its own kinds: say what they mean
                if state.late:  # the watch hung up at the deadline
                    raise self._late() from exc
                raise self.explain(self, exc) from exc
            finally:
                if replies is not None:
                    replies.close()  # hang up rather than read what is left

    def generate(self, messages: list[dict], **kw) -> str:
        return "".join(self.stream(messages, **kw))

    def _who(self) -> str:
        return f"{self.service} at {self.where}" if self.where else self.service

    def _late(self) -> LLMError:
        return LLMError(f"{self._who()} did not finish its reply within {self.deadline:g} s (the llm_timeout "
                        "setting, NEWSRAG_LLM_TIMEOUT, bounds the whole reply). The server may be overloaded: "
                        "try again, raise the timeout, or choose a faster model.")


def _explain_any(llm: LLM, exc: Exception) -> LLMError:
    return LLMUnavailableError(f"{llm._who()} failed ({type(exc).__name__}: {str(exc)[:300]}). "
                               "Check its settings, or choose another backend with --llm.")
