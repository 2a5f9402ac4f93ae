"""Poison input (issue 9): the hostile corpus in tests/hostile/ is ingested in one run; every bad
file gets one line naming it and the problem, every good file is answerable, the exit code is 1,
and no input takes super-linear time, grows a chunk past its size or takes another article's id."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from conftest import ROOT, SEED_ID, SEEDS, run_cli

HOSTILE = ROOT / "tests" / "hostile"

# file -> words of its one problem line (not stored) ...
PROBLEMS = {
    "alias_bomb.md": "YAML alias",
    "id_clash.json": "already used earlier in this ingest by another record of this file",
    "deep_line.jsonl": "nested too deeply",
    "takeover.json": f"article id '{SEED_ID}' is already used",
    "only_dots.txt": "no words",
    "flat_page.html": "MB of HTML, over the",
    "one_word.txt": "over the 1,000,000 limit",
}
# ... or of its one warning line (stored all the same)
WARNINGS = {
    "impossible_date.md": "2025-11-31 does not exist on the calendar",
    "repeated_record.json": "repeats one read earlier in this ingest from another record of this file",
    "invisible.json": "removed 6 control, invisible or direction-changing",
}
STORED = {SEED_ID, "good_tram.md", "impossible_date.md", "ancient.txt", "far_future.txt", "wire-ferry",
          "wire-museum", "wire-dam", "wire-rail", "wire-zoo", "wire-vote", "dots_inside.txt",
          "planted_instructions.txt"}
# question -> (the article that answers it, words the answer must contain)
ANSWERS = {
    "Why was the summit cancelled?": (SEED_ID, "called off"),
    "How much will the tram line cost to build?": ("good_tram.md", "480 million"),
    "How many cables did engineers replace on the harbour bridge?": ("impossible_date.md", "214"),
    "For how many years did the Brightwater lighthouse keeper serve?": ("ancient.txt", "41 years"),
    "How many tonnes of apples did the Greenvale orchard cooperative pick?": ("far_future.txt", "3,900"),
    "What pay rise did the ferry operator offer?": ("wire-ferry", "6 percent"),
    "How many homes will the Kessel dam supply with power?": ("wire-dam", "90,000"),
    "What did the transport minister announce about rail fares?": ("wire-rail", "frozen"),
    "What did the national zoo welcome?": ("wire-zoo", "panda"),
    "How many votes did Annika Rossi win the confidence vote by?": ("wire-vote", "31 votes"),
    "When will the central library open on Sundays?": ("dots_inside.txt", "March"),
    "By how much will household water bills rise in April?": ("planted_instructions.txt", "4 percent"),
}


def hostile_folder(root: Path) -> Path:
    folder = root / "hostile"
    shutil.copytree(HOSTILE, folder)
    shutil.copy(SEEDS / SEED_ID, folder / SEED_ID)
    # the two large cases, written here rather than kept in the repository
    (folder / "flat_page.html").write_text(
        "<html><body>" + "<p>Some words of news text here.</p>" * 467_000 + "</body></html>")  # 16.8 MB
    (folder / "one_word.txt").write_text("x" * 19_000_000)
    return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The hostile folder ingested once by the real CLI."""
    root = tmp_path_factory.mktemp("hostile")
    folder = hostile_folder(root)
    data = root / "data"
    started = time.perf_counter()
    result = run_cli("ingest", str(folder), "--data-dir", str(data), "--quiet")
    return {"folder": folder, "data": data, "result": result, "seconds": time.perf_counter() - started}


@pytest.fixture(scope="module")
def bot(hostile, embedder):
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    assistant = Assistant(Settings(data_dir=hostile["data"]),
                          index=Index(IndexConfig(data_dir=hostile["data"]), embedder=embedder))
    yield assistant
    assistant.close()


def lines_naming(lines: list[str], path: Path) -> list[str]:
    return [line for line in lines if line.startswith((f"{path}:", f"{path} "))]


@pytest.mark.slow
def test_every_bad_file_has_one_line_and_the_exit_code_is_1(hostile):
    result, folder = hostile["result"], hostile["folder"]
    assert result.returncode == 1, result.stderr
    problems = [line.removeprefix("newsrag: ") for line in result.stderr.splitlines()
                if line.startswith("newsrag: ") and not line.startswith("newsrag: warning: ")]
    warnings = [line.removeprefix("newsrag: warning: ") for line in result.stderr.splitlines()
                if line.startswith("newsrag: warning: ")]
    for expected, lines in ((PROBLEMS, problems), (WARNINGS, warnings)):
        for name, words in expected.items():
            named = lines_naming(lines, folder / name)
            assert len(named) == 1 and words in named[0], (name, lines)
        assert len(lines) == len(expected), lines
    assert f"{len(STORED)} added" in result.stdout and f"{len(PROBLEMS)} failed" in result.stdout


