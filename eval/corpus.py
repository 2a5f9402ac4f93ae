"""Corpus specs: one eval corpus drawn from several folders by glob, e.g. the seed plus 320 BBC articles.

A spec is a plain-text file named `*.corpus`. Each line is `BASE :: GLOB`; `#` starts a comment
(at the start of a line, or after a space), blank lines are skipped:

    ../../seeds :: 000_cd4f49b57c6e24c3.txt          # the seed article
    ../../../shared/corpora/bbc-news :: business/0[0-5]?.txt

- BASE is a folder, relative to the spec file's own folder (or absolute).
- GLOB is relative to BASE, in `pathlib` syntax: `*`, `?`, `[0-5]`, and `**` for any depth.
  Only files count; hidden names (`.x`) are skipped, as an ingest skips them.
- A matched file's article id is its path relative to BASE (`business/047.txt`), so the ids are
  those an ingest of BASE itself would give. Two files may not claim the same id.

`materialise` lays the corpus out as a folder of symlinks with those relative paths; ingesting
that folder gives every article its id. `spec_key` keys an eval index on what the spec resolves to.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import NewsragError

SUFFIX = ".corpus"
_COMMENT = re.compile(r"(?:^|\s)#")


class CorpusSpecError(NewsragError, ValueError):
    """A corpus spec with bad lines; `problems` holds one `path:LINE: problem` string per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Entry:
    article_id: str  # path relative to its BASE, `/`-separated
    path: Path  # the file (absolute)
    line: int  # the spec line that matched it


def is_spec(path: str | Path) -> bool:
    """Whether `path` names a corpus spec (by its `.corpus` suffix) rather than a folder of articles."""
    return Path(path).suffix.lower() == SUFFIX


def resolve(spec: str | Path) -> list[Entry]:
    """Every file the spec selects, sorted by article id; `CorpusSpecError` lists every bad line."""
    spec = Path(spec)
    try:
        text = spec.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CorpusSpecError([f"{spec}: cannot read the corpus spec ({exc.strerror})"]) from exc
    entries: dict[str, Entry] = {}
    problems: list[str] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _COMMENT.split(raw, maxsplit=1)[0].strip()
        if line:
            problems += [f"{spec}:{n}: {p}" for p in _add_line(spec, n, line, entries)]
    if not entries and not problems:
        problems.append(f"{spec}:1: the spec selects no files; add a `BASE :: GLOB` line")
    if problems:
        raise CorpusSpecError(problems)
    return sorted(entries.values(), key=lambda e: e.article_id)


def _add_line(spec: Path, n: int, line: str, entries: dict[str, Entry]) -> list[str]:
    base_text, sep, glob = (part.strip() for part in line.partition("::"))
    if not sep or not base_text or not glob:
        return [f"expected `BASE :: GLOB`, got {line!r}"]
    base = Path(base_text).expanduser()
    base = base if base.is_absolute() else spec.parent / base
    if not base.is_dir():
        return [f"BASE {base_text!r} is not a folder ({base.absolute()} {'is a file' if base.exists() else 'does not exist'}); "
                f"BASE is relative to the spec's folder {spec.parent.absolute()}"]
    if Path(glob).is_absolute() or ".." in Path(glob).parts:
        return [f"GLOB {glob!r} must be relative to BASE and stay inside it (no leading / and no ..)"]
    try:
        matched = sorted(p for p in base.glob(glob) if p.is_file()
                         and not any(part.startswith(".") for part in p.relative_to(base).parts))
    except (ValueError, NotImplementedError) as exc:
        return [f"GLOB {glob!r} is not a valid pattern ({exc})"]
    if not matched:
        return [f"GLOB {glob!r} matches no file in {base.absolute()}"]
    problems = []
    for path in matched:
        aid = path.relative_to(base).as_posix()
        prior = entries.get(aid)
        if prior is None:
            entries[aid] = Entry(aid, Path(os.path.abspath(path)), n)
        elif prior.path.resolve() != path.resolve():
            problems.append(f"article id {aid!r} is claimed by {os.path.abspath(path)} and by {prior.path} "
                            f"(line {prior.line}); an id may come from one file only")
    return problems


def spec_key(entries: list[Entry]) -> str:
    """A short hash of what the spec selects (ids and files): unchanged while the selection is."""
    listing = "".join(f"{e.article_id}\t{e.path}\n" for e in entries)
    return hashlib.sha256(listing.encode()).hexdigest()[:10]


def materialise(entries: list[Entry], folder: str | Path) -> Path:
    """Make `folder` hold exactly one symlink per entry, at its article id; returns `folder`.

    Links already right are kept, so a re-run changes nothing (and the ingest re-uses the index);
    anything else in the folder (stale links, files, emptied sub-folders) is removed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {os.path.normpath(folder / e.article_id): str(e.path) for e in entries}
    for parent, dirs, files in os.walk(folder, topdown=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(parent, d))]:
            path = os.path.join(parent, name)
            if not (os.path.islink(path) and os.readlink(path) == wanted.get(os.path.normpath(path))):
                os.unlink(path)
        if parent != str(folder) and not os.listdir(parent):
            os.rmdir(parent)
    for link, target in wanted.items():
        if not os.path.islink(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(target, link)
    return folder
