"""The LLM-free evidence checks on their own: what kind of answer a question asks for, whether a
sentence adds that kind of fact, and which names a question is about."""
from __future__ import annotations

import pytest

from rag.evidence import answer_kind, fits_kind, key_entities, mentions, other_time, split_question


@pytest.mark.parametrize("question, kind", [
    ("How much did the group pay for the Savoy?", "amount"),
    ("What budget did the division have?", "amount"),
    ("How tall is Asimo now?", "measure"),
    ("How many people were evacuated?", "number"),
    ("What odds did William Hill give?", "number"),
    ("Which number was his star?", "number"),
    ("When was the summit planned?", "date"),
    ("Which year's conference will be in Manchester?", "date"),
    ("Who made the phone call?", "name"),
    ("Which newspaper got the bomb warning?", "name"),
    ("Why was the summit cancelled?", "any"),
    ("Which policy did the council adopt?", "any"),  # the answer need not be a name
])
def test_answer_kind(question, kind):
    assert answer_kind(question) == kind


@pytest.mark.parametrize("sentence, kind, question, fits", [
    # a sentence that only repeats the question's names or numbers adds nothing
    ("Meet the new CEO of Vanguard.", "name", "Who is the new CEO of Vanguard?", False),
    ("New Vanguard CEO Tim Buckley spoke on Monday.", "name", "Who is the new CEO of Vanguard?", True),
    ("The 2017 election had 11 candidates.", "date", "When was the 2017 election?", False),
    ("It was held on 5 May.", "date", "When was the 2017 election?", True),
    ("The 2017 French presidential election was contested.", "date", "When was the 2017 French election?", False),
    ("Splatoon 2 was released in July 2017.", "date", "When was Splatoon 2 released?", True),
    ("The summit was set for 2025.", "number", "How many leaders met in 2025?", False),
    ("Eight leaders met in 2025.", "number", "How many leaders met in 2025?", True),
    ("It cost £750m last year.", "amount", "How much did it cost?", True),
    # a price or a year does not answer "how many"
    ("Apple expects the Mac mini to sell for £339.", "number", "How many Mac minis did Apple sell?", False),
    ("Two members were elected in 2004.", "number", "How many seats did Veritas win?", True),
    ("Hockney was elected in 2004 on the list system.", "number", "How many seats did Veritas win?", False),
    ("It cost a great deal.", "amount", "How much did it cost?", False),
    ("Anything at all answers a why question.", "any", "Why?", True),
])
def test_fits_kind_needs_a_fact_the_question_does_not_state(sentence, kind, question, fits):
    assert fits_kind(sentence, kind, question) is fits


def test_key_entities_reads_dotted_initials_as_one_name():
    assert key_entities("Who won the men's singles U.S. Open 2021?") == ["US", "Open", "2021"]
    assert key_entities("What rose to 3.5.") == ["3.5"]
    assert key_entities("When was Splatoon 2 released?") == ["Splatoon", "2"]
    assert key_entities("Which Italian club signed him?") == []  # a demonym describes, need not be named


@pytest.mark.parametrize("text, entity, found", [
    ("the U.S. election", "US", True),
    ("US election", "US", True),
    ("tell us more", "US", False),  # two initials keep their case
    ("Nato allies met", "NATO", True),
    ("Russian troops", "Russia", True),
    ("talks in Moscow", "Russia", False),
])
def test_mentions(text, entity, found):
    assert mentions(text, entity) is found


def test_split_question_keeps_each_part():
    assert split_question("Who bought the Savoy, and who sold it?") == ["Who bought the Savoy", "who sold it?"]


def test_a_sentence_about_other_years_is_about_another_time():
    question = "What was the turnout at the May 2005 general election?"
    assert other_time("Turnout fell to 59% in the last general election in 2001.", question)
    assert not other_time("Turnout in 2005 was 61%, up from 59% in 2001.", question)
    assert not other_time("Turnout was 61%.", question)  # no year named: it may well be about 2005
    assert not other_time("Turnout fell to 59% in 2001.", "What was the turnout?")


def test_a_capitalised_first_word_is_a_name_when_the_passage_names_it_inside_a_sentence():
    question = "Who is the new CEO of Vanguard?"
    passage = "Vanguard has a new boss. Buckley was named CEO of Vanguard. Staff welcomed Mr Buckley."
    assert fits_kind("Buckley was named CEO of Vanguard.", "name", question, passage)
    assert not fits_kind("Meet the new CEO of Vanguard.", "name", question, "Meet the new CEO of Vanguard.")


def test_years_inside_names_are_not_times():
    assert not other_time("The Euro 2020 final was played at Wembley.", "Who won the final in 2021?")
    assert other_time("In 2019, the final was played at Wembley.", "Who won the final in 2021?")
