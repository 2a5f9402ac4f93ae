"""Serving the app: loopback by default, a warning when it is reachable without a password,
sign-in throttled per address."""
from __future__ import annotations

import ipaddress
import os
import sys

import gradio as gr
from starlette.middleware import Middleware

from .login import LoginThrottle

# No web fonts: a local-first app makes no requests to Google Fonts or any CDN.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


def bind_address(host: str | None) -> str:
    """The address Gradio listens on for `host`: empty means $GRADIO_SERVER_NAME, else 127.0.0.1
    (and an empty address means every interface)."""
    return host or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # "" (every interface) or a host name
        return False


def exposure_warning(host: str, auth, share: bool = False) -> str | None:
    """The warning printed when the app is reachable from other machines without a password;
    `host` is the address actually bound (see `bind_address`)."""
    if auth:
        return None
    if share:
        return ("newsrag: warning: --share without --auth: anyone with the public link can read the indexed "
                "articles and add new ones. Use --auth user:password.")
    if is_loopback(host):
        return None
    return (f"newsrag: warning: serving on {host or 'every interface'} without --auth: anyone who can reach "
            "this port can read the indexed articles and add new ones. Use --auth user:password, "
            "or --host 127.0.0.1.")


def parse_auth(auth) -> tuple[str, str] | None:
    """`"user:password"` (or a (user, password) pair) -> (user, password); None stays None."""
    if auth is None or isinstance(auth, tuple):
        return auth
    user, sep, password = str(auth).partition(":")
    if not sep or not user or not password:
        raise ValueError("--auth must look like user:password")
    return user, password


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, auth=None, share: bool = False,
           *, prevent_thread_lock: bool = False, quiet: bool = False):
    """Serve `app`. Loopback only by default; a public share link only when `share` is True."""
    auth = parse_auth(auth)
    host = bind_address(host)
    warning = exposure_warning(host, auth, bool(share))
    if warning:
        print(warning, file=sys.stderr, flush=True)
    throttle = [Middleware(LoginThrottle, *app.newsrag_login_limit)] if auth else []
    result = app.launch(server_name=host, server_port=port, auth=auth, share=bool(share),
                        app_kwargs={"middleware": throttle},
                        prevent_thread_lock=True, quiet=True, show_error=True, ssr_mode=False, theme=THEME,
                        inbrowser=False, enable_monitoring=False,
                        max_file_size=getattr(app, "newsrag_max_file_size", None),
                        footer_links=["api", "settings"], auth_message="newsrag: sign in to ask questions.")
    if not quiet:
        public = f"; public link {app.share_url}" if getattr(app, "share_url", None) else ""
        print(f"newsrag: serving {app.local_url}{public} (the API: /ask; Ctrl-C stops)", flush=True)
    if not prevent_thread_lock:
        app.block_thread()
        app.close()
    return result
