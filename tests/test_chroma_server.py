"""The same code against a real `chroma run` server on loopback."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import ROOT, bbc_files, free_port, run_cli
from index import IndexMismatchError, StoreUnavailableError

pytestmark = pytest.mark.slow
CHROMA = Path(sys.executable).parent / "chroma"


class ChromaServer:
    """A real `chroma run` on loopback that a test may stop and start again (same port, same data)."""

    def __init__(self, path: Path) -> None:
        self.path, self.port, self.proc = path, free_port(), None

    def start(self) -> None:
        self.proc = subprocess.Popen([str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1",
                                      "--port", str(self.port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout=1)
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.proc.kill()
                    pytest.fail("chroma run did not start")
                time.sleep(0.1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def chroma(tmp_path):
    server = ChromaServer(tmp_path / "server")
    server.start()
    yield server
    if server.proc.poll() is None:
        server.stop()


@pytest.fixture
def chroma_server(chroma):
    return chroma.port


def test_ingest_and_status_through_a_chroma_server(chroma_server, data_dir, corpus):
    flags = ["--data-dir", str(data_dir), "--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server)]
    first = run_cli("ingest", str(corpus), *flags, "--json")
    assert first.returncode == 0, first.stderr
    written = json.loads(first.stdout)["chunks_written"]
    status = json.loads(run_cli("status", *flags, "--json").stdout)
    assert status["articles"] == 1 and status["stored_chunks"] == written > 0
    assert status["store"] == f"http://127.0.0.1:{chroma_server}"
    assert not (data_dir / "chroma").exists()  # vectors live on the server only
    again = json.loads(run_cli("ingest", str(corpus), *flags, "--json").stdout)
    assert (again["unchanged"], again["chunks_written"]) == (1, 0)


def test_server_refuses_vectors_of_another_embedder(chroma_server, make_index, embedder, corpus, tmp_path):
    from index import Index, IndexConfig
    from index.embedder import SentenceTransformerEmbedder

    assert embedder.precision == "int8-matmul"
    make_index(chroma_host="127.0.0.1", chroma_port=chroma_server).ingest([corpus])
    # a fresh data dir (no local manifest): the collection's own record must refuse it
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Index(IndexConfig(data_dir=tmp_path / "other", chroma_host="127.0.0.1", chroma_port=chroma_server),
              embedder=SentenceTransformerEmbedder(embedder.model_path))  # fp32


def test_server_down_is_a_clear_error(data_dir, corpus):
    port = free_port()
    result = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--chroma-host", "127.0.0.1",
                     "--chroma-port", str(port))
    assert result.returncode == 2
    assert f"127.0.0.1:{port}" in result.stderr and "chroma run" in result.stderr
    with pytest.raises(StoreUnavailableError):
        from index.store import StoreConfig, open_store

        open_store(StoreConfig(data_dir, "127.0.0.1", port))


def test_chroma_going_away_mid_session_degrades_answers_to_bm25_until_it_is_back(chroma, data_dir, corpus, embedder):
    from index import Index
    from rag import Assistant, Settings

    settings = Settings(data_dir=data_dir, chroma_host="127.0.0.1", chroma_port=chroma.port)
    bot = Assistant(settings, index=Index(settings.index_config(), embedder=embedder))
    bot.ingest([corpus])
    question = "Why was the summit cancelled?"
    before = bot.ask(question)
    assert not before.degraded and not before.warnings and "Rubio" in before.text

    chroma.stop()
    down = bot.ask(question)  # from BM25 alone, and says so
    assert down.degraded and "Rubio" in down.text and down.citations
    assert f"127.0.0.1:{chroma.port}" in down.warnings[0] and down.text.endswith(down.warnings[0])
    assert all(h.dense_rank is None and h.bm25_rank is not None for h in bot.search(question))
    hint = f"chroma run --path DIR --host 127.0.0.1 --port {chroma.port}"
    for needs_the_store in (bot.status, lambda: bot.ingest([corpus])):
        with pytest.raises(StoreUnavailableError, match=f"127.0.0.1:{chroma.port}") as info:
            needs_the_store()
        assert hint in str(info.value)

    chroma.start()
    back = bot.ask(question)
    assert not back.degraded and not back.warnings and back.text == before.text
    assert bot.status().stored_chunks > 0
    bot.close()


def _stored_once(data_dir, port, embedder) -> tuple[int, int]:
    """The server holds every chunk the registry records, once, and nothing else: (articles, chunks)."""
    from index import Index, IndexConfig

    index = Index(IndexConfig(data_dir=data_dir, chroma_host="127.0.0.1", chroma_port=port), embedder=embedder)
    try:
        articles = [a.id for a in index.registry.articles()]
        recorded = [cid for ids in index.registry.chunk_ids(articles).values() for cid in ids]
        served = index.store.collection.get(include=[])["ids"]
        assert len(served) == len(set(served)) and sorted(served) == sorted(recorded)
        assert index.registry.pending() == []
        assert index.store.record_heads() == index.registry.heads()  # every machine would see just these
        return len(articles), len(served)
    finally:
        index.close()


def test_two_worker_processes_store_each_chunk_exactly_once_across_a_kill(chroma_server, data_dir, tmp_path,
                                                                          embedder):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    files = bbc_files(60)
    for i, f in enumerate(files):
        shutil.copy(f, corpus / f"{i:03d}-{f.name}")
    flags = ["--data-dir", str(data_dir), "--chroma-host", "127.0.0.1", "--chroma-port", str(chroma_server),
             "--workers", "2", "--batch-chunks", "8"]
    # killed (the whole process group: the ingest and its workers) once the server holds some chunks
    proc = subprocess.Popen([sys.executable, "-m", "rag", "ingest", str(corpus), *flags, "--quiet"], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and _served(chroma_server) < 40:
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest ended before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()

    rerun = run_cli("ingest", str(corpus), *flags, "--json")
    assert rerun.returncode == 0, rerun.stderr
    report = json.loads(rerun.stdout)
    assert report["worker_processes"] == 2 and report["failed"] == 0
    articles, chunks = _stored_once(data_dir, chroma_server, embedder)
    assert articles + report["duplicate"] == len(files) and chunks > articles
    # run again with any number of workers: nothing is embedded twice
    again = json.loads(run_cli("ingest", str(corpus), *flags[:-4], "--workers", "3", "--json").stdout)
    assert (again["chunks_written"], again["unchanged"]) == (0, len(files))
    assert _stored_once(data_dir, chroma_server, embedder) == (articles, chunks)


def _served(port: int) -> int:
    import chromadb
    from chromadb.config import Settings

    try:
        client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=Settings(anonymized_telemetry=False))
        return sum(c.count() for c in client.list_collections())
    except Exception:  # noqa: BLE001 - the collection is not made yet
        return 0


def test_workers_without_a_server_is_a_clear_error(data_dir, corpus):
    result = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--workers", "2")
    assert result.returncode == 2 and "chroma run" in result.stderr and "--workers 1" in result.stderr


def test_machines_sharing_a_server_follow_its_articles_copies_and_removals(chroma_server, make_index, tmp_path,
                                                                          monkeypatch):
    """Three data dirs (three machines) on one `chroma run`: each registry and BM25 follow the server."""
    from rag import api
    from rag.api import Assistant
    from rag.settings import Settings
    from test_neardup import OTHER, QUESTION, article, copies, original, write

    server = {"chroma_host": "127.0.0.1", "chroma_port": chroma_server}

    def machine(name: str):
        return make_index(data_dir=tmp_path / name, **server)

    def served_chunks(index) -> list[str]:
        return sorted(index.store.collection.get(include=[])["ids"])

    write(tmp_path / "a", "wire.json", [original(), OTHER])
    write(tmp_path / "b", "papers.json", copies())
    a = machine("A")
    a.ingest([tmp_path / "a"])
    b = machine("B")
    assert b.followed.added == 2
    report = b.ingest([tmp_path / "b"])  # B knows A's articles: its copies fold into A's wire story
    assert sorted(c[:2] for c in report.copies) == [("paper-1", "wire-1"), ("radio-1", "wire-1")]
    assert report.chunks_written == 0
    # B's own file at the path A read (another disk, another text) takes none of A's ids
    heads = b.store.record_heads()
    write(tmp_path / "a", "wire.json", [original(), dict(OTHER, text="Another story altogether.")])
    clash = b.ingest([tmp_path / "a"])
    assert clash.failed == 2 and all("newsrag://" in p and "already used" in p for p in clash.problems)
    assert b.store.record_heads() == heads
    write(tmp_path / "a", "wire.json", [original(), OTHER])

    c = machine("C")  # ingested nothing: all it knows is the server's
    assert (c.followed.added, c.followed.removed) == (4, 0)
    assert sorted(c.lexical().ids) == served_chunks(c)  # BM25 holds the server's chunks, each once
    bot = Assistant(Settings(data_dir=tmp_path / "C", **server), index=c)
    answer = bot.ask(QUESTION)
    assert [x.article for x in answer.citations] == ["wire-1"] and "1,400" in answer.text
    assert [x.article for x in answer.citations[0].also] == ["radio-1", "paper-1"]
    # stored on B later: a running assistant on C takes it in when it follows, or by itself
    write(tmp_path / "b2", "ferry.json", [article("ferry-1", "Ferry crews join the Velmora walkout", [
        "Ferry crews on the Velmora crossing stopped work in support of the dockers, leaving island "
        "villages without a boat for the second day running."], "Island Post", "2025-10-10")])
    b.ingest([tmp_path / "b2"])
    assert bot.follow().added == 1 and bot.search("ferry crews island villages")[0].article_id == "ferry-1"
    monkeypatch.setattr(api, "FOLLOW_SECONDS", 0)
    write(tmp_path / "a2", "rail.json", [article("rail-1", "Rail freight cut to the Velmora coast", [
        "Rail operators cut freight trains to the Velmora coast by half, saying wagons of grain could "
        "not be unloaded while the port stayed shut."], "Baltic Wire", "2025-10-11")])
    a.ingest([tmp_path / "a2"])
    deadline = time.monotonic() + 60
    while "rail-1" not in {h.article_id for h in bot.search("rail freight wagons of grain")}:
        assert time.monotonic() < deadline, "the assistant never followed the server"
        time.sleep(0.2)
    monkeypatch.setattr(api, "FOLLOW_SECONDS", 3600)

    # C prunes only files under paths it was given: A's file gone is A's to prune
    (tmp_path / "a" / "wire.json").rename(tmp_path / "wire.json")
    assert c.prune_missing().removed == 0
    (tmp_path / "wire.json").rename(tmp_path / "a" / "wire.json")

    assert b.delete("wire-1")  # removed on B: its oldest copy takes its place, for everyone
    views = [machine("A"), machine("C")]
    assert views[0].followed.removed == 1  # (C's assistant may have followed it first, in the background)
    for view in views:
        assert sorted(x.id for x in view.registry.articles()) == ["ferry-1", "radio-1", "rail-1", "wire-2"]
        assert [x.id for x, _ in view.registry.copies_of("radio-1")] == ["paper-1"]
        assert sorted(view.lexical().ids) == served_chunks(view)

    # a registry from before the server kept records: its articles are shared, none are lost
    a = machine("A")
    a.store.delete_records(list(a.store.record_heads()))
    again = machine("A")
    assert (again.followed.shared, again.followed.removed) == (5, 0)
    assert sorted(again.store.record_heads()) == ["ferry-1", "paper-1", "radio-1", "rail-1", "wire-2"]
