"""newsrag as LlamaIndex components: a `BaseRetriever` of news chunks, and query and chat engines
whose answers are newsrag's verified ones, with `source_nodes` that are the citations.

    engine = Assistant.open(".newsrag").as_query_engine()
    response = engine.query("Why was the summit cancelled?")
    response.source_nodes[0].node.metadata["article"], response.metadata["abstained"]
"""
from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.base.response.schema import Response
from llama_index.core.chat_engine.types import AgentChatResponse, BaseChatEngine, StreamingAgentChatResponse
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .errors import ConfigError
from .models import Answer, Citation, Hit

if TYPE_CHECKING:
    from .api import Assistant

_HIT_META = ("article_id", "title", "date", "source", "url", "dense_rank", "bm25_rank")


def hit_node(hit: Hit) -> NodeWithScore:
    """A retrieved chunk as a LlamaIndex node; the offsets index into the article's stored text."""
    node = TextNode(id_=hit.chunk_id, text=hit.text, start_char_idx=hit.start, end_char_idx=hit.end,
                    metadata={k: getattr(hit, k) for k in _HIT_META},
                    excluded_embed_metadata_keys=list(_HIT_META), excluded_llm_metadata_keys=list(_HIT_META))
    return NodeWithScore(node=node, score=hit.score)


def node_hit(scored: NodeWithScore) -> Hit:
    """The `Hit` a node from `NewsRetriever` stands for."""
    node, meta = scored.node, scored.node.metadata
    if "article_id" not in meta or node.start_char_idx is None or node.end_char_idx is None:
        raise ConfigError(f"node {node.node_id!r} carries no newsrag article id and offsets; the cited "
                          "query engine answers only from nodes of a newsrag index (Assistant.as_retriever())")
    return Hit(chunk_id=node.node_id, text=node.get_content(), start=node.start_char_idx, end=node.end_char_idx,
               score=scored.score or 0.0, **{k: meta.get(k) for k in _HIT_META})


def citation_node(citation: Citation) -> NodeWithScore:
    """A verified citation as a node: the exact quote, its offsets, and the citation's fields."""
    meta = {k: v for k, v in citation.to_dict().items() if k not in ("quote", "start", "end")}
    node = TextNode(id_=f"{citation.article}#{citation.start}-{citation.end}", text=citation.quote,
                    start_char_idx=citation.start, end_char_idx=citation.end, metadata=meta)
    return NodeWithScore(node=node, score=None)


def _metadata(answer: Answer) -> dict:
    return {**answer.to_json(), "conflict": answer.conflict, "warnings": list(answer.warnings),
            "closest": [hit.article_id for hit in answer.closest]}


class NewsRetriever(BaseRetriever):
    """The assistant's hybrid retrieval (dense + BM25, filters, time expressions) as nodes."""

    def __init__(self, assistant: "Assistant", **filters) -> None:
        self.assistant, self.filters = assistant, filters
        super().__init__()

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [hit_node(hit) for hit in self.assistant.search(query_bundle.query_str, **self.filters)]


class CitedQueryEngine(CustomQueryEngine):
    """Answers from the nodes `retriever` returns, read and verified by newsrag; the response's
    `source_nodes` are the citations (empty when it abstains), `metadata` the `ask --json` fields."""

    assistant: Any
    retriever: BaseRetriever
    filters: dict = {}
    llm: str | None = None

    def custom_query(self, query_str: str) -> Response:
        hits = [node_hit(n) for n in self.retriever.retrieve(query_str)]
        answer = self.assistant.ask(query_str, hits=hits, llm=self.llm, **self.filters)
        return Response(response=answer.text, source_nodes=[citation_node(c) for c in answer.citations],
                        metadata=_metadata(answer))

    async def acustom_query(self, query_str: str) -> Response:
        return await asyncio.to_thread(self.custom_query, query_str)


class CitedChatEngine(BaseChatEngine):
    """A conversation (follow-ups understood from the history, as in `Assistant.chat`) with cited answers."""

    def __init__(self, assistant: "Assistant", llm: str | None = None, **filters) -> None:
        self.assistant, self.llm, self.filters = assistant, llm, filters
        self.reset()

    def reset(self) -> None:
        self._chat = self.assistant.chat()
        self._history: list[ChatMessage] = []

    @property
    def chat_history(self) -> list[ChatMessage]:
        return list(self._history)

    def _pieces(self, message: str, nodes: list[NodeWithScore], done: dict) -> Iterator[ChatResponse]:
        text = ""
        for item in self._chat.stream(message, llm=self.llm, **self.filters):
            if isinstance(item, Answer):
                nodes.extend(citation_node(c) for c in item.citations)
                done["answer"] = item
                self._history += [ChatMessage(role=MessageRole.USER, content=message),
                                  ChatMessage(role=MessageRole.ASSISTANT, content=item.text)]
                return
            text += item
            yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=item)

    def chat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        _own_history(chat_history)
        nodes, done = [], {}
        for _ in self._pieces(message, nodes, done):
            pass
        return AgentChatResponse(response=done["answer"].text, source_nodes=nodes,
                                 metadata=_metadata(done["answer"]))

    def stream_chat(self, message: str, chat_history: list[ChatMessage] | None = None
                    ) -> StreamingAgentChatResponse:
        """The verified answer as it streams; `source_nodes` fill in when the stream ends."""
        _own_history(chat_history)
        nodes: list[NodeWithScore] = []
        return StreamingAgentChatResponse(chat_stream=self._pieces(message, nodes, {}), source_nodes=nodes,
                                          is_writing_to_memory=False)

    async def achat(self, message: str, chat_history: list[ChatMessage] | None = None) -> AgentChatResponse:
        return await asyncio.to_thread(self.chat, message)

    async def astream_chat(self, message: str, chat_history: list[ChatMessage] | None = None
                           ) -> StreamingAgentChatResponse:
        _own_history(chat_history)
        nodes: list[NodeWithScore] = []
        return StreamingAgentChatResponse(achat_stream=_in_thread(self._pieces(message, nodes, {})),
                                          source_nodes=nodes, is_writing_to_memory=False)


def _own_history(chat_history) -> None:
    if chat_history:
        raise ConfigError("the cited chat engine keeps its own history (follow-ups are read from its "
                          "questions); ask the turns in order, or reset() to start again")


async def _in_thread(pieces: Iterator[ChatResponse]):
    """A blocking generator as an async one: each piece is pulled in a worker thread."""
    end = object()
    try:
        while (piece := await asyncio.to_thread(next, pieces, end)) is not end:
            yield piece
    finally:  # an abandoned stream releases the model (its lock, its HTTP reply) now
        await asyncio.to_thread(pieces.close)
