"""Ingest benchmark: the pipeline against raw `SentenceTransformer.encode()` of the same chunks.

    python -m eval.bench_ingest [--corpus DIR] [--limit N] [--backends onnx,onnx-int8] [--workers 2]
    python -m eval.bench_ingest --articles 100000   # generated articles, the default embedder only

Uses the BBC corpus in ../shared/corpora/bbc-news when present, else generates 2,000 articles.
Prints throughputs and ratios measured in this one process (no timed assertions anywhere).
"""
from __future__ import annotations

import argparse
import itertools
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import ChunkSettings, Index, IndexConfig  # noqa: E402
from index.chunking import embedding_text  # noqa: E402
from index.embedder import DEFAULT_BACKEND, make_embedder  # noqa: E402
from index.loaders import discover  # noqa: E402

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
        sub = folder / f"{i // 1000:04d}"  # a thousand files per folder
        sub.mkdir(exist_ok=True)
        (sub / f"{i:06d}.txt").write_text(f"{headline}\n\n" + "\n\n".join(paras) + "\n")
    return folder


def stored_texts(index: Index) -> list[str]:
    """Exactly what the pipeline embedded: each stored article's chunks, headline-prefixed (an
    identical or near copy of another is stored as its alias, never embedded)."""
    return [embedding_text(a, c) for a in index.registry.articles() for c in index.registry.chunks_of(a)]


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of articles (default: BBC, else generated)")
    parser.add_argument("--limit", type=int, help="use only the first N files (quick runs)")
    parser.add_argument("--backends", default="onnx,onnx-int8", help="extra embedders to compare ('' for none)")
    parser.add_argument("--workers", type=int, help="also ingest into a `chroma run` server with 1 and N "
                                                     "worker processes (the default embedder) and compare")
    parser.add_argument("--articles", type=int, help="ingest N generated articles with the default embedder: "
                                                      "throughput, peak memory, re-ingest, query latency")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    if args.articles:
        try:
            return scale(args.articles, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)
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
    torch_embedder.embed_batch(["warm up"] * 64)  # loaded before any clock starts

    def ingest(backend, embedder):
        data = work / f"data-{backend}"
        index = Index(IndexConfig(data_dir=data, chunking=settings, embedder=backend), embedder=embedder)
        report, secs = timed(lambda: index.ingest([corpus]))
        again, re_secs = timed(lambda: index.ingest([corpus]))
        texts = stored_texts(index)
        index.close()
        assert report.chunks_written == len(texts) and again.chunks_written == 0
        return secs, re_secs, texts, report

    secs, re_secs, texts, report = ingest("sentence-transformers", torch_embedder)
    print(f"corpus: {corpus} | {len(texts)} distinct chunks of <= {settings.size} tokens | stored once: "
          f"{len(report.duplicates)} identical bodies, {len(report.copies)} near copies")
    base, raw_s = timed(lambda: torch_embedder.model.encode(texts, batch_size=32, normalize_embeddings=True))
    raw_rate = len(texts) / raw_s
    print(f"raw encode() (torch fp32):   {raw_rate:7.1f} chunks/s   ({raw_s:.1f} s)   1.00x")
    print(f"newsrag ingest (torch fp32): {len(texts) / secs:7.1f} chunks/s   ({secs:.1f} s)   "
          f"{raw_s / secs:.2f}x raw encode")
    print(f"re-ingest unchanged:         {re_secs:7.2f} s   {secs / re_secs:.0f}x faster than the first ingest")

    for backend in filter(None, args.backends.split(",")):
        embedder = make_embedder(backend, cache_dir=work / "models")
        (_, build_s) = timed(lambda: embedder.embed_batch(texts[:64]))  # exports the model once
        vecs, enc_s = timed(lambda: embedder.embed_batch(texts))
        cos = np.sum(vecs * base, axis=1)
        top1 = _self_retrieval(texts, base, vecs, torch_embedder, embedder)
        secs, *_ = ingest(backend, embedder)
        print(f"{backend:>11} embed_batch:    {len(texts) / enc_s:7.1f} chunks/s   {raw_s / enc_s:.2f}x raw | "
              f"ingest {raw_s / secs:.2f}x raw | cosine to torch mean {cos.mean():.4f} min {cos.min():.4f} | "
              f"source chunk at rank 1: {top1[1]:.3f} vs torch {top1[0]:.3f} | first build {build_s:.0f} s")
    if args.workers:
        one, many = (_server_ingest(corpus, settings, work, w) for w in (1, args.workers))
        print(f"chroma run, {DEFAULT_BACKEND}: 1 worker {len(texts) / one:.1f} chunks/s, {args.workers} workers "
              f"{len(texts) / many:.1f} chunks/s: {one / many:.2f}x on {os.cpu_count()} cores")
    shutil.rmtree(work, ignore_errors=True)


