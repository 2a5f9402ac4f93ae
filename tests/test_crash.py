"""kill -9 a real `newsrag ingest` at several points, then re-run: every article exactly once,
no orphan or duplicate chunks, registry and Chroma in step."""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from conftest import ROOT, bbc_files, run_cli

pytestmark = pytest.mark.slow


def _committed(data_dir) -> int:
    try:
        with sqlite3.connect(data_dir / "registry.sqlite", timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_kill_9_mid_ingest_then_rerun(tmp_path, make_index):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = bbc_files(120)
    for f in files:
        shutil.copy(f, corpus / f"{f.parent.name}-{f.name}")
    data_dir = tmp_path / "data"
    cmd = [sys.executable, "-m", "rag", "ingest", str(corpus), "--data-dir", str(data_dir), "--quiet"]
    # Small write batches so kills land between and inside many batches.
    env = {**os.environ, "NEWSRAG_BATCH_CHUNKS": "16"}
    kills = []
    for wait_for in (1, 30, 70):  # kill once that many articles are committed (or sooner)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while _committed(data_dir) < wait_for and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills.append(_committed(data_dir))
        proc.wait()
    assert len(kills) >= 2, f"ingest finished before it could be killed: {kills}"
    assert _committed(data_dir) < len(files)

    final = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--json", "--quiet")
    assert final.returncode == 0, final.stderr
    report = json.loads(final.stdout)
    assert report["failed"] == 0

    index = make_index(data_dir=data_dir)
    status = index.status()
    assert status.articles + status.duplicates == len(files)
    registry = {r[0]: r[1] for r in index.registry.db.execute("SELECT id, article_id FROM chunks")}
    stored = index.store.collection.get(include=["metadatas"])
    assert len(stored["ids"]) == len(set(stored["ids"])) == len(registry)
    assert set(stored["ids"]) == set(registry)  # no orphan, nothing missing
    assert index.registry.pending() == []
    # every article's chunks are of its current version and cover 0..n-1 once
    by_article: dict[str, list[int]] = {}
    for meta in stored["metadatas"]:
        by_article.setdefault(meta["article_id"], []).append(meta["idx"])
    assert set(by_article) == {a.id for a in index.registry.articles()}
    assert all(sorted(v) == list(range(len(v))) for v in by_article.values())
    again = index.ingest([corpus])
    assert again.chunks_written == 0 and again.unchanged == len(files)
