"""Sentence-aware chunking with overlap; every chunk knows its exact span in the article."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .models import Article, Chunk
from .text import titled

TokenCounter = Callable[[str], int]

# A sentence ends at . ! ? (and closing quotes/brackets) before whitespace, or at a line break.
# The lookbehind and possessive quantifiers keep it linear: a match may only start where a run of
# stops starts, and a failed run is never re-tried from inside itself (40 KB of dots was quadratic).
_SENTENCE_END = re.compile(r"""(?<![.!?…])[.!?…]++["'”’)\]]*+(?=\s)|\n""")
# A chunk never holds more than this many characters per token of its size: the tokenizer counts a
# run of over 100 characters without spaces as one unknown token, so tokens alone do not bound it.
CHARS_PER_TOKEN = 12
_WORD = re.compile(r"\w")
_ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "col", "lt", "sgt",
                  "rep", "sen", "gov", "vs", "inc", "ltd", "co", "corp", "no", "u.s", "u.k", "e.g", "i.e"}


@dataclass(frozen=True)
class ChunkSettings:
    size: int = 200  # tokens of the embedding model's tokenizer
    overlap: int = 40  # tokens shared with the previous chunk, in whole sentences

    def __post_init__(self) -> None:
        if self.size < 16 or not 0 <= self.overlap < self.size // 2:
            raise ValueError(f"chunk size {self.size} / overlap {self.overlap}: size must be >= 16 "
                             "and overlap under half the size")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed, covering all non-space text."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group() == "." and _is_abbreviation(text, match.start()):
            continue
        spans.append((start, end))
        start = end
    spans.append((start, len(text)))
    return [s for s in (_trim(text, a, b) for a, b in spans) if s]


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([\w.]+)$", text[max(0, dot - 12):dot])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def chunk_article(article: Article, settings: ChunkSettings, count_tokens: TokenCounter) -> list[Chunk]:
    """Pack whole sentences into chunks of at most `settings.size` tokens (and
    `size * CHARS_PER_TOKEN` characters), with overlap."""
    text = article.text
    limit = settings.size * CHARS_PER_TOKEN
    # (start, end, tokens, run); sentences longer than a chunk are cut at spaces. Pieces without a
    # word (a run of dots, a "***" rule) are left out: they would only match every query alike.
    # `run` counts the pieces left out before this one, so a chunk never spans (and miscounts) them.
    pieces, run = [], 0
    for start, end in sentence_spans(text):
        for a, b, n in _fit(text, start, end, settings.size, count_tokens):
            if _WORD.search(text, a, b):
                pieces.append((a, b, n, run))
            else:
                run += 1
    chunks: list[Chunk] = []
    i = 0
    while i < len(pieces):
        j, total = i, 0
        while j < len(pieces) and (j == i or (total + pieces[j][2] <= settings.size and pieces[j][3] == pieces[i][3]
                                               and pieces[j][1] - pieces[i][0] <= limit)):
            total += pieces[j][2]
            j += 1
        start, end = pieces[i][0], pieces[j - 1][1]
        chunks.append(Chunk(article.id, len(chunks), start, end, text[start:end]))
        if j >= len(pieces):
            break
        # Step back over whole trailing pieces that fit in the overlap budget.
        back, carried = j, 0
        while back - 1 > i and carried + pieces[back - 1][2] <= settings.overlap:
            back -= 1
            carried += pieces[back][2]
        i = back
    return chunks


def _fit(text: str, start: int, end: int, size: int, count: TokenCounter) -> list[tuple[int, int, int]]:
    """The sentence as one piece if it fits a chunk, else cut at spaces (and long words cut)."""
    limit = size * CHARS_PER_TOKEN
    if end - start <= limit:
        tokens = count(text[start:end])
        if tokens <= size:
            return [(start, end, tokens)]
    out: list[tuple[int, int, int]] = []
    first, last, total = -1, -1, 0
    for a, b, n in _words(text, start, end, size, count):
        if first >= 0 and (total + n > size or b - first > limit):
            out.append((first, last, total))
            first, total = -1, 0
        if first < 0:
            first = a
        last, total = b, total + n
    if first >= 0:
        out.append((first, last, total))
    return out


def _words(text: str, start: int, end: int, size: int, count: TokenCounter):
    """(start, end, tokens) of each word; a word longer than `size` characters (a URL, a run of
    dots) is cut into pieces of at most `size` characters and `size` tokens."""
    for m in re.finditer(r"\S+", text[start:end]):
        a, b = start + m.start(), start + m.end()
        while a < b:
            cut = min(b, a + size)
            n = count(text[a:cut])
            while n > size and cut - a > 1:  # a tokenizer that spends several tokens per character
                cut = a + (cut - a) // 2
                n = count(text[a:cut])
            yield a, cut, n
            a = cut


def embedding_text(article: Article, chunk: Chunk) -> str:
    """What gets embedded: the headline gives a passage the context its sentences lack."""
    return titled(article.title, chunk.text)
