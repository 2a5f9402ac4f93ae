"""Evaluation metrics on hand-made cases with known values, and the MultiHop-RAG scorer on the
authors' committed retrieval sample."""
from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from eval.metrics import (QuestionResult, abstention_scores, aggregate, all_articles_at_k, all_articles_rank,
                          answer_correct, answer_sentences, citation_scores, content_tokens, evidence_spans,
                          first_relevant_rank, hit_at_k, latency_percentiles, lexical_supports, mrr,
                          normalize_answer, overlap_supports, percentile, relevant, score_question,
                          strip_markers, threshold_supports, token_f1)
from eval.multihop import (evaluate_hits, extract_answer, qa_accuracy, qa_correct, query_scores, retrieval_scores,
                           score_retrieval_file, score_retrieval_records, squeeze)
from rag.models import Answer, Citation, Hit

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "multihop-rag" / \
    "llm-embedder_retrieval_test.json"


def hit(article: str, start: int, end: int, text: str = "") -> Hit:
    return Hit(chunk_id=f"{article}:{start}", article_id=article, title="", date=None, source=None, url=None,
               start=start, end=end, text=text, score=0.0)


def cite(n: int, quote: str, article: str = "a.txt", start: int = 0, end: int | None = None) -> Citation:
    return Citation(n, article, "", None, None, None, quote, start, start + len(quote) if end is None else end)


# ------------------------------------------------------------------------------------------ retrieval

SPANS = [("a.txt", 100, 150)]
HITS = [hit("b.txt", 100, 150), hit("a.txt", 0, 100), hit("a.txt", 140, 300), hit("a.txt", 120, 130)]


def test_relevant_needs_same_article_and_overlapping_characters():
    assert not relevant("b.txt", 100, 150, SPANS)  # other article
    assert not relevant("a.txt", 0, 100, SPANS)  # ends where the evidence starts (half-open)
    assert not relevant("a.txt", 150, 200, SPANS)  # starts where it ends
    assert relevant("a.txt", 149, 200, SPANS)  # one shared character
    assert relevant("a.txt", 120, 130, SPANS)  # inside
    assert relevant("a.txt", 0, 1000, SPANS)  # contains
    assert not relevant("a.txt", 0, 1000, [])


def test_rank_hits_and_mrr():
    assert first_relevant_rank(HITS, SPANS) == 3
    assert [hit_at_k(HITS, SPANS, k) for k in (1, 2, 3, 10)] == [False, False, True, True]
    assert mrr(HITS, SPANS) == pytest.approx(1 / 3)
    assert mrr(HITS, SPANS, k=2) == 0.0


def test_no_hits_or_nothing_relevant():
    assert first_relevant_rank([], SPANS) is None
    assert not hit_at_k([], SPANS, 5) and mrr([], SPANS) == 0.0
    assert first_relevant_rank(HITS[:2], SPANS) is None
    assert mrr(HITS, []) == 0.0


def test_aliases_map_duplicate_evidence_to_the_stored_copy():
    spans = [("tech/dup.txt", 10, 20)]
    hits = [hit("tech/stored.txt", 15, 25)]
    assert first_relevant_rank(hits, spans) is None
    aliases = {"tech/dup.txt": "tech/stored.txt"}
    assert first_relevant_rank(hits, spans, aliases) == 1
    assert not relevant("tech/stored.txt", 20, 30, spans, aliases)  # same article, no overlap


def test_all_evidence_articles_in_top_k():
    spans = [("a.txt", 0, 10), ("b.txt", 5, 9), ("a.txt", 50, 60)]
    hits = [hit("a.txt", 200, 300), hit("c.txt", 0, 5), hit("b.txt", 100, 200)]  # any chunk of the article
    assert all_articles_rank(hits, spans) == 3
    assert not all_articles_at_k(hits, spans, 2) and all_articles_at_k(hits, spans, 3)
    assert all_articles_rank(hits[:2], spans) is None
    assert all_articles_rank(hits, []) is None and not all_articles_at_k(hits, [], 10)
    assert all_articles_rank([hit("y.txt", 0, 1), hit("b.txt", 0, 1)], [("x.txt", 0, 1), ("b.txt", 0, 1)],
                             {"x.txt": "y.txt"}) == 2


