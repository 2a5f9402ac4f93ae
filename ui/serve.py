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
# Gradio's default greys and orange measure 1.8-2.7:1 on white as text; these meet WCAG AA (4.5:1).
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"]).set(
    body_text_color_subdued="#4b5563", block_label_text_color="#374151", block_info_text_color="#4b5563",
    block_title_text_color="#374151", input_placeholder_color="#6b7280", link_text_color="#1d4ed8",
    button_primary_background_fill="#c2410c", button_primary_background_fill_hover="#9a3412",
    button_primary_text_color="#ffffff", checkbox_label_text_color="#1f2937")
# Page layout: on a phone the question box stays at the bottom of the screen.
LAYOUT_CSS = """
@media (max-width: 640px) {
  #nr-input-row { position: fixed; left: 0; right: 0; bottom: 0; z-index: 30; margin: 0; gap: 6px;
                  background: var(--background-fill-primary); padding: 8px 10px;
                  box-shadow: 0 -2px 6px rgba(0, 0, 0, .12); flex-wrap: nowrap; }
  #nr-input-row > * { min-width: 0 !important; }
  #nr-input-row #nr-question { flex: 1 1 auto !important; }
  #nr-input-row button { flex: 0 0 auto !important; padding-left: 10px; padding-right: 10px; }
  #nr-transcript { padding-bottom: 84px; }  /* the last answer is not hidden under the input */
  .nr-q, .nr-a { max-width: 100% !important; }
}
"""
# On a phone the conversations sidebar would cover the chat: it starts folded there.
PHONE_JS = """() => {
  if (!window.matchMedia('(max-width: 768px)').matches) return;
  let tries = 0;
  const fold = () => {
    const toggle = document.querySelector('#nr-sidebar.open .toggle-button');
    if (toggle) toggle.click(); else if (tries++ < 50) setTimeout(fold, 100);
  };
  fold();
}"""


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
                        css=LAYOUT_CSS, js=PHONE_JS,
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
