"""The web UI: `create_app(assistant)` builds the Gradio app, `launch(app, ...)` serves it.

Gradio is imported only when one of those is used, so `ui.render` stays light.
"""
from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "launch":
        from .serve import launch

        return launch
    raise AttributeError(name)


__all__ = ["create_app", "launch"]