@pytest.mark.slow
def test_good_files_are_stored_clean_and_whole(hostile, bot):
    registry = bot.index.registry
    assert {a.id for a in registry.articles()} == STORED
    assert registry.article(SEED_ID).text.startswith("The summit in Budapest")  # not taken over
    assert registry.article("impossible_date.md").date is None
    assert registry.article("ancient.txt").date == "0001-01-01"
    assert registry.article("far_future.txt").date == "9999-12-31"
    vote = registry.article("wire-vote")
    assert vote.title == "Mayor wins vote"
    assert vote.text == ("Mayor Annika Rossi won the confidence vote by 31 votes to 12.  "
                         "The opposition said it would appeal.")
    # no orphan: the store holds exactly the registry's chunks, for the first of the clashing records
    stored = set(bot.index.store.collection.get(include=[])["ids"])
    assert stored == {cid for ids in registry.chunk_ids([a.id for a in registry.articles()]).values()
                      for cid in ids}
    assert registry.article("wire-dam").title == "Dam project approved"


@pytest.mark.slow
def test_every_chunk_fits_its_size(bot):
    from index.chunking import CHARS_PER_TOKEN

    size = bot.index.chunking.size
    for article in bot.index.registry.articles():
        for _, (_, text) in bot.index.registry.chunk_texts(
                bot.index.registry.chunk_ids([article.id])[article.id]).items():
            assert bot.index.embedder.count_tokens(text) <= size and len(text) <= size * CHARS_PER_TOKEN


@pytest.mark.slow
@pytest.mark.parametrize("question", list(ANSWERS))
def test_every_good_file_is_answerable(bot, question):
    article, words = ANSWERS[question]
    answer = bot.ask(question)
    assert not answer.abstained and words in answer.text, answer.text
    assert article in {c.article for c in answer.citations}
    for c in answer.citations:
        assert c.quote == bot.article_text(c.article)[c.start:c.end]
    assert "50 percent" not in answer.text and "abolished" not in answer.text


@pytest.mark.slow
@pytest.mark.parametrize("question", ["What happened last week?", "What changed in the past three months?",
                                      "What happened recently?", "What was reported since December?",
                                      "What happened between November and March?", "What is the latest news?"])
def test_extreme_dates_never_crash_a_time_question(bot, question):
    assert bot.retriever.anchor().isoformat() == "9999-12-31"
    bot.ask(question)  # an answer or an abstention, never OverflowError


def test_the_oldest_valid_date_as_the_newest_article_never_crashes(make_index, corpus):
    """0001-01-01 as the anchor: "last week" and "3 days ago" reach before year 1."""
    from rag.api import Assistant
    from rag.settings import Settings

    index = make_index()
    index.ingest([corpus])
    bot = Assistant(Settings(data_dir=index.data_dir), index=index)
    for article in bot.articles():
        bot.set_metadata(article.id, date="0001-01-01" if article.date else None, source=article.source)
    assert bot.retriever.anchor().isoformat() == "0001-01-01"
    for question in ("What happened last week?", "What was reported since December?", "What is the latest news?"):
        bot.ask(question)  # an answer or an abstention, never OverflowError
    bot.ask("Why was the summit cancelled?", since="3 days ago", until="0001-01-01")


def test_impossible_date_already_in_an_index_does_not_break_questions(make_index, corpus):
    """An index built before dates were checked may hold 2025-11-31: questions still work."""
    from rag.api import Assistant
    from rag.settings import Settings

    index = make_index()
    index.ingest([corpus])
    with index.registry.transaction():
        index.registry.db.execute("UPDATE articles SET date='2025-11-31'")
        index.registry._bump()
    bot = Assistant(Settings(data_dir=index.data_dir), index=index)
    assert bot.retriever.anchor() is None
    assert bot.ask("Why was the summit cancelled last week?").question  # no ValueError
    assert bot.ask("Why was the summit cancelled?").citations


# -- linear time, bounded chunks ----------------------------------------------------

def _best_time(fn, *args, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - started)
    return best


