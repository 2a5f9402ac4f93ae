"""The re-rank step on a real index: MMR lifts a distinct article above near-copies, a
user-supplied cross-encoder folder reorders by its scores, and bad specs say the fix."""
from __future__ import annotations

import numpy as np
import pytest

from rag import Assistant, Settings
from rag.errors import ConfigError
from rag.rerank import MMRReranker, NoRerank, make_reranker
from rag.retrieval import Retriever, RetrievalSettings

COPIES = [
    "Ferry workers began a 48-hour strike on Monday over pay, stopping all crossings to the islands.",
    "Ferry workers started a 48-hour strike on Monday over pay, halting all crossings to the islands.",
    "Ferry crews began a two-day strike on Monday over pay, stopping every crossing to the islands.",
]
DISTINCT = ("Island shops are running short of bread and milk because the ferry strike has stopped "
            "deliveries, the chamber of commerce said.")
QUESTION = "What did the ferry workers' strike over pay do?"


@pytest.fixture(scope="module")
def index(tmp_path_factory, embedder):
    from index import Index, IndexConfig

    corpus = tmp_path_factory.mktemp("corpus")
    for i, text in enumerate(COPIES):
        (corpus / f"copy{i}.md").write_text(f"---\ntitle: Ferry strike\ndate: 2025-05-0{i + 1}\n---\n{text}\n")
    (corpus / "shops.md").write_text(f"---\ntitle: Shops run short\ndate: 2025-05-03\n---\n{DISTINCT}\n")
    (corpus / "other.md").write_text("---\ntitle: Library opens\ndate: 2025-05-04\n---\n"
                                     "The new town library opened with a reading by local children.\n")
    index = Index(IndexConfig(data_dir=tmp_path_factory.mktemp("data")), embedder=embedder)
    assert index.ingest([corpus]).failed == 0
    yield index
    index.close()


def ranked(index, reranker, k=5):
    settings = RetrievalSettings(top_k=k, per_article=2, rerank_depth=5)
    return [h.article_id for h in Retriever(index, settings, reranker).search(QUESTION)]


def test_mmr_lifts_a_distinct_article_above_near_copies(index):
    plain = ranked(index, NoRerank())
    diverse = ranked(index, MMRReranker(index, weight=0.5))
    assert plain[:2] == [a for a in plain if a.startswith("copy")][:2], plain  # copies lead on relevance
    assert diverse.index("shops.md") == 1 < plain.index("shops.md"), (plain, diverse)
    hits = Retriever(index, RetrievalSettings(top_k=4, per_article=2)).search(QUESTION)
    reordered = MMRReranker(index, weight=0.5).rerank(QUESTION, hits)
    assert sorted(h.chunk_id for h in reordered) == sorted(h.chunk_id for h in hits)  # nothing added or dropped
    assert reordered != hits
    assert ranked(index, MMRReranker(index, weight=1.0)) == plain  # no novelty weight: fused order


def test_mmr_reads_the_stored_vectors(index, embedder):
    hits = Retriever(index, RetrievalSettings(top_k=2)).search(QUESTION)
    ids = [h.chunk_id for h in hits]
    stored = index.store.vectors(ids)
    assert stored.shape == (2, embedder.dim)
    assert abs(float(stored[0] @ stored[0]) - 1.0) < 1e-3
    assert np.array_equal(index.store.vectors(ids[::-1]), stored[::-1])  # in the order asked
    assert not index.store.vectors([ids[0], "gone::0"])[1].any()  # an id no longer stored: zeros


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A CrossEncoder folder built offline from the bundled MiniLM weights (untrained head: its
    scores are arbitrary but fixed once saved, which is all the plumbing test needs)."""
    import torch
    from sentence_transformers import CrossEncoder

    from index.embedder import bundled_model_path

    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("cross-encoder")
    CrossEncoder(str(bundled_model_path()), num_labels=1, device="cpu", local_files_only=True).save(str(folder))
    return folder


def test_cross_encoder_orders_candidates_by_its_scores(index, cross_encoder_dir):
    from sentence_transformers import CrossEncoder

    reranker = make_reranker(f"cross-encoder:{cross_encoder_dir}", index)
    hits = Retriever(index, RetrievalSettings(top_k=5, per_article=1, rerank_depth=5), reranker).search(QUESTION)
    model = CrossEncoder(str(cross_encoder_dir), device="cpu", local_files_only=True)
    scores = model.predict([(QUESTION, f"{h.title}\n{h.text}") for h in hits], show_progress_bar=False)
    assert len(hits) == 5
    assert list(scores) == sorted(scores, reverse=True)


def test_the_setting_reaches_answers_and_the_cli(index, cross_encoder_dir, tmp_path):
    from conftest import SEEDS, run_cli

    bot = Assistant(Settings(data_dir=index.config.data_dir, rerank="mmr"), index=index)
    assert isinstance(bot.retriever.reranker, MMRReranker)
    answer = bot.ask(QUESTION)
    assert not answer.abstained and answer.citations
    data = tmp_path / "data"
    assert run_cli("ingest", str(SEEDS), "--data-dir", str(data), "--quiet").returncode == 0
    result = run_cli("ask", "Why was the summit cancelled?", "--json", "--data-dir", str(data),
                     "--rerank", f"cross-encoder:{cross_encoder_dir}")
    assert result.returncode == 0, result.stderr
    assert "Lavrov" in result.stdout
    refused = run_cli("ask", "Why was the summit cancelled?", "--data-dir", str(data), "--rerank", "bogus")
    assert refused.returncode == 2 and "unknown reranker 'bogus'" in refused.stderr


@pytest.mark.parametrize("spec, message", [
    ("bogus", "unknown reranker 'bogus'"),
    ("cross-encoder:/no/such/dir", "is not a directory"),
    ("nosuchpackage.module:Thing", "cannot load the reranker class"),
    ("rag.rerank:make_reranker", "is not a subclass of rag.rerank.Reranker"),
    ("cross-encoder:", "needs the model folder"),
])
def test_bad_rerank_specs_say_the_fix(index, spec, message):
    with pytest.raises(ConfigError, match=message):
        make_reranker(spec, index)


def test_a_folder_that_is_not_a_cross_encoder_says_so(index, tmp_path):
    with pytest.raises(ConfigError, match="cannot load a cross-encoder"):
        make_reranker(f"cross-encoder:{tmp_path}", index)
