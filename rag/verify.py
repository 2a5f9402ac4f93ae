"""The verifier: after generation, every sentence must be supported by the evidence it cites.
LLM-free: lexical recall plus embedding similarity, and every name and number in the sentence
must appear in the cited evidence, negated where it is and with no opposite verb ("fell" for
"rose"). Fabricated markers are removed; unsupported sentences are re-cited to the evidence that
supports them, or dropped."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from index.lexical import tokenize
from index.text import titled

from .evidence import Scored, mentions

MARKER = re.compile(r"\s*\[(\d+)\]")
_MARKER_AFTER_END = re.compile(r"([.!?…][\"'”’)]*)\s*((?:\[\d+\]\s*)*\[\d+\])(\s*)")


def markers_inside(text: str) -> str:
    """"done. [1] Next" -> "done [1]. Next": markers written after a sentence's end belong to it
    (and a sentence that follows with no space still starts a new one)."""
    return _MARKER_AFTER_END.sub(lambda m: f" {m[2]}{m[1]}{m[3] or ' '}", text)


_FACT = re.compile(r"\d[\d,.]*\d|\d|[A-Z][\w’'-]+")
COMMON_CAPS = {"The", "A", "An", "It", "He", "She", "They", "This", "That", "These", "Those", "In", "On",
                "At", "As", "According", "However", "But", "And", "Also", "There", "I", "We", "His", "Her",
                "Their", "Its", "After", "Before", "When", "While", "Yes", "No"}

# A word after one of these, to the end of its clause, is negated ("No 10" and "not only" are not).
_NEGATION = re.compile(r"\b(?:not(?!\s+only\b)|no(?!\.?\s*\d)|never|neither|nor|none|nobody|nothing|without|"
                       r"den(?:y|ies|ied|ying))\b|n['’]t\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[\n,;:.!?()]|\bbut\b", re.IGNORECASE)
# Opposite verbs as stemmed terms: "fell" against evidence that only says "rose" reverses it.
_OPPOSITES = (({"rise", "rose", "risen"}, {"fall", "fell", "fallen"}), ({"increas"}, {"decreas"}),
              ({"win", "won"}, {"lose", "lost"}), ({"approv"}, {"reject"}), ({"accept"}, {"refus"}),
              ({"open", "reopen"}, {"close", "shut"}))


@dataclass(frozen=True)
class Verified:
    text: str  # the sentence without markers
    cites: tuple[int, ...]  # 1-based evidence numbers that support it
    support: float
    recited: bool = False  # the model cited nothing valid; we found the support ourselves


def facts(text: str) -> set[str]:
    """Names and numbers: what a sentence may only state if its evidence states it too. A
    capitalised first word counts only when it starts a multi-word name ("Baker Mayfield won")."""
    found = list(_FACT.finditer(text))
    out = set()
    for i, m in enumerate(found):
        word = m.group().rstrip(".,")
        if word in COMMON_CAPS:
            continue
        opening = not text[:m.start()].strip()
        next_joins = i + 1 < len(found) and text[m.end():found[i + 1].start()] == " " and found[i + 1].group()[0].isupper()
        if word[0].isdigit() or not opening or next_joins:
            out.add(word)
    return out


def mask_facts(text: str) -> str:
    """The sentence with its names and numbers blanked, to compare what two sentences claim."""
    hidden = facts(text)
    return _FACT.sub(lambda m: "_" if m.group().rstrip(".,") in hidden else m.group(), text)


def polarity(text: str) -> tuple[set[str], set[str]]:
    """(stated, negated) stemmed terms: a term after a negation cue, up to the end of its clause,
    is negated ("The summit was not called off": summit stated, call negated)."""
    stated, negated = [], []
    for clause in _CLAUSE.split(text):
        cue = _NEGATION.search(clause)
        stated.append(clause[:cue.start()] if cue else clause)
        negated.append(clause[cue.end():] if cue else "")
    terms = tokenize([" ".join(stated), " ".join(negated)])
    return set(terms[0]), set(terms[1])


def contradicts(sentence: str, source: str) -> bool:
    """The sentence negates what the source states (or the reverse), or uses the opposite verb."""
    said, denied = polarity(sentence)
    states, denies = polarity(source)
    if (denied - denies) & states or (denies - denied) & said:
        return True
    words, source_words = said | denied, states | denies
    return any(words & a and source_words & b and not source_words & a
               for x, y in _OPPOSITES for a, b in ((x, y), (y, x)))


def support(sentence: str, vector: np.ndarray, source: str, source_vector: np.ndarray) -> float:
    """0 when a name or number is not in the source or the sentence contradicts it, else the
    mean of term recall and cosine."""
    if any(not mentions(source, f) for f in facts(sentence)) or contradicts(sentence, source):
        return 0.0
    terms = set(tokenize([sentence])[0])
    recall = len(terms & set(tokenize([source])[0])) / len(terms) if terms else 0.0
    return 0.5 * recall + 0.5 * float(vector @ source_vector)


def support_score(sentence: str, source: str, embedder) -> float:
    """The verifier's support of `sentence` by the passage `source` (for evaluation)."""
    vectors = embedder.embed_batch([sentence, source])
    return support(sentence, vectors[0], source, vectors[1])


def verify(sentence: str, evidence: list[Scored], embedder, threshold: float) -> Verified | None:
    cited = [int(n) for n in MARKER.findall(sentence) if 1 <= int(n) <= len(evidence)]  # others were invented
    clean = MARKER.sub("", sentence).strip()
    if len(tokenize([clean])[0]) == 0:
        return None
    vector = embedder.embed_batch([clean])[0]
    scores = [support(clean, vector, titled(e.sentence.hit.title, e.sentence.text), e.vector) for e in evidence]
    good = tuple(dict.fromkeys(n for n in cited if scores[n - 1] >= threshold))
    if good:
        return Verified(clean, good, max(scores[n - 1] for n in good))
    best = int(np.argmax(scores)) if scores else -1
    if best >= 0 and scores[best] >= threshold:
        return Verified(clean, (best + 1,), scores[best], recited=True)
    return None
