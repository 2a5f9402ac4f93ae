"""Files to `Article`s, one `Loader` per kind (txt, md, html, json, jsonl, and any a plugin
registers), with one clear problem line per bad file."""
from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date as _date
from fnmatch import fnmatch
from functools import cache
from pathlib import Path

from .errors import ConfigError
from .models import Article, LoadedFile, LoadProblem
from .plugins import Registry

DEFAULT_EXCLUDE = ("README*", "LICENSE*", "CHANGELOG*")  # corpus folders often carry these
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_ARTICLE_CHARS = 1_000_000  # ~170,000 words: longer is a dump or a log, not one article
MAX_FRONT_MATTER = 64 * 1024
# trafilatura takes ~2.4 s per MB of markup (linear, measured): a news page is rarely over 2 MB
MAX_HTML_CHARS = 5 * 1024 * 1024
# Characters that hide words from search or reorder what a reader sees. Controls (NUL, vertical
# tab...) become spaces, so words on either side stay apart; the invisible formatting characters
# (bidi embeddings/overrides/isolates, zero-width space, word joiner, BOM, soft hyphen) go.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
                        "\u2066-\u2069\ufeff]")
# ZWNJ/ZWJ are letters' glue in Persian, Indic scripts and emoji: kept there, removed between ASCII.
_ASCII_JOINER = re.compile("(?<=[\x00-\x7f])[\u200c\u200d]+|[\u200c\u200d]+(?=[\x00-\x7f])")
_LEGACY_ENCODINGS = ("cp1252", "latin-1")
_DATE_HEADER = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class LoadError(Exception):
    """A problem with one file or record; becomes a `LoadProblem` naming it. Loaders raise it."""


Warn = Callable[[str], None]  # records a problem that did not stop the article being stored


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as found (absolute)
    article_id: str  # relative to the folder given


def discover(paths: list[str | Path], exclude: tuple[str, ...] = DEFAULT_EXCLUDE, confine: bool = False
             ) -> tuple[list[SourceFile], list[LoadProblem]]:
    """Every loadable file under `paths` (recursive), following symlinks but never looping.

    Files given by name are always taken; inside folders, names matching `exclude` are skipped.
    With `confine`, a symlink that leads outside the folder given is skipped (the web UI may read
    only inside its --ingest-root).
    """
    found: list[SourceFile] = []
    problems: list[LoadProblem] = []
    for given in paths:
        root = Path(given).absolute()
        if not root.exists():
            problems.append(LoadProblem(str(given), "no such file or folder"))
        elif root.is_file():
            found.append(SourceFile(root, root.name))
        else:
            _walk(root, root, set(), found, problems, exclude, root.resolve() if confine else None)
    return found, problems


def _walk(root: Path, folder: Path, seen: set, found: list, problems: list, exclude: tuple,
          fence: Path | None) -> None:
    try:
        key = folder.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # RuntimeError: symlink loop on older Pythons
        problems.append(LoadProblem(str(folder), f"cannot resolve folder ({_reason(exc)})"))
        return
    if key in seen:
        problems.append(LoadProblem(str(folder), "symlink loop: this folder was already visited; skipped"))
        return
    seen = seen | {key}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        problems.append(LoadProblem(str(folder), f"cannot list folder ({_reason(exc)}); check its permissions"))
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith(".") or any(fnmatch(entry.name, pat) for pat in exclude):
            continue
        try:
            is_dir = entry.is_dir()
            is_file = entry.is_file()
        except OSError as exc:
            kind = "symlink loop or broken link" if entry.is_symlink() else "cannot stat"
            problems.append(LoadProblem(str(path), f"{kind} ({_reason(exc)}); skipped"))
            continue
        if fence and (is_dir or is_file) and not _inside(path, fence):
            problems.append(LoadProblem(str(path), f"symlink leads outside {root}; skipped"))
        elif is_dir:
            _walk(root, path, seen, found, problems, exclude, fence)
        elif is_file and path.suffix.lower() in loaders():
            found.append(SourceFile(path, path.relative_to(root).as_posix()))
        elif entry.is_symlink() and not path.exists():
            problems.append(LoadProblem(str(path), "broken or looping symlink; skipped"))


