"""Ingest benchmark: the pipeline against raw `SentenceTransformer.encode()` of the same chunks.

    python -m eval.bench_ingest [--corpus DIR] [--limit N] [--backends onnx,onnx-int8]

Uses the BBC corpus in ../shared/corpora/bbc-news when present, else generates 2,000 articles.
Prints throughputs and ratios measured in this one process (no timed assertions anywhere).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import ChunkSettings, Index, IndexConfig  # noqa: E402
from index.chunking import chunk_article, embedding_text  # noqa: E402
from index.embedder import make_embedder  # noqa: E402
from index.loaders import discover, iter_loaded  # noqa: E402

BBC = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "bbc-news"


def generate_corpus(folder: Path, n: int = 2000, seed: int = 7) -> Path:
    """Synthetic news-like articles: headline, blank line, 4-9 paragraphs."""
    rng = random.Random(seed)
    words = ("minister council market shares profit election court police storm league season film "
             "album company bank rates inflation talks summit report study players coach record "
             "government opposition budget tax energy prices union strike deal growth").split()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        paras = []
        for _ in range(rng.randint(4, 9)):
            sents = [" ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + "."
                     for _ in range(rng.randint(2, 5))]
            paras.append(" ".join(sents))
        headline = " ".join(rng.choice(words) for _ in range(6)).capitalize()
        (folder / f"{i:05d}.txt").write_text(f"{headline}\n\n" + "\n\n".join(paras) + "\n")
    return folder


def pipeline_texts(corpus: Path, embedder, settings: ChunkSettings) -> list[str]:
    """Exactly what the pipeline embeds: each distinct article's chunks, headline-prefixed."""
    files, _ = discover([corpus])
    seen, texts = set(), []
    for _, loaded in iter_loaded(files, 50 * 2**20):
        for article in loaded.articles:
            if article.text_hash in seen:
                continue  # duplicates are stored once, so never embedded twice
            seen.add(article.text_hash)
            texts += [embedding_text(article, c) for c in chunk_article(article, settings, embedder.count_tokens)]
    return texts


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of articles (default: BBC, else generated)")
    parser.add_argument("--limit", type=int, help="use only the first N files (quick runs)")
    parser.add_argument("--backends", default="onnx,onnx-int8", help="extra embedders to compare ('' for none)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    corpus = args.corpus or (BBC if BBC.is_dir() else generate_corpus(work / "generated"))
    if args.limit:
        files, _ = discover([corpus])
        subset = work / "subset"
        for f in files[:args.limit]:
            (subset / f.article_id).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(f.path, subset / f.article_id)
        corpus = subset
    settings = ChunkSettings()
    torch_embedder = make_embedder("sentence-transformers")
    texts = pipeline_texts(corpus, torch_embedder, settings)
    print(f"corpus: {corpus} | {len(texts)} distinct chunks of <= {settings.size} tokens")
    torch_embedder.embed_batch(texts[:64])  # load and warm up before any clock starts

    base, raw_s = timed(lambda: torch_embedder.model.encode(texts, batch_size=32, normalize_embeddings=True))
    raw_rate = len(texts) / raw_s
    print(f"raw encode() (torch fp32):   {raw_rate:7.1f} chunks/s   ({raw_s:.1f} s)   1.00x")

    def ingest(backend, embedder):
        data = work / f"data-{backend}"
        index = Index(IndexConfig(data_dir=data, chunking=settings, embedder=backend), embedder=embedder)
        report, secs = timed(lambda: index.ingest([corpus]))
        again, re_secs = timed(lambda: index.ingest([corpus]))
        index.close()
        assert report.chunks_written == len(texts) and again.chunks_written == 0
        return secs, re_secs

    secs, re_secs = ingest("sentence-transformers", torch_embedder)
    print(f"newsrag ingest (torch fp32): {len(texts) / secs:7.1f} chunks/s   ({secs:.1f} s)   "
          f"{raw_s / secs:.2f}x raw encode")
    print(f"re-ingest unchanged:         {re_secs:7.2f} s   {secs / re_secs:.0f}x faster than the first ingest")

    for backend in filter(None, args.backends.split(",")):
        embedder = make_embedder(backend, cache_dir=work / "models")
        (_, build_s) = timed(lambda: embedder.embed_batch(texts[:64]))  # exports the model once
        vecs, enc_s = timed(lambda: embedder.embed_batch(texts))
        cos = np.sum(vecs * base, axis=1)
        top1 = _self_retrieval(texts, base, vecs, torch_embedder, embedder)
        secs, _ = ingest(backend, embedder)
        print(f"{backend:>11} embed_batch:    {len(texts) / enc_s:7.1f} chunks/s   {raw_s / enc_s:.2f}x raw | "
              f"ingest {raw_s / secs:.2f}x raw | cosine to torch mean {cos.mean():.4f} min {cos.min():.4f} | "
              f"source chunk at rank 1: {top1[1]:.3f} vs torch {top1[0]:.3f} | first build {build_s:.0f} s")
    shutil.rmtree(work, ignore_errors=True)


def _self_retrieval(texts, base, vecs, torch_embedder, embedder, n: int = 400) -> tuple[float, float]:
    """Query with each chunk's first sentence; how often is its own chunk ranked first?"""
    rng = random.Random(1)
    picks = rng.sample(range(len(texts)), min(n, len(texts)))
    queries = [texts[i].split("\n", 1)[-1].split(". ")[0] for i in picks]
    hits = []
    for doc_vecs, emb in ((base, torch_embedder), (vecs, embedder)):
        q = emb.embed_batch(queries)
        hits.append(float(np.mean(np.argmax(q @ doc_vecs.T, axis=1) == np.array(picks))))
    return hits[0], hits[1]


if __name__ == "__main__":
    main()
