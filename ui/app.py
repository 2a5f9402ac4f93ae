"""The Gradio app: `create_app(assistant)` builds it, `launch(app, ...)` serves it.

The UI only adapts `rag.api.Assistant`: a Chat tab (streamed answers, source cards, filters,
per-session conversations), a Corpus tab (statistics, upload/folder ingest) and a named API
endpoint `/ask` that returns the `newsrag ask --json` object.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr
from starlette.middleware import Middleware

from rag.api import SUFFIXES, Answer, Assistant, FileReport
from rag.errors import NewsragError
from rag.llm import BACKENDS

from . import render
from .corpus import (
    FOLDER_OFF,
    FolderRefused,
    SavedUpload,
    UploadRejected,
    allowed_folder,
    check_batch,
    example_questions,
    save_upload,
    uploads_dir,
)
from .login import LoginThrottle
from .render import FileResult, Turn

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # answers computed at once, the rest queue (eval/bench_load.py: 2 -> 2.0/s, 4-16 -> ~3/s on 2 cores)
QUEUE_SIZE = 512
# No web fonts: a local-first app makes no requests to Google Fonts or any CDN.
THEME = gr.themes.Default(font=["ui-sans-serif", "system-ui", "sans-serif"],
                          font_mono=["ui-monospace", "monospace"])


@dataclass
class Session:
    """One browser session's conversation: its own `Chat` (follow-up history) and turns."""

    chat: Any  # rag.chat.Chat
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one question at a time


