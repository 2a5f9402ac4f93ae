"""Gold question sets: load a JSON Lines file and check every line, reporting every bad one.

One question per line:

    {"id": "seed-01", "question": "...", "answer": "reference answer",
     "must_include": ["Rubio", "Lavrov"],
     "evidence": [{"article": "000_cd4f49b57c6e24c3.txt", "quote": "exact text from the article"}],
     "answerable": true}

Optional keys: "follow_up_of" (id of an earlier question this one follows up) and "topic".
`article` is the article id as ingested (path relative to the folder given); `quote` must be an
exact substring of that article's stored text (`Article.text`, i.e. without headline or date
header). Unanswerable questions (`"answerable": false`) have empty `must_include` and `evidence`.

    python -m eval.gold FILE.jsonl [--corpus FOLDER|SPEC.corpus ...]   # validate, optionally against the texts
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rag.errors import NewsragError

REQUIRED = ("id", "question", "answer", "must_include", "evidence", "answerable")
OPTIONAL = ("follow_up_of", "topic")


class GoldFormatError(NewsragError, ValueError):
    """A gold file with bad lines; `problems` holds one `path:LINE: problem` string per problem."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Evidence:
    article: str  # article id as ingested
    quote: str  # exact substring of that article's text


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    answer: str
    must_include: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answerable: bool
    follow_up_of: str | None = None
    topic: str | None = None

    @property
    def articles(self) -> tuple[str, ...]:
        """The distinct evidence article ids, in order of first mention."""
        return tuple(dict.fromkeys(e.article for e in self.evidence))


def quote_span(text: str, quote: str) -> tuple[int, int]:
    """`(start, end)` of the first exact occurrence of `quote` in `text`; ValueError if absent."""
    if not quote:
        raise ValueError("empty quote")
    start = text.find(quote)
    if start < 0:
        raise ValueError(f"quote not found in text: {_clip(quote)!r}")
    return start, start + len(quote)


def load_gold(path: str | Path, articles: Mapping[str, str] | None = None) -> list[GoldItem]:
    """Every question in the gold file at `path`, or `GoldFormatError` listing every bad line.

    With `articles` (article id -> stored text), evidence articles must exist and quotes must be
    exact substrings of their text.
    """
    path = Path(path)
    parsed = []  # (line number, id or None, item or None, problems)
    for n, line in enumerate(path.read_text(encoding="utf-8-sig").split("\n"), 1):
        if line.strip():
            found: list[str] = []
            qid, item = _parse_line(line, articles, found)
            parsed.append((n, qid, item, found))
    defined: dict[str, int] = {}  # id -> first line defining it
    for n, qid, _item, _found in parsed:
        if qid is not None:
            defined.setdefault(qid, n)
    problems: list[str] = []
    items: list[GoldItem] = []
    for n, qid, item, found in parsed:
        if qid is not None and defined[qid] != n:
            found.append(f"duplicate id {qid!r} (first used on line {defined[qid]}); "
                         "give every question its own id")
        parent = item.follow_up_of if item else None
        if parent is not None and defined.get(parent, n) >= n:
            where = (f"that question is on line {defined[parent]}; put the follow-up below it"
                     if parent in defined and parent != qid
                     else "no question above has that id; use the id of an earlier question")
            found.append(f"follow_up_of {parent!r} does not refer to an earlier question ({where})")
        problems += [f"{path}:{n}: {p}" for p in found]
        if item is not None and not found:
            items.append(item)
    if not parsed:
        problems.append(f"{path}:1: no questions in the file; add one JSON object per line")
    if problems:
        raise GoldFormatError(problems)
    return items


