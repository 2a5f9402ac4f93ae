"""Syndicated copies of one wire story, on real Chroma, BM25 and the bundled embedder: folded into
the article stored first, cited once with "also reported by"; a copy added later folds too;
removing the original lets the oldest copy take its place; a different story on the topic stays."""
from __future__ import annotations

import json

import pytest

from rag.cli import render
from rag.export import answer_markdown

STORY = [
    "Dock workers at the port of Velmora walked out on Monday after talks over a new pay deal broke "
    "down late on Sunday night, the Harbour Workers Union said.",
    "The union said 1,400 members had joined the strike, which halted the loading of container ships "
    "at all four terminals and left more than thirty vessels waiting at anchor outside the harbour.",
    "Port managers had offered a rise of 3.5 percent over two years, while the union wanted 6 percent "
    "and a cap on night shifts for older crane drivers.",
    "The regional transport minister, Odile Brandt, called on both sides to return to the table and "
    "warned that a long stoppage would hurt exporters of grain and timber across the region.",
    "Shipping firms began diverting cargo to the smaller port of Ostrava Bay, about 80 kilometres to "
    "the north, where dock capacity is limited.",
    "The union said the strike would last until a better offer was made, and that pickets would stay "
    "at the terminal gates around the clock.",
]
QUESTION = "How many union members joined the strike at the port of Velmora?"


def article(id, title, paras, source, date):
    return {"id": id, "title": title, "text": "\n\n".join(paras), "source": source, "date": date}


def original():
    return article("wire-1", "Velmora dock workers strike over pay", STORY, "Baltic Wire", "2025-10-06")


def copies():
    reworded = [p.replace("walked out", "went on strike").replace("said", "stated") for p in STORY]
    return [
        # re-headlined and trimmed by a paper
        article("paper-1", "Port of Velmora at a standstill", STORY[:5], "Velmora Courier", "2025-10-07"),
        # paragraphs shuffled and lightly reworded by a broadcaster
        article("radio-1", "Strike shuts Velmora docks", [reworded[i] for i in (0, 2, 1, 3, 5, 4)],
                "Radio North", "2025-10-06"),
    ]


OTHER = article("wire-2", "Velmora grain exporters count the cost", [
    "Grain exporters in Velmora said on Thursday that the dock strike had already cost them several "
    "million euros in missed shipments and storage fees at inland silos.",
    "The exporters' association asked the government to appoint a mediator and said some buyers in "
    "Egypt and Morocco had cancelled orders for the autumn wheat harvest.",
    "Farmers near the port said their silos were full and that trucks were queuing for days to unload, "
    "while rail operators cut freight services to the coast.",
], "Farm Daily", "2025-10-09")


def write(folder, name, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(records))


@pytest.fixture
def bot(tmp_path, make_index):
    from rag.api import Assistant
    from rag.settings import Settings

    data = tmp_path / "data"
    assistant = Assistant(Settings(data_dir=data), index=make_index(data_dir=data))
    yield assistant
    assistant.close()


def cited_articles(answer):
    return [c.article for c in answer.citations]


def test_copies_are_cited_once_with_also_reported_by(bot, tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "1-wire.json", [original(), OTHER])  # files are read in name order: the wire's first
    write(corpus, "2-papers.json", copies())
    report = bot.ingest([corpus])
    assert report.added == 2 and report.duplicate == 2
    assert sorted((c, o) for c, o, _ in report.copies) == [("paper-1", "wire-1"), ("radio-1", "wire-1")]
    assert all(bot.settings.near_duplicate <= sim <= 1 for *_, sim in report.copies)
    assert bot.status().articles == 2  # the copies hold no chunks of their own

    hits = bot.search(QUESTION, k=10)
    assert {h.article_id for h in hits} == {"wire-1", "wire-2"}  # five copies cannot fill the top hits
    answer = bot.ask(QUESTION)
    assert not answer.abstained and "1,400" in answer.text
    assert cited_articles(answer) == ["wire-1"]
    cite = answer.citations[0]
    # oldest first: the broadcaster's copy is dated the same day as the wire, the paper's a day later
    assert [(c.article, c.source, c.date) for c in cite.also] == [
        ("radio-1", "Radio North", "2025-10-06"), ("paper-1", "Velmora Courier", "2025-10-07")]
    line = "Also reported by 2 sources: Radio North (2025-10-06), Velmora Courier (2025-10-07)."
    assert cite.also_reported() == line
    assert line in render(answer) and line in answer_markdown(QUESTION, answer)
    assert cite.to_dict()["also_reported_by"][1]["title"] == "Port of Velmora at a standstill"
    assert type(cite).from_dict(cite.to_dict()) == cite


