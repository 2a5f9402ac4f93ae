"""Time expressions resolved against the corpus's newest date (a Tuesday), and the traps around them."""
from __future__ import annotations

from datetime import date

import pytest

from rag.dates import TimeScope, parse_time_scope, strip_time_phrase

ANCHOR = date(2025, 10, 21)  # a Tuesday


def d(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


RANGES = [  # question, since, until, latest
    ("What happened today?", "2025-10-21", "2025-10-21", False),
    ("What did the minister say yesterday?", "2025-10-20", "2025-10-20", False),
    ("Top stories this week", "2025-10-20", "2025-10-21", False),
    ("What happened last week?", "2025-10-13", "2025-10-19", False),
    ("Floods in the previous week", "2025-10-14", "2025-10-21", False),
    ("Any strikes in the past 3 days?", "2025-10-18", "2025-10-21", False),
    ("News from the last 7 days", "2025-10-14", "2025-10-21", False),
    ("What happened over the past two weeks in Gaza?", "2025-10-07", "2025-10-21", False),
    ("Markets in the past week", "2025-10-14", "2025-10-21", False),
    ("Layoffs over the last 2 months", "2025-08-21", "2025-10-21", False),
    ("Budget talks in the last month", "2025-09-21", "2025-10-21", False),
    ("Elections in the past few years", "2022-10-21", "2025-10-21", False),
    ("What happened this month?", "2025-10-01", "2025-10-21", False),
    ("Who resigned last month?", "2025-09-01", "2025-09-30", False),
    ("Inflation this year", "2025-01-01", "2025-10-21", False),
    ("Who won the election last year?", "2024-01-01", "2024-12-31", False),
    ("What happened in October 2025?", "2025-10-01", "2025-10-31", False),
    ("October 2025 elections", "2025-10-01", "2025-10-31", False),
    ("What did the PM say in October?", "2025-10-01", "2025-10-31", False),
    ("What happened in November?", "2024-11-01", "2024-11-30", False),
    ("Strikes in Sept", "2025-09-01", "2025-09-30", False),
    ("What happened (in Oct. 2024)?", "2024-10-01", "2024-10-31", False),
    ("Who won the league in 2024?", "2024-01-01", "2024-12-31", False),
    ("What has changed since 2025-10-01?", "2025-10-01", None, False),
    ("What has changed since October?", "2025-10-01", None, False),
    ("What happened before 2025-10-01?", None, "2025-09-30", False),
    ("Any news after 15 October 2025?", "2025-10-16", None, False),
    ("Trade talks until September", None, "2025-09-30", False),
    ("Storms between 2025-10-01 and 2025-10-10", "2025-10-01", "2025-10-10", False),
    ("Between September and October 2025, who led?", "2025-09-01", "2025-10-31", False),
    ("Strikes from 1 Sept to 15 Sept", "2025-09-01", "2025-09-15", False),
    ("Talks between November and March", "2024-11-01", "2025-03-31", False),
    ("Rallies between Monday and Friday", "2025-10-13", "2025-10-17", False),
    ("What happened on 21 October 2025?", "2025-10-21", "2025-10-21", False),
    ("What happened on October 21, 2025?", "2025-10-21", "2025-10-21", False),
    ("What happened on 2025-10-21?", "2025-10-21", "2025-10-21", False),
    ("What happened October 21?", "2025-10-21", "2025-10-21", False),
    ("The vote on the 21st of October", "2025-10-21", "2025-10-21", False),
    ("What happened on October 30?", "2024-10-30", "2024-10-30", False),
    ("What was announced earlier this month?", "2025-10-01", "2025-10-20", False),
    ("What did the court rule on Friday?", "2025-10-17", "2025-10-17", False),
    ("What happened on Tuesday?", "2025-10-21", "2025-10-21", False),
    ("Who spoke last Monday?", "2025-10-20", "2025-10-20", False),
    ("Protests since Saturday", "2025-10-18", None, False),
    ("What is the latest on the budget?", None, None, True),
    ("The most recent polls", None, None, True),
    ("Newest figures on unemployment", None, None, True),
    ("Who is the current chancellor?", None, None, True),
    ("Who leads the party now?", None, None, True),
    ("Is he still in charge?", None, None, True),
    ("What happened recently in Sudan?", "2025-09-21", None, True),
    ("What is the latest on the budget since October?", "2025-10-01", None, True),
    ("WHAT HAPPENED IN OCTOBER 2025?!", "2025-10-01", "2025-10-31", False),
    ("Budget—October 2025!", "2025-10-01", "2025-10-31", False),
    # "May" and "march": months only with a day, a year, or a preposition before them.
    ("What happened in May?", "2025-05-01", "2025-05-31", False),
    ("What has changed since May?", "2025-05-01", None, False),
    ("What happened on 5 May?", "2025-05-05", "2025-05-05", False),
    ("May 2024 election results", "2024-05-01", "2024-05-31", False),
    ("Talks at the end of May", "2025-05-01", "2025-05-31", False),
    ("What happened in March?", "2025-03-01", "2025-03-31", False),
    ("March 2025 protests", "2025-03-01", "2025-03-31", False),
]


@pytest.mark.parametrize("question,since,until,latest", RANGES)
def test_time_expressions(question, since, until, latest):
    scope = parse_time_scope(question, ANCHOR)
    assert scope is not None
    assert (scope.since, scope.until, scope.latest) == (d(since), d(until), latest)


NO_TIME = [
    "Why was the summit cancelled?",
    "Who will attend the summit in Brussels?",
    "May the summit go ahead?",
    "Who may attend the talks?",
    "What did Theresa May say about Brexit?",
    "Why did protesters march on parliament?",
    "Thousands march through London",
    "What happened in Mar-a-Lago?",
    "What is the Good Friday Agreement?",
    "Who will attend the summit next week?",
    "What is planned next month?",
    "The talks later this month",
    "The vote next Tuesday",
    "Will the strike start next May 5?",
    "What are the 2030 climate targets?",
    "Will emissions fall in 2030?",
    "Where is the G20 summit held?",
    "What do we know about it?",
    "Since the summit was cancelled, who resigned?",
    "A deal came after 2 days of talks",
    "What happened on 31 September 2025?",
    "Growth between 2025 and 2024",
    "",
]


@pytest.mark.parametrize("question", NO_TIME)
def test_questions_without_a_past_time_have_no_scope(question):
    assert parse_time_scope(question, ANCHOR) is None


@pytest.mark.parametrize("question,phrase", [
    ("What happened in October 2025?", "in October 2025"),
    ("What happened over the past two weeks in Gaza?", "over the past two weeks"),
    ("What did the court rule on Friday?", "on Friday"),
    ("What is the latest on the budget since October?", "since October"),
    ("The most recent polls", "most recent"),
])
def test_phrase_is_the_matched_text(question, phrase):
    assert parse_time_scope(question, ANCHOR).phrase == phrase


@pytest.mark.parametrize("question,stripped", [
    ("What happened in October 2025?", "What happened?"),
    ("Yesterday, what did the PM say?", "what did the PM say?"),
    ("What happened over the past two weeks in Gaza?", "What happened in Gaza?"),
    ("Latest news on the budget", "news on the budget"),
    ("Who spoke last Monday about tariffs?", "Who spoke about tariffs?"),
    ("Today?", "Today?"),  # nothing left: keep the question
])
def test_strip_time_phrase(question, stripped):
    assert strip_time_phrase(question, parse_time_scope(question, ANCHOR)) == stripped


def test_strip_without_a_phrase_keeps_the_question():
    assert strip_time_phrase("Why?", TimeScope(None, None)) == "Why?"


FILTERS = [  # Since/Until box text, since, until (anchor: the Tuesday 2025-10-21)
    ("2025-10-01", "2025-10-01", "2025-10-01"),
    ("2025-10-01T08:30:00", "2025-10-01", "2025-10-01"),
    ("last week", "2025-10-13", "2025-10-19"),
    ("3 days ago", "2025-10-18", "2025-10-18"),
    ("two weeks ago", "2025-10-07", "2025-10-07"),
    ("a month ago", "2025-09-21", "2025-09-21"),
    ("October 2025", "2025-10-01", "2025-10-31"),
    ("in September 2025", "2025-09-01", "2025-09-30"),
    ("2025-02", "2025-02-01", "2025-02-28"),
    ("yesterday", "2025-10-20", "2025-10-20"),
    ("this month", "2025-10-01", "2025-10-21"),
    ("2024", "2024-01-01", "2024-12-31"),
]


@pytest.mark.parametrize("text, since, until", FILTERS)
def test_filter_box_text_is_a_date(text, since, until):
    from rag.dates import filter_date

    assert (filter_date(text, ANCHOR, "since"), filter_date(text, ANCHOR, "until")) == (d(since), d(until))


@pytest.mark.parametrize("text, message", [
    ("blah", 'since "blah" is not a date: use YYYY-MM-DD, "last week"'),
    ("last week and then some", "is not a date"),  # never half-read
    ("2025-02-30", "not a calendar date"),
    ("2025-13", "is not a date"),
    ("next week", "is not a date"),  # the corpus holds nothing after its newest article
])
def test_filter_box_text_that_is_not_a_date_is_refused(text, message):
    from rag.dates import filter_date

    with pytest.raises(ValueError, match=message):
        filter_date(text, ANCHOR, "since")


def test_relative_filters_need_dated_articles_and_reach_the_answer(tmp_path, make_index):
    from rag.api import Assistant
    from rag.dates import filter_date
    from rag.errors import ConfigError
    from rag.settings import Settings

    assert filter_date("2025-01-02", None, "until") == date(2025, 1, 2)
    with pytest.raises(ValueError, match="needs dated articles"):
        filter_date("last week", None, "since")
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.md").write_text("---\ntitle: Dalsby mill\ndate: 2025-10-14\n---\nThe Dalsby mill closed on Tuesday.\n")
    (folder / "b.md").write_text("---\ntitle: Dalsby mill reopens\ndate: 2025-10-21\n---\n"
                                 "The Dalsby mill reopened on Tuesday with 40 workers.\n")
    bot = Assistant(Settings(data_dir=tmp_path / "data"), index=make_index(data_dir=tmp_path / "data"))
    bot.ingest([folder])
    answer = bot.ask("What happened to the Dalsby mill?", since="last week", until="last week")
    assert {c.date for c in answer.citations} == {"2025-10-14"}
    with pytest.raises(ConfigError, match='until "soon" is not a date'):
        bot.ask("What happened to the Dalsby mill?", until="soon")
    bot.close()