def test_evidence_spans_from_quotes_and_aliases():
    texts = {"a.txt": "One. The quote is here. Three.", "y.txt": "Same text, quote."}
    evidence = [SimpleNamespace(article="a.txt", quote="The quote is here."),
                SimpleNamespace(article="x.txt", quote="quote.")]
    assert evidence_spans(evidence, texts, {"x.txt": "y.txt"}) == [("a.txt", 5, 23), ("x.txt", 11, 17)]
    with pytest.raises(ValueError):
        evidence_spans([SimpleNamespace(article="a.txt", quote="absent")], texts)
    with pytest.raises(KeyError):
        evidence_spans([SimpleNamespace(article="x.txt", quote="quote.")], texts)


# ------------------------------------------------------------------------------------------ answers

def test_answer_correct_every_string_case_insensitive_markers_stripped():
    text = "Ryanair ordered 70 Boeing planes [1], creating 2,500 jobs, says Secretary[2] of State."
    assert answer_correct(text, ["70", "2,500"])
    assert answer_correct(text, ["RYANAIR", "boeing"])
    assert answer_correct(text, ["Secretary of State"])  # the marker no longer splits it
    assert not answer_correct(text, ["70", "Airbus"])
    assert answer_correct(text, [])


def test_token_f1_squad_normalisation():
    assert normalize_answer("The  Cat, sat on a mat!") == "cat sat on mat"
    assert normalize_answer("Britain’s “sole” producer") == "britains sole producer"
    # prediction tokens: cat sat on mat (4); reference: cat sat (2); overlap 2 -> P .5, R 1
    assert token_f1("The cat sat on the mat [1].", "a cat sat") == pytest.approx(2 / 3)
    assert token_f1("He was 44 [1].", "44") == 0.5  # he was 44 vs 44: P 1/3, R 1
    assert token_f1("44 [1]", "44") == 1.0  # without stripping, "1" would count as a token
    assert token_f1("cat cat", "cat") == pytest.approx(2 / 3)  # counts, not sets: P .5, R 1
    assert token_f1("dog", "cat") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("the", "cat") == 0.0
    assert strip_markers("A [1] b [12].") == "A b."


# ------------------------------------------------------------------------------------------ citations

def test_sentences_keep_their_markers():
    assert answer_sentences("He died of cancer aged 44. [1] He was diagnosed in May [2][3].") == [
        answer_sentences("He died of cancer aged 44 [1].")[0], answer_sentences("He was diagnosed in May [2][3].")[0]]
    s = answer_sentences("Mr. Bell was 44 [1][1]. It said so.[2] [3]")
    assert [(x.text, x.cites) for x in s] == [("Mr. Bell was 44.", (1,)), ("It said so.", (2, 3))]
    assert answer_sentences("") == [] and answer_sentences("[1].") == []


def judge_by_sets(required: dict[str, list[set[str]]]):
    """Sentence (first word) is supported when the quotes include one of its required sets."""
    def supports(sentence: str, quotes: list[str]) -> bool:
        return any(need <= set(quotes) for need in required.get(sentence.split()[0], []))
    return supports


def test_citation_recall_and_alce_precision():
    text = "Alpha is true [1]. Beta is true [2][3]. Gamma is unsupported [4]. Delta cites nothing."
    cites = [cite(1, "qa"), cite(2, "qb"), cite(3, "junk"), cite(4, "junk2")]
    judge = judge_by_sets({"Alpha": [{"qa"}], "Beta": [{"qb"}]})
    scores = citation_scores(text, cites, judge)
    # supported: Alpha, Beta of 4 sentences. Citations: 1 ok; 2 ok (alone); 3 unnecessary
    # (alone no, rest still supports); 4 sentence unsupported -> 2 of 4.
    assert (scores.recall, scores.precision, scores.sentences, scores.citations) == (0.5, 0.5, 4, 4)


def test_citations_needed_together_are_both_precise():
    judge = judge_by_sets({"Both": [{"q1", "q2"}]})
    scores = citation_scores("Both halves [1][2].", [cite(1, "q1"), cite(2, "q2")], judge)
    assert (scores.recall, scores.precision) == (1.0, 1.0)
    # redundant pair: each alone supports -> both precise (ALCE: condition A holds)
    judge = judge_by_sets({"Both": [{"q1"}, {"q2"}]})
    assert citation_scores("Both halves [1][2].", [cite(1, "q1"), cite(2, "q2")], judge).precision == 1.0


def test_citation_edge_cases():
    judge = judge_by_sets({"Alpha": [{"qa"}]})
    assert citation_scores("The articles don't say.", [], judge, abstained=True) is None
    invented = citation_scores("Alpha is true [9].", [cite(1, "qa")], judge)  # [9] cites nothing
    assert (invented.recall, invented.precision, invented.citations) == (0.0, 0.0, 0)
    empty = citation_scores("", [], judge)
    assert (empty.recall, empty.precision, empty.sentences) == (0.0, 0.0, 0)