def _inside(path: Path, fence: Path) -> bool:
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return False
    return real == fence or fence in real.parents


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bytes(src: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes; raises `LoadError` for unreadable or oversized files."""
    try:
        size = src.path.stat().st_size
        if size > max_bytes:
            raise LoadError(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit; "
                       "raise --max-file-mb or split the file")
        return src.path.read_bytes()
    except OSError as exc:
        raise LoadError(f"cannot read ({_reason(exc)}); check the file's permissions") from exc


def load_file(src: SourceFile, data: bytes) -> LoadedFile:
    """Parse one file's bytes into articles; every problem is reported, never raised."""
    digest = file_digest(data)
    warnings: list[LoadProblem] = []
    loader = None
    try:
        loader = loaders().get(src.path.suffix.lower())
        if loader is None:
            raise LoadError(f"no loader reads {src.path.suffix or 'files without a suffix'}; "
                            f"known: {', '.join(suffixes())}")
        reading = FileText(src, decode(data), warnings)
        articles = loader.load(reading)
        if not articles and not reading.problems:
            raise LoadError(f"{type(loader).__name__} found no article in the file")
        return LoadedFile(str(src.path), digest, tuple(articles), tuple(reading.problems), tuple(warnings))
    except LoadError as exc:
        return LoadedFile(str(src.path), digest, problems=(LoadProblem(str(src.path), str(exc)),))
    except RecursionError:  # json.loads on absurdly nested data
        problem = LoadProblem(str(src.path), "data nested too deeply to parse")
        return LoadedFile(str(src.path), digest, problems=(problem,))
    except Exception as exc:  # a plugin's loader failing must not stop the ingest
        problem = LoadProblem(str(src.path), f"{type(loader).__name__} failed ({type(exc).__name__}: {exc})")
        return LoadedFile(str(src.path), digest, problems=(problem,))


def problem_for(src: SourceFile, exc: Exception) -> LoadProblem:
    return LoadProblem(str(src.path), str(exc))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else a legacy encoding; binary data is refused."""
    if not data.strip():
        raise LoadError("file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise LoadError(f"invalid UTF-16 text ({exc.reason}); re-save the file as UTF-8") from exc
    elif b"\x00" in data:
        raise LoadError("binary file (contains NUL bytes); only text, Markdown, HTML and JSON are read")
    else:
        for encoding in ("utf-8-sig", *_LEGACY_ENCODINGS):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise LoadError("binary file (control characters); only text, Markdown, HTML and JSON are read")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise LoadError("file is empty")
    return text


@dataclass
class FileText:
    """One file as a loader reads it. `warn` notes a problem that did not stop an article;
    `problems` are parts of the file that were skipped (a bad record), each naming its place."""

    src: SourceFile
    text: str  # decoded (UTF-8, else cp1252 / latin-1), never empty
    warnings: list[LoadProblem]
    problems: list[LoadProblem] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(LoadProblem(str(self.src.path), message))

    def article(self, body: str, title: str | None = None, *, article_id: str | None = None, date=None,
                source=None, url=None, author=None) -> Article:
        """An article checked as the built-in loaders' are (visible text, words, size, a real
        date); raises `LoadError` saying what is wrong. The id defaults to the file's."""
        return _article(article_id or self.src.article_id, body, title, self.warn, date=date, source=source,
                        url=url, author=author, origin=str(self.src.path))


class Loader(ABC):
    """Reads one kind of file into articles. A plugin subclasses it, sets `suffixes`, and
    registers the class in the `newsrag.loaders` entry-point group; the CLI, the web upload
    and folder ingest then take its files."""

    suffixes: tuple[str, ...] = ()

    @abstractmethod
    def load(self, file: FileText) -> list[Article]:
        """The file's articles; raise `LoadError` when the whole file is unusable."""


class TextLoader(Loader):
    """Plain text: an optional `date YYYY-MM-DD` first line, an optional headline paragraph."""

    suffixes = (".txt",)

    def load(self, file: FileText) -> list[Article]:
        return [_load_txt(file.src, file.text, file.warn)]


class MarkdownLoader(Loader):
    """Markdown with optional YAML front matter (title, date, source, url, author)."""

    suffixes = (".md", ".markdown")

    def load(self, file: FileText) -> list[Article]:
        return [_load_markdown(file.src, file.text, file.warn)]


class HtmlLoader(Loader):
    """A saved news page: the story and its metadata extracted by trafilatura."""

    suffixes = (".html", ".htm")

    def load(self, file: FileText) -> list[Article]:
        return [_load_html(file.src, file.text, file.warn)]


class JsonLoader(Loader):
    """A JSON object or list of objects with `text` or `body` (and title, date, source, url, id)."""

    suffixes = (".json",)
    lines = False

    def load(self, file: FileText) -> list[Article]:
        articles, problems = _load_records(file.src, file.text, self.lines, file.warnings)
        file.problems += problems
        return articles


class JsonLinesLoader(JsonLoader):
    """One JSON record per line; a bad line is skipped and named."""

    suffixes = (".jsonl",)
    lines = True


LOADERS = Registry("newsrag.loaders", "loader")


