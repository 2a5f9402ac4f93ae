"""MultiHop-RAG (Tang & Yang, COLM 2024) metrics, as the authors' scripts compute them.

Retrieval follows `retrieval_evaluate.py` (github.com/yixuantt/MultiHop-RAG); generation follows
`qa_evaluate.py`. See /work/shared/benchmarks/multihop-rag/README.md and eval/README.md.

    python -m eval.multihop RETRIEVAL_OUTPUT.json   # [{query, question_type, retrieval_list:[{text}], gold_list:[{fact}]}]

Hits@k here is the authors' code definition: a query is a hit when ANY gold fact is found in the
top k (not the share of gold facts retrieved).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

NULL_QUERY = "null_query"
DEPTH = 10  # Hits@10, MRR@10, MAP@10


def squeeze(text: str) -> str:
    """Remove spaces and newlines (only those two characters), as the authors do before matching."""
    return text.replace(" ", "").replace("\n", "")


@dataclass(frozen=True)
class QueryScores:
    hit_at_10: bool
    hit_at_4: bool
    reciprocal_rank: float  # 1 / rank of the first relevant chunk in the top 10, else 0
    average_precision: float  # sum over r <= 10 of (gold facts first found at r) / r, / min(#gold, 10)


def query_scores(retrieved: Sequence[str], gold: Sequence[str]) -> QueryScores:
    """One query's scores. A chunk is relevant when some gold fact is a substring of it (both
    squeezed). For MAP, a gold fact counts once, at the first rank whose chunk contains it; the
    denominator is min(len(gold), 10) counting gold entries as listed (repeats included).
    An empty gold list (which the authors' code never sees) scores AP 0."""
    facts = [squeeze(g) for g in gold]
    found: set[str] = set()
    first = None
    ap_sum = 0.0
    for rank, chunk in enumerate((squeeze(c) for c in retrieved[:DEPTH]), 1):
        present = [f for f in facts if f in chunk]
        if not present:
            continue
        if first is None:
            first = rank
        new = {f for f in present if f not in found}
        found |= new
        ap_sum += len(new) / rank
    denominator = min(len(facts), DEPTH)
    return QueryScores(hit_at_10=first is not None, hit_at_4=first is not None and first <= 4,
                       reciprocal_rank=1 / first if first else 0.0,
                       average_precision=ap_sum / denominator if denominator else 0.0)


def retrieval_scores(retrieved_lists: Sequence[Sequence[str]], gold_lists: Sequence[Sequence[str]]) -> dict:
    """Hits@10, Hits@4, MAP@10 and MRR@10 averaged over the queries given (None if there are none)."""
    if len(retrieved_lists) != len(gold_lists):
        raise ValueError(f"{len(retrieved_lists)} retrieval lists for {len(gold_lists)} gold lists")
    scores = [query_scores(r, g) for r, g in zip(retrieved_lists, gold_lists)]
    n = len(scores)

    def mean(values: Iterable[float]) -> float | None:
        return sum(values) / n if n else None

    return {"Hits@10": mean(s.hit_at_10 for s in scores), "Hits@4": mean(s.hit_at_4 for s in scores),
            "MAP@10": mean(s.average_precision for s in scores),
            "MRR@10": mean(s.reciprocal_rank for s in scores), "queries": n}


def score_retrieval_records(records: Iterable[dict]) -> dict:
    """Scores for records `{question_type, retrieval_list:[{text}], gold_list:[{fact}]}`,
    skipping null queries; with a per-question-type breakdown under "by_type"."""
    retrieved, gold, types = [], [], []
    for record in records:
        if record["question_type"] == NULL_QUERY:
            continue
        retrieved.append([m["text"] for m in record["retrieval_list"]])
        gold.append([m["fact"] for m in record["gold_list"]])
        types.append(record["question_type"])
    result = retrieval_scores(retrieved, gold)
    groups: dict[str, list[int]] = defaultdict(list)
    for i, kind in enumerate(types):
        groups[kind].append(i)
    result["by_type"] = {kind: retrieval_scores([retrieved[i] for i in idx], [gold[i] for i in idx])
                         for kind, idx in sorted(groups.items())}
    return result


def score_retrieval_file(path: str | Path) -> dict:
    """Score a retrieval output file in the authors' format (a JSON list, see module docstring)."""
    return score_retrieval_records(json.loads(Path(path).read_text(encoding="utf-8")))


def load_queries(path: str | Path) -> list[dict]:
    """`MultiHopRAG.json`: a list of `{query, answer, question_type, evidence_list:[{fact, ...}]}`."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _text(item) -> str:
    return item if isinstance(item, str) else item.text


def evaluate_hits(queries: Iterable[dict], retrieve: Callable[[str], Sequence], k: int = DEPTH) -> dict:
    """Run `retrieve(query)` (ranked chunk texts, or objects with `.text` such as `rag.models.Hit`)
    for every non-null query of the dataset and score the top `k` against its evidence facts.

    Returns `score_retrieval_records`'s dict; a retriever returning fewer than 10 chunks is scored on
    what it returned. The chunk text must contain a fact verbatim (spaces/newlines aside) to count."""
    records = []
    for item in queries:
        if item["question_type"] == NULL_QUERY:
            continue
        chunks = [_text(h) for h in retrieve(item["query"])][:k]
        records.append({"query": item["query"], "question_type": item["question_type"],
                        "retrieval_list": [{"text": t} for t in chunks],
                        "gold_list": [{"fact": e["fact"]} for e in item["evidence_list"]]})
    return score_retrieval_records(records)


# ---------------------------------------------------------------------------------------------
# Generation (qa_evaluate.py)

_ANSWER_IS = re.compile(r'The answer to the question is "(.*?)"')


def extract_answer(text: str) -> str:
    """X from `The answer to the question is "X"` (first occurrence, case-sensitive), else the text."""
    match = _ANSWER_IS.search(text)
    return match.group(1) if match else text


def qa_correct(prediction: str, gold: str) -> bool:
    """The extracted prediction shares at least one lower-cased whitespace-split token with the gold."""
    return bool(set(extract_answer(prediction).lower().split()) & set(gold.lower().split()))


def qa_accuracy(predictions: Sequence[str], golds: Sequence[str]) -> float | None:
    """Share of correct predictions (the number the script prints as precision, recall and F1)."""
    if len(predictions) != len(golds):
        raise ValueError(f"{len(predictions)} predictions for {len(golds)} gold answers")
    return sum(qa_correct(p, g) for p, g in zip(predictions, golds)) / len(golds) if golds else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.multihop",
                                     description="Score MultiHop-RAG retrieval output files.")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for path in args.files:
        scores = score_retrieval_file(path)
        print(f"{path}: {scores['queries']} non-null queries")
        for key in ("Hits@10", "Hits@4", "MAP@10", "MRR@10"):
            value = scores[key]
            print(f"  {key}: {'n/a' if value is None else f'{value:.4f}'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
