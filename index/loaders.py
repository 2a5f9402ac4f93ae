"""Files (txt, md, html, json, jsonl) to `Article`s, with one clear problem line per bad file."""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from .models import Article, LoadedFile, LoadProblem

DEFAULT_EXCLUDE = ("README*", "LICENSE*", "CHANGELOG*")  # corpus folders often carry these
SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".json", ".jsonl")
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
_LEGACY_ENCODINGS = ("cp1252", "latin-1")
_DATE_HEADER = re.compile(r"\A\s*date\s+(\d{4}-\d{2}-\d{2})\b[ \t]*\n?")
_ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})")


class _Bad(Exception):
    """A problem with one file or record; becomes a `LoadProblem`."""


@dataclass(frozen=True)
class SourceFile:
    path: Path  # as found (absolute)
    article_id: str  # relative to the folder given


def discover(paths: list[str | Path], exclude: tuple[str, ...] = DEFAULT_EXCLUDE
             ) -> tuple[list[SourceFile], list[LoadProblem]]:
    """Every loadable file under `paths` (recursive), following symlinks but never looping.

    Files given by name are always taken; inside folders, names matching `exclude` are skipped.
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
            _walk(root, root, set(), found, problems, exclude)
    return found, problems


def _walk(root: Path, folder: Path, seen: set, found: list, problems: list, exclude: tuple) -> None:
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
        if is_dir:
            _walk(root, path, seen, found, problems, exclude)
        elif is_file and path.suffix.lower() in SUFFIXES:
            found.append(SourceFile(path, path.relative_to(root).as_posix()))
        elif entry.is_symlink() and not path.exists():
            problems.append(LoadProblem(str(path), "broken or looping symlink; skipped"))


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_bytes(src: SourceFile, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes; raises `_Bad` for unreadable or oversized files."""
    try:
        size = src.path.stat().st_size
        if size > max_bytes:
            raise _Bad(f"file is {size:,} bytes, over the {max_bytes:,}-byte limit; "
                       "raise --max-file-mb or split the file")
        return src.path.read_bytes()
    except OSError as exc:
        raise _Bad(f"cannot read ({_reason(exc)}); check the file's permissions") from exc


def load_file(src: SourceFile, data: bytes) -> LoadedFile:
    """Parse one file's bytes into articles; every problem is reported, never raised."""
    digest = file_digest(data)
    try:
        text = decode(data)
        suffix = src.path.suffix.lower()
        if suffix in (".json", ".jsonl"):
            articles, problems = _load_records(src, text, suffix == ".jsonl")
            return LoadedFile(str(src.path), digest, tuple(articles), tuple(problems))
        if suffix in (".md", ".markdown"):
            article = _load_markdown(src, text)
        elif suffix in (".html", ".htm"):
            article = _load_html(src, text)
        else:
            article = _load_txt(src, text)
        return LoadedFile(str(src.path), digest, (article,))
    except _Bad as exc:
        return LoadedFile(str(src.path), digest, problems=(LoadProblem(str(src.path), str(exc)),))
    except RecursionError:  # json.loads on absurdly nested data
        problem = LoadProblem(str(src.path), "data nested too deeply to parse")
        return LoadedFile(str(src.path), digest, problems=(problem,))