@cache
def loaders() -> dict[str, Loader]:
    """Each suffix's loader, from the registry; a plugin may take over a built-in's suffix."""
    found: dict[str, Loader] = {}
    entries = sorted(LOADERS.entries().items(), key=lambda kv: not kv[1].value.startswith("index."))
    for name, _ in entries:
        try:
            cls = LOADERS.load(name)
        except ConfigError as exc:  # one broken plugin must not stop every ingest
            warnings.warn(f"newsrag: {exc}; its files are skipped", stacklevel=2)
            continue
        if not (isinstance(cls, type) and issubclass(cls, Loader)):
            warnings.warn(f"newsrag: the loader {name!r} is {cls!r}, not a subclass of index.loaders.Loader; "
                          "its files are skipped", stacklevel=2)
            continue
        for suffix in cls.suffixes:
            found[suffix.lower()] = cls()
    return found


def suffixes() -> tuple[str, ...]:
    """The file suffixes some loader reads (".txt", ...)."""
    return tuple(loaders())


def _load_txt(src: SourceFile, text: str, warn: Warn) -> Article:
    date = None
    header = _DATE_HEADER.match(text)
    if header:
        date = header.group(1)
        text = text[header.end():]
    title, body = _split_headline(text.strip())
    return _article(src.article_id, body, title, warn, date=date, origin=str(src.path))


def _split_headline(text: str) -> tuple[str | None, str]:
    """A short first line followed by a blank line is a headline (the BBC corpus format)."""
    first, sep, rest = text.partition("\n\n")
    if sep and rest.strip() and "\n" not in first and _looks_like_headline(first):
        return first.strip(), rest.strip()
    return None, text


def _looks_like_headline(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= 150 and len(line.split()) <= 20 and not line.endswith(".")


def _load_markdown(src: SourceFile, text: str, warn: Warn) -> Article:
    meta: dict = {}
    if text.startswith("---"):
        end = re.search(r"^---[ \t]*$", text[3:], flags=re.MULTILINE)
        if not end:
            raise LoadError("front matter starts with '---' but has no closing '---' line")
        meta = _front_matter(text[3:3 + end.start()])
        if not isinstance(meta, dict):
            raise LoadError("front matter must be a YAML mapping (title: ..., date: ...)")
        text = text[3 + end.end():]
    body = text.strip()
    title = meta.get("title")
    if not title:
        heading = re.match(r"#\s+(.+)\n+", body)
        if heading:
            title, body = heading.group(1).strip(), body[heading.end():].strip()
    return _article(src.article_id, body, title, warn, date=meta.get("date"), source=meta.get("source"),
                    url=meta.get("url"), author=meta.get("author"), origin=str(src.path))


def _front_matter(text: str):
    """YAML front matter, parsed safely: bounded size and no aliases (an alias bomb of a few
    hundred bytes expands to gigabytes)."""
    if len(text) > MAX_FRONT_MATTER:
        raise LoadError(f"front matter is {len(text):,} characters, over the {MAX_FRONT_MATTER:,} limit; "
                   "keep only title, date, source, url and author there")
    import yaml

    class Loader(yaml.SafeLoader):
        # dates stay text, checked by `_real_date` (PyYAML raises on 2025-11-31)
        yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if not tag.endswith(":timestamp")]
                                   for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                raise LoadError("front matter uses a YAML alias (*name); write the value out instead")
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=Loader) or {}
    except yaml.YAMLError as exc:
        raise LoadError(f"malformed YAML front matter ({_first_line(exc)})") from exc


def _load_html(src: SourceFile, text: str, warn: Warn) -> Article:
    if len(text) > MAX_HTML_CHARS:
        raise LoadError(f"the page is {len(text) / 2**20:.1f} MB of HTML, over the {MAX_HTML_CHARS / 2**20:.0f} MB "
                   "limit for one page (a news page is rarely over 2 MB); save the article alone, or as .txt")
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      favor_precision=True, prune_xpath="//nav")
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise LoadError("no article text found in the HTML (is it a page without a story?)")
    return _article(src.article_id, body, doc.title, warn, date=doc.date, source=doc.sitename,
                    url=doc.url, author=doc.author, origin=str(src.path))


