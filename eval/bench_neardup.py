"""Near-copy detection: precision and recall by threshold on a labelled set built from the BBC corpus.

    python -m eval.bench_neardup [--corpus DIR] [--originals 400] [--seed 3]

Originals are stored; the queries are one edited copy of each (re-headlined, trimmed,
paragraph-shuffled, lightly reworded, or all of these) and, as non-copies, updates of every fourth
original (one sentence from another article of its topic put in: it must stay searchable) and the other article of the
same topic folder that shares the most words with it (the hardest "different story on the same
topic" the corpus offers), unless it shares over 60% of its distinct words: that is the same story
republished, which the BBC corpus holds a few of. Detection is `index.neardup.NearDuplicates`, exactly as the ingest runs
it. Articles of the corpus that repeat another's headline are the corpus's own copies: they are
left out of the non-copies and counted.
"""
from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from pathlib import Path

from index import neardup
from index.loaders import discover, iter_loaded

BBC = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "bbc-news"
EDITS = ("re-headlined", "trimmed", "shuffled", "reworded", "all four")
THRESHOLDS = [round(0.2 + 0.05 * i, 2) for i in range(15)]
# the light rewording of a second desk: a synonym for a few common news words, every occurrence
SYNONYMS = {"said": "stated", "says": "states", "told": "informed", "company": "firm", "firm": "company",
            "government": "administration", "rise": "increase", "fall": "drop", "big": "large",
            "however": "but", "also": "additionally", "about": "around", "expected": "forecast",
            "announced": "unveiled", "people": "individuals", "new": "fresh", "help": "assist",
            "last": "previous", "after": "following", "but": "yet", "show": "reveal", "cut": "reduce",
            "plans": "proposals", "began": "started", "high": "elevated", "percent": "per cent"}
_WORD = re.compile(r"[A-Za-z]+")
_SENTENCE_END = re.compile(r'(?<=[.!?"])\s+(?=["A-Z])')
SAME_STORY = 0.6  # two articles sharing more of their distinct words are one story: never a non-copy


def load(corpus: Path) -> list:
    files, _ = discover([corpus])
    return [a for _, loaded in iter_loaded(files, 50 * 2**20) for a in loaded.articles]


def edit(text: str, kind: str, rng: random.Random) -> str:
    sentences = _SENTENCE_END.split(text.strip())
    if kind in ("trimmed", "all four") and len(sentences) > 3:
        sentences = sentences[:round(len(sentences) * rng.uniform(0.6, 0.8))]  # the tail cut for space
    # a wire layout: paragraphs of two or three sentences
    paras, i = [], 0
    while i < len(sentences):
        step = rng.choice((2, 3))
        paras.append(" ".join(sentences[i:i + step]))
        i += step
    if kind in ("shuffled", "all four"):
        head, rest = paras[:1], paras[1:]
        rng.shuffle(rest)
        paras = head + rest
    out = "\n\n".join(paras)
    if kind in ("reworded", "all four"):
        out = _WORD.sub(lambda m: _swap(m.group()), out)
    return out


