"""The Gradio app: `create_app(assistant)` builds it, `ui.serve.launch(app, ...)` serves it.

The UI only adapts `rag.api.Assistant`: a Chat tab (streamed answers, source cards, filters,
per-session conversations), a Corpus tab (statistics, upload/folder ingest) and a named API
endpoint `/ask` that returns the `newsrag ask --json` object.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from rag.api import Answer, Assistant, llm_backends, suffixes
from rag.errors import NewsragError

from . import render
from .corpus import FOLDER_OFF, example_questions
from .ingest import ingest_items, summary
from .render import Turn

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # answers computed at once, the rest queue (eval/bench_load.py: 2 -> 2.0/s, 4-16 -> ~3/s on 2 cores)
QUEUE_SIZE = 512


@dataclass
class Session:
    """One browser session's conversation: its own `Chat` (follow-up history) and turns."""

    chat: Any  # rag.chat.Chat
    turns: list[Turn] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # one question at a time


def create_app(assistant: Assistant, *, concurrency: int = DEFAULT_CONCURRENCY) -> gr.Blocks:
    """The newsrag web app over `assistant` (not launched: see `ui.serve.launch`)."""
    return WebApp(assistant, concurrency).build()


class WebApp:
    """The app's handlers over one assistant, and the builders that lay out and wire each tab."""

    def __init__(self, assistant: Assistant, concurrency: int) -> None:
        self.assistant, self.settings, self.concurrency = assistant, assistant.settings, concurrency
        self.backends = list(dict.fromkeys([self.settings.llm, *llm_backends()]))

    # -- handlers ------------------------------------------------------------
    def respond(self, question, session, since, until, sources, llm):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), session, gr.skip()
            return
        if session is None:  # gr.State deep-copies its default, so the Chat is made here
            session = Session(self.assistant.chat())
        filters = {"since": since or None, "until": until or None, "source": list(sources or []) or None}
        turn = Turn(question, {**filters, "llm": llm if llm and llm != self.settings.llm else None})
        with session.lock:
            session.turns.append(turn)
            yield "", session, render.transcript(session.turns)
            yield from self._answer(session, turn, question, llm, filters)

    def _answer(self, session, turn, question, llm, filters):
        try:
            for item in session.chat.stream(question, llm=llm or None, **filters):
                if isinstance(item, Answer):
                    turn.passages = {c.n: render.passage(self.assistant.article_text(c.article), c)
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

    @staticmethod
    def new_chat():
        return None, render.transcript([]), ""

    def corpus_views(self):
        info = self.assistant.status()
        examples = example_questions(self.assistant)
        return (render.status_html(info), gr.Dropdown(choices=list(info.sources)),
                gr.Dataset(samples=[[q] for q in examples], visible=bool(examples)))

    def ingest(self, files, folder, progress=gr.Progress()):
        def tick(done: int, total: int, path: str) -> None:
            progress((done, total), desc=f"Ingesting {Path(path).name}", unit="files")

        results = ingest_items(self.assistant, files, folder, tick)
        stats, sources, examples = self.corpus_views()
        return render.ingest_html(results, summary(results)), None, stats, sources, examples

    def api_ask(self, question: str, since: str | None = None, until: str | None = None,
                source: str | list[str] | None = None, llm: str | None = None) -> dict:
        """Answer one question with cited sources. Returns the `newsrag ask --json` object:
        {"answer", "abstained", "citations": [{"n", "article", "title", "date", "source", "url",
        "quote", "start", "end"}]}. since/until: YYYY-MM-DD; source: a name or a list of names."""
        if llm and llm not in self.backends:  # a dotted class path would import code named by a caller
            raise gr.Error(f"llm must be one of {', '.join(self.backends)}")
        if isinstance(source, str):
            source = [s.strip() for s in source.split(",") if s.strip()]
        try:
            answer = self.assistant.ask(question, since=since or None, until=until or None,
                                        source=source or None, llm=llm or None)
        except NewsragError as exc:
            raise gr.Error(str(exc)) from exc
        return answer.to_json()

    # -- builders ------------------------------------------------------------
    def build(self) -> gr.Blocks:
        settings = self.settings
        with gr.Blocks(title="newsrag", analytics_enabled=False, delete_cache=(3600, 24 * 3600)) as app:
            session = gr.State(None)
            gr.Markdown("## newsrag — cited answers from your news articles")
            with gr.Tabs():
                chat = self._chat_tab()
                corpus = self._corpus_tab()
            self._wire_chat(session, chat)
            self._wire_corpus(app, chat, corpus)
            gr.api(self.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=self.concurrency)
        app.queue(default_concurrency_limit=self.concurrency, max_size=QUEUE_SIZE)
        app.newsrag_max_file_size = int(settings.max_file_mb * 2**20)  # read by `launch`
        app.newsrag_login_limit = (settings.login_attempts, settings.login_wait)  # read by `launch`
        return app

    def _chat_tab(self) -> dict:
        settings = self.settings
        with gr.Tab("Chat", id="chat", elem_id="nr-tab-chat"), gr.Row(equal_height=False):
            with gr.Column(scale=4):
                transcript = gr.HTML(render.transcript([]), elem_id="nr-transcript", css_template=render.CSS,
                                     js_on_load=render.ON_LOAD_JS, min_height=120)
                with gr.Row():
                    question = gr.Textbox(show_label=False, placeholder="Ask about the articles…",
                                          elem_id="nr-question", scale=6, lines=1,
                                          max_length=settings.max_question_chars, autofocus=True)
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
                llm = gr.Dropdown(choices=self.backends, value=settings.llm, label="Answer backend",
                                  elem_id="nr-llm")
        return dict(transcript=transcript, question=question, ask=ask, clear=clear, examples=examples,
                    since=since, until=until, sources=sources, llm=llm)

    def _corpus_tab(self) -> dict:
        settings, roots = self.settings, self.settings.ingest_root
        with gr.Tab("Corpus", id="corpus", elem_id="nr-tab-corpus"):
            stats = gr.HTML(elem_id="nr-stats", css_template=render.CSS, js_on_load=None)
            refresh = gr.Button("Refresh statistics", size="sm")
            gr.Markdown(f"**Add articles**: {', '.join(suffixes())} files up to "
                        f"{settings.max_file_mb:g} MB each, {settings.max_upload_files} files and "
                        f"{settings.max_upload_mb:g} MB per ingest (stored in the data dir's `uploads/`)"
                        + (", or a folder on the server." if roots else "."))
            files = gr.File(file_count="multiple", label="Upload articles", elem_id="nr-upload")
            folder = gr.Textbox(label="Folder path on the server (optional)", elem_id="nr-folder",
                                interactive=bool(roots),
                                info=f"under {', '.join(map(str, roots))}" if roots else FOLDER_OFF)
            run = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
            result = gr.HTML(elem_id="nr-ingest-result", css_template=render.CSS, js_on_load=None)
        return dict(stats=stats, refresh=refresh, files=files, folder=folder, run=run, result=result)

    def _wire_chat(self, session, c: dict) -> None:
        chat_io = dict(inputs=[c["question"], session, c["since"], c["until"], c["sources"], c["llm"]],
                       outputs=[c["question"], session, c["transcript"]])
        gr.on([c["question"].submit, c["ask"].click], self.respond, **chat_io, concurrency_id="answer",
              concurrency_limit=self.concurrency, api_visibility="private", show_progress="hidden")
        c["examples"].click(lambda sample: sample[0], c["examples"], c["question"], api_visibility="private",
                            queue=False).then(self.respond, **chat_io, concurrency_id="answer",
                                              api_visibility="private", show_progress="hidden")
        c["clear"].click(self.new_chat, None, [session, c["transcript"], c["question"]], api_visibility="private",
                         queue=False)

    def _wire_corpus(self, app: gr.Blocks, c: dict, k: dict) -> None:
        views = [k["stats"], c["sources"], c["examples"]]
        k["refresh"].click(self.corpus_views, None, views, api_visibility="private")
        k["run"].click(self.ingest, [k["files"], k["folder"]], [k["result"], k["files"], *views],
                       concurrency_limit=1, api_visibility="private")
        app.load(self.corpus_views, None, views, api_visibility="private")
