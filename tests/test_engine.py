"""newsrag as LlamaIndex components: the README's snippet runs as written, and the engines'
source nodes are the verified citations."""
from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SEED_ID, SEEDS
from rag import Assistant, Settings

QUESTION = "Why was the summit cancelled?"


def readme_snippet() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Use it from LlamaIndex", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S)[1]


def test_the_readme_snippet_builds_a_query_engine_and_gets_a_cited_answer(tmp_path):
    shutil.copytree(SEEDS, tmp_path / "seeds")
    run = subprocess.run([sys.executable, "-c", readme_snippet()], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert "Marco Rubio" in lines[0] and "[1]" in lines[0]
    assert lines[1].startswith(f"1 {SEED_ID} 2025-10-21 ") and "called off" in lines[1]
    assert lines[2] == "False"
    assert "called off" in lines[3]


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder):
    from index import Index, IndexConfig

    data = tmp_path_factory.mktemp("data")
    index = Index(IndexConfig(data_dir=data), embedder=embedder)
    index.ingest([SEEDS])
    yield Assistant(Settings(data_dir=data), index=index)
    index.close()


def test_source_nodes_are_the_citations_with_exact_offsets(bot):
    response = bot.as_query_engine().query(QUESTION)
    answer = bot.ask(QUESTION)
    assert response.response == answer.text
    text = bot.article_text(SEED_ID)
    assert [n.node.text for n in response.source_nodes] == [c.quote for c in answer.citations]
    for scored in response.source_nodes:
        node = scored.node
        assert text[node.start_char_idx:node.end_char_idx] == node.text
    assert response.metadata["citations"] == [c.to_dict() for c in answer.citations]


def test_an_abstention_has_no_source_nodes(bot):
    response = bot.as_query_engine().query("What did China say about the summit?")
    assert response.metadata["abstained"] and response.source_nodes == []
    assert response.metadata["closest"] == [SEED_ID]


def test_the_retriever_returns_nodes_the_engine_can_answer_from(bot):
    nodes = bot.as_retriever().retrieve(QUESTION)
    hits = bot.search(QUESTION)
    assert [n.node.node_id for n in nodes] == [h.chunk_id for h in hits]
    assert all(n.node.metadata["article_id"] == SEED_ID for n in nodes)
    assert bot.as_retriever(since="2030-01-01").retrieve(QUESTION) == []


def test_nodes_from_elsewhere_are_refused_saying_why(bot):
    from llama_index.core.retrievers import BaseRetriever
    from llama_index.core.schema import NodeWithScore, TextNode

    from rag.errors import ConfigError

    class Foreign(BaseRetriever):
        def _retrieve(self, query_bundle):
            return [NodeWithScore(node=TextNode(text="The summit was cancelled."), score=1.0)]

    with pytest.raises(ConfigError, match="no newsrag article id.*as_retriever"):
        bot.as_query_engine(retriever=Foreign()).query(QUESTION)


def test_chat_engine_follow_ups_and_streams_fill_source_nodes(bot):
    chat = bot.as_chat_engine()
    first = chat.chat(QUESTION)
    assert "Rubio" in first.response and first.source_nodes
    stream = chat.stream_chat("who made the phone call?")
    assert stream.source_nodes == []  # filled when the stream ends
    text = "".join(stream.response_gen)
    assert "Rubio" in text and stream.source_nodes and stream.source_nodes[0].node.metadata["article"] == SEED_ID

    async def streamed():
        reply = await chat.astream_chat("Where were they going to meet?")
        return "".join([piece async for piece in reply.async_response_gen()]), reply.source_nodes

    text, nodes = asyncio.run(streamed())
    assert "Budapest" in text and nodes
    assert [m.role.value for m in chat.chat_history] == ["user", "assistant"] * 3
    chat.reset()
    assert chat.chat_history == []