def problem_for(src: SourceFile, exc: Exception) -> LoadProblem:
    return LoadProblem(str(src.path), str(exc))


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else a legacy encoding; binary data is refused."""
    if not data.strip():
        raise _Bad("file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _Bad(f"invalid UTF-16 text ({exc.reason}); re-save the file as UTF-8") from exc
    elif b"\x00" in data:
        raise _Bad("binary file (contains NUL bytes); only text, Markdown, HTML and JSON are read")
    else:
        for encoding in ("utf-8-sig", *_LEGACY_ENCODINGS):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(2, len(text) // 100):
        raise _Bad("binary file (control characters); only text, Markdown, HTML and JSON are read")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise _Bad("file is empty")
    return text


def _load_txt(src: SourceFile, text: str) -> Article:
    date = None
    header = _DATE_HEADER.match(text)
    if header:
        date = header.group(1)
        text = text[header.end():]
    title, body = _split_headline(text.strip())
    return _article(src.article_id, body, title, date=date, origin=str(src.path))


def _split_headline(text: str) -> tuple[str | None, str]:
    """A short first line followed by a blank line is a headline (the BBC corpus format)."""
    first, sep, rest = text.partition("\n\n")
    if sep and rest.strip() and "\n" not in first and _looks_like_headline(first):
        return first.strip(), rest.strip()
    return None, text


def _looks_like_headline(line: str) -> bool:
    line = line.strip()
    return 0 < len(line) <= 150 and len(line.split()) <= 20 and not line.endswith(".")


def _load_markdown(src: SourceFile, text: str) -> Article:
    meta: dict = {}
    if text.startswith("---"):
        end = re.search(r"^---\s*$", text[3:], flags=re.MULTILINE)
        if not end:
            raise _Bad("front matter starts with '---' but has no closing '---' line")
        import yaml

        try:
            meta = yaml.safe_load(text[3:3 + end.start()]) or {}
        except yaml.YAMLError as exc:
            raise _Bad(f"malformed YAML front matter ({_first_line(exc)})") from exc
        if not isinstance(meta, dict):
            raise _Bad("front matter must be a YAML mapping (title: ..., date: ...)")
        text = text[3 + end.end():]
    body = text.strip()
    title = meta.get("title")
    if not title:
        heading = re.match(r"#\s+(.+)\n+", body)
        if heading:
            title, body = heading.group(1).strip(), body[heading.end():].strip()
    return _article(src.article_id, body, title, date=meta.get("date"), source=meta.get("source"),
                    url=meta.get("url"), author=meta.get("author"), origin=str(src.path))


def _load_html(src: SourceFile, text: str) -> Article:
    import trafilatura

    doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False,
                                      favor_precision=True, prune_xpath="//nav")
    body = getattr(doc, "text", None) if doc is not None else None
    if not body or not body.strip():
        raise _Bad("no article text found in the HTML (is it a page without a story?)")
    return _article(src.article_id, body, doc.title, date=doc.date, source=doc.sitename,
                    url=doc.url, author=doc.author, origin=str(src.path))


def _load_records(src: SourceFile, text: str, lines: bool) -> tuple[list[Article], list[LoadProblem]]:
    records: list[tuple[str, object]] = []
    problems: list[LoadProblem] = []
    if lines:
        for n, line in enumerate(text.split("\n"), 1):
            if line.strip():
                try:
                    records.append((f"line {n}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    problems.append(LoadProblem(f"{src.path}:{n}", f"invalid JSON ({exc.msg}); line skipped"))
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _Bad(f"invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})") from exc
        items = data if isinstance(data, list) else [data]
        records = [(f"record {n}", item) for n, item in enumerate(items, 1)]
    articles = []
    for where, record in records:
        try:
            articles.append(_record_article(src, where, record))
        except _Bad as exc:
            problems.append(LoadProblem(f"{src.path} ({where})", str(exc)))
    if not articles and not problems:
        raise _Bad("no records in the JSON file")
    return articles, problems


def _record_article(src: SourceFile, where: str, record: object) -> Article:
    if not isinstance(record, dict):
        raise _Bad("a record must be a JSON object with 'text' or 'body'")
    body = record.get("text") or record.get("body")
    if not isinstance(body, str) or not body.strip():
        raise _Bad("record has no 'text' or 'body'; skipped")
    rid = record.get("id")
    article_id = str(rid) if rid not in (None, "") else f"{src.article_id}#{where.split()[-1]}"
    return _article(article_id, body.replace("\r\n", "\n").strip(), record.get("title"),
                    date=record.get("date") or record.get("published_at"),
                    source=record.get("source"), url=record.get("url"),
                    author=record.get("author"), origin=str(src.path))


def _article(article_id: str, body: str, title, *, date=None, source=None, url=None,
             author=None, origin: str = "") -> Article:
    if not body.strip():
        raise _Bad("no article text after the headline/header")
    return Article(id=article_id, text=body, title=_clean(title) or derive_title(body),
                   date=_iso_date(date), source=_clean(source), url=_clean(url),
                   author=_clean(", ".join(map(str, author)) if isinstance(author, list) else author),
                   origin=origin)


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
        raise _Bad(f"date {value!r} is not an ISO date (YYYY-MM-DD)")
    return found.group(1)


def _clean(value) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
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
        except _Bad as exc:
            yield src, LoadedFile(str(src.path), "", problems=(problem_for(src, exc),))
            continue
        if skip.get(str(src.path)) == file_digest(data):
            yield src, None
        else:
            yield src, load_file(src, data)
