"""The shipped gold question sets validate against the real article texts; bad files report every line."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import BBC, ROOT, SEED_ID, SEEDS
from eval.gold import Evidence, GoldFormatError, GoldItem, corpus_texts, load_gold, main, quote_span

GOLD = ROOT / "eval" / "gold"
TOPICS = {"business", "entertainment", "politics", "sport", "tech"}


@pytest.fixture(scope="module")
def seed_texts() -> dict[str, str]:
    return corpus_texts(SEEDS)


@pytest.fixture(scope="module")
def bbc_texts() -> dict[str, str]:
    if not BBC.is_dir():
        pytest.skip("the BBC corpus is not in ../shared/corpora/bbc-news")
    texts = corpus_texts(BBC)
    assert len(texts) == 2225
    return texts


def check_consistent(items: list[GoldItem]) -> None:
    """Each must_include string is in the reference answer and a quote, and not given away by the question."""
    for item in items:
        if not item.answerable:
            assert item.answer.strip(), item.id
            continue
        assert 1 <= len(item.must_include) <= 3, item.id
        for must in item.must_include:
            low = must.lower()
            assert low in item.answer.lower(), f"{item.id}: answer lacks {must!r}"
            assert any(low in e.quote.lower() for e in item.evidence), f"{item.id}: no quote contains {must!r}"
            assert low not in item.question.lower(), f"{item.id}: the question gives away {must!r}"


# ---------------------------------------------------------------- shipped files

def test_seed_gold_validates_against_the_seed_article(seed_texts):
    items = load_gold(GOLD / "seeds.jsonl", seed_texts)
    assert len(items) >= 20
    assert sum(not i.answerable for i in items) >= 6
    follow_ups = [i for i in items if i.follow_up_of]
    assert len(follow_ups) >= 3
    assert {e.article for i in items for e in i.evidence} == {SEED_ID}
    check_consistent(items)


def test_bbc_gold_validates_against_the_corpus(bbc_texts):
    items = load_gold(GOLD / "bbc.jsonl", bbc_texts)
    assert len(items) >= 40
    assert {i.topic for i in items} == TOPICS
    per_topic = Counter(i.topic for i in items)
    assert min(per_topic.values()) >= 7, per_topic
    for item in items:  # evidence comes from the question's own topic folder
        assert all(e.article.startswith(f"{item.topic}/") for e in item.evidence), item.id
    two_article = [i for i in items if len(i.articles) >= 2]
    assert len(two_article) >= 6
    assert sum(not i.answerable for i in items) >= 6
    check_consistent(items)


def test_bbc_two_article_questions_need_both_articles(bbc_texts):
    """No single article contains every must_include string of a two-article question."""
    items = [i for i in load_gold(GOLD / "bbc.jsonl", bbc_texts) if len(i.articles) >= 2]
    for item in items:
        alone = [aid for aid, text in bbc_texts.items()
                 if all(m.lower() in text.lower() for m in item.must_include)]
        assert alone == [], f"{item.id} is answerable from one article: {alone}"


def test_mixed_gold_validates_against_the_mixed_corpus_spec():
    """The mixed set: single-fact questions over every topic and the seed, two-part questions whose
    parts are answered by different quotes, and near-miss unanswerables; bbc.jsonl's questions not reused."""
    if not BBC.is_dir():
        pytest.skip("the BBC corpus is not in ../shared/corpora/bbc-news")
    texts = corpus_texts(GOLD / "mixed.corpus")
    assert len(texts) == 321
    items = load_gold(GOLD / "mixed.jsonl", texts)
    assert len(items) >= 44 and all(i.id.startswith("mix-") for i in items)
    single = [i for i in items if i.answerable and len(i.evidence) == 1]
    two_part = [i for i in items if i.answerable and len(i.evidence) >= 2]
    unanswerable = [i for i in items if not i.answerable]
    assert len(single) >= 24 and len(two_part) >= 8 and len(unanswerable) >= 12
    assert {i.topic for i in single} == TOPICS | {"seed"}
    for item in two_part:  # no one quote answers both parts
        assert not any(all(m.lower() in e.quote.lower() for m in item.must_include) for e in item.evidence), item.id
    assert any(SEED_ID in i.articles and len(i.articles) >= 2 for i in two_part)  # one spans seed and BBC
    check_consistent(items)
    bbc_questions = {i.question for i in load_gold(GOLD / "bbc.jsonl")}
    assert not bbc_questions & {i.question for i in items}
    budapest = next(i for i in items if i.question == "What did China say about the Budapest summit?")
    assert not budapest.answerable
    assert [aid for aid, text in texts.items() if "Budapest" in text and "China" in text] == []


# ---------------------------------------------------------------- validation

ARTICLES = {"a.txt": "Marco Rubio spoke to Sergey Lavrov on Monday.", "b.txt": "Second article."}


