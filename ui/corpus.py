"""The Corpus tab's helpers: example questions from article titles, uploads (names sanitised,
size and count capped, written only under `<data_dir>/uploads/`) and the server folders the web
may ingest (only under an `--ingest-root`)."""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from rag.api import Assistant, suffixes

FOLDER_OFF = ("folder ingest from the web is off; start the server with `newsrag serve --ingest-root DIR` "
              "(or NEWSRAG_INGEST_ROOT=DIR) to allow the folders under DIR")
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


class FolderRefused(ValueError):
    """A server folder the web may not ingest; the message names it and the fix."""


@dataclass(frozen=True)
class SavedUpload:
    original: str  # the name the user gave
    path: Path  # where it is stored, under <data_dir>/uploads/
    reused: bool = False  # the same bytes were already stored there by an earlier upload


def uploads_dir(assistant: Assistant) -> Path:
    return Path(assistant.settings.data_dir).absolute() / "uploads"


def safe_name(name: str) -> str:
    """A plain file name: no folders, no leading dots, only [A-Za-z0-9._-], a known suffix."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    suffix = f".{ext.lower()}" if dot else ""
    if suffix not in suffixes():
        raise UploadRejected(f"{suffix or 'no extension'} files are not articles; "
                             f"upload {', '.join(suffixes())}")
    stem = _UNSAFE.sub("_", stem).strip("._-")[:80] or "upload"
    return stem + suffix


def check_batch(paths: list[Path], max_files: int, max_bytes: int) -> None:
    """Refuse a whole upload of more than `max_files` files or `max_bytes` bytes in all."""
    if len(paths) > max_files:
        raise UploadRejected(f"{len(paths)} files is over the limit of {max_files} per ingest; "
                             "upload them in smaller groups")
    total = sum(p.stat().st_size for p in paths if p.is_file())
    if total > max_bytes:
        raise UploadRejected(f"{total / 2**20:.1f} MB in all is over the limit of {max_bytes / 2**20:g} MB "
                             "per ingest; upload them in smaller groups")


def allowed_folder(folder: str, roots: tuple[Path, ...]) -> Path:
    """`folder` resolved (symlinks, `..`) when it is one of `roots` or lies under one."""
    if not roots:
        raise FolderRefused(FOLDER_OFF)
    where = Path(folder).expanduser().resolve()
    allowed = [Path(r).expanduser().resolve() for r in roots]
    if not any(where == r or r in where.parents for r in allowed):  # checked first: no probing outside
        raise FolderRefused(f"{folder} is outside the folders this server may ingest "
                            f"({', '.join(map(str, allowed))}); move the articles under one of them, "
                            f"or restart the server with `--ingest-root {folder}`")
    if not where.is_dir():
        raise FolderRefused(f"{folder}: no such folder on the server")
    return where


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
                return SavedUpload(original, dest, reused=True)  # the same file again: ingest sees it unchanged
            continue
        with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
            shutil.copyfileobj(inp, out)
        return SavedUpload(original, dest)
    raise UploadRejected("too many uploads share this name; rename the file")


def _same_bytes(a: Path, b: Path) -> bool:
    if a.is_symlink() or a.stat().st_size != b.stat().st_size:
        return False
    return a.read_bytes() == b.read_bytes()