QUOTE = "Charlie Bell, the straight-talking former head of fast-food giant McDonald's, has died of cancer aged 44."


def test_lexical_supports():
    assert content_tokens("The man said he was in Paris in 2004") == {"man", "paris"}
    assert lexical_supports("Charlie Bell died of cancer aged 44.", [QUOTE])
    assert not lexical_supports("Charlie Bell died of cancer aged 45.", [QUOTE])  # number missing
    # bell, died, cancer, paris: 3 of 4 = 0.75
    assert lexical_supports("Bell died of cancer in Paris.", [QUOTE])
    assert not lexical_supports("Bell died of cancer in Paris.", [QUOTE], threshold=0.8)
    assert lexical_supports("Ryanair will create 2500 jobs.", ["Ryanair", "2,500 new jobs created"])
    assert not lexical_supports("Bell died.", [])
    assert not lexical_supports("Yes.", [QUOTE]) and lexical_supports("It was 44.", [QUOTE])


def test_overlap_and_threshold_judges():
    spans = [("a.txt", 100, 150)]
    cites = [cite(1, "good quote", "a.txt", 120), cite(2, "off quote", "a.txt", 400)]
    judge = overlap_supports(cites, spans)
    assert judge("anything", ["good quote"]) and judge("x", ["off quote", "good quote"])
    assert not judge("anything", ["off quote"]) and not judge("x", [])
    scores = citation_scores("First [1]. Second [2]. Both [1][2].", cites, judge)
    assert scores.recall == pytest.approx(2 / 3) and scores.precision == pytest.approx(2 / 4)

    score = threshold_supports(lambda s, evidence: 0.9 if "yes" in evidence else 0.1, 0.5)
    assert score("s", ["no", "yes"]) and not score("s", ["no"]) and not score("s", [])


# ------------------------------------------------------------------------------------------ abstention, latency

def test_abstention_scores():
    pairs = [(False, True), (False, True), (False, False), (True, True)] + [(True, False)] * 4
    s = abstention_scores(pairs)
    assert s.precision == pytest.approx(2 / 3)  # 2 of 3 abstentions on unanswerable
    assert s.recall == s.accuracy == pytest.approx(2 / 3)  # 2 of 3 unanswerable abstained
    assert s.abstain_decision_accuracy == 0.75  # (2 + 4) / 8
    assert s.false_abstention_rate == 0.2  # 1 of 5 answerable


def test_abstention_empty_denominators():
    empty = abstention_scores([])
    assert empty.precision is None and empty.recall is None and empty.accuracy is None
    assert empty.abstain_decision_accuracy is None and empty.false_abstention_rate is None
    only_answered = abstention_scores([(True, False), (True, False)])
    assert only_answered.precision is None and only_answered.accuracy is None
    assert only_answered.false_abstention_rate == 0.0 and only_answered.abstain_decision_accuracy == 1.0


def test_nearest_rank_percentiles():
    values = [100, 10, 90, 20, 80, 30, 70, 40, 60, 50]
    assert latency_percentiles(values) == (50, 100)  # ranks ceil(5)=5 and ceil(9.5)=10
    assert percentile(range(1, 21), 95) == 19 and percentile(range(1, 21), 50) == 10
    assert percentile([7.5], 95) == 7.5 and percentile([3, 1], 0) == 1
    assert percentile([], 50) is None and latency_percentiles([]) == (None, None)
    with pytest.raises(ValueError):
        percentile([1], 101)


# ------------------------------------------------------------------------------------------ records, summary

KEYS = {"hit_at_1", "hit_at_3", "hit_at_5", "hit_at_10", "mrr", "answer_correct", "token_f1", "citation_recall",
        "citation_precision", "abstention_accuracy", "false_abstention_rate", "latency_p50_ms", "latency_p95_ms"}


