"""The same code against a real `chroma run` server on loopback."""
from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port, run_cli
from index import IndexMismatchError, StoreUnavailableError

pytestmark = pytest.mark.slow
CHROMA = Path(__import__("sys").executable).parent / "chroma"


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

    class Int8(SentenceTransformerEmbedder):
        precision = "int8"

    make_index(chroma_host="127.0.0.1", chroma_port=chroma_server).ingest([corpus])
    # a fresh data dir (no local manifest): the collection's own record must refuse it
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Index(IndexConfig(data_dir=tmp_path / "other", chroma_host="127.0.0.1", chroma_port=chroma_server),
              embedder=Int8(embedder.model_path))


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
