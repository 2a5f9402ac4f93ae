"""The corpus view's operations through the public API, on real Chroma, BM25 and the bundled
embedder: browse, set a date and source, delete (no orphan anywhere), re-index, prune, batch defaults."""
from __future__ import annotations

import shutil

import pytest

from conftest import SEED_ID, SEEDS
from rag.errors import ConfigError

CANAL = "Zorblat canal reopens\n\nThe Zorblat canal is {depth} metres deep after dredging, the port said.\n"
TOWER = "Quenmar tower opens\n\nThe Quenmar tower in Dalsby is 212 metres tall, its builders said.\n"


@pytest.fixture
def bot(tmp_path, make_index):
    from rag.api import Assistant
    from rag.settings import Settings

    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "canal.txt").write_text(CANAL.format(depth=14))
    (corpus / "tower.txt").write_text(TOWER)
    assistant = Assistant(Settings(data_dir=tmp_path / "data"), index=make_index(data_dir=tmp_path / "data"))
    assert assistant.ingest([corpus]).added == 3
    assistant.corpus = corpus
    yield assistant
    assistant.close()


def stored_chunks(bot, article_id: str) -> tuple[set, set, bool]:
    """The article's chunk ids in Chroma and in the registry, and whether BM25 still holds any."""
    lexical = bot.index.lexical()
    return (bot.index.store.ids_for_articles([article_id])[article_id],
            bot.index.registry.chunk_ids([article_id])[article_id],
            any(i.startswith(f"{article_id}::") for i in lexical.ids))


def test_browse_searches_sorts_and_pages(bot):
    rows, total = bot.browse()
    assert total == 3 and [r.id for r in rows][0] == SEED_ID and rows[-1].date is None  # undated last
    assert bot.browse(descending=False)[0][0].id == SEED_ID  # undated last in both directions
    rows, total = bot.browse("ZORBLAT")
    assert total == 1 and rows[0].title == "Zorblat canal reopens" and rows[0].chunks == 1
    assert rows[0].origin == str(bot.corpus / "canal.txt")
    assert [r.id for r in bot.browse(sort="title", descending=False)[0]] == ["tower.txt", SEED_ID, "canal.txt"]
    page, total = bot.browse(sort="title", descending=False, offset=1, limit=1)
    assert total == 3 and [r.id for r in page] == [SEED_ID]
    assert bot.browse("100%_")[1] == 0  # "%" and "_" are matched as themselves
    with pytest.raises(ConfigError, match="sort 'size' is not one of"):
        bot.browse(sort="size")


def test_a_date_set_by_hand_is_filtered_on_and_survives_a_reingest(bot):
    assert bot.ask("How deep is the Zorblat canal?").citations[0].date is None
    article = bot.set_metadata("canal.txt", date="2024-03-05", source="Canal Weekly")
    assert (article.date, article.source) == ("2024-03-05", "Canal Weekly")
    inside = bot.ask("How deep is the Zorblat canal?", since="2024-03-01", until="2024-03-31")
    assert not inside.abstained and (inside.citations[0].date, inside.citations[0].source) == ("2024-03-05",
                                                                                               "Canal Weekly")
    assert bot.ask("How deep is the Zorblat canal?", since="2024-04-01").abstained
    assert bot.ask("How deep is the Zorblat canal?", source="Canal Weekly").citations
    assert "Canal Weekly" in bot.status().sources and bot.status().undated == 1
    chroma, registry, _ = stored_chunks(bot, "canal.txt")
    assert chroma == registry and len(chroma) == 1  # the old chunk ids are gone from Chroma

    report = bot.ingest([bot.corpus])  # the same file: nothing to do, the edit stays
    assert (report.added, report.updated) == (0, 0) and bot.article("canal.txt").date == "2024-03-05"
    (bot.corpus / "canal.txt").write_text(CANAL.format(depth=15))
    report = bot.reindex()  # the changed file is read again; the date set by hand wins over none
    assert report.updated == 1 and "15 metres" in bot.article("canal.txt").text
    assert (bot.article("canal.txt").date, bot.article("canal.txt").source) == ("2024-03-05", "Canal Weekly")

    assert bot.set_metadata("canal.txt", date="", source=None).date is None  # cleared: undated again
    for bad, message in [("2024-02-30", "not a calendar date"), ("5 March", "YYYY-MM-DD"),
                         ("2024-3-5", "YYYY-MM-DD")]:
        with pytest.raises(ConfigError, match=message):
            bot.set_metadata("canal.txt", date=bad, source=None)
    with pytest.raises(ConfigError, match="over the 200 limit"):
        bot.set_metadata("canal.txt", date=None, source="x" * 201)
    with pytest.raises(ConfigError, match="no article 'nope.txt'"):
        bot.set_metadata("nope.txt", date=None, source=None)


def test_delete_leaves_no_orphan_and_the_same_file_does_not_bring_it_back(bot):
    assert "212" in bot.ask("How tall is the Quenmar tower?").text
    assert all(stored_chunks(bot, "tower.txt")[:2])
    assert bot.delete("tower.txt") is True
    assert stored_chunks(bot, "tower.txt") == (set(), set(), False)
    answer = bot.ask("How tall is the Quenmar tower?")
    assert all(c.article != "tower.txt" for c in answer.citations) and "212" not in answer.text
    assert bot.delete("tower.txt") is False and bot.browse("Quenmar")[1] == 0
    report = bot.ingest([bot.corpus])
    assert report.added == 0 and any("deleted from the index by hand" in w for w in report.warnings)
    (bot.corpus / "tower.txt").write_text(TOWER.replace("212", "215"))  # new text: it is an article again
    assert bot.ingest([bot.corpus]).added == 1


def test_deleting_an_upload_removes_its_stored_file(bot, tmp_path):
    uploads = bot.settings.data_dir / "uploads"
    uploads.mkdir()
    (uploads / "ferry.txt").write_text("Lomvik ferry strike\n\nFerry crews in Lomvik walked out over pay.\n")
    assert bot.ingest([uploads / "ferry.txt"], namespace="upload", date="2025-12-02", source="Harbour Post").added == 1
    assert (bot.article("upload:ferry.txt").date, bot.article("upload:ferry.txt").source) == ("2025-12-02",
                                                                                              "Harbour Post")
    assert bot.delete("upload:ferry.txt") and not (uploads / "ferry.txt").exists()


def test_batch_defaults_fill_only_what_a_file_lacks(bot, tmp_path):
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "a.txt").write_text("Harbour news\n\nThe Ostrel harbour reopened after the storm.\n")
    (batch / "b.md").write_text("---\ntitle: Dated\ndate: 2025-01-09\nsource: Own Source\n---\nThe Dalsby mill closed.\n")
    bot.ingest([batch], date="2025-02-01", source="Batch Wire")
    assert (bot.article("a.txt").date, bot.article("a.txt").source) == ("2025-02-01", "Batch Wire")
    assert (bot.article("b.md").date, bot.article("b.md").source) == ("2025-01-09", "Own Source")
    with pytest.raises(ConfigError, match="not a calendar date"):
        bot.ingest([batch], date="2025-13-01")


def test_prune_removes_only_articles_whose_file_is_gone(bot):
    (bot.corpus / "canal.txt").unlink()
    report = bot.prune()
    assert report.removed == 1 and bot.article("canal.txt") is None and bot.article("tower.txt")
    assert stored_chunks(bot, "canal.txt") == (set(), set(), False)
    assert bot.prune().removed == 0
