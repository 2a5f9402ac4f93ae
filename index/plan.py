"""Ingest planning: each file loaded, its articles given their ids and classified against the
registry (new, changed, unchanged, a copy of a stored article, or refused for taking another
file's id) and chunked, in a background thread while the caller embeds and writes."""
from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from . import neardup
from .chunking import ChunkSettings, chunk_article
from .loaders import SourceFile, iter_loaded
from .models import SHARED_ORIGIN, Article, Chunk, FileReport, LoadedFile, LoadProblem
from .registry import Registry


@dataclass
class Planned:
    """What one loaded file asks of the index."""

    src: SourceFile
    loaded: LoadedFile | None  # None: the file's bytes are unchanged
    writes: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)  # (article, chunks, is_new)
    # (article, canonical id, similarity): a copy, cited as the canonical; similarity None: the same text
    aliases: list[tuple[Article, str, float | None]] = field(default_factory=list)
    signatures: dict[str, bytes | None] = field(default_factory=dict)  # of each article written
    unchanged: int = 0
    problems: list[LoadProblem] = field(default_factory=list)  # the loader's, then id clashes
    warnings: list[LoadProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.loaded:
            self.problems += self.loaded.problems
            self.warnings += self.loaded.warnings

    @property
    def n_chunks(self) -> int:
        return sum(len(c) for _, c, _ in self.writes)

    def file_report(self, stored: int) -> FileReport:
        """`stored`: articles the registry holds from this file (all unchanged if its bytes are)."""
        return FileReport(str(self.src.path), added=sum(new for *_, new in self.writes),
                          updated=sum(not new for *_, new in self.writes),
                          unchanged=self.unchanged if self.loaded else stored, duplicate=len(self.aliases),
                          failed=len(self.problems), chunks=self.n_chunks,
                          problems=tuple(map(str, self.problems)),
                          duplicate_of=tuple(canonical for _, canonical, sim in self.aliases if sim is None),
                          copy_of=tuple(canonical for _, canonical, sim in self.aliases if sim is not None),
                          warnings=tuple(map(str, self.warnings)))


def plan(files: list[SourceFile], registry: Registry, chunking: ChunkSettings, count_tokens: Callable[[str], int],
         max_bytes: int, near: neardup.NearDuplicates, namespace: str | None = None,
         defaults: dict | None = None) -> Iterator[Planned]:
    """Load, classify and chunk in a background thread; yields `Planned` in file order.
    `near` holds the stored originals' signatures (and takes the new ones).
    `defaults` ({"date", "source"}) fill what an article lacks; a date or source set by hand wins."""
    classifier = Classifier(registry, chunking, count_tokens, near)
    holders = classifier.holders
    edits, deleted = registry.edits(), registry.tombstones()
    claimed: dict[str, Article] = {}  # id -> the article that took it in this ingest
    known_files = registry.file_hashes()
    out: queue.Queue = queue.Queue(maxsize=64)

    def produce() -> None:
        reader = Registry.reader(registry.path)  # this thread's own connection: the caller's is writing
        classifier.text_of = reader.text
        try:
            for src, loaded in iter_loaded(files, max_bytes, known_files):
                item = Planned(src, loaded)
                for article in loaded.articles if loaded else ():
                    if namespace:
                        article = replace(article, id=f"{namespace}:{article.id}")
                    if deleted.get(article.id) == article.text_hash:
                        item.warnings.append(LoadProblem(article.origin, (
                            f"article {article.id!r} was deleted from the index by hand and is not stored "
                            "again; edit its text, or give it another id, to add it back")))
                        continue
                    article = _with_metadata(article, edits.get(article.id), defaults or {})
                    if _claim(article, item, claimed, holders):
                        classifier.classify(article, item)
                out.put(item)
        except BaseException as exc:  # hand any failure to the consumer
            out.put(exc)
        finally:
            reader.close()
        out.put(None)

    thread = threading.Thread(target=produce, name="newsrag-loader", daemon=True)
    thread.start()
    while (item := out.get()) is not None:
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def _with_metadata(article: Article, edit: dict | None, defaults: dict) -> Article:
    fields = {k: v for k, v in defaults.items() if v is not None and getattr(article, k) is None}
    return replace(article, **{**fields, **(edit or {})})


def _claim(article: Article, item: Planned, claimed: dict[str, Article], holders: dict[str, str]) -> bool:
    """Whether `article` may take its id. An id belongs to the file it came from while that
    file exists: another file's article with the same id is refused (with the same text,
    noted as stored once), never a silent replacement; a moved file takes its id along."""
    first = claimed.get(article.id)
    holder = first.origin if first else holders.get(article.id)
    if holder and not (first is None and _same_file(holder, article.origin)):
        where = "earlier in this ingest" if first else "in the index"
        if holder == article.origin:
            holder = "another record of this file"
        if first and first.content_hash == article.content_hash:
            item.warnings.append(LoadProblem(article.origin, f"article {article.id!r} repeats one read "
                                             f"{where} from {holder}; stored once"))
        else:
            item.problems.append(LoadProblem(article.origin, (
                f"article id {article.id!r} is already used {where} by {holder}; this one was not "
                "stored. Give each article its own id (a record's 'id' field, or another file name)")))
        return False
    claimed[article.id] = article
    return True


class Classifier:
    """What an article asks of the index: nothing (unchanged), an alias (the same text as a stored
    article, or a near copy of one that adds no sentence), or a write of its chunks."""

    RECENT = 4096  # texts planned in this ingest kept for copy checks: far more than can be uncommitted

    def __init__(self, registry: Registry, chunking: ChunkSettings, count_tokens: Callable[[str], int],
                 near: neardup.NearDuplicates) -> None:
        self.text_of: Callable[[str], str | None] = registry.text  # a stored article's text
        self._recent: OrderedDict[str, str] = OrderedDict()
        self.hashes = registry.hashes()
        self.aliases = registry.alias_hashes()
        self.owner = {text: aid for aid, (_, text) in self.hashes.items()}  # text hash -> stored article
        self.holders = {aid: origin for origin, ids in registry.ids_by_origin().items() for aid in ids}
        self.chunking, self.count_tokens, self.near = chunking, count_tokens, near

    def classify(self, article: Article, item: Planned) -> None:
        stored = self.hashes.get(article.id)
        canonical = self.owner.get(article.text_hash)
        alias = self.aliases.get(article.id)
        if stored and stored[0] == article.content_hash and self.holders.get(article.id) == article.origin:
            item.unchanged += 1
        elif alias and alias[1] == article.content_hash and self.holders.get(article.id) == article.origin:
            item.unchanged += 1
        elif canonical and canonical != article.id:
            item.aliases.append((article, canonical, None))
        else:
            sig = neardup.signature(article.text)
            # a stored original stays one when edited; anything else may be a copy
            found = None if stored else self.near.match(sig, exclude=article.id)
            if found and not neardup.adds_sentences(article.text, self._original(found[0])):
                item.aliases.append((article, *found))
                return
            item.writes.append((article, chunk_article(article, self.chunking, self.count_tokens), stored is None))
            item.signatures[article.id] = None if sig is None else neardup.to_bytes(sig)
            self.owner[article.text_hash] = article.id
            self._recent[article.id] = article.text
            self._recent.move_to_end(article.id)
            if len(self._recent) > self.RECENT:
                self._recent.popitem(last=False)
            if sig is None:
                self.near.remove(article.id)
            else:
                self.near.add(article.id, sig)

    def _original(self, article_id: str) -> str:
        return self._recent.get(article_id) or self.text_of(article_id) or ""


def _same_file(holder: str, origin: str) -> bool:
    """Whether the stored article's file is this one, or is gone (the file was moved). Another
    machine's file (a shared server's) is never one here."""
    if holder.startswith(SHARED_ORIGIN):
        return False
    if holder == origin:
        return True
    try:
        return os.path.samefile(holder, origin)
    except FileNotFoundError:
        return not os.path.exists(holder)
    except OSError:
        return False
