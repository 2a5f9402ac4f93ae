"""Retrieval latency at 1k, 10k and 100k chunks against the raw cost measured in the same run
(query embedding + one Chroma query), and the bundled LLM's first-token time and speed.

    python -m eval.bench_retrieval [--sizes 1000,10000,100000] [--queries 50] [--rerank mmr] [--llm]

The corpus is generated (news-like sentences). To build 100k chunks in minutes, chunk vectors
come from a fast stand-in with the real model's identity; queries use the real model.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index import Index, IndexConfig  # noqa: E402
from index.embedder import SentenceTransformerEmbedder  # noqa: E402
from rag import Assistant, Settings  # noqa: E402

from .bench_ingest import generate_corpus  # noqa: E402


class HashEmbedder(SentenceTransformerEmbedder):
    """Deterministic pseudo-random unit vectors: builds a big index without hours of encoding."""

    def embed_batch(self, texts):
        rows = [np.random.default_rng(int(hashlib.md5(t.encode()).hexdigest()[:8], 16)).standard_normal(self.dim)
                for t in texts]
        vectors = np.array(rows, dtype=np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def build(size: int, work: Path) -> Path:
    """An index of about `size` chunks."""
    data = work / f"data-{size}"
    corpus = generate_corpus(work / f"corpus-{size}", n=max(1, size * 10 // 27), seed=size)  # ~2.7 chunks each
    index = Index(IndexConfig(data_dir=data, batch_chunks=4096), embedder=HashEmbedder())
    index.ingest([corpus])
    index.close()
    return data


def measure(data: Path, queries: list[str], embedder, rerank: str = "none") -> dict:
    index = Index(IndexConfig(data_dir=data), embedder=embedder)
    bot = Assistant(Settings(data_dir=data, rerank=rerank), index=index)
    bot.search(queries[0])  # load BM25 and warm the caches before any clock starts
    raw, ours = [], []
    for q in queries:
        start = time.perf_counter()
        vector = embedder.embed_batch([q])[0]
        index.store.query(vector, 6)
        raw.append(1000 * (time.perf_counter() - start))
        start = time.perf_counter()
        bot.search(q)
        ours.append(1000 * (time.perf_counter() - start))
    chunks = index.store.count()
    bot.close()
    return {"chunks": chunks, "raw_p50": pct(raw, 50), "raw_p95": pct(raw, 95),
            "p50": pct(ours, 50), "p95": pct(ours, 95)}


def bench_llm(runs: int = 3) -> None:
    from importlib import resources

    from rag.llm import make_llm
    from rag.settings import Settings

    llm = make_llm("local", Settings())
    seed = (Path(__file__).resolve().parents[1] / "seeds" / "000_cd4f49b57c6e24c3.txt").read_text()
    evidence = "\n".join(f"[{i + 1}] {s.strip()}" for i, s in enumerate(seed.split("\n\n")[:3]))
    prompt = resources.files("rag").joinpath("prompts", "answer_user.txt").read_text()
    system = resources.files("rag").joinpath("prompts", "answer_system.txt").read_text()
    messages = [{"role": "system", "content": system},
                {"role": "user", "content": prompt.format(question="Why was the summit cancelled?", evidence=evidence)}]
    llm.generate(messages, max_tokens=4)  # load the model
    llama = llm.model._load()
    for run in range(runs):
        # baseline in the same process: the same prompt straight into llama.cpp
        llama.reset()  # a cold prompt every run: no reuse of the previous run's prefix
        start = time.perf_counter()
        raw = None
        for chunk in llama.create_chat_completion(messages=messages, stream=True, max_tokens=128, temperature=0.0):
            if raw is None and chunk["choices"][0]["delta"].get("content"):
                raw = time.perf_counter() - start
        llama.reset()
        start = time.perf_counter()
        first, pieces = None, 0
        for _ in llm.stream(messages, max_tokens=128):
            first = first or time.perf_counter()
            pieces += 1
        end = time.perf_counter()
        rate = (pieces - 1) / (end - first) if pieces > 1 else 0.0
        print(f"bundled LLM run {run + 1}: first token {first - start:.2f} s through newsrag, {raw:.2f} s straight "
              f"into llama.cpp ({(first - start) / raw:.2f}x); {pieces} tokens, {rate:.0f} tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="chunk counts; \"\" for none")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--rerank", default="none", help="time search with this reranker (none, mmr, cross-encoder:PATH)")
    parser.add_argument("--llm", action="store_true", help="also time the bundled LLM")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="newsrag-bench-"))
    rng = random.Random(3)
    words = "minister council market profit election court police storm league film bank talks summit".split()
    queries = [f"What did the {rng.choice(words)} say about the {rng.choice(words)} {rng.choice(words)}?"
               for _ in range(args.queries)]
    embedder = SentenceTransformerEmbedder()
    embedder.embed_batch(queries[:2])
    print("chunks   | raw p50 / p95 ms (embed + 1 Chroma query) | newsrag search p50 / p95 ms | p50 ratio")
    for size in (int(s) for s in args.sizes.split(",") if s):
        row = measure(build(size, work), queries, embedder, args.rerank)
        print(f"{row['chunks']:>8} | {row['raw_p50']:8.1f} / {row['raw_p95']:6.1f} {'':20}| "
              f"{row['p50']:8.1f} / {row['p95']:6.1f} {'':10}| {row['p50'] / row['raw_p50']:.2f}x")
    shutil.rmtree(work, ignore_errors=True)
    if args.llm:
        bench_llm()


if __name__ == "__main__":
    main()
