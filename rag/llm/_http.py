"""What the HTTP backends share: one streamed POST whose every failure becomes an error that says the
fix, a deadline for the whole reply and a cap on its length, so a slow or runaway server cannot hold
an answer hostage."""
from __future__ import annotations

import socket
import threading
import time
from abc import abstractmethod
from typing import Iterator

import httpx

from ..errors import ConfigError, LLMError, LLMUnavailableError
from .base import LLM

CONNECT_TIMEOUT = 5.0
CHARS_PER_TOKEN = 8  # a reply may hold this many characters per token asked for (English averages ~4)


class HTTPLLM(LLM):
    """A chat model behind an HTTP server. Subclasses build the request and parse the stream's lines
    into text pieces (`_pieces`); `stream` checks and caps them."""

    service = "the LLM server"
    start_hint = "Check that the server is running and the base URL is right, or choose another backend with --llm."

    def __init__(self, model: str, base_url: str, api_key: str | None = None, timeout: float = 60.0,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.deadline = timeout  # seconds for the whole reply: a server dripping a word at a time is cut off
        self.timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))

    def stream(self, messages: list[dict], *, max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        """The reply's text, ending early at `max_tokens * CHARS_PER_TOKEN` characters: a server that
        ignores the token limit cannot flood the answer step."""
        room = max_tokens * CHARS_PER_TOKEN
        pieces = self._pieces(messages, max_tokens, temperature)
        try:
            for piece in pieces:
                if not isinstance(piece, str):  # e.g. a number, or a list of content parts
                    raise LLMError(f"{self.service} at {self.base_url} sent a reply whose content is "
                                   f"{type(piece).__name__} {str(piece)[:60]!r}, not text. Check that the base URL "
                                   f"points at {self.service}, or choose another backend with --llm.")
                if not piece:
                    continue
                yield piece[:room]
                room -= len(piece)
                if room <= 0:
                    return
        finally:
            pieces.close()  # hang up rather than read what is left

    @abstractmethod
    def _pieces(self, messages: list[dict], max_tokens: int, temperature: float) -> Iterator[object]:
        """The `content` of each streamed event, unchecked."""

    def _lines(self, path: str, body: dict) -> Iterator[str]:
        """POST `body` as JSON to `base_url + path` and yield the non-empty lines of the reply."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = self.base_url + path
        deadline = time.monotonic() + self.deadline
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=self.timeout) as response:
                if not response.is_success:
                    response.read()
                    raise self._fail(f"refused the request (HTTP {response.status_code}: {_error_text(response)}). "
                                     + self._status_hint(response.status_code))
                # the read timeout restarts with every byte: only hanging up ends a dripping reply on time
                cutoff = threading.Timer(max(0.0, deadline - time.monotonic()), _hang_up, (response,))
                cutoff.daemon = True  # a reply abandoned unclosed must not keep the process alive
                cutoff.start()
                try:
                    for line in response.iter_lines():
                        if time.monotonic() > deadline:
                            raise self._late()
                        if line.strip():
                            yield line
                finally:
                    cutoff.cancel()
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise ConfigError(f"the {self.service} base URL {self.base_url!r} is not valid ({exc}); "
                              "give one like http://127.0.0.1:8000") from exc
        except httpx.ConnectTimeout as exc:
            raise self._unreachable(f"no connection within {self.timeout.connect:g} s") from exc
        except httpx.ConnectError as exc:
            raise self._unreachable("connection refused" if "refused" in str(exc).lower() else str(exc)) from exc
        except httpx.TimeoutException as exc:
            raise self._fail(f"sent nothing for {self.timeout.read:g} s. The server may be overloaded or still "
                             "loading the model: try again, or raise the timeout.") from exc
        except httpx.HTTPError as exc:  # e.g. the connection dropped mid-reply
            if time.monotonic() > deadline:
                raise self._late() from exc
            raise self._fail(f"broke off the reply ({type(exc).__name__}: {exc}). Try again; "
                             "if it keeps happening, see the server's log.") from exc

    def _late(self) -> LLMError:
        return LLMError(f"{self.service} at {self.base_url} did not finish its reply within {self.deadline:g} s "
                        "(the llm_timeout setting, NEWSRAG_LLM_TIMEOUT, bounds the whole reply). The server may be "
                        "overloaded: try again, raise the timeout, or choose a faster model.")

    def _unreachable(self, reason: str) -> LLMUnavailableError:
        return LLMUnavailableError(f"cannot reach {self.service} at {self.base_url} ({reason}). {self.start_hint}")

    def _fail(self, what: str) -> LLMUnavailableError:
        return LLMUnavailableError(f"{self.service} at {self.base_url} {what}")

    def _malformed(self, line: str) -> LLMUnavailableError:
        return self._fail(f"sent a line that is not part of its streaming protocol: {line[:120]!r}. "
                          f"Check that the base URL points at {self.service}.")

    def _status_hint(self, status: int) -> str:
        if status in (401, 403):
            return "Check the API key."
        if status == 404:
            return f"Check the model name {self.model!r} and the base URL."
        return "See the server's log."


def _hang_up(response: httpx.Response) -> None:
    """Shut the reply's socket, waking the read that waits on it (closing it would not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed: the reply ended meanwhile
            pass


def error_message(data) -> str:
    """The message in an error reply: OpenAI's {"error": {"message": ...}} or Ollama's {"error": ...}."""
    error = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(error, dict):
        error = error.get("message", error)
    return str(error)[:300]


def _error_text(response: httpx.Response) -> str:
    try:
        return error_message(response.json())
    except ValueError:  # not JSON: a proxy's HTML page, a plain-text error
        return response.text.strip()[:300] or response.reason_phrase
