"""LLM backends: one base class (`LLM.stream`), a factory, the bundled SmolLM2 model by default."""
from __future__ import annotations

import inspect
from pathlib import Path

from index.plugins import load_class

from ..errors import ConfigError
from .base import LLM

BACKENDS = ("local", "ollama", "openai", "extractive")


def make_llm(name: str, *, model: str | None = None, base_url: str | None = None,
             api_key: str | None = None, timeout: float = 60.0, threads: int | None = None,
             cache: Path | None = None) -> LLM:
    """Build an LLM backend by name, or by a dotted path `package.module:Class`.

    local: a GGUF file (`model` is its path, or a name in `catalog.MODELS`, joined into `cache`
    on first use; unset: the bundled SmolLM2-135M-Instruct) run on `threads` CPU threads (unset: all cores);
    ollama: a model served by `ollama serve` (`model` like "llama3.2");
    openai: any OpenAI-compatible server (`base_url` defaults to https://api.openai.com/v1);
    extractive: no model, answers with the evidence sentences themselves.
    A dotted class gets whichever of these keyword arguments its constructor accepts.
    """
    if name == "local":
        from .catalog import MODELS, model_file
        from .local import LocalLLM

        if model in MODELS:
            model = str(model_file(model, Path(cache or ".newsrag/models")))
        return LocalLLM(model, n_threads=threads)
    if name in ("ollama", "openai"):
        if not model:
            example = "llama3.2" if name == "ollama" else "gpt-4o-mini"
            raise ConfigError(f"the {name} backend needs a model name, e.g. {example!r}")
        if name == "ollama":
            from .ollama import OllamaLLM

            return OllamaLLM(model, base_url, api_key=api_key, timeout=timeout)
        from .openai import OpenAILLM

        return OpenAILLM(model, base_url, api_key=api_key, timeout=timeout)
    if name == "extractive":
        from .extractive import ExtractiveLLM

        return ExtractiveLLM()
    if ":" in name:
        return _custom(name, dict(model=model, base_url=base_url, api_key=api_key, timeout=timeout))
    raise ConfigError(f"unknown LLM backend {name!r}; use one of {', '.join(BACKENDS)} "
                      "or a dotted path package.module:Class")


def _custom(path: str, kwargs: dict) -> LLM:
    cls = load_class(path, LLM, "LLM")
    params = inspect.signature(cls).parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        accepted = {p.name for p in params}
        kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    return cls(**kwargs)


__all__ = ["BACKENDS", "LLM", "make_llm"]
