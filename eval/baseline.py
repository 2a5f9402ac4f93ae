"""The baseline: LlamaIndex's default `VectorStoreIndex(...).as_query_engine()` over the same
articles, with the same embedding model and the same LlamaIndex LLM, scored by the same metrics."""
from __future__ import annotations

import re
from dataclasses import dataclass

from rag import Answer, Settings
from rag.llm import make_llm

_ABSTAINS = re.compile(r"\b(does not|doesn't|do not|don't|no information|not (mentioned|provided|specified|stated)|"
                       r"cannot|can't|unable to|not enough)\b", re.IGNORECASE)


@dataclass(frozen=True)
class BaselineHit:
    article_id: str
    start: int
    end: int
    text: str


def _embedding(embedder):
    """An adapter so LlamaIndex embeds with our bundled embedder, unchanged."""
    from llama_index.core.embeddings import BaseEmbedding

    class Embedding(BaseEmbedding):
        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_batch([query])[0].tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed_batch([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return embedder.embed_batch(texts).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return Embedding(model_name="all-MiniLM-L6-v2", embed_batch_size=64)


class LlamaIndexBaseline:
    """Quacks like `rag.Assistant` for the eval runner (`chat`, `search`, `index`)."""

    def __init__(self, index, settings: Settings, llm: str = "local") -> None:
        from llama_index.core import Document, VectorStoreIndex

        self.index = index
        embed_model = _embedding(index.embedder)
        llm_model = make_llm(llm, settings.replace(llm=llm, llm_model=None)).model  # the LlamaIndex LLM itself
        documents = [Document(text=a.text, id_=a.id, metadata={"article_id": a.id, "title": a.title})
                     for a in index.registry.articles()]
        self.vectors = VectorStoreIndex.from_documents(documents, embed_model=embed_model)
        self.engine = self.vectors.as_query_engine(llm=llm_model)

    def ask(self, question: str) -> Answer:
        text = str(self.engine.query(question)).strip()
        return Answer(text, bool(_ABSTAINS.search(text)) or not text, (), question)

    def chat(self) -> "_Chat":
        return _Chat(self)

    def search(self, question: str, k: int = 10) -> list[BaselineHit]:
        nodes = self.vectors.as_retriever(similarity_top_k=k).retrieve(question)
        return [BaselineHit(n.node.metadata["article_id"], n.node.start_char_idx or 0,
                            n.node.end_char_idx or 0, n.node.get_content()) for n in nodes]


class _Chat:
    """The default query engine has no memory: each question is asked as it stands."""

    def __init__(self, baseline: LlamaIndexBaseline) -> None:
        self.baseline, self.history = baseline, []

    def ask(self, question: str) -> Answer:
        self.history.append(question)
        return self.baseline.ask(question)
