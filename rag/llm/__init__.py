"""LLM backends: LlamaIndex LLMs behind newsrag's guards (`LLM`), from one registry.

Built-in entries (pyproject's `newsrag.llms` entry points): extractive (no model: the answer is
the evidence itself), local (llama.cpp GGUF), ollama, openai (any OpenAI-compatible server).
A plugin registers a factory `build(settings) -> LlamaIndex LLM | LLM` the same way; a dotted
path `package.module:Class` names any LlamaIndex LLM class, built with `model=` --llm-model and
the JSON object in --llm-options."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

from index.plugins import Registry, load_class

from ..errors import ConfigError
from .base import LLM

if TYPE_CHECKING:
    from ..settings import Settings

LLMS = Registry("newsrag.llms", "LLM backend")


def backends() -> tuple[str, ...]:
    """The registered backend names: the CLI's and the UI's choices."""
    return LLMS.names()


def make_llm(name: str, settings: "Settings") -> LLM | None:
    """The backend `name` built from `settings`; None for extractive, which needs no model."""
    if ":" in name and name not in LLMS.entries():
        made = _dotted(name, settings)
    else:
        made = LLMS.build(name, settings)
    if made is None or isinstance(made, LLM):
        return made
    return LLM(made, name, service=f"the {name} model", timeout=settings.llm_timeout)


def _dotted(path: str, settings: "Settings"):
    from llama_index.core.llms import LLM as LlamaIndexLLM

    cls = load_class(path, LlamaIndexLLM, "LLM")
    try:
        options = json.loads(settings.llm_options or "{}")
    except ValueError as exc:
        raise ConfigError(f"llm_options {settings.llm_options!r} is not JSON ({exc}); give an object like "
                          '\'{"temperature": 0}\'') from exc
    if not isinstance(options, dict):
        raise ConfigError(f"llm_options must be a JSON object of {path} constructor arguments, not {options!r}")
    if settings.llm_model:
        options.setdefault("model", settings.llm_model)
    try:
        return cls(**options)
    except (TypeError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(f"cannot build {path} from {options} ({str(exc).splitlines()[0]}); "
                          "set its arguments with --llm-options") from exc


def extractive(settings: "Settings") -> None:
    """No model: the answer is the best evidence sentences themselves."""
    return None


__all__ = ["LLM", "LLMS", "backends", "make_llm"]