def _parse_line(line: str, articles: Mapping[str, str] | None, found: list[str]
                ) -> tuple[str | None, GoldItem | None]:
    """The line's id (when readable) and `GoldItem`; every problem is appended to `found`.

    The item is returned even when other problems were found (for the follow-up check), but is
    None when a field it needs could not be read.
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        found.append(f"invalid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object")
        return None, None
    if not isinstance(record, dict):
        found.append(f"expected a JSON object {{...}}, got {_kind(record)}")
        return None, None
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        found.append(f"missing key(s) {', '.join(missing)}; every line needs {', '.join(REQUIRED)}")
    unknown = sorted(set(record) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        found.append(f"unknown key(s) {', '.join(unknown)}; allowed keys are "
                     f"{', '.join(REQUIRED + OPTIONAL)} (check the spelling)")

    qid = _text(record, "id", found, required=True)
    question = _text(record, "question", found, required=True)
    answer = _text(record, "answer", found, required=False)
    follow_up_of = _optional_text(record, "follow_up_of", found)
    topic = _optional_text(record, "topic", found)
    answerable = record.get("answerable")
    if "answerable" in record and not isinstance(answerable, bool):
        found.append(f"'answerable' must be true or false, not {_kind(answerable)}")
        answerable = None
    must = _must_include(record, found)
    evidence = _evidence(record, articles, found)

    if answerable is True:
        if must == ():
            found.append("answerable question with empty 'must_include'; "
                         "list 1-3 strings a correct answer contains")
        if evidence == ():
            found.append("answerable question with empty 'evidence'; add "
                         '{"article": ID, "quote": EXACT TEXT} for each supporting passage')
    elif answerable is False:
        if must:
            found.append("unanswerable question must have an empty 'must_include' "
                         "(or set \"answerable\": true)")
        if evidence:
            found.append("unanswerable question must have an empty 'evidence' (or set \"answerable\": true)")

    if None in (qid, question, answer, must, evidence, answerable):
        return qid, None
    return qid, GoldItem(qid, question, answer, must, evidence, answerable, follow_up_of, topic)


def _text(record: dict, key: str, found: list[str], required: bool) -> str | None:
    if key not in record:
        return None  # reported as missing
    value = record[key]
    if not isinstance(value, str):
        found.append(f"{key!r} must be a string, not {_kind(value)}")
        return None
    if required and not value.strip():
        found.append(f"{key!r} is empty; write the {key}")
        return None
    return value


def _optional_text(record: dict, key: str, found: list[str]) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        found.append(f"{key!r} must be a non-empty string or left out, not {_kind(value)}")
        return None
    return value


def _must_include(record: dict, found: list[str]) -> tuple[str, ...] | None:
    if "must_include" not in record:
        return None
    value = record["must_include"]
    if not isinstance(value, list) or not all(isinstance(s, str) and s.strip() for s in value):
        found.append("'must_include' must be a list of non-empty strings, e.g. [\"Rubio\", \"Lavrov\"]")
        return None
    return tuple(value)


def _evidence(record: dict, articles: Mapping[str, str] | None, found: list[str]) -> tuple[Evidence, ...] | None:
    if "evidence" not in record:
        return None
    value = record["evidence"]
    shape = 'a list of {"article": ID, "quote": EXACT TEXT} objects'
    if not isinstance(value, list):
        found.append(f"'evidence' must be {shape}, not {_kind(value)}")
        return None
    result: list[Evidence] = []
    ok = True
    for k, entry in enumerate(value, 1):
        if (not isinstance(entry, dict) or set(entry) != {"article", "quote"}
                or not all(isinstance(entry[f], str) and entry[f].strip() for f in ("article", "quote"))):
            found.append(f"evidence {k} must be an object with exactly a non-empty \"article\" and "
                         f"\"quote\" string, got {_clip(json.dumps(entry, ensure_ascii=False))}")
            ok = False
            continue
        ev = Evidence(entry["article"], entry["quote"])
        if articles is not None:
            ok &= _check_against(ev, k, articles, found)
        result.append(ev)
    return tuple(result) if ok else None


def _check_against(ev: Evidence, k: int, articles: Mapping[str, str], found: list[str]) -> bool:
    text = articles.get(ev.article)
    if text is None:
        found.append(f"evidence {k}: article {ev.article!r} is not in the corpus ({len(articles):,} articles); "
                     "use the id as ingested, the path relative to the folder given, e.g. 'business/001.txt'")
        return False
    if ev.quote in text:
        return True
    match = _longest_prefix(text, ev.quote)
    hint = (f"the first {match} characters match, then it differs at {_clip(ev.quote[match:], 30)!r}"
            if match else "not even its first character matches")
    found.append(f"evidence {k}: quote is not an exact substring of {ev.article!r} ({hint}); "
                 "copy it from the stored text (check quote marks, spaces and the headline, which is not "
                 "part of the text)")
    return False


def _longest_prefix(text: str, quote: str) -> int:
    """Length of the longest prefix of `quote` found in `text` (binary search)."""
    lo, hi = 0, len(quote)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if quote[:mid] in text:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _kind(value) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def corpus_texts(*folders: str | Path) -> dict[str, str]:
    """Article id -> stored text for every article under `folders`, loaded as an ingest would.
    A corpus spec (`*.corpus`, see eval/corpus.py) stands for the folder the eval runner ingests."""
    import tempfile

    from index.loaders import discover, iter_loaded

    from . import corpus

    with tempfile.TemporaryDirectory(prefix="newsrag-corpus-") as tmp:
        roots = [corpus.materialise(corpus.resolve(f), Path(tmp) / str(k)) if corpus.is_spec(f) else f
                 for k, f in enumerate(folders)]
        files, _problems = discover(roots)
        return {a.id: a.text for _src, loaded in iter_loaded(files, 10**9) if loaded for a in loaded.articles}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.gold", description="Validate gold question files.")
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--corpus", action="append", default=[],
                        help="folder the articles were ingested from, or a corpus spec (*.corpus); "
                             "checks ids and quotes (repeatable)")
    args = parser.parse_args(argv)
    try:
        texts = corpus_texts(*args.corpus) if args.corpus else None
    except NewsragError as exc:  # a bad corpus spec
        print(exc, file=sys.stderr)
        return 1
    status = 0
    for path in args.files:
        try:
            items = load_gold(path, texts)
        except GoldFormatError as exc:
            print(exc, file=sys.stderr)
            status = 1
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
            status = 1
        else:
            unanswerable = sum(not i.answerable for i in items)
            print(f"{path}: {len(items)} questions ok ({unanswerable} unanswerable)")
    return status


if __name__ == "__main__":
    sys.exit(main())
