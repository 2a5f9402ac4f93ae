"""Saved conversations (SQLite in the data dir) and their exports, with real answers from the
seed index: round trips, owners kept apart, search, a reopened store, concurrent turns."""
from __future__ import annotations

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
    assert got.title == QUESTION and turns[0].answer == answers["cited"] and turns[0].filters == {"since": "2025-01-01"}
    assert turns[0].backend == "extractive"
    reopened.close()


def test_owners_are_kept_apart(store, answers):
    mine = store.create("browser:a")
    store.add_turn("browser:a", mine.id, SavedTurn(QUESTION, answer=answers["cited"]))
    assert store.get("browser:b", mine.id) is None and store.rename("browser:b", mine.id, "x") is None
    assert store.delete("browser:b", mine.id) is False
    assert store.add_turn("browser:b", mine.id, SavedTurn("sneak")) is None
    assert store.list("browser:b") == [] and [c.id for c in store.list("browser:a")] == [mine.id]
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
    for bad, message in [("   ", "empty"), ("x" * 121, "over the 120 limit")]:
        with pytest.raises(ValueError, match=message):
            store.rename("u", first.id, bad)
    assert store.delete("u", first.id) and store.get("u", first.id) is None
    assert store.db.execute("SELECT COUNT(*) FROM turns WHERE conversation_id=?", (first.id,)).fetchone()[0] == 0


def test_turns_added_from_threads_keep_their_order_numbers(store):
    conv = store.create("u")
    threads = [threading.Thread(target=store.add_turn, args=("u", conv.id, SavedTurn(f"q{k}", error="x")))
               for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got, turns = store.get("u", conv.id)
    assert got.turns == 12 and sorted(t.question for t in turns) == sorted(f"q{k}" for k in range(12))


def test_an_answer_saved_without_the_newer_fields_still_loads(answers):
    old = {"text": "A [1].", "abstained": False, "citations": [answers["cited"].citations[0].to_dict()]}
    loaded = Answer.from_dict(old)
    assert loaded.citations == answers["cited"].citations[:1] and loaded.warnings == () and loaded.closest == ()


def test_markdown_and_json_exports(store, answers):
    cited = answers["cited"]
    md = answer_markdown(QUESTION, cited)
    assert md.startswith(f"**Q:** {QUESTION}") and cited.text in md
    for c in cited.citations:
        assert f"[{c.n}] {c.title}" in md and c.date in md and f"> {c.quote.splitlines()[0]}" in md
        assert f"{c.article}, characters {c.start}–{c.end}" in md
    nothing = answer_markdown("bananas?", answers["abstained"])
    assert "don't say" in nothing and "Closest articles:" in nothing

    conv = store.create("u", title="Summit")
    store.add_turn("u", conv.id, SavedTurn(QUESTION, {"source": ["AP", "AFP"]}, cited, backend="extractive"))
    store.add_turn("u", conv.id, SavedTurn("broken?", error="the vector store failed"))
    conv, turns = store.get("u", conv.id)
    text = conversation_markdown(conv, turns)
    assert text.startswith("# Summit") and f"## Q: {QUESTION}" in text and "_Filters: source AP, AFP_" in text
    assert cited.citations[0].quote.splitlines()[0] in text and "Error: the vector store failed" in text
    exported = conversation_json(conv, turns)
    assert json.loads(exported)["title"] == "Summit" and turns_from_json(exported) == turns