def test_aggregate_hand_made():
    records = [
        QuestionResult("q1", True, False, first_relevant_rank=1, all_articles_rank=4, evidence_articles=2,
                       correct=True, f1=1.0, citation_recall=1.0, citation_precision=0.5, latency_ms=100),
        QuestionResult("q2", True, False, first_relevant_rank=4, evidence_articles=1,
                       correct=False, f1=0.5, citation_recall=0.0, citation_precision=0.0, latency_ms=300),
        QuestionResult("q3", True, True, first_relevant_rank=None, evidence_articles=1,
                       correct=False, f1=0.0, latency_ms=200),  # abstained: no citation scores
        QuestionResult("q4", False, True, latency_ms=50),
        QuestionResult("q5", False, False, latency_ms=400),
    ]
    s = aggregate(records)
    assert KEYS <= set(s)
    assert (s["hit_at_1"], s["hit_at_3"], s["hit_at_5"], s["hit_at_10"]) == pytest.approx((1 / 3, 1 / 3, 2 / 3, 2 / 3))
    assert s["mrr"] == pytest.approx((1 + 0.25 + 0) / 3)
    assert s["answer_correct"] == pytest.approx(1 / 3) and s["token_f1"] == pytest.approx(0.5)
    assert s["citation_recall"] == 0.5 and s["citation_precision"] == 0.25  # q1, q2 only
    assert s["abstention_accuracy"] == 0.5 and s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert s["abstention_precision"] == 0.5 and s["abstain_decision_accuracy"] == 0.6
    assert (s["latency_p50_ms"], s["latency_p95_ms"]) == (200, 400)
    assert s["all_articles_at_5"] == 1.0 and s["all_articles_at_10"] == 1.0 and s["multi_article"] == 1
    assert (s["questions"], s["answerable"], s["unanswerable"], s["answered"]) == (5, 3, 2, 2)


def test_aggregate_empty_and_unanswerable_only():
    s = aggregate([])
    assert KEYS <= set(s) and all(s[k] is None for k in KEYS)
    s = aggregate([QuestionResult("u", False, True)])
    assert s["hit_at_1"] is None and s["answer_correct"] is None and s["citation_recall"] is None
    assert s["abstention_accuracy"] == 1.0 and s["false_abstention_rate"] is None and s["latency_p50_ms"] is None


def test_score_question_from_answer_and_hits():
    item = SimpleNamespace(id="bbc-bus-02", answerable=True, must_include=("cancer", "44"),
                           answer="Colorectal cancer; he was 44.")
    text = "Charlie Bell died of cancer aged 44 [1]. He led McDonald's [2]."
    answer = Answer(text, False, (cite(1, QUOTE, "business/452.txt", 0), cite(2, "unrelated", "x.txt", 0)))
    spans = [("business/452.txt", 0, len(QUOTE))]
    hits = [hit("x.txt", 0, 50), hit("business/452.txt", 0, 400)]
    r = score_question(item, answer, hits, spans, lexical_supports, latency_ms=12.5)
    assert (r.first_relevant_rank, r.all_articles_rank, r.evidence_articles, r.retrieved) == (2, 2, 1, 2)
    assert r.correct is True and 0 < r.f1 < 1
    assert (r.citation_recall, r.citation_precision) == (0.5, 0.5) and r.latency_ms == 12.5

    abstained = score_question(item, Answer("The articles don't say.", True), hits, spans, lexical_supports)
    assert (abstained.correct, abstained.f1, abstained.citation_recall, abstained.citation_precision) == \
        (False, 0.0, None, None)
    unanswerable = SimpleNamespace(id="u", answerable=False, must_include=(), answer="")
    u = score_question(unanswerable, Answer("Something.", False), hits, [], lexical_supports)
    assert u.correct is None and u.first_relevant_rank is None and not u.abstained


# ------------------------------------------------------------------------------------------ MultiHop-RAG

@pytest.mark.skipif(not FIXTURE.exists(), reason="MultiHop-RAG fixture not present")
def test_multihop_fixture_reproduces_expected_values():
    scores = score_retrieval_file(FIXTURE)
    assert scores["queries"] == 8
    assert round(scores["Hits@10"], 4) == 0.75
    assert round(scores["Hits@4"], 4) == 0.625
    assert round(scores["MRR@10"], 4) == 0.5491
    assert round(scores["MAP@10"], 4) == 0.2746
    assert set(scores["by_type"]) == {"inference_query", "comparison_query"}


@pytest.mark.skipif(not FIXTURE.exists(), reason="MultiHop-RAG fixture not present")
def test_evaluate_hits_on_the_fixture_retrievals_matches_the_file_scorer():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    by_query = {d["query"]: [SimpleNamespace(text=m["text"]) for m in d["retrieval_list"]] for d in data}
    queries = [{"query": d["query"], "question_type": d["question_type"], "answer": d["answer"],
                "evidence_list": d["gold_list"]} for d in data]
    queries.append({"query": "nothing", "question_type": "null_query", "answer": "Insufficient information.",
                    "evidence_list": []})
    scores = evaluate_hits(queries, by_query.__getitem__)
    assert scores["queries"] == 8
    assert round(scores["MAP@10"], 4) == 0.2746 and round(scores["MRR@10"], 4) == 0.5491


