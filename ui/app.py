"""The Gradio app: `create_app(assistant)` builds it, `ui.serve.launch(app, ...)` serves it.

The UI only adapts `rag.api.Assistant`: a Chat tab (streamed answers, source cards, filters, the
answer backend), saved conversations in a sidebar, a Corpus tab (statistics, the article table
with edits, upload/folder ingest), a Timeline tab (a story's articles on a time axis, "what
changed since") and a named API endpoint `/ask` that returns the `newsrag ask --json` object.
"""
from __future__ import annotations

import logging
import secrets
import tempfile
from pathlib import Path

import gradio as gr

from rag.api import Answer, Assistant, llm_backends, suffixes
from rag.conversations import ConversationStore
from rag.errors import NewsragError
from rag.llm import LLM, make_llm

from . import library, render
from .corpus import FOLDER_OFF, example_questions
from .history import History, Session, browser_secret, owner_of
from .ingest import ingest_items, summary
from .render import Turn

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8  # answers computed at once, the rest queue (eval/bench_load.py: 2 -> 2.0/s, 4-16 -> ~3/s on 2 cores)
QUEUE_SIZE = 512
DATE_HINT = 'e.g. 2025-10-01, "last week" or "October 2025"'
STORY_K = 40  # chunks searched for a story's timeline
PROBE = [{"role": "user", "content": "Reply with the word OK."}]


def create_app(assistant: Assistant, *, concurrency: int = DEFAULT_CONCURRENCY, manage: bool = True) -> gr.Blocks:
    """The newsrag web app over `assistant` (not launched: see `ui.serve.launch`). `manage`: visitors
    may edit the corpus and point the answer backend at another model or server (give it only on
    loopback or behind --auth)."""
    return WebApp(assistant, concurrency, manage).build()