def create_app(assistant: Assistant, *, concurrency: int = DEFAULT_CONCURRENCY) -> gr.Blocks:
    """The newsrag web app over `assistant` (not launched: see `launch`)."""
    settings = assistant.settings
    max_bytes = int(settings.max_file_mb * 2**20)
    max_upload = int(settings.max_upload_mb * 2**20)
    roots = settings.ingest_root
    backends = list(dict.fromkeys([settings.llm, *BACKENDS]))

    # -- handlers ------------------------------------------------------------
    def respond(question, session, since, until, sources, llm):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), session, gr.skip()
            return
        if session is None:  # gr.State deep-copies its default, so the Chat is made here
            session = Session(assistant.chat())
        filters = {"since": since or None, "until": until or None, "source": list(sources or []) or None}
        turn = Turn(question, {**filters, "llm": llm if llm and llm != settings.llm else None})
        with session.lock:
            session.turns.append(turn)
            yield "", session, render.transcript(session.turns)
            yield from _answer(session, turn, question, llm, filters)

    def _answer(session, turn, question, llm, filters):
        try:
            for item in session.chat.stream(question, llm=llm or None, **filters):
                if isinstance(item, Answer):
                    turn.passages = {c.n: render.passage(assistant.article_text(c.article), c)
                                     for c in item.citations}
                    turn.answer = item
                else:
                    turn.streamed += item
                yield gr.skip(), session, render.transcript(session.turns)
        except NewsragError as exc:
            turn.error = str(exc)
            yield gr.skip(), session, render.transcript(session.turns)
        except Exception as exc:  # show it in the chat rather than a generic error toast
            log.exception("answering %r failed", question)
            turn.error = f"Answering failed: {exc.__class__.__name__}: {exc}"
            yield gr.skip(), session, render.transcript(session.turns)

    def new_chat():
        return None, render.transcript([]), ""

    def corpus_views():
        info = assistant.status()
        examples = example_questions(assistant)
        return (render.status_html(info), gr.Dropdown(choices=info.get("sources") or []),
                gr.Dataset(samples=[[q] for q in examples], visible=bool(examples)))

    def ingest(files, folder, progress=gr.Progress()):
        def tick(done: int, total: int, path: str) -> None:
            progress((done, total), desc=f"Ingesting {Path(path).name}", unit="files")

        results: list[FileResult] = []
        uploads = [Path(str(path)) for path in files or []]
        saved: list[SavedUpload] = []
        try:
            check_batch(uploads, settings.max_upload_files, max_upload)
            for path in uploads:
                try:
                    saved.append(save_upload(path, uploads_dir(assistant), max_bytes, path.name))
                except (UploadRejected, OSError) as exc:
                    results.append(FileResult(path.name, "rejected", 0, str(exc)))
        except UploadRejected as exc:
            results.append(FileResult(f"{len(uploads)} files", "rejected", 0, str(exc)))
        finally:
            for path in uploads:
                path.unlink(missing_ok=True)  # Gradio's temp copy: the only copy kept is in <data_dir>/uploads
        if saved:  # one ingest for all uploads: BM25 is rebuilt once, not once per file
            results += _ingest_uploads(saved, tick)
        folder = (folder or "").strip()
        if folder:
            try:  # refused server-side too: the event can be called without the page
                where = allowed_folder(folder, roots)
                results.extend(_folder_results(where, assistant.ingest([where], on_file=tick, confine=True)))
            except FolderRefused as exc:
                results.append(FileResult(folder, "rejected", 0, str(exc)))
            except NewsragError as exc:
                results.append(FileResult(folder, "failed", 0, str(exc)))
        if not results:
            summary = "Choose files to upload or give a folder path."
        else:
            bad = sum(r.result == "rejected" or "failed" in r.result for r in results)
            summary = f"{len(results)} item(s) processed, {bad} with errors."
        stats, sources, examples = corpus_views()
        return render.ingest_html(results, summary), None, stats, sources, examples

    def _ingest_uploads(saved: list[SavedUpload], tick) -> list[FileResult]:
        """Ingest the stored uploads in their own id namespace; delete those that gave no article."""
        try:
            report = assistant.ingest([item.path for item in saved], on_file=tick, namespace="upload")
            by_path = {Path(f.path).resolve(): f for f in report.files}
            failure = None
        except NewsragError as exc:
            by_path, failure = {}, str(exc)
        rows = []
        for item in saved:
            file = by_path.get(item.path.resolve())
            row = _file_result(item.original, file, uploads_dir(assistant))
            if file is None or row.result == "failed":
                if not item.reused:  # an earlier, identical upload stays with its articles
                    item.path.unlink(missing_ok=True)
                kept = "not kept"
            else:
                kept = f"stored as uploads/{item.path.name}"
            rows.append(FileResult(row.name, row.result, row.chunks,
                                   "; ".join(x for x in (failure or row.detail, kept) if x)))
        return rows

    def api_ask(question: str, since: str | None = None, until: str | None = None,
                source: str | list[str] | None = None, llm: str | None = None) -> dict:
        """Answer one question with cited sources. Returns the `newsrag ask --json` object:
        {"answer", "abstained", "citations": [{"n", "article", "title", "date", "source", "url",
        "quote", "start", "end"}]}. since/until: YYYY-MM-DD; source: a name or a list of names."""
        if llm and llm not in backends:  # a dotted class path would import code named by a caller
            raise gr.Error(f"llm must be one of {', '.join(backends)}")
        if isinstance(source, str):
            source = [s.strip() for s in source.split(",") if s.strip()]
        try:
            answer = assistant.ask(question, since=since or None, until=until or None,
                                   source=source or None, llm=llm or None)
        except NewsragError as exc:
            raise gr.Error(str(exc)) from exc
        return answer.to_json()

    # -- layout --------------------------------------------------------------
    with gr.Blocks(title="newsrag", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as app:
        session = gr.State(None)
        gr.Markdown("## newsrag — cited answers from your news articles")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="nr-tab-chat"):
                with gr.Row(equal_height=False):
                    with gr.Column(scale=4):
                        transcript = gr.HTML(render.transcript([]), elem_id="nr-transcript",
                                             css_template=render.CSS, js_on_load=render.ON_LOAD_JS,
                                             min_height=120)
                        with gr.Row():
                            question = gr.Textbox(show_label=False, placeholder="Ask about the articles…",
                                                  elem_id="nr-question", scale=6, lines=1, max_length=settings.max_question_chars,
                                                  autofocus=True)
                            ask = gr.Button("Ask", variant="primary", elem_id="nr-ask", scale=1, min_width=80)
                            clear = gr.Button("New chat", elem_id="nr-new-chat", scale=1, min_width=100)
                        examples = gr.Dataset(components=[question], samples=[], label="Example questions",
                                              elem_id="nr-examples", visible=False)
                    with gr.Column(scale=1, min_width=260):
                        gr.Markdown("**Filters** (apply to the next question)")
                        since = gr.DateTime(include_time=False, type="string", label="Since (YYYY-MM-DD)",
                                            elem_id="nr-since")
                        until = gr.DateTime(include_time=False, type="string", label="Until (YYYY-MM-DD)",
                                            elem_id="nr-until")
                        sources = gr.Dropdown(choices=[], value=[], multiselect=True, label="Sources",
                                              info="empty: all sources", elem_id="nr-sources")
                        llm = gr.Dropdown(choices=backends, value=settings.llm, label="Answer backend",
                                          elem_id="nr-llm")
            with gr.Tab("Corpus", id="corpus", elem_id="nr-tab-corpus"):
                stats = gr.HTML(elem_id="nr-stats", css_template=render.CSS, js_on_load=None)
                refresh = gr.Button("Refresh statistics", size="sm")
                gr.Markdown(f"**Add articles**: {', '.join(SUFFIXES)} files up to "
                            f"{settings.max_file_mb:g} MB each, {settings.max_upload_files} files and "
                            f"{settings.max_upload_mb:g} MB per ingest (stored in the data dir's `uploads/`)"
                            + (", or a folder on the server." if roots else "."))
                files = gr.File(file_count="multiple", label="Upload articles", elem_id="nr-upload")
                folder = gr.Textbox(label="Folder path on the server (optional)", elem_id="nr-folder",
                                    interactive=bool(roots),
                                    info=f"under {', '.join(map(str, roots))}" if roots else FOLDER_OFF)
                run = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
                result = gr.HTML(elem_id="nr-ingest-result", css_template=render.CSS, js_on_load=None)

        # -- events ----------------------------------------------------------
        chat_io = dict(inputs=[question, session, since, until, sources, llm],
                       outputs=[question, session, transcript])
        gr.on([question.submit, ask.click], respond, **chat_io, concurrency_id="answer",
              concurrency_limit=concurrency, api_visibility="private", show_progress="hidden")
        examples.click(lambda sample: sample[0], examples, question, api_visibility="private",
                       queue=False).then(respond, **chat_io, concurrency_id="answer",
                                         api_visibility="private", show_progress="hidden")
        clear.click(new_chat, None, [session, transcript, question], api_visibility="private", queue=False)
        refresh.click(corpus_views, None, [stats, sources, examples], api_visibility="private")
        run.click(ingest, [files, folder], [result, files, stats, sources, examples],
                  concurrency_limit=1, api_visibility="private")
        app.load(corpus_views, None, [stats, sources, examples], api_visibility="private")
        gr.api(api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=concurrency)
    app.queue(default_concurrency_limit=concurrency, max_size=QUEUE_SIZE)
    app.newsrag_max_file_size = max_bytes  # read by `launch`
    app.newsrag_login_limit = (settings.login_attempts, settings.login_wait)  # read by `launch`
    return app


