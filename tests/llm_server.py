"""A stand-in for a hosted LLM: a real HTTP server on 127.0.0.1 speaking Ollama's and OpenAI's chat protocols.

It replies with a scripted text (set `server.reply` per test: a fabricated citation, an unsupported
sentence...), records every request, can demand a bearer key, and can fail on demand: drip the
reply slowly, send a `content` that is not text, or notice the client hanging up.

    with LLMServer(reply="Paris is in France. [1]") as server:
        settings = Settings(llm="openai", llm_model="m", llm_base_url=server.url + "/v1")
        make_llm("openai", settings).generate(messages)
"""
from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback


class LLMServer:
    def __init__(self, reply: str = "The articles don't say.", api_key: str | None = None) -> None:
        self.reply = reply
        self.api_key = api_key  # when set, requests without `Authorization: Bearer <key>` get a 401
        self.status_error: tuple[int, str] | None = None  # (status, message): refuse every request
        self.stream_error: str | None = None  # fail after the first piece, the way Ollama reports late errors
        self.raw: str | None = None  # sent as a 200 reply's whole body instead of the protocol: a malformed stream
        self.drip = 0.0  # seconds to wait before each piece: a server that never finishes
        self.content: object = None  # when set, every piece's `content` is this value (a number, a list)
        self.disconnected = threading.Event()  # set when the client hung up before the reply ended
        self.requests: list[dict] = []  # {"path", "headers", "body"} in arrival order
        self._httpd = _QuietServer(("127.0.0.1", 0), _handler(self))

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def pieces(self) -> list[str]:
        """The reply cut before each word, as a model streams it; the pieces join back to `reply`."""
        return [p for p in re.split(r"(?<=\s)(?=\S)", self.reply) if p]

    def __enter__(self) -> "LLMServer":
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client hanging up is normal here
            super().handle_error(request, client_address)


def _handler(server: LLMServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # chunked streaming, as both real servers do

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            openai = self.path == "/v1/chat/completions"
            if self.path not in ("/api/chat", "/v1/chat/completions"):
                return self._json(404, {"error": f"no route {self.path}"})
            if server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                return self._json(401, _openai_error("Incorrect API key provided.", "invalid_api_key"))
            if server.status_error:
                status, message = server.status_error
                return self._json(status, _openai_error(message, "server_error") if openai else {"error": message})
            if server.raw is not None:
                self._start(200, "text/plain")
                self._chunk(server.raw)
                return self._end()
            try:
                return self._openai(body) if openai else self._ollama(body)
            except ConnectionError:
                server.disconnected.set()

        def _ollama(self, body: dict) -> None:
            def event(content, done: bool) -> dict:
                return {"model": body.get("model"), "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "message": {"role": "assistant", "content": content}, "done": done}

            if not body.get("stream", True):  # Ollama streams unless told not to
                return self._json(200, {**event(server.reply, True), "done_reason": "stop"})
            self._start(200, "application/x-ndjson")
            for i, piece in enumerate(server.pieces()):
                if i == 1 and server.stream_error:
                    self._chunk(json.dumps({"error": server.stream_error}) + "\n")
                    return self._end()
                time.sleep(server.drip)
                self._chunk(json.dumps(event(piece if server.content is None else server.content, False)) + "\n")
            self._chunk(json.dumps({**event("", True), "done_reason": "stop", "eval_count": len(server.pieces())}) + "\n")
            self._end()

        def _openai(self, body: dict) -> None:
            head = {"id": "chatcmpl-test", "created": int(time.time()), "model": body.get("model")}
            if not body.get("stream"):  # OpenAI answers in one JSON object unless asked to stream
                return self._json(200, {**head, "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": server.reply}, "finish_reason": "stop"}]})

            def event(delta: dict, finish: str | None = None) -> str:
                chunk = {**head, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
                return f"data: {json.dumps(chunk)}\n\n"

            self._start(200, "text/event-stream")
            self._chunk(": keep-alive\n\n")  # some hosts send SSE comments; clients must skip them
            self._chunk(event({"role": "assistant", "content": ""}))
            for i, piece in enumerate(server.pieces()):
                if i == 1 and server.stream_error:
                    self._chunk(f"data: {json.dumps(_openai_error(server.stream_error, 'server_error'))}\n\n")
                    return self._end()
                time.sleep(server.drip)
                self._chunk(event({"content": piece if server.content is None else server.content}))
            self._chunk(event({}, "stop"))
            self._chunk("data: [DONE]\n\n")
            self._end()

        def _json(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _start(self, status: int, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _chunk(self, text: str) -> None:
            data = text.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _end(self) -> None:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    return Handler


def _openai_error(message: str, code: str) -> dict:
    return {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """The URL of a socket that accepts connections (the kernel completes them) but never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield "http://127.0.0.1:%d" % sock.getsockname()[1]


class EchoLLM(CustomLLM):
    """A LlamaIndex LLM for the dotted-path test: replies with its settings and the last message."""

    model: str = "none"
    prefix: str = ""

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name=self.model)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        return CompletionResponse(text=f"{self.prefix}{self.model}|{prompt.splitlines()[-2]}")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        text = self.complete(prompt).text
        yield CompletionResponse(text=text, delta=text)
