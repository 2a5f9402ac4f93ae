"""OpenAI-compatible backend: POST /chat/completions, the reply streamed as server-sent events.

Works with api.openai.com and with local servers that copy its API (llama.cpp's llama-server, vLLM,
LM Studio, Ollama's /v1).
"""
from __future__ import annotations

import json
from typing import Iterator

from ._http import HTTPLLM, error_message

DEFAULT_URL = "https://api.openai.com/v1"


class OpenAILLM(HTTPLLM):
    """A model behind an OpenAI-style API; `base_url` ends in /v1, e.g. http://127.0.0.1:8000/v1."""

    name = "openai"
    service = "the OpenAI-compatible server"

    def __init__(self, model: str, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 60.0, **kw) -> None:
        super().__init__(model, base_url or DEFAULT_URL, api_key=api_key, timeout=timeout, **kw)

    def _pieces(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[object]:
        body = {"model": self.model, "messages": messages, "stream": True,
                "max_tokens": max_tokens, "temperature": temperature}
        for line in self._lines("/chat/completions", body):
            if line.startswith((":", "event:", "id:", "retry:")):
                continue  # SSE comments (keep-alives) and fields that carry no text
            if not line.startswith("data:"):  # e.g. a JSON or HTML body from a server that does not stream
                raise self._malformed(line)
            data = line[len("data:"):].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
                if isinstance(event, dict) and "error" in event:
                    raise self._fail(f"answered with an error: {error_message(event)}. See the server's log.")
                choices = event.get("choices") or [{}]  # the last chunk may carry only usage
                piece = (choices[0].get("delta") or {}).get("content")
            except (ValueError, AttributeError, TypeError, IndexError) as exc:
                raise self._malformed(line) from exc
            if piece is not None:
                yield piece
