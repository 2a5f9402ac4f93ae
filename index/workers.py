"""Ingest workers: processes that embed staged batches and upsert them into one Chroma server.

The ingest's own process still plans (loads, chunks, classifies) and is the only writer of the
registry: a batch is marked pending before a worker gets it and committed only once the server
holds its chunks, so the registry and BM25 follow what the server stores, and a crash anywhere
is repaired by `Journal.recover` on the next open. Chunk ids are deterministic: a batch upserted
twice (a re-run, a worker killed after the server stored its batch) is stored once.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from .embedder import make_embedder
from .errors import ConfigError
from .journal import Staged
from .store import StoreConfig, open_store

_worker: tuple | None = None  # this worker process's (embedder, store)


def _start(backend: str, model_path: Path | None, cache_dir: Path, store: StoreConfig, threads: int) -> None:
    global _worker
    embedder = make_embedder(backend, model_path, cache_dir=cache_dir)
    embedder.use_threads(threads)
    _worker = (embedder, open_store(store))


def _embed_and_upsert(ids, texts, chunks, metas) -> int:
    embedder, store = _worker
    store.upsert(ids, embedder.embed_batch(texts), chunks, metas)
    return os.getpid()


class Workers:
    """`n` worker processes. `submit` and `drain` return the batches the server now holds, oldest
    first; up to `2n` are in flight, so a worker that finishes finds the next batch waiting."""

    def __init__(self, n: int, backend: str, model_path: Path | None, cache_dir: Path, store: StoreConfig,
                 identity: dict) -> None:
        if store.host is None:
            raise ConfigError("--workers needs a Chroma server: embedded Chroma belongs to one process. "
                              "Start one (`chroma run --path DIR`) and pass --chroma-host/--chroma-port, "
                              "or ingest with --workers 1")
        if make_embedder(backend, model_path, cache_dir=cache_dir).identity != identity:
            raise ConfigError(f"the workers' embedder {backend!r} would not make this index's vectors "
                              f"({identity}); pass the --embedder it was built with")
        threads = max(1, (os.cpu_count() or 1) // n)  # the cores shared out, not oversubscribed
        self.n = n
        self.pool = ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                        initargs=(backend, model_path, cache_dir, store, threads))
        self.inflight: deque[tuple[Staged, Future]] = deque()
        self.pids: set[int] = set()  # the processes that did work

    def submit(self, staged: Staged) -> list[Staged]:
        """Hand `staged` to a worker; returns the batches now stored (wait for the oldest when full)."""
        future = self.pool.submit(_embed_and_upsert, staged.ids, staged.texts, staged.chunks, staged.metas) \
            if staged.ids else None
        self.inflight.append((staged, future))
        return [self._next() for _ in range(len(self.inflight) - 2 * self.n)]

    def drain(self) -> list[Staged]:
        return [self._next() for _ in range(len(self.inflight))]

    def _next(self) -> Staged:
        staged, future = self.inflight.popleft()
        if future is not None:
            self.pids.add(future.result())  # a worker's error is raised here, the batch stays pending
        return staged

    def __enter__(self) -> "Workers":
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