def _assert_linear(fn, unit: str, chars: int) -> None:
    """`fn` on `unit` repeated to 4x `chars` against `chars`: linear takes 4x, quadratic 16x; 8x
    leaves room for a slow or busy machine's jitter and cache effects (2x against 3x did not)."""
    small = _best_time(fn, unit * (chars // len(unit)))
    large = _best_time(fn, unit * (4 * chars // len(unit)))
    assert large <= 8 * max(small, 1e-3), (unit, small, large)


@pytest.mark.parametrize("unit", [".", "..a", "?!", ". ", "a.", "…"])
def test_sentence_splitting_is_linear(unit):
    from index.chunking import sentence_spans

    _assert_linear(sentence_spans, unit, 250_000)  # ~10 ms and up: jitter is a small part of it


@pytest.mark.parametrize("text", [
    "." * 100_000, "x" * 1_000_000, "said" + "." * 50_000 + " next", "one " + ". " * 3000 + "two", "word " * 20_000, "https://example.com/" + "a" * 50_000 + " end.",
    "北京" * 20_000, ("A sentence. " + "." * 5000 + " ") * 20, "😀" * 5000,
])
def test_chunks_never_exceed_the_chunk_size(embedder, text):
    from index.chunking import CHARS_PER_TOKEN, ChunkSettings, chunk_article
    from index.models import Article

    article = Article("a", text, "t")
    chunks = chunk_article(article, ChunkSettings(), embedder.count_tokens)
    for c in chunks:
        assert c.text == text[c.start:c.end]
        assert embedder.count_tokens(c.text) <= 200 and len(c.text) <= 200 * CHARS_PER_TOKEN
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if ch.isalnum())  # no word is dropped
    assert all(any(ch.isalnum() for ch in c.text) for c in chunks)  # and no chunk is only punctuation


def test_chunking_time_is_linear(embedder):
    from index.chunking import ChunkSettings, chunk_article
    from index.models import Article

    def chunk(text):
        chunk_article(Article("a", text, "t"), ChunkSettings(), embedder.count_tokens)

    for unit in (".", "x", "word. "):
        _assert_linear(chunk, unit, 100_000)


# -- ids: namespaced, owned by their file ------------------------------------------

def _wire(folder: Path, article_id: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "wire.json"
    path.write_text(json.dumps([{"id": article_id, "title": "Summit goes ahead", "text": text}]))
    return path


def test_a_record_cannot_take_over_an_article_of_another_folder(make_index, corpus, tmp_path):
    index = make_index()
    index.ingest([corpus])
    seed = index.registry.article(SEED_ID)
    other = _wire(tmp_path / "other", SEED_ID, "The summit in Budapest will go ahead, officials said.")
    report = index.ingest([other.parent])
    assert (report.added, report.updated, report.failed) == (0, 0, 1)
    assert str(other) in report.problems[0] and str(corpus / SEED_ID) in report.problems[0]
    assert index.registry.article(SEED_ID) == seed
    again = index.ingest([corpus])  # the owner's re-ingest finds its article as it left it
    assert (again.unchanged, again.failed) == (1, 0) and index.registry.article(SEED_ID) == seed
    # a file of the same relative name in another folder is refused the same way
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / SEED_ID).write_text("Another story under the same name, about a harbour.\n")
    assert index.ingest([tmp_path / "copy"]).failed == 1
    assert index.registry.article(SEED_ID) == seed


def test_a_namespace_keeps_ids_apart(make_index, corpus, tmp_path):
    index = make_index()
    index.ingest([corpus])
    other = _wire(tmp_path / "uploads", SEED_ID, "The summit in Budapest will go ahead, officials said.")
    report = index.ingest([other], namespace="upload")
    assert (report.added, report.failed) == (1, 0)
    assert {a.id for a in index.registry.articles()} == {SEED_ID, f"upload:{SEED_ID}"}
    assert index.registry.article(SEED_ID).text.startswith("The summit in Budapest, Hungary")


def test_two_articles_with_one_id_in_one_ingest_are_both_reported(make_index, tmp_path):
    for name, text in (("a", "The harbour reopened on Monday after repairs."),
                       ("b", "The airport closed on Tuesday because of fog.")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "story.txt").write_text(text)
    index = make_index()
    report = index.ingest([tmp_path / "a", tmp_path / "b"])
    assert (report.added, report.failed) == (1, 1)
    assert str(tmp_path / "a" / "story.txt") in report.problems[0]
    assert report.problems[0].startswith(str(tmp_path / "b" / "story.txt"))
    assert index.status().articles == 1 and "harbour" in index.registry.article("story.txt").text


def test_a_moved_file_keeps_its_id(make_index, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "story.txt").write_text("The harbour reopened on Monday after repairs.")
    index = make_index()
    index.ingest([tmp_path / "a"])
    (tmp_path / "b").mkdir()
    shutil.move(tmp_path / "a" / "story.txt", tmp_path / "b" / "story.txt")
    report = index.ingest([tmp_path / "b"])
    assert report.failed == 0
    assert index.registry.article("story.txt").origin == str(tmp_path / "b" / "story.txt")