class WebApp:
    """The app's handlers over one assistant, and the builders that lay out and wire each part."""

    def __init__(self, assistant: Assistant, concurrency: int, manage: bool) -> None:
        self.assistant, self.settings, self.concurrency = assistant, assistant.settings, concurrency
        self.manage = manage
        self.backends = list(dict.fromkeys([self.settings.llm, *llm_backends()]))
        data_dir = Path(self.settings.data_dir)
        self.history = History(ConversationStore(data_dir / "conversations.sqlite"),
                               Path(tempfile.mkdtemp(prefix="newsrag-exports-")))
        self.secret = browser_secret(data_dir)

    # -- chat ----------------------------------------------------------------
    def respond(self, question, session, since, until, sources, llm, browser_id, request: gr.Request):
        question = (question or "").strip()
        if not question:
            yield gr.skip(), session, *[gr.skip()] * 6
            return
        session = session or Session(self.assistant.chat())  # gr.State deep-copies its default
        filters = {"since": (since or "").strip() or None, "until": (until or "").strip() or None,
                   "source": list(sources or []) or None}
        model = session.llm if session.llm_label and llm == session.llm_name else None
        turn = Turn(question, {**filters, "llm": llm if llm and llm != self.settings.llm else None})
        turn.backend = self._label(model if model is not None else self._named(llm))
        with session.lock:
            session.turns.append(turn)
            yield "", session, render.transcript(session.turns), *[gr.skip()] * 5
            for _ in self._answer(session, turn, question, model or llm or None, filters):
                if turn.answer is None and turn.error is None:
                    yield gr.skip(), session, render.transcript(session.turns), *[gr.skip()] * 5
            # saved before the finished answer is shown: a reload right after it finds the turn
            browser_id = browser_id or secrets.token_urlsafe(18)  # asked before the page's load event ran
            owner = owner_of(browser_id, request.username)
            conv = self.history.save(owner, session, turn)
            md, js = self.history.export(owner, conv.id if conv else None)
            yield (gr.skip(), session, render.transcript(session.turns), browser_id, session.conversation,
                   gr.Radio(choices=self.history.choices(owner), value=session.conversation),
                   gr.DownloadButton(value=md, visible=bool(md)), gr.DownloadButton(value=js, visible=bool(js)))

    def _answer(self, session, turn, question, llm, filters):
        try:
            for item in session.chat.stream(question, llm=llm, **filters):
                if isinstance(item, Answer):
                    turn.passages = {c.n: render.passage(self.assistant.article_text(c.article), c)
                                     for c in item.citations}
                    turn.answer = item
                else:
                    turn.streamed += item
                yield
        except NewsragError as exc:
            turn.error = str(exc)
            yield
        except Exception as exc:  # show it in the chat rather than a generic error toast
            log.exception("answering %r failed", question)
            turn.error = f"Answering failed: {exc.__class__.__name__}: {exc}"
            yield

    def _named(self, name: str | None) -> LLM | None:
        try:
            return self.assistant.llm(name or None)
        except NewsragError:
            return None  # the question reports it

    def _label(self, llm: LLM | None) -> str:
        embedder = self.assistant.index.embedder.identity.get("model", "?")
        if llm is None:
            return f"extractive (no model) · {embedder}"
        model = getattr(llm.model, "model", None) or llm.model.metadata.model_name
        where = f" at {llm.where}" if llm.where else ""
        return f"{llm.name} · {model}{where} · {embedder}"

    def read_article(self, article_id: str, spans: str) -> str:
        """The reading dialog's content: the article, escaped, with the cited spans marked."""
        article = self.assistant.article(str(article_id)[:1000])
        if article is None:
            return '<p class="nr-sub">This article is no longer in the index.</p>'
        marked = []
        for part in str(spans).split(",")[:50]:
            start, _, end = part.partition("-")
            if start.isdigit() and end.isdigit():
                marked.append((int(start), int(end)))
        return render.full_article(article.title, article.date, article.source, article.text, marked)

    def apply_backend(self, backend, model, url, key, session):
        """Make and try the chosen backend; the session's next questions use it."""
        session = session or Session(self.assistant.chat())
        backend = backend or self.settings.llm
        if backend not in self.backends:
            return session, f"Unknown backend {backend!r}; choose one of {', '.join(self.backends)}."
        model, url, key = ((v or "").strip() or None for v in (model, url, key))
        custom = bool(model or url or key)
        if custom and not self.manage:
            return session, "This server does not let visitors choose a model or server; " + library.READ_ONLY
        try:
            if custom:
                llm = make_llm(backend, self.settings.replace(llm=backend, llm_model=model, llm_base_url=url,
                                                              llm_api_key=key, llm_options=None))
            else:
                llm = self.assistant.llm(backend)
            if llm is not None:
                "".join(llm.stream(PROBE, max_tokens=4))  # a wrong URL or model name shows now
        except NewsragError as exc:
            session.llm, session.llm_name, session.llm_label = None, None, None
            return session, f"Not applied: {exc}"
        session.llm, session.llm_name, session.llm_label = llm, backend, self._label(llm)
        return session, f"Applied: answers now come from {session.llm_label}."

    # -- conversations -------------------------------------------------------
    def restore(self, browser_id, current, request: gr.Request):
        """On page load: this browser's id (made on its first visit), its open conversation and list."""
        browser_id = browser_id or secrets.token_urlsafe(18)
        owner = owner_of(browser_id, request.username)
        session = Session(self.assistant.chat())
        if not self.history.restore(owner, current, session):
            current = None
        md, js = self.history.export(owner, current)
        return (browser_id, current, session, render.transcript(session.turns),
                gr.Radio(choices=self.history.choices(owner), value=current),
                gr.DownloadButton(value=md, visible=bool(md)), gr.DownloadButton(value=js, visible=bool(js)),
                self._title_of(owner, current))

    def open_conversation(self, choice, browser_id, request: gr.Request):
        owner = owner_of(browser_id, request.username)
        session = Session(self.assistant.chat())
        found = self.history.restore(owner, choice, session)
        current = choice if found else None
        md, js = self.history.export(owner, current)
        return (current, session, render.transcript(session.turns), gr.DownloadButton(value=md, visible=bool(md)),
                gr.DownloadButton(value=js, visible=bool(js)), self._title_of(owner, current))

    def new_chat(self, browser_id, request: gr.Request):
        owner = owner_of(browser_id, request.username)
        return (None, None, render.transcript([]), "", gr.Radio(choices=self.history.choices(owner), value=None),
                gr.DownloadButton(visible=False), gr.DownloadButton(visible=False), "")

    def find_conversations(self, query, current, browser_id, request: gr.Request):
        owner = owner_of(browser_id, request.username)
        return gr.Radio(choices=self.history.choices(owner, (query or "")[:200]), value=current)

    def rename(self, title, current, browser_id, request: gr.Request):
        owner = owner_of(browser_id, request.username)
        if not current or owner is None:
            return gr.skip(), "Open a conversation first."
        try:
            self.history.store.rename(owner, current, title or "")
        except ValueError as exc:
            return gr.skip(), str(exc)
        return gr.Radio(choices=self.history.choices(owner), value=current), "Renamed."

    def delete_conversation(self, current, browser_id, request: gr.Request):
        owner = owner_of(browser_id, request.username)
        if current and owner:
            self.history.store.delete(owner, current)
        return (None, None, render.transcript([]), gr.Radio(choices=self.history.choices(owner), value=None),
                gr.DownloadButton(visible=False), gr.DownloadButton(visible=False), "", "Deleted.")

    def _title_of(self, owner: str, current: str | None) -> str:
        found = self.history.get(owner, current)
        return (found[0].title or "") if found else ""

    # -- corpus --------------------------------------------------------------
    def corpus_views(self):
        info = self.assistant.status()
        examples = example_questions(self.assistant)
        return (render.status_html(info), gr.Dropdown(choices=list(info.sources), info=self._sources_info(info)),
                gr.Dataset(samples=[[q] for q in examples], visible=bool(examples)))

    @staticmethod
    def _sources_info(info) -> str:
        if info.sources:
            return "empty: all sources"
        return "no article has a source yet: set one in the Corpus tab, or give `source:` in the files"

    def browse(self, query, sort, number):
        shown = library.page(self.assistant, query, sort, number)
        return gr.Dataframe(value=shown.rows, headers=library.HEADERS), shown.info, shown.page

    def open_article(self, evt: gr.SelectData):
        row = evt.row_value or []
        article_id = str(row[-1]) if row else ""
        found = self.assistant.article(article_id) if article_id else None
        return (article_id, library.article_view(self.assistant, article_id),
                found.date or "" if found else "", found.source or "" if found else "", False, "")

    def _manage_only(self, action):
        def run(*args):
            if not self.manage:
                return library.READ_ONLY
            return action(*args)
        return run

    def ingest(self, files, folder, date=None, source=None, progress=gr.Progress()):
        def tick(done: int, total: int, path: str) -> None:
            progress((done, total), desc=f"Ingesting {Path(path).name}", unit="files")

        results = ingest_items(self.assistant, files, folder, tick, date=(date or "").strip() or None,
                               source=(source or "").strip() or None)
        stats, sources, examples = self.corpus_views()
        return render.ingest_html(results, summary(results)), None, stats, sources, examples

    # -- timeline ------------------------------------------------------------
    def story(self, question, since):
        """A story's articles on a time axis, and with `since`, what the later ones add."""
        question = (question or "").strip()
        if not question:
            return '<p class="nr-sub">Name a story or ask a question to see its articles by date.</p>'
        try:
            hits = self.assistant.about(question, k=STORY_K)
            changes = self.assistant.changes(question, since.strip()) if (since or "").strip() else None
        except NewsragError as exc:
            return f'<div class="nr-a nr-error"><p class="nr-text">{render.esc(exc)}</p></div>'
        html = render.story(hits, question)
        if changes is not None:
            turn = Turn(f"What changed since {since.strip()}?", answer=changes,
                        passages={c.n: render.passage(self.assistant.article_text(c.article), c)
                                  for c in changes.citations})
            html += f'<h3 class="nr-sub-head">What changed since {render.esc(since.strip())}</h3>'
            html += render.answer_block("changes", turn)
        return f'<div class="nr-transcript">{html}</div>'

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
            browser_id = gr.BrowserState(None, storage_key="newsrag-browser", secret=self.secret)
            current = gr.BrowserState(None, storage_key="newsrag-conversation", secret=self.secret)
            side = self._sidebar()
            gr.Markdown("## newsrag — cited answers from your news articles")
            with gr.Tabs():
                chat = self._chat_tab()
                corpus = self._corpus_tab()
                timeline = self._timeline_tab()
            state = dict(session=session, browser=browser_id, current=current)
            self._wire_chat(state, chat, side)
            self._wire_sidebar(app, state, chat, side)
            self._wire_corpus(app, chat, corpus)
            self._wire_timeline(timeline)
            gr.api(self.api_ask, api_name="ask", concurrency_id="answer", concurrency_limit=self.concurrency)
        app.queue(default_concurrency_limit=self.concurrency, max_size=QUEUE_SIZE)
        app.newsrag_max_file_size = int(settings.max_file_mb * 2**20)  # read by `launch`
        app.newsrag_login_limit = (settings.login_attempts, settings.login_wait)  # read by `launch`
        return app

    def _transcript(self, elem_id: str, value: str) -> gr.HTML:
        def read_article(request: list) -> str:  # a plain function (Gradio marks it); the page sends [id, spans]
            article_id, spans = (list(request) + ["", ""])[:2] if isinstance(request, (list, tuple)) else ("", "")
            return self.read_article(str(article_id), str(spans))

        return gr.HTML(value, elem_id=elem_id, css_template=render.CSS, js_on_load=render.ON_LOAD_JS,
                       server_functions=[read_article], min_height=120)

    def _sidebar(self) -> dict:
        with gr.Sidebar(label="Conversations", open=True, elem_id="nr-sidebar"):
            gr.Markdown("**Conversations** (saved on this server)")
            search = gr.Textbox(show_label=False, placeholder="Search conversations…", elem_id="nr-conv-search",
                                max_length=200)
            listing = gr.Radio(choices=[], value=None, show_label=False, elem_id="nr-conversations")
            title = gr.Textbox(label="Title", elem_id="nr-conv-title", max_length=120)
            with gr.Row():
                rename = gr.Button("Rename", size="sm", elem_id="nr-conv-rename")
                delete = gr.Button("Delete", size="sm", variant="stop", elem_id="nr-conv-delete")
            note = gr.Markdown(elem_id="nr-conv-note")
            md = gr.DownloadButton("Export Markdown", size="sm", visible=False, elem_id="nr-export-md")
            js = gr.DownloadButton("Export JSON", size="sm", visible=False, elem_id="nr-export-json")
        return dict(search=search, listing=listing, title=title, rename=rename, delete=delete, note=note,
                    md=md, js=js)

    def _chat_tab(self) -> dict:
        settings = self.settings
        with gr.Tab("Chat", id="chat", elem_id="nr-tab-chat"), gr.Row(equal_height=False):
            with gr.Column(scale=4):
                transcript = self._transcript("nr-transcript", render.transcript([]))
                with gr.Row(elem_id="nr-input-row"):
                    question = gr.Textbox(show_label=False, placeholder="Ask about the articles…",
                                          elem_id="nr-question", scale=6, lines=1,
                                          max_length=settings.max_question_chars, autofocus=True)
                    ask = gr.Button("Ask", variant="primary", elem_id="nr-ask", scale=1, min_width=80)
                    clear = gr.Button("New chat", elem_id="nr-new-chat", scale=1, min_width=100)
                examples = gr.Dataset(components=[question], samples=[], label="Example questions",
                                      elem_id="nr-examples", visible=False)
            with gr.Column(scale=1, min_width=260), gr.Accordion("Filters and model", open=False,
                                                                   elem_id="nr-filters"):
                since = gr.Textbox(label="Since", placeholder=DATE_HINT, elem_id="nr-since", max_length=40)
                until = gr.Textbox(label="Until", placeholder=DATE_HINT, elem_id="nr-until", max_length=40)
                sources = gr.Dropdown(choices=[], value=[], multiselect=True, label="Sources",
                                      info="empty: all sources", elem_id="nr-sources")
                llm = gr.Dropdown(choices=self.backends, value=settings.llm, label="Answer backend",
                                  elem_id="nr-llm")
                locked = None if self.manage else "set by the server's operator"
                model = gr.Textbox(label="Model", placeholder="e.g. llama3.2 (ollama) or a .gguf path (local)",
                                   elem_id="nr-llm-model", interactive=self.manage, info=locked)
                url = gr.Textbox(label="Server URL", placeholder="e.g. http://127.0.0.1:11434 or …:8000/v1",
                                 elem_id="nr-llm-url", interactive=self.manage, info=locked)
                key = gr.Textbox(label="API key (optional)", type="password", elem_id="nr-llm-key",
                                 interactive=self.manage)
                apply = gr.Button("Apply backend", size="sm", elem_id="nr-llm-apply")
                applied = gr.Markdown(elem_id="nr-llm-status")
        return dict(transcript=transcript, question=question, ask=ask, clear=clear, examples=examples,
                    since=since, until=until, sources=sources, llm=llm, model=model, url=url, key=key,
                    apply=apply, applied=applied)

    def _corpus_tab(self) -> dict:
        settings, roots = self.settings, self.settings.ingest_root
        with gr.Tab("Corpus", id="corpus", elem_id="nr-tab-corpus"):
            stats = gr.HTML(elem_id="nr-stats", css_template=render.CSS, js_on_load=None)
            refresh = gr.Button("Refresh statistics", size="sm")
            with gr.Row():
                query = gr.Textbox(label="Search articles", placeholder="title, source or file name",
                                   elem_id="nr-browse-q", scale=3, max_length=200)
                sort = gr.Dropdown(choices=library.SORTS, value="date:desc", label="Sort", elem_id="nr-browse-sort",
                                   scale=1)
                number = gr.Number(1, label="Page", precision=0, minimum=1, elem_id="nr-browse-page", scale=1)
            info = gr.Markdown(elem_id="nr-browse-info")
            table = gr.Dataframe(headers=library.HEADERS, value=[], interactive=False, wrap=True,
                                 elem_id="nr-articles", max_height=420,
                                 column_widths=["34%", "13%", "15%", "8%", "12%", "18%"])
            selected = gr.State("")
            with gr.Group(elem_id="nr-article-panel"):
                article = gr.HTML(library.article_view(self.assistant, ""), elem_id="nr-article",
                                  css_template=render.CSS, js_on_load=None, max_height=420)
                with gr.Row():
                    date = gr.Textbox(label="Date", placeholder="YYYY-MM-DD, e.g. 2025-10-21; empty: undated",
                                      elem_id="nr-article-date", interactive=self.manage, max_length=40)
                    source = gr.Textbox(label="Source", placeholder="e.g. BBC News", elem_id="nr-article-source",
                                        interactive=self.manage, max_length=200)
                    save = gr.Button("Save date and source", elem_id="nr-article-save", interactive=self.manage)
                with gr.Row():
                    confirm = gr.Checkbox(label="Yes, delete this article", elem_id="nr-article-confirm",
                                          interactive=self.manage)
                    delete = gr.Button("Delete article", variant="stop", elem_id="nr-article-delete",
                                       interactive=self.manage)
                edited = gr.Markdown("" if self.manage else library.READ_ONLY, elem_id="nr-article-result")
            with gr.Row():
                reindex = gr.Button("Re-index changed files", size="sm", elem_id="nr-reindex", interactive=self.manage)
                prune = gr.Button("Prune articles whose file is gone", size="sm", elem_id="nr-prune",
                                  interactive=self.manage)
            upkeep = gr.Markdown(elem_id="nr-upkeep")
            gr.Markdown(f"**Add articles**: {', '.join(suffixes())} files up to "
                        f"{settings.max_file_mb:g} MB each, {settings.max_upload_files} files and "
                        f"{settings.max_upload_mb:g} MB per ingest (stored in the data dir's `uploads/`)"
                        + (", or a folder on the server." if roots else "."))
            files = gr.File(file_count="multiple", label="Upload articles", elem_id="nr-upload")
            with gr.Row():
                batch_date = gr.Textbox(label="Date for this batch (optional)", elem_id="nr-upload-date",
                                        placeholder="YYYY-MM-DD, for files that give none", max_length=40)
                batch_source = gr.Textbox(label="Source for this batch (optional)", elem_id="nr-upload-source",
                                          placeholder="for files that give none", max_length=200)
            folder = gr.Textbox(label="Folder path on the server (optional)", elem_id="nr-folder",
                                interactive=bool(roots),
                                info=f"under {', '.join(map(str, roots))}" if roots else FOLDER_OFF)
            run = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
            result = gr.HTML(elem_id="nr-ingest-result", css_template=render.CSS, js_on_load=None)
        return dict(stats=stats, refresh=refresh, query=query, sort=sort, number=number, info=info, table=table,
                    selected=selected, article=article, date=date, source=source, save=save, confirm=confirm,
                    delete=delete, edited=edited, reindex=reindex, prune=prune, upkeep=upkeep, files=files,
                    batch_date=batch_date, batch_source=batch_source, folder=folder, run=run, result=result)

    def _timeline_tab(self) -> dict:
        with gr.Tab("Timeline", id="timeline", elem_id="nr-tab-timeline"):
            gr.Markdown("A story's articles by date: each point opens the article's card. Give a date to see "
                        "what the later articles add to the earlier ones.")
            with gr.Row():
                story = gr.Textbox(label="Story or question", placeholder="e.g. the Budapest summit",
                                   elem_id="nr-story", scale=3, max_length=self.settings.max_question_chars)
                since = gr.Textbox(label="What changed since (optional)", placeholder=DATE_HINT,
                                   elem_id="nr-changed-since", scale=1, max_length=40)
            show = gr.Button("Show timeline", variant="primary", elem_id="nr-story-go")
            out = self._transcript("nr-story-out", "")
        return dict(story=story, since=since, show=show, out=out)

    def _wire_chat(self, state: dict, c: dict, side: dict) -> None:
        chat_io = dict(inputs=[c["question"], state["session"], c["since"], c["until"], c["sources"], c["llm"],
                               state["browser"]],
                       outputs=[c["question"], state["session"], c["transcript"], state["browser"], state["current"],
                                side["listing"], side["md"], side["js"]])
        gr.on([c["question"].submit, c["ask"].click], self.respond, **chat_io, concurrency_id="answer",
              concurrency_limit=self.concurrency, api_visibility="private", show_progress="hidden")
        c["examples"].click(lambda sample: sample[0], c["examples"], c["question"], api_visibility="private",
                            queue=False).then(self.respond, **chat_io, concurrency_id="answer",
                                              api_visibility="private", show_progress="hidden")
        c["apply"].click(self.apply_backend, [c["llm"], c["model"], c["url"], c["key"], state["session"]],
                         [state["session"], c["applied"]], api_visibility="private")

    def _wire_sidebar(self, app: gr.Blocks, state: dict, c: dict, side: dict) -> None:
        downloads = [side["md"], side["js"]]
        app.load(self.restore, [state["browser"], state["current"]],
                 [state["browser"], state["current"], state["session"], c["transcript"], side["listing"],
                  *downloads, side["title"]], api_visibility="private")
        side["listing"].input(self.open_conversation, [side["listing"], state["browser"]],
                              [state["current"], state["session"], c["transcript"], *downloads, side["title"]],
                              api_visibility="private")
        c["clear"].click(self.new_chat, [state["browser"]],
                         [state["current"], state["session"], c["transcript"], c["question"], side["listing"],
                          *downloads, side["title"]], api_visibility="private", queue=False)
        side["search"].change(self.find_conversations, [side["search"], state["current"], state["browser"]],
                              side["listing"], api_visibility="private", show_progress="hidden")
        side["rename"].click(self.rename, [side["title"], state["current"], state["browser"]],
                             [side["listing"], side["note"]], api_visibility="private")
        side["delete"].click(self.delete_conversation, [state["current"], state["browser"]],
                             [state["current"], state["session"], c["transcript"], side["listing"], *downloads,
                              side["title"], side["note"]], api_visibility="private")

    def _wire_corpus(self, app: gr.Blocks, c: dict, k: dict) -> None:
        views = [k["stats"], c["sources"], c["examples"]]
        listing = [k["table"], k["info"], k["number"]]
        browse = dict(fn=self.browse, inputs=[k["query"], k["sort"], k["number"]], outputs=listing,
                      api_visibility="private", show_progress="hidden")
        k["refresh"].click(self.corpus_views, None, views, api_visibility="private").then(**browse)
        k["run"].click(self.ingest, [k["files"], k["folder"], k["batch_date"], k["batch_source"]],
                       [k["result"], k["files"], *views], concurrency_limit=1,
                       api_visibility="private").then(**browse)
        app.load(self.corpus_views, None, views, api_visibility="private").then(**browse)
        gr.on([k["query"].submit, k["sort"].change, k["number"].submit], **browse)
        k["table"].select(self.open_article, None,
                          [k["selected"], k["article"], k["date"], k["source"], k["confirm"], k["edited"]],
                          api_visibility="private")
        after_edit = dict(fn=lambda article_id: library.article_view(self.assistant, article_id),
                          inputs=k["selected"], outputs=k["article"], api_visibility="private")
        k["save"].click(self._manage_only(lambda *a: library.save_metadata(self.assistant, *a)),
                        [k["selected"], k["date"], k["source"]], k["edited"], concurrency_limit=1,
                        api_visibility="private").then(**after_edit).then(**browse).then(
            self.corpus_views, None, views, api_visibility="private")
        k["delete"].click(self._manage_only(lambda *a: library.delete(self.assistant, *a)),
                          [k["selected"], k["confirm"]], k["edited"], concurrency_limit=1,
                          api_visibility="private").then(**after_edit).then(**browse).then(
            self.corpus_views, None, views, api_visibility="private")
        k["reindex"].click(self._manage_only(lambda: library.reindex(self.assistant)), None, k["upkeep"],
                           concurrency_limit=1, api_visibility="private").then(**browse)
        k["prune"].click(self._manage_only(lambda: library.prune(self.assistant)), None, k["upkeep"],
                         concurrency_limit=1, api_visibility="private").then(**browse)

    def _wire_timeline(self, t: dict) -> None:
        gr.on([t["show"].click, t["story"].submit], self.story, [t["story"], t["since"]], t["out"],
              concurrency_id="answer", concurrency_limit=self.concurrency, api_visibility="private")
