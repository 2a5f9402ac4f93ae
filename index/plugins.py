"""Extension points. Each kind (LLM, embedder, reranker, store, loader) has one `Registry` of
named entries; the built-ins are registered exactly as a third-party plugin is, as entry points
in the package metadata:

    [project.entry-points."newsrag.llms"]
    mymodel = "my_package.module:build"

A name that is not registered may be a dotted path `package.module:Class` (`load_class`)."""
from __future__ import annotations

import importlib
import inspect
from importlib.metadata import EntryPoint, entry_points

from .errors import ConfigError


class Registry:
    """The entries of one entry-point `group`; `kind` names them in errors and help ("LLM backend")."""

    def __init__(self, group: str, kind: str) -> None:
        self.group, self.kind = group, kind
        self._entries: dict[str, EntryPoint] | None = None

    def entries(self) -> dict[str, EntryPoint]:
        if self._entries is None:  # read once per process: installing a plugin needs a restart
            self._entries = {ep.name: ep for ep in sorted(entry_points(group=self.group), key=lambda e: e.name)}
        return self._entries

    def names(self) -> tuple[str, ...]:
        return tuple(self.entries())

    def load(self, name: str):
        """The object registered as `name`. A missing extra ("[llm]" after the entry's target)
        is named with the pip command that installs it."""
        entry = self.entries().get(name)
        if entry is None and not self.entries():
            raise ConfigError(f"no {self.kind} is registered (entry points {self.group!r}): newsrag is not "
                              "installed; run `pip install -e .` in its folder (or `make setup`)")
        if entry is None:
            raise ConfigError(f"unknown {self.kind} {name!r}; use one of {', '.join(self.names())}, a dotted path "
                              f"package.module:Class, or install a plugin that registers it in {self.group!r}")
        try:
            return entry.load()
        except ImportError as exc:
            raise self.missing(name, exc) from exc
        except Exception as exc:  # a plugin that fails on import
            raise ConfigError(f"the {self.kind} {name!r} ({entry.value}) failed to load "
                              f"({type(exc).__name__}: {exc}); fix or uninstall that plugin") from exc

    def build(self, name: str, *args, **kwargs):
        """Call the factory registered as `name`."""
        factory = self.load(name)
        try:
            return factory(*args, **kwargs)
        except ModuleNotFoundError as exc:
            raise self.missing(name, exc) from exc

    def missing(self, name: str, exc: ImportError) -> ConfigError:
        extras = self.entries()[name].extras
        fix = (f"pip install 'newsrag[{','.join(extras)}]'" if extras
               else f"install the package that provides {exc.name or 'it'}")
        return ConfigError(f"the {self.kind} {name!r} needs {exc.name or 'a module'}, which is not installed: {fix}")


def require_extra(module: str, extra: str, what: str):
    """Import an optional dependency, or say which extra installs it ("the web UI needs gradio: ...")."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"{what} needs {exc.name}, which is not installed: pip install 'newsrag[{extra}]'") from exc


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