def _file_result(name: str, report: FileReport | None, folder: Path) -> FileResult:
    if report is None:
        return FileResult(name, "failed", 0, "the ingest did not read this file")
    notes = [f"same text as {canonical}, stored once" for canonical in report.duplicate_of]
    notes += [_short(p, folder) for p in (*report.problems, *report.warnings)]
    if report.unchanged and not (report.added or report.updated or notes):
        notes.append("already indexed")
    detail = "; ".join(notes)
    return FileResult(name, report.result, report.chunks, detail)


def _folder_results(folder: Path, report) -> list[FileResult]:
    name = str(folder)
    summary = (f"{report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
               f"{report.duplicate} duplicate, {report.failed} failed in {report.seconds:.1f} s")
    rows = [FileResult(name, "failed" if report.failed and not (report.added or report.updated or report.unchanged)
                       else "ingested", report.chunks_written, summary)]
    for result, lines in (("failed", report.problems), ("warning", report.warnings)):
        for line in lines:
            where, _, why = _short(line, folder).partition(": ")
            rows.append(FileResult(where, result, 0, why))
    return rows


def _short(problem: str, folder: Path) -> str:
    """A problem line without the server's absolute uploads path."""
    return problem.replace(str(folder.resolve()) + "/", "").replace(str(folder) + "/", "")


# -- serving --------------------------------------------------------------------

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
