"""Incremental ingest against real Chroma and the real model: re-ingest, updates, prune,
duplicates, the manifest check, chunk offsets as stored."""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import SEED_ID, bbc_files, run_cli
from index import IndexMismatchError
from index.embedder import Embedder


class CountingEmbedder(Embedder):
    """The real model, counting what it is asked to embed."""

    def __init__(self, inner):
        super().__init__(inner.model_path)
        self.inner, self.precision, self.embedded = inner, inner.precision, 0

    def embed_batch(self, texts):
        self.embedded += len(texts)
        return self.inner.embed_batch(texts)


def stored_ids(index) -> set[str]:
    return set(index.store.collection.get(include=[])["ids"])


def registry_ids(index) -> set[str]:
    return {r[0] for r in index.registry.db.execute("SELECT id FROM chunks")}


def test_seed_ingest_and_status(make_index, corpus):
    index = make_index()
    report = index.ingest([corpus])
    assert (report.added, report.failed) == (1, 0)
    status = index.status()
    assert status.articles == 1 and status.date_range == ("2025-10-21", "2025-10-21")
    assert status.chunks == status.stored_chunks == report.chunks_written > 1
    article = index.registry.article(SEED_ID)
    assert article.text.startswith("The summit in Budapest")
    got = index.store.collection.get(include=["documents", "metadatas"])
    for doc, meta in zip(got["documents"], got["metadatas"]):
        assert article.text[meta["start"]:meta["end"]] == doc  # offsets point at the exact passage
        assert meta["date"] == "2025-10-21" and meta["date_num"] == 20251021
    assert registry_ids(index) == stored_ids(index)


def test_reingest_unchanged_embeds_nothing(data_dir, embedder, corpus):
    from index import Index, IndexConfig

    counting = CountingEmbedder(embedder)
    index = Index(IndexConfig(data_dir=data_dir), embedder=counting)
    for f in bbc_files(20):
        shutil.copy(f, corpus / f"{f.parent.name}-{f.name}")
    first = index.ingest([corpus])
    assert first.added == 21 and counting.embedded == first.chunks_written
    counting.embedded = 0
    again = index.ingest([corpus])
    assert (again.added, again.updated, again.unchanged, again.chunks_written) == (0, 0, 21, 0)
    assert counting.embedded == 0
    # a touched file with identical bytes is still unchanged
    (corpus / SEED_ID).write_bytes((corpus / SEED_ID).read_bytes())
    assert index.ingest([corpus]).unchanged == 21 and counting.embedded == 0
    index.close()


def test_changed_article_replaces_its_chunks(make_index, corpus):
    index = make_index()
    index.ingest([corpus])
    before = stored_ids(index)
    seed = corpus / SEED_ID
    seed.write_text(seed.read_text().replace("Budapest", "Vienna"))
    report = index.ingest([corpus])
    assert (report.updated, report.added) == (1, 0)
    after = stored_ids(index)
    assert after.isdisjoint(before)  # the old version's chunks are gone
    assert after == registry_ids(index)
    docs = index.store.collection.get(include=["documents"])["documents"]
    assert any("Vienna" in d for d in docs) and not any("Budapest" in d for d in docs)


def test_metadata_change_is_an_update(make_index, tmp_path):
    folder = tmp_path / "md"
    folder.mkdir()
    page = folder / "a.md"
    page.write_text("---\ntitle: Old title\ndate: 2024-01-02\n---\nThe council met on Monday. It agreed a budget.\n")
    index = make_index()
    index.ingest([folder])
    page.write_text(page.read_text().replace("Old title", "New title"))
    assert index.ingest([folder]).updated == 1
    metas = index.store.collection.get(include=["metadatas"])["metadatas"]
    assert {m["title"] for m in metas} == {"New title"}


def test_prune_removes_only_vanished_articles(make_index, corpus):
    for f in bbc_files(3):
        shutil.copy(f, corpus / f"{f.parent.name}-{f.name}")
    index = make_index()
    index.ingest([corpus])
    gone = sorted(corpus.glob("*-*.txt"))[0]
    gone.unlink()
    kept = index.ingest([corpus])  # without --prune nothing is removed
    assert kept.removed == 0 and index.status().articles == 4
    pruned = index.ingest([corpus], prune=True)
    assert pruned.removed == 1 and pruned.unchanged == 3
    assert index.registry.article(gone.name) is None
    assert registry_ids(index) == stored_ids(index)
    assert not any(m["article_id"] == gone.name
                   for m in index.store.collection.get(include=["metadatas"])["metadatas"])


def test_prune_drops_records_gone_from_a_jsonl_file(make_index, tmp_path):
    folder = tmp_path / "feed"
    folder.mkdir()
    rows = [{"id": f"r{i}", "title": f"Story {i}", "date": "2024-05-0%d" % (i + 1),
             "text": f"Story number {i} is about the harbour. Officials said work starts soon."} for i in range(3)]
    feed = folder / "feed.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in rows))
    index = make_index()
    assert index.ingest([folder]).added == 3
    feed.write_text("\n".join(json.dumps(r) for r in rows[:2]))
    report = index.ingest([folder], prune=True)
    assert (report.removed, report.unchanged) == (1, 2)
    assert index.registry.article("r2") is None


