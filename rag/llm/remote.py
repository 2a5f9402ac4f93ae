"""Models behind a server, through LlamaIndex's maintained integrations: Ollama
(`llama-index-llms-ollama`) and any OpenAI-compatible API (`llama-index-llms-openai-like`:
api.openai.com, llama.cpp's llama-server, vLLM, LM Studio, Ollama's /v1)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError
from .base import LLM, per_call
from .http import Watch, explainer

if TYPE_CHECKING:
    from ..settings import Settings

OLLAMA_URL = "http://127.0.0.1:11434"
OPENAI_URL = "https://api.openai.com/v1"
CONTEXT_WINDOW = 4096  # declared, so Ollama is not asked for the model's card before every answer


def _model_name(settings: "Settings", backend: str, example: str) -> str:
    if not settings.llm_model:
        raise ConfigError(f"the {backend} backend needs a model name, e.g. --llm-model {example}")
    return settings.llm_model


def ollama(settings: "Settings") -> LLM:
    """A model served by a running `ollama serve`, e.g. --llm-model llama3.2."""
    from llama_index.llms.ollama import Ollama
    from ollama import Client

    model, url = _model_name(settings, "ollama", "llama3.2"), (settings.llm_base_url or OLLAMA_URL).rstrip("/")
    watch = Watch(settings.llm_timeout)
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else None
    client = Client(host=url, headers=headers, **watch.client_kwargs())
    return LLM(Ollama(model=model, base_url=url, client=client, context_window=CONTEXT_WINDOW,
                      request_timeout=settings.llm_timeout),
               "ollama", service="Ollama", where=url, timeout=settings.llm_timeout, watch=watch,
               limits=_ollama_limits,
               explain=explainer({404: "If the model is missing, pull it with `ollama pull {model}`."},
                                 "Start it with `ollama serve`, or choose another backend with --llm."))


def _ollama_limits(model, max_tokens: int, temperature: float):
    """Ollama takes the token limit as the `num_predict` option."""
    return model.model_copy(update={"temperature": temperature,
                                    "additional_kwargs": {**model.additional_kwargs, "num_predict": max_tokens}})


def openai(settings: "Settings") -> LLM:
    """Any OpenAI-compatible server; --llm-base-url ends in /v1, e.g. http://127.0.0.1:8000/v1."""
    from llama_index.llms.openai_like import OpenAILike

    model, url = _model_name(settings, "openai", "gpt-4o-mini"), (settings.llm_base_url or OPENAI_URL).rstrip("/")
    watch = Watch(settings.llm_timeout)
    # only the configured key is ever sent: never one from OPENAI_API_KEY to a server named here
    return LLM(OpenAILike(model=model, api_base=url, api_key=settings.llm_api_key or "no-key", is_chat_model=True,
                          context_window=CONTEXT_WINDOW, max_retries=0, timeout=settings.llm_timeout,
                          http_client=watch.client()),
               "openai", service="the OpenAI-compatible server", where=url, timeout=settings.llm_timeout,
               watch=watch, limits=per_call,
               explain=explainer({404: "Check the model name {model!r} and the base URL."}))