def scale(n: int, work: Path) -> None:
    """An ingest of `n` generated articles, measured against the same embedder's raw speed."""
    import resource

    from rag.api import Assistant
    from rag.settings import Settings

    corpus, secs = timed(lambda: generate_corpus(work / "generated", n))
    print(f"generated {n} articles in {secs:.0f} s")
    embedder = make_embedder(DEFAULT_BACKEND, cache_dir=work / "models")
    index = Index(IndexConfig(data_dir=work / "data", cache_dir=work / "models"), embedder=embedder)
    rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10  # noqa: E731 - MiB on Linux
    embedder.embed_batch(["warm up"] * 32)  # loaded before the clock starts
    before = rss()
    report, secs = timed(lambda: index.ingest([corpus]))
    rate = report.chunks_written / secs
    sample = [embedding_text(a, c) for a in itertools.islice(index.registry.articles(), 300)
              for c in index.registry.chunks_of(a)]
    _, raw_s = timed(lambda: embedder.embed_batch(sample))
    print(f"ingest: {report.added} articles, {report.chunks_written} chunks in {secs:.0f} s = {rate:.1f} chunks/s, "
          f"{rate * raw_s / len(sample):.2f}x raw {DEFAULT_BACKEND} embed_batch of {len(sample)} of its chunks")
    chroma = work / "data" / "chroma"
    hnsw = sum(f.stat().st_size for f in chroma.rglob("*.bin")) / 2**20
    bm25 = sum(f.stat().st_size for f in (work / "data" / "bm25").rglob("*") if f.is_file()) / 2**20
    print(f"peak RSS: {before:.0f} MiB before the ingest, {rss():.0f} MiB after; resident now {_resident():.0f} MiB; "
          f"on disk: Chroma's HNSW files {hnsw:.0f} MiB, BM25 {bm25:.0f} MiB")
    again, re_secs = timed(lambda: index.ingest([corpus]))
    assert again.chunks_written == 0
    print(f"re-ingest unchanged: {re_secs:.1f} s ({again.unchanged} unchanged)")
    bot = Assistant(Settings(data_dir=work / "data"), index=index)
    rng = random.Random(3)
    topics = ["strike", "budget", "election", "storm", "league", "inflation", "summit", "court"]
    queries = [" ".join(rng.sample(topics, 3)) for _ in range(100)]
    times = sorted(timed(lambda q=q: bot.search(q))[1] for q in queries)
    print(f"search p50 {times[49] * 1000:.0f} ms, p95 {times[94] * 1000:.0f} ms over {report.chunks_written} chunks")
    bot.close()


def _resident() -> float:
    """This process's resident memory now, in MiB (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1]) / 2**10


def _server_ingest(corpus: Path, settings: ChunkSettings, work: Path, workers: int) -> float:
    """Seconds to ingest `corpus` into a fresh `chroma run` with `workers` processes (their start counted)."""
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).parent / "chroma"
    server = subprocess.Popen([str(chroma), "run", "--path", str(work / f"chroma-{workers}"), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        index = Index(IndexConfig(data_dir=work / f"data-w{workers}", chunking=settings, cache_dir=work / "models",
                                  chroma_host="127.0.0.1", chroma_port=port, workers=workers))
        index.embedder.embed_batch(["warm up"])  # the one-process run's model loaded before the clock
        report, secs = timed(lambda: index.ingest([corpus]))
        assert report.chunks_written == index.store.count()
        index.close()
        # another machine joining: its empty registry follows the server's article records
        joined, join_s = timed(lambda: Index(IndexConfig(data_dir=work / f"join-w{workers}", chunking=settings,
                                                           cache_dir=work / "models", chroma_host="127.0.0.1",
                                                           chroma_port=port), embedder=index.embedder))
        print(f"a machine joining the server: followed {joined.followed.added} articles and copies in {join_s:.1f} s")
        joined.close()
        return secs
    finally:
        server.terminate()
        server.wait(10)


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
