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


@pytest.fixture
def chroma_server(tmp_path):
    port = free_port()
    proc = subprocess.Popen([str(CHROMA), "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("chroma run did not start")
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(10)


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