def _load_records(src: SourceFile, text: str, lines: bool, warnings: list[LoadProblem]
                  ) -> tuple[list[Article], list[LoadProblem]]:
    records: list[tuple[str, object]] = []
    problems: list[LoadProblem] = []
    if lines:
        for n, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    records.append((f"line {n}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(LoadProblem(f"{src.path}:{n}", f"invalid JSON ({exc.msg}); line skipped"))
                except RecursionError:
                    problems.append(LoadProblem(f"{src.path}:{n}", "data nested too deeply to parse; line skipped"))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise LoadError(f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from exc
        items = data if isinstance(data, list) else [data]
        records = [(f"record {n}", item) for n, item in enumerate(items, 1)]
    articles = []
    for where, record in records:
        place = f"{src.path} ({where})"
        try:
            articles.append(_record_article(src, where, record,
                                            lambda message: warnings.append(LoadProblem(place, message))))
        except LoadError as exc:
            problems.append(LoadProblem(place, str(exc)))
    if not articles and not problems:
        raise LoadError("no records in the JSON file")
    return articles, problems


def _record_article(src: SourceFile, where: str, record: object, warn: Warn) -> Article:
    if not isinstance(record, dict):
        raise LoadError("a record must be a JSON object with 'text' or 'body'")
    body = record.get("text") or record.get("body")
    if not isinstance(body, str) or not body.strip():
        raise LoadError("record has no 'text' or 'body'; skipped")
    rid = record.get("id")
    if not isinstance(rid, (str, int, type(None))) or isinstance(rid, bool):
        raise LoadError(f"record 'id' must be a string or a whole number, not {type(rid).__name__}")
    article_id = _clean(rid) or f"{src.article_id}#{where.split()[-1]}"
    return _article(article_id, body.replace("\r\n", "\n").strip(), record.get("title"), warn,
                    date=record.get("date") or record.get("published_at"),
                    source=record.get("source"), url=record.get("url"),
                    author=record.get("author"), origin=str(src.path))


def _article(article_id: str, body: str, title, warn: Warn, *, date=None, source=None, url=None,
             author=None, origin: str = "") -> Article:
    body, removed = _visible(body)
    if removed:
        warn(f"removed {removed} control, invisible or direction-changing character(s) "
             "(NUL, zero-width, bidi override) from the text")
    if not body:
        raise LoadError("no article text after the headline/header")
    if not re.search(r"\w", body):
        raise LoadError("the text has no words (only punctuation or symbols); is it an article?")
    if len(body) > MAX_ARTICLE_CHARS:
        raise LoadError(f"the article text is {len(body):,} characters, over the {MAX_ARTICLE_CHARS:,} limit "
                   "for one article (a data dump or a log?); split it into articles")
    return Article(id=article_id, text=body, title=_clean(title) or derive_title(body),
                   date=_real_date(_iso_date(date), warn), source=_clean(source), url=_clean(url),
                   author=_clean(", ".join(map(str, author)) if isinstance(author, list) else author),
                   origin=origin)


def _visible(text: str) -> tuple[str, int]:
    """The text without controls and invisible characters, and how many were removed."""
    text, controls = _CONTROL.subn(" ", text)
    text, hidden = _INVISIBLE.subn("", text)
    text, joiners = _ASCII_JOINER.subn("", text)
    return text.strip(), controls + hidden + joiners


def _real_date(iso: str | None, warn: Warn) -> str | None:
    """An ISO date that exists on the calendar; an impossible one (2025-11-31) is dropped."""
    if iso is None:
        return None
    try:
        _date.fromisoformat(iso)
    except ValueError:
        warn(f"date {iso} does not exist on the calendar; the article is stored undated")
        return None
    return iso


def derive_title(body: str, limit: int = 80) -> str:
    """First sentence of the body, cut at a word boundary."""
    first = re.split(r"(?<=[.!?])\s", body.strip(), maxsplit=1)[0].strip()
    if len(first) <= limit:
        return first
    return first[:limit].rsplit(" ", 1)[0] + "…"


def _iso_date(value) -> str | None:
    if value is None or value == "":
        return None
    if hasattr(value, "isoformat"):  # YAML parses bare dates into datetime.date
        return value.isoformat()[:10]
    found = _ISO_DATE.search(str(value))
    if not found:
        raise LoadError(f"date {value!r} is not an ISO date (YYYY-MM-DD)")
    return found.group(1)


def _clean(value) -> str | None:
    """Metadata on one line, without invisible characters."""
    if value is None:
        return None
    text = " ".join(_visible(str(value))[0].split())
    return text or None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or exc.__class__.__name__


def iter_loaded(files: list[SourceFile], max_bytes: int, skip: dict[str, str] | None = None
                ) -> Iterator[tuple[SourceFile, LoadedFile | None]]:
    """Load each file; yields (file, None) when its bytes match `skip[origin]` (unchanged)."""
    skip = skip or {}
    for src in files:
        try:
            data = read_bytes(src, max_bytes)
        except LoadError as exc:
            yield src, LoadedFile(str(src.path), "", problems=(problem_for(src, exc),))
            continue
        if skip.get(str(src.path)) == file_digest(data):
            yield src, None
        else:
            yield src, load_file(src, data)