def _swap(word: str) -> str:
    new = SYNONYMS.get(word.lower())
    if not new:
        return word
    return new.capitalize() if word[0].isupper() else new


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def build(articles: list, n: int, seed: int):
    """(originals, queries): queries are (text, the original it copies or None, kind)."""
    rng = random.Random(seed)
    titles = Counter(a.title.strip().lower() for a in articles)
    texts = Counter(a.text_hash for a in articles)
    repeated = {a.id for a in articles if titles[a.title.strip().lower()] > 1 or texts[a.text_hash] > 1}
    pool = [a for a in articles if a.id not in repeated]
    originals = rng.sample(pool, min(n, len(pool) // 2))
    chosen = {a.id for a in originals}
    by_topic: dict[str, list] = {}
    for a in pool:
        if a.id not in chosen:
            by_topic.setdefault(a.id.split("/")[0], []).append(a)
    words = {a.id: _words(a.text) for a in pool}
    # the corpus's own republished stories: a pool article sharing most words with any original
    same_story = {b.id for b in pool if b.id not in chosen
                  and any(_jaccard(words[b.id], words[a.id]) > SAME_STORY for a in originals
                          if a.id.split("/")[0] == b.id.split("/")[0])}
    queries, used = [], set(same_story)
    for i, a in enumerate(originals):
        kind = EDITS[i % len(EDITS)]
        queries.append((edit(a.text, kind, rng), a.id, kind))
        if i % 4 == 0:  # an update: the same story with one new sentence, which must stay searchable
            topic = by_topic.get(a.id.split("/")[0]) or pool
            queries.append((_updated(a.text, rng.choice(topic).text, rng), None, "updated"))
        others = [(_jaccard(words[a.id], words[b.id]), b.id, b) for b in by_topic.get(a.id.split("/")[0], [])
                  if b.id not in used]
        if others:
            *_, near = max(others, key=lambda o: o[:2])
            used.add(near.id)
            queries.append((near.text, None, "same topic"))
    return originals, queries, len(repeated), len(same_story)


def _updated(text: str, other: str, rng: random.Random) -> str:
    sentences = _SENTENCE_END.split(text.strip())
    new = rng.choice(_SENTENCE_END.split(other.strip()))
    at = rng.randrange(1, len(sentences) + 1)
    return " ".join(sentences[:at] + [new] + sentences[at:])


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / max(1, len(a | b))


def score(originals, queries, threshold: float) -> dict:
    index = neardup.NearDuplicates(threshold)
    texts = {a.id: a.text for a in originals}
    for a in originals:
        sig = neardup.signature(a.text)
        if sig is not None:
            index.add(a.id, sig)
    tp = fp = 0
    found_by_kind: Counter = Counter()
    wrong: Counter = Counter()
    for text, truth, kind in queries:
        found = index.match(neardup.signature(text))
        if found and neardup.adds_sentences(text, texts[found[0]]):
            found = None  # as the ingest does: a near copy with a sentence of its own is stored apart
        if found and found[0] == truth:
            tp += 1
            found_by_kind[kind] += 1
        elif found:
            fp += 1
            wrong[kind] += 1
    copies = sum(truth is not None for _, truth, _ in queries)
    per_kind = Counter(kind for _, truth, kind in queries if truth is not None)
    return {"threshold": threshold, "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / copies,
            "false_positives": fp, "folded_updates": wrong["updated"], "recall_by_edit": {k: found_by_kind[k] / per_kind[k] for k in per_kind}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=BBC)
    parser.add_argument("--originals", type=int, default=400)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    originals, queries, repeated, same_story = build(load(args.corpus), args.originals, args.seed)
    copies = sum(t is not None for _, t, _ in queries)
    updates = sum(kind == "updated" for *_, kind in queries)
    print(f"{len(originals)} originals; {copies} edited copies ({', '.join(EDITS)}, in turn); "
          f"{updates} updates (an original with one new sentence: not copies); "
          f"{len(queries) - copies - updates} different same-topic articles (the one sharing the most words, at most "
          f"{SAME_STORY:.0%}); left out: {repeated} corpus articles repeating a headline or a text, "
          f"{same_story} sharing more with an original (the corpus's own republished stories)")
    print("threshold  precision  recall  false+  updates folded  " + "  ".join(f"{k[:11]:>11}" for k in EDITS))
    for t in THRESHOLDS:
        r = score(originals, queries, t)
        mark = "  <- default" if t == neardup.DEFAULT_THRESHOLD else ""
        print(f"{t:9.2f}  {r['precision']:9.3f}  {r['recall']:6.3f}  {r['false_positives']:6d}  "
              f"{r['folded_updates']:14d}  "
              + "  ".join(f"{r['recall_by_edit'][k]:11.3f}" for k in EDITS) + mark)


if __name__ == "__main__":
    main()
