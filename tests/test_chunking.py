"""Sentence-aware chunks: exact offsets, size limits, overlap, long sentences."""
from __future__ import annotations

import pytest

from conftest import SEEDS, bbc_files
from index.chunking import ChunkSettings, chunk_article, sentence_spans
from index.loaders import discover, iter_loaded
from index.models import Article


def load(paths):
    files, problems = discover(paths)
    assert not problems
    return [a for _, loaded in iter_loaded(files, 10**7) for a in loaded.articles]


@pytest.mark.parametrize("size,overlap", [(200, 40), (64, 16), (32, 0)])
def test_chunk_text_is_the_article_text_at_its_offsets(embedder, size, overlap):
    articles = load([SEEDS, *bbc_files(25)])
    settings = ChunkSettings(size, overlap)
    for article in articles:
        chunks = chunk_article(article, settings, embedder.count_tokens)
        assert chunks and [c.index for c in chunks] == list(range(len(chunks)))
        for c in chunks:
            assert c.text == article.text[c.start:c.end] and c.text == c.text.strip()
            assert embedder.count_tokens(c.text) <= size + 2  # joining whitespace may merge a piece
        # together the chunks cover every sentence
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for i in range(len(article.text)) if not article.text[i].isspace())


def test_neighbouring_chunks_overlap_by_whole_sentences(embedder):
    article = load([SEEDS])[0]
    settings = ChunkSettings(100, 40)
    chunks = chunk_article(article, settings, embedder.count_tokens)
    assert len(chunks) > 3
    spans = sentence_spans(article.text)
    overlapped = 0
    for prev, nxt in zip(chunks, chunks[1:]):
        assert nxt.start in {s for s, _ in spans}  # starts at a sentence boundary
        last = next(article.text[a:b] for a, b in spans if a < prev.end <= b)
        if embedder.count_tokens(last) <= settings.overlap:  # it fits the overlap: it is repeated
            assert nxt.start < prev.end
            overlapped += 1
    assert overlapped >= 2


def test_sentences_respect_abbreviations_and_quotes():
    text = "Mr. Smith went to Washington. He said “no.” Then U.S. officials left! Why? Because.\nNew line"
    sentences = [text[a:b] for a, b in sentence_spans(text)]
    assert sentences == ["Mr. Smith went to Washington.", "He said “no.”", "Then U.S. officials left!",
                         "Why?", "Because.", "New line"]


def test_a_sentence_longer_than_a_chunk_is_cut_at_spaces(embedder):
    body = " ".join(f"word{i}" for i in range(400)) + "."
    article = Article(id="long", text=body, title="Long")
    chunks = chunk_article(article, ChunkSettings(50, 10), embedder.count_tokens)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text == body[c.start:c.end] and embedder.count_tokens(c.text) <= 50
        assert not c.text.startswith(" ") and body[c.start - 1:c.start] in ("", " ")


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        ChunkSettings(100, 60)
