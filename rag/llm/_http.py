"""What the HTTP backends share: one streamed POST whose every failure becomes an error that says the fix."""
from __future__ import annotations

from typing import Iterator

import httpx

from ..errors import ConfigError, LLMUnavailableError
from .base import LLM

CONNECT_TIMEOUT = 5.0


class HTTPLLM(LLM):
    """A chat model behind an HTTP server. Subclasses build the request and parse the stream's lines."""

    service = "the LLM server"
    start_hint = "Check that the server is running and the base URL is right, or choose another backend with --llm."

    def __init__(self, model: str, base_url: str, api_key: str | None = None, timeout: float = 60.0,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        # `timeout` bounds each wait for the next bytes, not the whole reply, so long answers can stream
        self.timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))

    def _lines(self, path: str, body: dict) -> Iterator[str]:
        """POST `body` as JSON to `base_url + path` and yield the non-empty lines of the reply."""
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = self.base_url + path
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=self.timeout) as response:
                if not response.is_success:
                    response.read()
                    raise self._fail(f"refused the request (HTTP {response.status_code}: {_error_text(response)}). "
                                     + self._status_hint(response.status_code))
                for line in response.iter_lines():
                    if line.strip():
                        yield line
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
            raise self._fail(f"broke off the reply ({type(exc).__name__}: {exc}). Try again; "
                             "if it keeps happening, see the server's log.") from exc

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