def line(**overrides) -> str:
    record = {"id": "q1", "question": "Who spoke?", "answer": "Rubio and Lavrov.",
              "must_include": ["Rubio"], "evidence": [{"article": "a.txt", "quote": "Marco Rubio spoke"}],
              "answerable": True}
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "gold.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_every_bad_line_is_reported_with_its_line_number(tmp_path):
    path = write(tmp_path, [
        line(),                                                                    # 1 good
        '{"id": "q2", "question": ',                                               # 2 bad JSON
        line(id="q3", answer=...),                                                 # 3 missing key
        line(id="q1"),                                                             # 4 duplicate id
        line(id="q5", evidence=[]),                                                # 5 answerable, no evidence
        line(id="q6", answerable=False, evidence=[]),                              # 6 unanswerable with must_include
        "",                                                                        # 7 blank: skipped
        line(id="q8", follow_up_of="nope"),                                        # 8 unknown follow_up_of
        line(id="q9", evidence=[{"article": "a.txt", "quote": "Rubio spoke to Lavrov"}]),  # 9 not a substring
        line(id="q10", evidence=[{"article": "c.txt", "quote": "x"}]),             # 10 unknown article
        line(id="q11", answerable="yes"),                                          # 11 wrong type
        "[1, 2]",                                                                  # 12 not an object
        line(id="q13", question="  "),                                             # 13 empty question
        line(id="q14", follow_up_of="q15"),                                        # 14 follow-up of a later line
        line(id="q15", must_inclde=["x"]),                                         # 15 misspelt key
    ])
    with pytest.raises(GoldFormatError) as caught:
        load_gold(path, ARTICLES)
    error = caught.value
    assert isinstance(error, ValueError)
    message_lines = str(error).splitlines()
    assert message_lines == error.problems
    bad = {int(p.split(":")[1]) for p in error.problems}
    assert bad == {2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15}
    assert all(p.startswith(f"{path}:") for p in error.problems)

    def problem(n: int) -> str:
        return " ".join(p for p in error.problems if p.startswith(f"{path}:{n}: "))

    assert "invalid JSON" in problem(2)
    assert "missing key(s) answer" in problem(3)
    assert "duplicate id 'q1' (first used on line 1)" in problem(4)
    assert "empty 'evidence'" in problem(5)
    assert "empty 'must_include'" in problem(6)
    assert "follow_up_of 'nope'" in problem(8)
    assert "not an exact substring of 'a.txt'" in problem(9)
    assert "the first 15 characters match" in problem(9)
    assert "'c.txt' is not in the corpus" in problem(10)
    assert "'answerable' must be true or false" in problem(11)
    assert "expected a JSON object" in problem(12)
    assert "'question' is empty" in problem(13)
    assert "on line 15; put the follow-up below it" in problem(14)
    assert "unknown key(s) must_inclde" in problem(15)


def test_quotes_are_only_checked_when_articles_are_given(tmp_path):
    path = write(tmp_path, [line(evidence=[{"article": "zzz.txt", "quote": "not in any text"}])])
    [item] = load_gold(path)
    assert item.evidence == (Evidence("zzz.txt", "not in any text"),)
    with pytest.raises(GoldFormatError, match=r":1: evidence 1: article 'zzz.txt' is not in the corpus"):
        load_gold(path, ARTICLES)


def test_a_good_file_loads_into_typed_items(tmp_path):
    path = write(tmp_path, [
        line(topic="politics"),
        line(id="q2", question="And when?", answer="On Monday.", must_include=["Monday"],
             evidence=[{"article": "a.txt", "quote": "on Monday"}], follow_up_of="q1"),
        line(id="q3", question="What did China say?", answer="Not said.", must_include=[], evidence=[],
             answerable=False),
    ])
    first, second, third = load_gold(path, ARTICLES)
    assert first == GoldItem("q1", "Who spoke?", "Rubio and Lavrov.", ("Rubio",),
                             (Evidence("a.txt", "Marco Rubio spoke"),), True, None, "politics")
    assert second.follow_up_of == "q1" and second.articles == ("a.txt",)
    assert not third.answerable and third.evidence == () and third.must_include == ()
    with pytest.raises(AttributeError):
        first.id = "changed"  # frozen


def test_an_empty_file_is_an_error(tmp_path):
    with pytest.raises(GoldFormatError, match="no questions"):
        load_gold(write(tmp_path, [""]))


def test_cli_reports_status(tmp_path, capsys):
    good = write(tmp_path, [line()])
    assert main([str(good)]) == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(line() + "\n" + line() + "\n", encoding="utf-8")
    assert main([str(bad)]) == 1
    assert f"{bad}:2: duplicate id" in capsys.readouterr().err


# ---------------------------------------------------------------- quote_span

def test_quote_span_returns_exact_offsets(seed_texts):
    assert quote_span("abc Rubio def", "Rubio") == (4, 9)
    assert quote_span("x x", "x") == (0, 1)  # the first occurrence
    text = seed_texts[SEED_ID]
    quote = "The EU is holding a summit in Brussels on Thursday"
    start, end = quote_span(text, quote)
    assert text[start:end] == quote and start == text.index(quote)
    with pytest.raises(ValueError):
        quote_span(text, "not in the article")
    with pytest.raises(ValueError):
        quote_span(text, "")


def test_every_shipped_quote_has_a_span(seed_texts):
    for item in load_gold(GOLD / "seeds.jsonl", seed_texts):
        for ev in item.evidence:
            start, end = quote_span(seed_texts[ev.article], ev.quote)
            assert seed_texts[ev.article][start:end] == ev.quote
