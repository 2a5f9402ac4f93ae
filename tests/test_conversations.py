"""Saved conversations (SQLite in the data dir) and their exports, with real answers from the
seed index: round trips, owners kept apart, search, a reopened store, concurrent turns."""
from __future__ import annotations

import dataclasses
import json
import threading

import pytest

from conftest import SEEDS
from rag.conversations import ConversationStore, SavedTurn
from rag.export import answer_markdown, conversation_json, conversation_markdown, turns_from_json
from rag.models import Answer

QUESTION = "Why was the summit cancelled?"


@pytest.fixture(scope="module")
def answers(tmp_path_factory, embedder):
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    data = tmp_path_factory.mktemp("conv") / "data"
    bot = Assistant(Settings(data_dir=data), index=Index(IndexConfig(data_dir=data), embedder=embedder))
    bot.ingest([SEEDS])
    found = {"cited": bot.ask(QUESTION), "abstained": bot.ask("What is the price of bananas in Peru?")}
    bot.close()
    assert not found["cited"].abstained and found["cited"].citations
    assert found["abstained"].abstained and found["abstained"].closest
    return found


@pytest.fixture
def store(tmp_path):
    s = ConversationStore(tmp_path / "conversations.sqlite")
    yield s
    s.close()


def test_a_turn_round_trips_with_its_citations_and_a_reopened_store_has_it(store, answers, tmp_path):
    conv = store.create("browser:a")
    assert conv.title is None and conv.turns == 0
    turn = SavedTurn(QUESTION, {"since": "2025-01-01"}, answers["cited"], backend="extractive")
    updated = store.add_turn("browser:a", conv.id, turn)
    assert updated.title == QUESTION and updated.turns == 1
    store.close()
    reopened = ConversationStore(tmp_path / "conversations.sqlite")  # a server restart
    got, turns = reopened.get("browser:a", conv.id)
    assert got == updated and turns[0].answer == answers["cited"] and turns[0].filters == {"since": "2025-01-01"}
    assert turns[0].answer.citations == answers["cited"].citations and turns[0].answer.text == answers["cited"].text
    assert turns[0].backend == "extractive"
    reopened.close()


def test_owners_are_kept_apart(store, answers):
    mine = store.create("browser:a")
    store.add_turn("browser:a", mine.id, SavedTurn(QUESTION, answer=answers["cited"]))
    assert store.get("browser:b", mine.id) is None and store.rename("browser:b", mine.id, "x") is None
    assert store.delete("browser:b", mine.id) is False
    assert store.add_turn("browser:b", mine.id, SavedTurn("sneak")) is None
    assert store.list("browser:b") == [] and store.list("browser:b", "summit") == []
    assert [c.id for c in store.list("browser:a")] == [mine.id]
    assert store.get("browser:a", mine.id)[1][0].question == QUESTION


def test_titles_search_and_delete(store, answers):
    first = store.create("u")
    store.add_turn("u", first.id, SavedTurn("Où est l'ÉTÉ du festival ? " + "long " * 30, answer=answers["cited"]))
    second = store.create("u")
    store.add_turn("u", second.id, SavedTurn("100%_sure about bananas?", answer=answers["abstained"]))
    title = store.list("u", "été")[0].title
    assert title.endswith("…") and len(title) <= 60  # named after the question, cut at a word
    assert [c.id for c in store.list("u", "lavrov")] == [first.id]  # the answer's text is searched too
    assert [c.id for c in store.list("u", "100%_")] == [second.id] and store.list("u", "100%x") == []
    assert [c.id for c in store.list("u")] == [second.id, first.id]  # most recent first
    assert store.rename("u", first.id, "  Budapest   summit ").title == "Budapest summit"
    for bad, message in [("   ", "empty; give the conversation a name"), ("x" * 121, "over the 120 limit; shorten it"),
                         (None, "must be text, not NoneType")]:
        with pytest.raises(ValueError, match=message):
            store.rename("u", first.id, bad)
    with pytest.raises(ValueError, match="owner is empty; pass the browser id"):
        store.list(" ")
    assert store.delete("u", first.id) and store.get("u", first.id) is None
    assert store.db.execute("SELECT COUNT(*) FROM turns WHERE conversation_id=?", (first.id,)).fetchone()[0] == 0


