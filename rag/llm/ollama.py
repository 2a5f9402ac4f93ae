"""Ollama backend: POST /api/chat, the reply streamed as one JSON object per line."""
from __future__ import annotations

import json
from typing import Iterator

from ._http import HTTPLLM, error_message

DEFAULT_URL = "http://127.0.0.1:11434"


class OllamaLLM(HTTPLLM):
    """A model served by a running `ollama serve`, e.g. `OllamaLLM("llama3.2")`."""

    name = "ollama"
    service = "Ollama"
    start_hint = "Start it with `ollama serve`, or choose another backend with --llm."

    def __init__(self, model: str, base_url: str | None = None, timeout: float = 60.0, **kw) -> None:
        super().__init__(model, base_url or DEFAULT_URL, timeout=timeout, **kw)

    def _pieces(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[object]:
        body = {"model": self.model, "messages": messages, "stream": True,
                "options": {"temperature": temperature, "num_predict": max_tokens}}
        for line in self._lines("/api/chat", body):
            try:
                event = json.loads(line)
                if isinstance(event, dict) and "error" in event:  # a failure after the 200 arrives as an error line
                    raise self._fail(f"answered with an error: {error_message(event)}. See the Ollama server's log.")
                piece = event.get("message", {}).get("content", "")
            except (ValueError, AttributeError, TypeError) as exc:
                raise self._malformed(line) from exc
            if piece is not None:
                yield piece
            if event.get("done"):
                return

    def _status_hint(self, status: int) -> str:
        if status == 404:
            return f"If the model is missing, pull it with `ollama pull {self.model}`."
        return super()._status_hint(status)