def test_multihop_query_scores_by_hand():
    gold = ["fact one.", "fact\ntwo"]
    retrieved = ["noise", "Header\nfa ct one. and fact t-wo", "factone. and fact two", "noise", "fact two"]
    s = query_scores(retrieved, gold)
    # rank 2 finds "factone.", rank 3 finds "facttwo" (and "factone." again, not recounted)
    assert (s.hit_at_10, s.hit_at_4, s.reciprocal_rank) == (True, True, 0.5)
    assert s.average_precision == pytest.approx((1 / 2 + 1 / 3) / 2)
    both = query_scores(["x", "fact one. fact two"], gold)  # both at rank 2: (2/2) / 2
    assert both.average_precision == 0.5
    late = query_scores(["x"] * 4 + ["fact two"] + ["fact one."] * 6, gold)
    assert (late.hit_at_4, late.reciprocal_rank) == (False, 0.2)
    assert late.average_precision == pytest.approx((1 / 5 + 1 / 6) / 2)
    assert query_scores(["x"] * 10 + ["fact one."], gold) == query_scores([], gold)  # beyond rank 10
    assert squeeze("a b\nc\td") == "abc\td"  # only spaces and newlines go
    assert not query_scores(["fact\tone."], ["fact one."]).hit_at_10
    # repeated gold entries: found once, but the denominator counts both
    assert query_scores(["fact one."], ["fact one.", "fact one."]).average_precision == 0.5


def test_multihop_aggregates_and_null_queries():
    records = [
        {"question_type": "inference_query", "retrieval_list": [{"text": "a fact"}], "gold_list": [{"fact": "fact"}]},
        {"question_type": "comparison_query", "retrieval_list": [{"text": "no"}], "gold_list": [{"fact": "fact"}]},
        {"question_type": "null_query", "retrieval_list": [{"text": "x"}], "gold_list": []},
    ]
    s = score_retrieval_records(records)
    assert (s["queries"], s["Hits@10"], s["Hits@4"], s["MRR@10"], s["MAP@10"]) == (2, 0.5, 0.5, 0.5, 0.5)
    assert s["by_type"]["comparison_query"]["Hits@10"] == 0.0
    assert retrieval_scores([], [])["Hits@10"] is None


def test_multihop_qa_accuracy():
    assert extract_answer('Reasoning... The answer to the question is "Sam Bankman-Fried".') == "Sam Bankman-Fried"
    assert extract_answer("Sam Altman") == "Sam Altman"
    assert qa_correct('The answer to the question is "sam altman"', "Sam Altman")
    assert qa_correct("Yes", "yes") and not qa_correct("No", "Yes")
    assert not qa_correct('Yes. The answer to the question is "No"', "Yes")  # reduced to "No" first
    assert qa_accuracy(["Yes", "Donald Trump", "Insufficient information"], ["Yes", "Trump", "Sam Altman"]) == \
        pytest.approx(2 / 3)
    assert qa_accuracy([], []) is None


def _authors_loop(retrieved: list[str], gold: list[str]) -> tuple[bool, bool, float, float]:
    """The README's description of retrieval_evaluate.py, written as a plain loop (the oracle)."""
    gold = [g.replace(" ", "").replace("\n", "") for g in gold]
    retrieved = [r.replace(" ", "").replace("\n", "") for r in retrieved]
    first, found, total = None, [], 0.0
    for rank, chunk in enumerate(retrieved[:10], 1):
        if any(g in chunk for g in gold):
            first = first or rank
            new = [g for g in gold if g in chunk and g not in found]
            found += list(dict.fromkeys(new))
            total += len(dict.fromkeys(new)) / rank
    return (first is not None, bool(first and first <= 4), 1 / first if first else 0.0,
            total / min(len(gold), 10))


def test_multihop_query_scores_match_the_described_loop_on_random_cases():
    import random

    rng = random.Random(3)
    words = ["ab", "b c", "ca", "a\nb", "abc"]
    for _ in range(500):
        gold = [rng.choice(words) for _ in range(rng.randint(1, 4))]
        retrieved = ["".join(rng.choice(words) + rng.choice([" ", "", "\n", "x"]) for _ in range(rng.randint(0, 3)))
                     for _ in range(rng.randint(0, 12))]
        s = query_scores(retrieved, gold)
        expected = _authors_loop(retrieved, gold)
        assert (s.hit_at_10, s.hit_at_4) == expected[:2]
        assert s.reciprocal_rank == pytest.approx(expected[2]) and s.average_precision == pytest.approx(expected[3])
