"""What the HTTP integrations (Ollama, OpenAI-compatible) get from newsrag: an httpx client this
thread can hang up on at the deadline (a server dripping a byte at a time never trips a read
timeout), a reply that is not a stream refused at its first byte, and their errors explained."""
from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from types import SimpleNamespace

import httpx

from ..errors import ConfigError, LLMError, LLMUnavailableError

CONNECT_TIMEOUT = 5.0
_STREAM_TYPES = ("event-stream", "ndjson", "json")


class NotAStream(Exception):
    """A 200 reply to a streaming request whose body is not a stream (a proxy's page, plain text)."""


class Watch:
    """httpx settings for an integration's client (`client_kwargs`), whose replies are tracked per
    thread so that `watching` can cut them off."""

    def __init__(self, timeout: float, connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.timeout = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._local = threading.local()

    def client_kwargs(self) -> dict:
        return {"timeout": self.timeout, "event_hooks": {"response": [self._opened]}}

    def client(self) -> httpx.Client:
        return httpx.Client(**self.client_kwargs())

    def _opened(self, response: httpx.Response) -> None:
        state = getattr(self._local, "state", None)
        if state is not None:
            # taken now: a generator may be resumed in other threads (Gradio's workers), so the
            # block may end in another thread than the one it began in
            self._local.state = None
            state.responses.append(response)
            if state.timer is None:  # armed at the first reply: a server that never answers is the read timeout's
                state.timer = threading.Timer(max(0.0, state.deadline - time.monotonic()), _cut, (state,))
                state.timer.daemon = True  # a reply abandoned unclosed must not keep the process alive
                state.timer.start()
        streaming = b'"stream":true' in (response.request.content or b"").replace(b" ", b"")
        kind = response.headers.get("content-type", "")
        if response.is_success and streaming and not any(t in kind for t in _STREAM_TYPES):
            raise NotAStream(f"a {kind or 'untyped'} body")

    @contextmanager
    def watching(self, seconds: float):
        """Within the block, this thread's replies are shut `seconds` after it starts (`state.late`
        then says so; the timer is armed when the first reply arrives, so a server that never
        answers is the read timeout's to report) and when the block ends, so an abandoned reply
        never keeps its connection."""
        state = SimpleNamespace(responses=[], late=False, timer=None, deadline=time.monotonic() + seconds)
        self._local.state = state
        try:
            yield state
        finally:
            if state.timer is not None:
                state.timer.cancel()
            if getattr(self._local, "state", None) is state:
                self._local.state = None
            for response in state.responses:
                if not response.is_closed:
                    _hang_up(response)
                    response.close()


def _cut(state) -> None:
    state.late = True
    for response in state.responses:
        if not response.is_closed:  # a closed reply's connection may be serving another request now
            _hang_up(response)


def _hang_up(response: httpx.Response) -> None:
    """Shut the reply's socket, waking a read that waits on it (closing it would not)."""
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed: the reply ended meanwhile
            pass


def _chain(exc: BaseException):
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def explainer(status_hints: dict[int, str] | None = None, start_hint: str = "Check that the server is "
              "running and the base URL is right, or choose another backend with --llm."):
    """An `explain(llm, exc)` for an HTTP integration: `status_hints` say what to do per HTTP status."""
    hints = {401: "Check the API key.", 403: "Check the API key.", **(status_hints or {})}

    def explain(llm, exc: Exception) -> LLMError:
        who = llm._who()
        for e in _chain(exc):
            if isinstance(e, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
                return ConfigError(f"the {llm.service} base URL {llm.where!r} is not valid ({e}); "
                                   "give one like http://127.0.0.1:8000")
            if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
                reason = ("connection refused" if "refused" in str(e).lower() else
                          f"no connection within {llm.watch.timeout.connect:g} s" if isinstance(e, httpx.ConnectTimeout)
                          else str(e))
                return LLMUnavailableError(f"cannot reach {who} ({reason}). {start_hint}")
            if isinstance(e, httpx.ReadTimeout):
                return LLMUnavailableError(f"{who} sent nothing for {llm.watch.timeout.read:g} s. The server may "
                                           "be overloaded or still loading the model: try again, or raise the timeout.")
            if isinstance(e, NotAStream):
                return _malformed(llm, str(e))
            status = getattr(e, "status_code", None)
            if isinstance(status, int) and status >= 400:
                hint = hints.get(status, "See the server's log.").format(model=getattr(llm.model, "model", ""))
                return LLMUnavailableError(f"{who} refused the request (HTTP {status}: {_message(e)}). {hint}")
            if isinstance(e, httpx.HTTPError):  # e.g. the connection dropped mid-reply
                return LLMUnavailableError(f"{who} broke off the reply ({type(e).__name__}: {e}). Try again; "
                                           "if it keeps happening, see the server's log.")
            if _is_error_event(e):
                return LLMUnavailableError(f"{who} answered with an error: {_message(e)}. See the server's log.")
        return _malformed(llm, f"{type(exc).__name__}: {' '.join(str(exc).split())[:160]}")

    return explain


def _is_error_event(e: BaseException) -> bool:
    """An error the server sent inside a streamed reply (OpenAI's `APIError`, Ollama's status -1)."""
    return getattr(e, "status_code", None) == -1 or type(e).__name__ == "APIError"


def _message(e: BaseException) -> str:
    """The server's own words: OpenAI's error.message, Ollama's error, else the exception text."""
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        return str(error.get("message", error) if isinstance(error, dict) else error)[:300]
    return str(getattr(e, "error", None) or getattr(e, "message", None) or e)[:300]


def _malformed(llm, what: str) -> LLMUnavailableError:
    return LLMUnavailableError(f"{llm._who()} sent a reply that is not part of its streaming protocol ({what}). "
                               f"Check that the base URL points at {llm.service}, or choose another backend with --llm.")
