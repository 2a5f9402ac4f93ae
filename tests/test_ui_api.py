"""The `/ask` endpoint through `gradio_client`, served by a real `newsrag serve` subprocess.

The index is built in this process first (shared embedding model), the expected answers are
computed with the same public API `newsrag ask --json` prints, then the index is closed and
`newsrag serve --auth ...` owns it.
"""
from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import SEEDS, served_cli

AUTH = ("reader", "correct horse")
QUESTIONS = ["Why was the summit cancelled?", "What did the Kremlin spokesperson say?",
             "What will the EU discuss in Brussels?", "What is the price of bananas in Peru?"]
CONTRACT = {"answer", "abstained", "citations"}
CITATION_KEYS = {"n", "article", "title", "date", "source", "url", "quote", "start", "end", "weak", "also_reported_by"}


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    root = tmp_path_factory.mktemp("serve")
    shutil.copytree(SEEDS, root / "corpus")
    data = root / "data"
    assistant = Assistant(Settings(data_dir=data), index=Index(IndexConfig(data_dir=data), embedder=embedder))
    try:
        assistant.ingest([root / "corpus"])
        expected = {q: assistant.ask(q).to_json() for q in QUESTIONS}
        filtered = assistant.ask(QUESTIONS[0], since="2026-01-01").to_json()
        texts = {a.id: a.text for a in assistant.index.registry.articles()}
    finally:
        assistant.close()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    with served_cli("--data-dir", str(data), "--auth", ":".join(AUTH), env=env) as (proc, url):
        yield {"url": url, "expected": expected, "filtered": filtered, "texts": texts, "data": data, "proc": proc}


def client(server):
    from gradio_client import Client

    return Client(server["url"], auth=AUTH, verbose=False, download_files=False)


@pytest.mark.slow
def test_ask_returns_the_cli_json_contract(server):
    c = client(server)
    assert list(c.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]
    out = c.predict("Why was the summit cancelled?", api_name="/ask")
    assert isinstance(out, dict) and set(out) == CONTRACT
    assert isinstance(out["answer"], str) and out["abstained"] is False and "[1]" in out["answer"]
    assert isinstance(out["citations"], list) and out["citations"]
    for cit in out["citations"]:
        assert set(cit) == CITATION_KEYS
        assert isinstance(cit["n"], int) and isinstance(cit["start"], int) and isinstance(cit["end"], int)
        assert all(isinstance(cit[k], str) for k in ("article", "title", "quote"))
        assert all(cit[k] is None or isinstance(cit[k], str) for k in ("date", "source", "url"))
        assert cit["quote"] == server["texts"][cit["article"]][cit["start"]:cit["end"]]
        assert f"[{cit['n']}]" in out["answer"]
    assert out == server["expected"]["Why was the summit cancelled?"]  # what `newsrag ask --json` prints


@pytest.mark.slow
def test_ask_filters_and_errors(server):
    from gradio_client.exceptions import AppError

    c = client(server)
    out = c.predict("Why was the summit cancelled?", since="2026-01-01", api_name="/ask")
    assert out == server["filtered"] and out["abstained"] is True and out["citations"] == []
    assert c.predict("Why was the summit cancelled?", source="No Such Wire", api_name="/ask")["abstained"] is True
    assert c.predict("Why was the summit cancelled?", until="2025-12-31", api_name="/ask")["abstained"] is False
    with pytest.raises(AppError, match="not a date"):
        c.predict("Why was the summit cancelled?", since="after the war", api_name="/ask")
    with pytest.raises(AppError, match="llm must be one of"):
        c.predict("Why was the summit cancelled?", llm="os:system", api_name="/ask")
    with pytest.raises(AppError, match="empty"):
        c.predict("   ", api_name="/ask")


@pytest.mark.slow
def test_concurrent_clients_each_get_their_own_answer(server):
    jobs = [QUESTIONS[i % len(QUESTIONS)] for i in range(12)]

    def one(question):
        return question, client(server).predict(question, api_name="/ask")

    with ThreadPoolExecutor(len(jobs)) as pool:
        for question, out in pool.map(one, jobs):
            assert out == server["expected"][question], question


@pytest.mark.slow
def test_auth_is_required(server):
    from gradio_client import Client

    with pytest.raises(Exception):
        Client(server["url"], verbose=False).predict("Why was the summit cancelled?", api_name="/ask")
    req = urllib.request.Request(server["url"] + "gradio_api/call/ask", method="POST",
                                 data=b'{"data": ["Why was the summit cancelled?"]}',
                                 headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code in (401, 403)
    assert not (server["data"] / "uploads").exists()  # nothing written by serving alone