def test_a_copy_added_later_folds_and_a_different_story_does_not(bot, tmp_path):
    write(tmp_path / "first", "wire.json", [original(), OTHER])
    assert bot.ingest([tmp_path / "first"]).added == 2
    assert bot.ask(QUESTION).citations[0].also == ()

    write(tmp_path / "later", "paper.json", copies()[:1])
    report = bot.ingest([tmp_path / "later"])
    assert report.added == 0 and [c[:2] for c in report.copies] == [("paper-1", "wire-1")]
    assert [c.article for c in bot.ask(QUESTION).citations[0].also] == ["paper-1"]
    # read again, unchanged: nothing is written; edited, it is judged again
    assert bot.ingest([tmp_path / "later"]).unchanged == 1
    edited = dict(copies()[0], title="Velmora port still shut")
    write(tmp_path / "later", "paper.json", [edited])
    again = bot.ingest([tmp_path / "later"])
    assert again.added == 0 and [c[:2] for c in again.copies] == [("paper-1", "wire-1")]
    assert bot.ask(QUESTION).citations[0].also[0].title == "Velmora port still shut"


def test_an_update_that_adds_a_sentence_is_stored_apart(bot, tmp_path):
    write(tmp_path / "first", "wire.json", [original()])
    bot.ingest([tmp_path / "first"])
    update = article("wire-1b", "Velmora dockers reject mediator's plan", STORY + [
        "Late on Tuesday the mediator's compromise was rejected by the strikers, who accused the "
        "harbour authority of hiring replacement crews from abroad."], "Baltic Wire", "2025-10-08")
    write(tmp_path / "later", "update.json", [update])
    report = bot.ingest([tmp_path / "later"])
    assert (report.added, report.copies) == (1, [])  # its new fact stays searchable
    answer = bot.ask("Who rejected the mediator's compromise at Velmora?")
    assert "wire-1b" in cited_articles(answer)


def test_an_index_from_before_signatures_gets_them(bot, tmp_path):
    write(tmp_path / "first", "wire.json", [original()])
    bot.ingest([tmp_path / "first"])
    with bot.index.registry.transaction():
        bot.index.registry.db.execute("DELETE FROM signatures")
    write(tmp_path / "later", "paper.json", copies()[:1])
    assert [c[:2] for c in bot.ingest([tmp_path / "later"]).copies] == [("paper-1", "wire-1")]


def test_removing_the_original_promotes_the_oldest_copy(bot, tmp_path):
    corpus = tmp_path / "corpus"
    write(corpus, "1-wire.json", [original()])
    write(corpus, "2-papers.json", copies())
    bot.ingest([corpus])
    assert bot.delete("wire-1")

    answer = bot.ask(QUESTION)
    assert cited_articles(answer) == ["radio-1"] and "1,400" in answer.text
    assert [c.article for c in answer.citations[0].also] == ["paper-1"]
    assert [a.id for a in bot.articles()] == ["radio-1"]
    # nothing of the removed original is left in Chroma, the registry or BM25
    assert bot.index.store.ids_for_articles(["wire-1"])["wire-1"] == set()
    assert not any(i.startswith("wire-1::") for i in bot.index.lexical().ids)
    assert bot.index.registry.copies_of("wire-1") == []
    # read again: the promoted copy and the folded one are unchanged, the deleted original stays out
    report = bot.ingest([corpus])
    assert (report.added, report.unchanged) == (0, 2)
    assert cited_articles(bot.ask(QUESTION)) == ["radio-1"]


def test_removing_a_file_of_originals_by_prune_promotes_its_copies(bot, tmp_path):
    write(tmp_path / "wire", "wire.json", [original()])
    write(tmp_path / "papers", "papers.json", copies())
    bot.ingest([tmp_path / "wire", tmp_path / "papers"])
    (tmp_path / "wire" / "wire.json").unlink()
    report = bot.ingest([tmp_path / "wire", tmp_path / "papers"], prune=True)
    assert report.removed == 1
    assert cited_articles(bot.ask(QUESTION)) == ["radio-1"]