def test_same_text_under_two_paths_is_stored_once(make_index, corpus):
    shutil.copy(corpus / SEED_ID, corpus / "copy-of-seed.txt")
    index = make_index()
    report = index.ingest([corpus])
    assert (report.added, report.duplicate) == (1, 1)
    assert report.duplicates == [("copy-of-seed.txt", SEED_ID)] or report.duplicates == [(SEED_ID, "copy-of-seed.txt")]
    assert index.status().articles == 1
    assert len({m["article_id"] for m in index.store.collection.get(include=["metadatas"])["metadatas"]}) == 1
    again = index.ingest([corpus])
    assert (again.unchanged, again.duplicate, again.chunks_written) == (2, 0, 0)


def test_report_says_what_each_file_came_to(make_index, corpus, tmp_path):
    shutil.copy(corpus / SEED_ID, corpus / "copy-of-seed.txt")
    (corpus / "two.jsonl").write_text('{"id": "a", "title": "Dam opens", "text": "The new dam opened on Monday '
                                      'after six years of work."}\n{oops\n')
    (corpus / "empty.md").write_text("")
    calls = []
    index = make_index()
    report = index.ingest([corpus, tmp_path / "missing"], on_file=lambda *args: calls.append(args))
    files = {f.path.rsplit("/", 1)[-1]: f for f in report.files}
    assert set(files) == {SEED_ID, "copy-of-seed.txt", "two.jsonl", "empty.md", "missing"}
    assert {files[SEED_ID].result, files["copy-of-seed.txt"].result} == {"added", "duplicate"}
    assert files["two.jsonl"].result == "added 1, 1 failed" and "invalid JSON" in files["two.jsonl"].problems[0]
    assert files["empty.md"].result == "failed" and files["missing"].result == "failed"
    assert "no such file" in files["missing"].problems[0]
    assert sum(f.chunks for f in report.files) == report.chunks_written > 0
    assert [c[:2] for c in calls] == [(i, 4) for i in range(1, 5)]  # the 4 readable files, in order
    again = {f.path.rsplit("/", 1)[-1]: f.result for f in index.ingest([corpus]).files}
    assert again[SEED_ID] == again["copy-of-seed.txt"] == "unchanged"


def test_pruning_the_original_promotes_its_duplicate(make_index, corpus):
    shutil.copy(corpus / SEED_ID, corpus / "zz-copy.txt")
    index = make_index()
    index.ingest([corpus])
    (corpus / SEED_ID).unlink()
    index.ingest([corpus], prune=True)
    assert index.registry.article("zz-copy.txt") is not None  # stored in the original's place at once
    assert index.ingest([corpus]).unchanged == 1
    assert registry_ids(index) == stored_ids(index) and stored_ids(index)


class OtherEmbedder(Embedder):
    model_id = "someone/else"

    @property
    def dim(self):
        return 8

    def embed_batch(self, texts):
        raise AssertionError("must be refused before embedding anything")


def test_other_embedder_is_refused_with_rebuild_hint(make_index, data_dir, corpus):
    from index import Index, IndexConfig

    make_index().ingest([corpus])
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        Index(IndexConfig(data_dir=data_dir), embedder=OtherEmbedder())
    with pytest.raises(IndexMismatchError, match="chunking"):
        make_index(chunking=__import__("index").ChunkSettings(100, 20))


def test_an_index_keeps_its_embedder_and_a_new_one_gets_the_default(tmp_path, corpus):
    from index import Index, IndexConfig
    from index.embedder import DEFAULT_BACKEND

    built = Index(IndexConfig(data_dir=tmp_path / "old", embedder="sentence-transformers"))
    built.ingest([corpus])
    built.close()
    reopened = Index(IndexConfig(data_dir=tmp_path / "old"))  # no embedder asked for: the manifest's
    assert reopened.embedder.precision == "fp32" and reopened.ingest([corpus]).unchanged == 1
    reopened.close()
    fresh = Index(IndexConfig(data_dir=tmp_path / "new", cache_dir=tmp_path / "models"))
    assert DEFAULT_BACKEND == "onnx-int8" and fresh.embedder.precision == "int8-matmul"
    fresh.close()


def test_cli_mismatch_and_rebuild(data_dir, corpus):
    first = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["added"] == 1
    refused = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--chunk-size", "120")
    assert refused.returncode == 2
    assert "newsrag: error:" in refused.stderr and "--rebuild" in refused.stderr
    rebuilt = run_cli("ingest", str(corpus), "--data-dir", str(data_dir), "--chunk-size", "120",
                      "--chunk-overlap", "20", "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["added"] == 1
    status = json.loads(run_cli("status", "--data-dir", str(data_dir), "--json").stdout)
    assert status["chunking"] == {"size": 120, "overlap": 20} and status["articles"] == 1
    assert status["chunks"] == status["stored_chunks"]