def test_turns_added_from_threads_keep_their_order_numbers(store):
    conv = store.create("u")
    added = []  # a failed add_turn inside a thread would only show up as a missing result
    threads = [threading.Thread(target=lambda k=k: added.append(store.add_turn("u", conv.id, SavedTurn(f"q{k}", error="x"))))
               for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(added) == 12 and None not in added and sorted(c.turns for c in added) == list(range(1, 13))
    got, turns = store.get("u", conv.id)
    assert got.turns == 12 and sorted(t.question for t in turns) == sorted(f"q{k}" for k in range(12))
    idx = [i for (i,) in store.db.execute("SELECT idx FROM turns WHERE conversation_id=? ORDER BY idx", (conv.id,))]
    assert idx == list(range(12))


def test_an_answer_saved_without_the_newer_fields_still_loads(store, answers):
    citation = {k: v for k, v in answers["cited"].citations[0].to_dict().items() if k != "weak"}
    old = {"text": "A [1].", "abstained": False, "citations": [citation]}
    loaded = Answer.from_dict(old)
    assert loaded.citations[0] == dataclasses.replace(answers["cited"].citations[0], weak=False)
    assert loaded.warnings == () and loaded.closest == () and not loaded.degraded and loaded.question == ""
    hit = {k: v for k, v in answers["abstained"].closest[0].to_dict().items() if k not in ("dense_rank", "bm25_rank")}
    assert Answer.from_dict({"text": "No.", "abstained": True, "closest": [hit]}).closest[0].title == hit["title"]
    # and through the store: a row written by an older version
    conv = store.create("u")
    store.add_turn("u", conv.id, SavedTurn("old?", answer=answers["cited"]))
    store.db.execute("UPDATE turns SET answer=? WHERE conversation_id=?", (json.dumps(old), conv.id))
    assert store.get("u", conv.id)[1][0].answer == loaded


def _quoted(md: str, c) -> str:
    """The blockquote under citation `c`'s line, its "> " prefixes taken off."""
    after = md.split(f"[{c.n}] {c.title}", 1)[1].split("\n", 1)[1]
    block = after.split("\n\n", 1)[0].split("\n")
    assert all(line == ">" or line.startswith("> ") for line in block), block
    return "\n".join(line[2:] for line in block)


def test_answer_markdown_quotes_every_source_exactly(answers):
    cited = answers["cited"]
    md = answer_markdown(QUESTION, cited)
    assert md.startswith(f"**Q:** {QUESTION}\n\n{cited.text}\n\nSources:")
    for c in cited.citations:
        assert f"[{c.n}]" in cited.text and _quoted(md, c) == c.quote
        assert f"[{c.n}] {c.title} — {f'{c.source}, ' if c.source else ''}{c.date or 'undated'}" in md
        assert f"\n\n({c.article}, characters {c.start}–{c.end})" in md

    first = cited.citations[0]
    lines = dataclasses.replace(first, quote="One line.\nAnother line.\n\nA third.", date=None, source=None,
                                url="https://example.org/a")
    md = answer_markdown("", dataclasses.replace(cited, citations=(lines,)))
    assert f"[{first.n}] {first.title} — undated — https://example.org/a\n" in md
    assert "> One line.\n> Another line.\n>\n> A third.\n\n(" in md and _quoted(md, lines) == lines.quote


def test_an_abstention_says_so_lists_the_closest_and_keeps_its_notes(answers):
    nothing = answers["abstained"]
    md = answer_markdown("bananas?", nothing)
    assert "don't say" in md and "Closest articles:" in md and "Sources" not in md
    for h in nothing.closest:
        assert f"- {h.title} ({h.date or 'undated'}) — {h.article_id}" in md
    note = "The vector store failed, so this answer comes from keyword search (BM25) alone: down"
    warned = dataclasses.replace(nothing, text=f"{nothing.text}\n\nNote: {note}", warnings=(note,))
    assert f"Note: {note}" in answer_markdown("bananas?", warned)


def test_conversation_markdown_and_json_exports(store, answers):
    cited = answers["cited"]
    conv = store.create("u", title="Summit")
    store.add_turn("u", conv.id, SavedTurn(QUESTION, {"source": ["AP", "AFP"]}, cited, backend="extractive"))
    store.add_turn("u", conv.id, SavedTurn("broken?\nreally?", error="the vector store failed"))
    conv, turns = store.get("u", conv.id)
    text = conversation_markdown(conv, turns)
    assert text.startswith(f"# Summit\n\nStarted {conv.created[:10]}") and "2 questions" in text
    assert f"## Q: {QUESTION}\n_Filters: source AP, AFP_" in text and "## Q: broken? really?\n" in text
    assert answer_markdown("", cited).rstrip() in text and "Error: the vector store failed" in text
    assert "_Answered by extractive" in text
    exported = conversation_json(conv, turns)
    data = json.loads(exported)
    assert {k: data[k] for k in ("id", "title", "created", "updated")} == {
        "id": conv.id, "title": "Summit", "created": conv.created, "updated": conv.updated}
    assert data["turns"][0]["answer"]["citations"][0]["quote"] == cited.citations[0].quote
    assert turns_from_json(exported) == turns and turns_from_json(exported)[0].answer.citations == cited.citations
