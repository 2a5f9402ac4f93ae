"""The public Python API: what the CLI, the UI and the eval scripts use.

    from rag import Assistant
    bot = Assistant.open(data_dir=".newsrag")
    ans = bot.ask("Why was the summit cancelled?", since="2025-10-01")
    ans.text, ans.abstained, ans.citations[0].quote
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from index import FileReport, Index, IngestReport
from index.follow import FollowReport
from index.models import Article, ArticleRow, IndexStatus
from index.embedder import EMBEDDERS
from index.loaders import suffixes
from index.store import STORES
from index.text import titled

from .answer import Answerer, is_time_sensitive
from .changes import what_changed
from .chat import Chat, with_context
from .dates import filter_date, parse_time_scope, strip_time_phrase
from .errors import ConfigError, NewsragError
from .evidence import key_entities, mentions
from .llm import LLM, make_llm
from .llm import backends as llm_backends
from .models import NOT_IN_ARTICLES, Answer, Citation, Copy, Hit
from .reader import make_reader
from .rerank import RERANKERS, make_reranker
from .retrieval import Filters, Retriever
from .settings import Settings


FOLLOW_SECONDS = 30  # how old a shared server's view may get before a question has it followed again


def embedder_backends() -> tuple[str, ...]:
    return EMBEDDERS.names()


def reranker_backends() -> tuple[str, ...]:
    return RERANKERS.names()


def store_backends() -> tuple[str, ...]:
    return STORES.names()


def open_index(settings: Settings, rebuild: bool = False) -> Index:
    """Open (or create) the index described by `settings`."""
    return Index(settings.index_config(), rebuild=rebuild)


def ingest(paths: list[str | Path], settings: Settings | None = None, *, prune: bool = False,
           rebuild: bool = False, progress: bool = False, on_file=None,
           namespace: str | None = None) -> IngestReport:
    """Index the articles in `paths` (files or folders, recursive). Unchanged articles cost
    nothing; `prune` removes articles whose file is gone; `rebuild` starts from an empty index.
    The report has totals and one `FileReport` per file; `on_file(done, total, path)` is called
    as each file is read. `namespace` prefixes the article ids ("upload" -> "upload:a.txt"),
    so these articles never replace ones of the same name from elsewhere."""
    index = open_index(settings or Settings(), rebuild=rebuild)
    try:
        return index.ingest(paths, prune=prune, progress=progress, on_file=on_file, namespace=namespace)
    finally:
        index.close()


def status(settings: Settings | None = None) -> IndexStatus:
    """Article and chunk counts, date range, sources, embedding model and data dir."""
    index = open_index(settings or Settings())
    try:
        return index.status()
    finally:
        index.close()


class Assistant:
    """Answers questions about the indexed articles, with verified citations."""

    def __init__(self, settings: Settings | None = None, *, index: Index | None = None,
                 llm: LLM | None = None) -> None:
        self.settings = settings or Settings()
        self.index = index or open_index(self.settings)
        s = self.settings
        self.retriever = Retriever(self.index, s.retrieval_settings(),
                                   make_reranker(s.rerank, self.index, s.mmr_weight))
        self._llms: dict[str, LLM | None] = {self.settings.llm: llm} if llm else {}
        self._lock = threading.Lock()  # the registry, BM25 and Chroma handles are shared
        self._ingest_lock = threading.Lock()  # one ingest at a time; questions do not wait for it
        self._llm_lock = threading.Lock()
        self._followed = time.monotonic()  # the index followed a shared server when it opened

    @classmethod
    def open(cls, data_dir: str | Path = ".newsrag", **settings) -> "Assistant":
        """An assistant over the index in `data_dir`; keyword arguments override `Settings`."""
        return cls(Settings(data_dir=Path(data_dir)).replace(**settings))

    def llm(self, name: str | None = None) -> LLM | None:
        """The named backend (default: the settings'), created once and reused; None: extractive."""
        name = name or self.settings.llm
        with self._llm_lock:
            if name not in self._llms:
                s = self.settings
                # the model, options, server and key belong to the configured backend, never to one
                # picked per question (a visitor's choice must not carry the operator's key elsewhere)
                other = s.replace(llm_model=None, llm_options=None, llm_base_url=None, llm_api_key=None)
                self._llms[name] = make_llm(name, s if name == s.llm else other)
            return self._llms[name]

    def search(self, question: str, *, since: str | date | None = None, until: str | date | None = None,
               source: str | list[str] | None = None, article: str | list[str] | None = None,
               k: int | None = None) -> list[Hit]:
        """The ranked chunks a question retrieves, after filters and time expressions."""
        self._check(question)
        return self._retrieve(question, since, until, source, article, k)[1]

    def about(self, question: str, *, k: int = 30, **filters) -> list[Hit]:
        """The retrieved chunks of the articles that name what `question` is about (a story's
        articles for a timeline): an article that never mentions "Velmora" is not on its timeline."""
        hits = self.search(question, k=k, **filters)
        names = key_entities(question)
        keep = {h.article_id for h in hits
                if all(mentions(titled(h.title, self.article_text(h.article_id)), e) for e in names)}
        return [h for h in hits if h.article_id in keep]

    def changes(self, question: str, since: str | date, *, until: str | date | None = None,
                source: str | list[str] | None = None, k: int = 30) -> Answer:
        """What changed since `since`: the facts about `question` in articles dated then or later
        that the earlier articles do not state, cited verbatim (undated articles are left out)."""
        self._check(question)
        anchor = self.retriever.anchor()
        start, end = _date(since, "since", anchor), _date(until, "until", anchor)
        if start is None:
            raise ConfigError("give the date to compare from (since), e.g. 2025-10-01 or \"last week\"")
        hits = self.about(question, source=source, k=k)
        return self._reported(what_changed(question, start, hits, self.article_text, self.index.embedder,
                                           until=end, min_evidence=self.settings.min_evidence))

    def _check(self, question) -> None:
        if not isinstance(question, str):
            raise ConfigError(f"the question must be text, not {type(question).__name__}")
        if not question.strip():
            raise ConfigError("the question is empty; ask something about the articles")
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise ConfigError(f"the question is {len(question):,} characters, over the {limit:,} limit "
                              "(max_question_chars); ask something shorter")

    def follow(self) -> FollowReport:
        """Take in what other machines stored on (or removed from) the shared Chroma server since
        this assistant last looked; questions see it from the next one on. A no-op without a server."""
        self._followed = time.monotonic()
        return self._write(lambda index: index.followed)  # opening the writer follows the server

    def _keep_following(self) -> None:
        """Every FOLLOW_SECONDS, follow the shared server in the background: no question waits for it."""
        if (not self.index.store.shared or time.monotonic() - self._followed < FOLLOW_SECONDS
                or self._ingest_lock.locked()):  # an ingest's writer follows as it opens
            return
        self._followed = time.monotonic()

        def run() -> None:
            try:
                self.follow()
            except NewsragError:  # the server is down: the question in hand says so and falls back to BM25
                pass
        threading.Thread(target=run, name="newsrag-follow", daemon=True).start()

    def _retrieve(self, question, since=None, until=None, source=None, article=None, k=None):
        self._keep_following()
        query, filters = self._scope(question, since, until, source, article)
        with self._lock:  # `degraded` belongs to this search: read it under the same lock
            return query, self.retriever.search(query, filters, k), filters, self.retriever.degraded

    def ask(self, question: str, **options) -> Answer:
        """Answer one question. Options: since, until (ISO dates), source, article, llm."""
        for item in self.stream(question, **options):
            if isinstance(item, Answer):
                return item
        raise AssertionError("stream ended without an answer")

    def stream(self, question: str, *, llm: str | None = None, context: str | None = None,
               hits: list[Hit] | None = None, **filters) -> Iterator[str | Answer]:
        """Text pieces of the answer as they are verified, then the final `Answer`.

        `context` (a chat's previous question) joins the retrieval query and half of the
        evidence scoring. `hits` (e.g. from a LlamaIndex retriever) replace the retrieval step.
        While the vector store is down, answers come from BM25 alone, marked `degraded` with a
        note saying how to bring it back."""
        self._check(question)
        started = time.perf_counter()
        full = with_context(question, context)
        if hits is None:
            query, hits, scope, down = self._retrieve(full, **filters)
        else:
            (query, scope), down = self._scope(full, **filters), None
        retrieved = time.perf_counter()
        if context:
            query = self._scope(question, **filters)[0]
        warnings = (f"The vector store failed, so this answer comes from keyword search (BM25) alone: {down}",
                    ) if down else ()
        # an LLM object: a backend made for this caller (the web app's settings panel)
        model = llm if isinstance(llm, LLM) else self.llm(llm)
        answering = self.settings.answer_settings()
        reader = make_reader(self.settings.reader, model, depth=answering.read_depth)
        answerer = Answerer(self.index.embedder, model, answering, self.article_text, reader)
        for item in answerer.stream(query, hits, time_sensitive=scope.latest or is_time_sensitive(question),
                                    context=context, warnings=warnings):
            if isinstance(item, Answer):
                item.timings.update(retrieval_ms=round(1000 * (retrieved - started)),
                                    total_ms=round(1000 * (time.perf_counter() - started)))
                item = dataclasses.replace(self._reported(item), question=question, degraded=bool(down))
            yield item

    def _reported(self, answer: Answer) -> Answer:
        """Each citation with the other sources of its story: its article's stored copies."""
        if not answer.citations:
            return answer
        with self._lock:
            copies = {c.article: self.index.registry.copies_of(c.article) for c in answer.citations}
        return dataclasses.replace(answer, citations=tuple(
            dataclasses.replace(c, also=tuple(Copy(a.id, a.title, a.source, a.date, a.url) for a, _ in copies[c.article]))
            for c in answer.citations))

    def article_text(self, article_id: str) -> str:
        """The stored text of an article (citation offsets index into it); '' if unknown."""
        with self._lock:
            article = self.index.registry.article(article_id)
        return article.text if article else ""

    def articles(self, limit: int | None = None) -> list:
        """Stored articles, newest first (undated last)."""
        with self._lock:
            found = list(self.index.registry.articles())
        found.sort(key=lambda a: a.date or "", reverse=True)
        return found[:limit] if limit else found

    def chat(self) -> Chat:
        """A multi-turn conversation: follow-ups are understood from the history."""
        return Chat(self)

    def as_retriever(self, **filters):
        """A LlamaIndex `BaseRetriever` over this index (filters as for `search`)."""
        from .engine import NewsRetriever

        return NewsRetriever(self, **filters)

    def as_query_engine(self, *, retriever=None, llm: str | None = None, **filters):
        """A LlamaIndex query engine: `.query(q)` gives a `Response` whose `source_nodes` are the
        verified citations and whose `metadata` holds the `ask --json` fields."""
        from .engine import CitedQueryEngine

        return CitedQueryEngine(assistant=self, retriever=retriever or self.as_retriever(**filters),
                                filters=filters, llm=llm)

    def as_chat_engine(self, *, llm: str | None = None, **filters):
        """A LlamaIndex chat engine with the same cited answers; follow-ups use the history."""
        from .engine import CitedChatEngine

        return CitedChatEngine(self, llm=llm, **filters)

    def ingest(self, paths: list[str | Path], *, prune: bool = False, progress: bool = False,
               on_file=None, namespace: str | None = None, confine: bool = False, date: str | None = None,
               source: str | None = None) -> IngestReport:
        """Add articles to this assistant's index; the first question after it sees them. See
        `ingest`; `confine` skips symlinks that lead outside the folders given; `date` and `source`
        go to the articles that have none. Questions asked meanwhile are answered from the index
        as it was before."""
        return self._write(lambda index: self._checked(index.ingest, paths, prune=prune, progress=progress,
                                                       on_file=on_file, namespace=namespace, confine=confine,
                                                       date=date, source=source))

    def browse(self, query: str = "", *, sort: str = "date", descending: bool = True, offset: int = 0,
               limit: int = 50) -> tuple[list[ArticleRow], int]:
        """A page of the stored articles whose title, id or source contains `query`, and how many match."""
        with self._lock:
            return self._checked(self.index.browse, query, sort, descending, offset, limit)

    def article(self, article_id: str) -> Article | None:
        """A stored article (text and metadata), or None."""
        with self._lock:
            return self.index.registry.article(article_id)

    def delete(self, article_id: str) -> bool:
        """Remove an article from the index (Chroma, BM25, registry); False if there is none."""
        return self._write(lambda index: index.delete(article_id))

    def set_metadata(self, article_id: str, *, date: str | None, source: str | None) -> Article:
        """Set or correct an article's date (YYYY-MM-DD; None: undated) and source; the filters
        use them from the next question, and they are kept when the file is read again."""
        return self._write(lambda index: self._checked(index.set_metadata, article_id, date=date, source=source))

    def reindex(self) -> IngestReport:
        """Read again every path ingested before: changed files are updated, ids kept."""
        return self._write(lambda index: index.reindex())

    def prune(self) -> IngestReport:
        """Remove the articles whose file no longer exists."""
        return self._write(lambda index: index.prune_missing())

    @staticmethod
    def _checked(action, *args, **kwargs):
        try:
            return action(*args, **kwargs)
        except KeyError as exc:
            raise ConfigError(exc.args[0]) from exc
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    def _write(self, action):
        """Run `action(index)` on a writing `Index`, one write at a time; questions do not wait."""
        with self._ingest_lock:
            # A second Index (own registry connection and Chroma client, same embedder) writes, so
            # the answering side's handles are never used by two threads at once.
            writer = Index(self.index.config, embedder=self.index.embedder)
            try:
                # Pin the answering side to a snapshot: a read transaction keeps its registry
                # (generation, chunk rows and texts) as it is now, so BM25 is not rebuilt
                # mid-write and citations match the text they quote.
                with self._lock:
                    self.index.registry.pin()
                try:
                    with self._lock:
                        self.retriever.anchor()  # loads BM25 for the pinned state now, not in a question
                    return action(writer)
                finally:
                    with self._lock:
                        self.index.registry.unpin()  # the next question sees the write
            finally:
                writer.close()

    def status(self) -> IndexStatus:
        with self._lock:
            return self.index.status()

    def close(self) -> None:
        self.index.close()

    def _scope(self, question, since=None, until=None, source=None, article=None) -> tuple[str, Filters]:
        """Explicit filters win. Otherwise a time expression in the question sets the dates when
        some article was published then; if none was, it likely names the time of an event
        ("what changed in September?") and stays part of the question instead."""
        anchor = self.retriever.anchor()
        since, until = _date(since, "since", anchor), _date(until, "until", anchor)
        scope = parse_time_scope(question, anchor) if anchor else None
        query, latest = question, bool(scope and scope.latest)
        if scope and since is None and until is None and (scope.since or scope.until):
            if self.retriever.covers(scope.since, scope.until):
                since, until = scope.since, scope.until
                query = strip_time_phrase(question, scope) or question
        return query, Filters(since=since, until=until, sources=_tuple(source), article_ids=_tuple(article),
                              latest=latest)


def _date(value, name: str, anchor: date | None) -> date | None:
    if value is None or not str(value).strip():
        return None
    if isinstance(value, date):
        return value
    try:
        return filter_date(str(value), anchor, name)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _tuple(value) -> tuple[str, ...]:
    if not value:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


__all__ = ["NOT_IN_ARTICLES", "Answer", "IndexStatus", "embedder_backends", "reranker_backends", "store_backends", "suffixes", "Assistant", "Citation", "Copy", "FileReport", "Hit", "IngestReport", "ingest", "llm_backends",
           "open_index", "status"]
