"""The Corpus tab's helpers: example questions from article titles, and uploads (names
sanitised, size capped, written only under `<data_dir>/uploads/`)."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.api import Assistant

SUFFIXES = (".txt", ".md", ".html", ".json", ".jsonl")  # what the Corpus tab accepts
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def recent_titles(assistant: Assistant, limit: int = 4) -> list[str]:
    """Distinct titles of the newest articles, for example questions."""
    titles = dict.fromkeys(a.title for a in assistant.articles() if a.title)
    return list(titles)[:limit]


# -- example questions --------------------------------------------------------

_LEADING = re.compile(r"^(the|a|an)\s+", re.IGNORECASE)


def example_question(title: str) -> str:
    """A question about an article from its title: its first clause, at most 10 words."""
    clause = re.split(r"[,;:(\u2013\u2014]| - ", title.rstrip("…. "), maxsplit=1)[0].strip()
    words = clause.split()[:10]
    if not words:
        return ""
    topic = " ".join(words).rstrip("?!.")
    if _LEADING.match(topic):
        topic = topic[0].lower() + topic[1:]
    return f"What do the articles say about {topic}?"


def example_questions(assistant: Assistant, limit: int = 4) -> list[str]:
    return [q for q in dict.fromkeys(example_question(t) for t in recent_titles(assistant, limit)) if q]


# -- uploads ------------------------------------------------------------------

class UploadRejected(ValueError):
    """An uploaded file the UI refuses (type, size, name); the message says why."""


@dataclass(frozen=True)
class SavedUpload:
    original: str  # the name the user gave
    path: Path  # where it is stored, under <data_dir>/uploads/


def uploads_dir(assistant: Assistant) -> Path:
    return Path(assistant.settings.data_dir).absolute() / "uploads"


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, only [A-Za-z0-9._-], a known suffix."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    suffix = f".{ext.lower()}" if dot else ""
    if suffix not in SUFFIXES:
        raise UploadRejected(f"{suffix or 'no extension'} files are not articles; "
                             f"upload {', '.join(SUFFIXES)}")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "upload"
    return stem + suffix


def save_upload(src: str | Path, folder: Path, max_bytes: int, name: str | None = None) -> SavedUpload:
    """Copy an uploaded file into `folder` under a sanitised, unused name (never overwriting)."""
    src = Path(src)
    original = name or src.name
    clean = safe_name(original)
    size = src.stat().st_size
    if size > max_bytes:
        raise UploadRejected(f"{size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    if size == 0:
        raise UploadRejected("the file is empty")
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    stem, suffix = os.path.splitext(clean)
    for k in range(1000):
        dest = root / (clean if k == 0 else f"{stem}-{k}{suffix}")
        if dest.resolve().parent != root:  # cannot happen with a sanitised name; checked anyway
            raise UploadRejected("refusing to write outside the uploads folder")
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if _same_bytes(dest, src):
                return SavedUpload(original, dest)  # the same file again: ingest sees it unchanged
            continue
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out)
        return SavedUpload(original, dest)
    raise UploadRejected("too many uploads share this name; rename the file")


def _same_bytes(a: Path, b: Path) -> bool:
    if a.is_symlink() or a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()
