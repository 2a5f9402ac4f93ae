"""Custom backends named by a dotted path `package.module:Class` (embedders, rerankers, LLMs)."""
from __future__ import annotations

import importlib
import inspect

from .errors import ConfigError


def load_class(path: str, base: type, kind: str) -> type:
    """The class at `path`, which must subclass `base`; `kind` names it in errors ("LLM")."""
    module, _, attr = path.partition(":")
    try:
        cls = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"cannot load the {kind} class {path!r} ({exc}); give an importable "
                          "package.module:Class") from exc
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        raise ConfigError(f"{path!r} is not a subclass of {base.__module__}.{base.__qualname__}; "
                          f"subclass it to make a custom {kind}")
    return cls
