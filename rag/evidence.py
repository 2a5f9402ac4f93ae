"""Evidence selection, LLM-free: split the retrieved chunks into sentences, score each against the
question (embedding + lexical), check the sentence can answer the kind of question asked, and
pick a few non-redundant sentences. Correctness never depends on an LLM following instructions."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.chunking import sentence_spans
from index.lexical import tokenize
from index.text import MONTHS, WEEKDAYS

from .models import Hit

# Text addressed to an AI inside an article is data; it is never used as evidence. A model is
# named "AI (model)", "LLM", "language model", "chatbot", "summariser" or "the assistant" (not a
# "shop assistant"); bare "model"/"bot" would flag car launches and Twitter stories.
_AI = (r"(?:ai|a\.i\.)(?:\s+(?:models?|systems?|assistants?|tools?|agents?|chat ?bots?))?|llms?|"
       r"(?:large\s+)?language\s+models?|chat ?bots?|chatgpt|summari[sz]ers?|"
       r"(?:the|an?|any|all|every|each|this|you)\s+assistants?")
_TELL = (r"(?:tell|state|say|reply|respond|answer|write|output|print|claim|mention|describe|summari[sz]e|"
         r"ignore|disregard|treat|present|repeat|insist)")
_INJECTION = re.compile("|".join((
    r"\b(ignore|disregard|forget|override)\b[^.]{0,40}\b(instructions?|prompts?|rules|guidelines|previous|above)\b",
    r"\b(system|developer) (prompt|message|instructions?)\b",
    r"\b(you are|you're|act as|pretend to be)\b[^.]{0,30}\b(ai|assistant|chatbot|language model|bot)\b",
    r"\byou\s+(must|should|shall|will now|have to|need to|are to)\s+(always\s+)?(reply|respond|answer|output|say|"
    r"print|state|claim)\b",
    r"\b(reply|respond|answer|output)\s+(only\s+)?with\b",
    r"\b(reply|respond|answer|say)\b[^.]{0,30}\b(every|each|all|any) (question|prompt|message|request)s?\b",
    # addressed to a model: "Note to AI models", "If you are an AI", "Attention LLMs"
    rf"\b(note|message|instructions?|reminder|directive)s?\s+(to|for)\s+(any\s+|all\s+)?({_AI})\b",
    rf"\bif\s+you\s*(are|'re|’re)\s+(an?\s+)?({_AI})\b",
    rf"\b(dear|hey|hello|attention),?\s+({_AI})\b",
    # a model told what to do, in the third person: "AI models reading this should say ..."
    rf"\b({_AI})(,?\s+(reading|summari[sz]ing|processing|parsing|answering questions about)\b[^.,;:]{{0,60}},?)?"
    rf"\s+(must|should|shall|are to|is to|needs? to|has to|have to|will now)\s+"
    rf"((always|now|also|only|never|not|instead)\s+)*{_TELL}\b",
    r"\bwhen\s+(summari[sz]ing|answering questions about|asked about)\s+this\s+(article|page|text|story|document)\b",
    r"^\W*(tell|inform|remind)\s+(the\s+)?(readers?|users?)\b",
)), re.IGNORECASE)
# Spans hidden from readers or framed for a chat model, which may hold several harmless-looking
# sentences: comments, chat-template blocks, and a paragraph opened by a role prefix.
_HIDDEN = re.compile("|".join((
    r"<!--[\s\S]*?(?:-->|\Z)",
    r"\A(?:(?!<!--)[\s\S])*?-->",  # the end of a comment opened before this text starts
    r"^[ \t]*\[[^\]\n]*\]:[ \t]*(?:#|<>)[^\n]*",  # markdown's comment idiom: [//]: # (...)
    r"<\|im_start\|>[\s\S]*?(?:<\|im_end\|>|\Z)",
    r"\[INST\][\s\S]*?(?:\[/INST\]|\Z)",
    r"<<SYS>>[\s\S]*?(?:<</SYS>>|\Z)",
    r"<\|[a-z_]+\|>[^\n]*",
    r"(?:^|(?<=[.!?]\s))[ \t>*_]*(?:system|assistant|developer)[ \t]*:[\s\S]*?(?=\n[ \t]*\n|\Z)",
    r"^[ \t]*#{1,6}[ \t]*(?:instructions?|system|response)\b[\s\S]*?(?=\n[ \t]*\n|\Z)",
)), re.IGNORECASE | re.MULTILINE)
_MEASURE = re.compile(r"\d\s?(cm|mm|m|km|kg|g|ft|feet|foot|inch(es)?|metres?|meters?|miles?|mph|km/h|kph|"
                      r"tonnes?|tons?|pounds|lb|%|per ?cent|hours?|minutes?|seconds?|days?|weeks?|months?|years?)\b",
                      re.IGNORECASE)
_NUMBER_WORDS = (r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|"
                 r"hundreds?|thousands?|millions?|billions?|half|third|quarter)\b(?!-)")
_NUMBER = re.compile(rf"\d|{_NUMBER_WORDS}", re.IGNORECASE)
_AMOUNT = re.compile(r"[£$€¥]\s?\d|\d[\d,.]*\s?(%|bn|m\b|k\b)|\b(per ?cent|percent|million|billion|trillion|"
                     r"euros?|dollars?|pounds?|pence|cents?)\b", re.IGNORECASE)
_MONTHS = "|".join(MONTHS)
_DATE = re.compile(rf"\b({_MONTHS}|{'|'.join(WEEKDAYS)}|"
                   r"yesterday|today|tomorrow|tonight|week|month|year|ago|(19|20)\d\d)\b", re.IGNORECASE)
# numbers, number words and date words: what a number/date answer must add to the question
_FACT_TOKEN = re.compile(rf"\d[\d,.]*\d|\d|{_NUMBER_WORDS}|{_DATE.pattern}", re.IGNORECASE)
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_YEAR_CUE = re.compile(rf"\b(in|since|until|from|by|during|of|{_MONTHS})\s+$", re.IGNORECASE)
_PUNCT = "\"'“”‘’()[],.;:!?-"
_QUESTION_STEMS = {"whi", "what", "who", "whom", "whose", "when", "where", "how", "which", "say", "said", "tell"}
_DEMONYM = re.compile(r"(ish|ese|ian|an|ic|i)$")  # "which Italian club": describes, need not be named
_GENERIC_CAPS = {"TV", "PC", "CD", "DVD", "CEO", "MP", "MPs", "AM", "PM", "UN"}
_QUESTION_WORDS = {"what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did", "does",
                   "do", "is", "are", "was", "were", "and", "but", "so", "the", "a", "an", "i", "in", "on"}


@dataclass(frozen=True)
class Sentence:
    hit: Hit
    start: int  # offsets in the article
    end: int
    text: str
    terms: frozenset[str]  # stemmed content words, tokenized once per question


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    score: float
    vector: np.ndarray


def answer_kind(question: str) -> str:
    """What a sentence must contain to answer: number, date, name or anything."""
    q = question.lower()
    if re.search(r"\bhow much\b|\bwhat (price|amount|sum|value|budget|salary|fee|fine|revenue|profit)\b|"
                 r"\bworth\b|\bcost\b", q):
        return "amount"
    if re.search(r"\bhow (tall|far|high|heavy|fast|big|long is|long was|wide|deep)\b", q):
        return "measure"
    if re.search(r"\bhow (many|long|old)\b|\b(what|which) (percentage|number|share|odds|score)\b|"
                 r"\b(rise|rose|risen|fall|fell|fallen|increase|cut|drop|grow|grew)s?d? (to|by)\b", q):
        return "number"
    if re.search(r"\bwhen\b|\b(what|which) (date|day|time|year|month)\b", q):
        return "date"
    if re.search(r"\bwho(m|se)?\b|\bwhere\b|\bwhich (person|man|woman|company|companies|country|countries|"
                 r"city|town|state|firm|team|club|minister|official|newspaper|paper|magazine|book|film|"
                 r"band|party|airline|bank|director|actor|actress|player|singer|network|channel|"
                 r"university|auction houses?)\b", q):
        return "name"
    return "any"


def fits_kind(text: str, kind: str, question: str = "", context: str = "") -> bool:
    """Whether the sentence states a fact of the asked kind that the question does not already
    state ("Meet the new CEO of Vanguard" names no one new for "Who is the new CEO of Vanguard?").
    `context` (the passage around it) tells whether a capitalised first word is a name."""
    if kind == "any":
        return True
    if kind == "name":  # a capitalised word not from the question; the first one only if a name
        words = [w.strip(_PUNCT) for w in text.split()]
        return any(w[:1].isupper() and not mentions(question, w) and (i > 0 or _capitalised_inside(w, context))
                   for i, w in enumerate(words) if w)
    pattern = {"measure": _MEASURE, "amount": _AMOUNT, "number": _NUMBER, "date": _DATE}[kind]
    if not pattern.search(text):
        return False
    asked = {m.group().lower() for m in _FACT_TOKEN.finditer(question)}
    if kind == "date":
        return any(m.group().lower() not in asked and _DATE.fullmatch(m.group()) for m in _FACT_TOKEN.finditer(text))
    return any(m.group().lower() not in asked for m in _FACT_TOKEN.finditer(text)
               if (m.group()[0].isdigit() or _NUMBER.fullmatch(m.group()))
               and not (kind == "number" and _not_a_count(text, m)))


def _capitalised_inside(word: str, context: str) -> bool:
    """`word` also occurs capitalised inside a sentence of `context`: a name, not just a first word."""
    for m in re.finditer(rf"\b{re.escape(word)}\b", context):
        before = context[:m.start()].rstrip("\"'“‘( \n\t")
        if before and not before.endswith((".", "!", "?")):
            return True
    return False


def _not_a_count(text: str, m: re.Match) -> bool:
    """A price ("£339") or a year ("in 2004") does not answer "how many"."""
    before = text[:m.start()]
    return before.endswith(tuple("£$€¥")) or bool(_YEAR.fullmatch(m.group()) and _YEAR_CUE.search(before))


def other_time(text: str, question: str) -> bool:
    """The question names a year and the sentence names only other years: about another time."""
    asked, said = _years(question), _years(text)
    return bool(asked and said and not asked & said)


def _years(text: str) -> set[str]:
    """Years named in `text`, not counting those in a name ("Euro 2020", "Cyberpunk 2077")."""
    out = set()
    for m in _YEAR.finditer(text):
        before = text[:m.start()].split()
        previous = before[-1].strip(_PUNCT) if before else ""
        if not (previous[:1].isupper() and not _YEAR_CUE.search(previous + " ")):
            out.add(m.group())
    return out


def key_entities(question: str) -> list[str]:
    """Names and numbers the question is about ("China", "2027"): the evidence must mention them."""
    # "Booker-winning" -> "Booker"; "U.S." -> "US" (matched dotted or not)
    words = re.findall(r"(?:[A-Z]\.){2,}|[A-Za-z][\w’']*|\d[\d,.]*", question)
    out = []
    for i, word in enumerate(words):
        word = word.replace(".", "") if re.fullmatch(r"(?:[A-Z]\.){2,}", word) else word
        word = re.sub(r"[’']s$", "", word).strip(",.’'")
        if (len(word) < 2 and not word.isdigit()) or word.lower() in _QUESTION_WORDS or word in _GENERIC_CAPS:
            continue
        adjective = _DEMONYM.search(word) and i + 1 < len(words) and words[i + 1][0].islower()
        if word[0].isdigit() or (word[0].isupper() and i > 0 and not adjective):
            out.append(word)
    return out


def mentions(text: str, entity: str) -> bool:
    """Case-insensitive word-start match that tolerates inflection ("Russia" ~ "Russian") and
    dotted initials ("US" ~ "U.S.", "NATO" ~ "Nato")."""
    if entity.isupper() and entity.isalpha() and len(entity) <= 4:
        flags = 0 if len(entity) == 2 else re.IGNORECASE  # two letters keep their case: "US" is not "us"
        return re.search(r"\b" + r"\.?".join(entity), text, flags) is not None
    stem = entity.lower()[: max(4, len(entity) - 3)] if entity[0].isalpha() else entity
    return re.search(rf"\b{re.escape(stem)}", text, re.IGNORECASE) is not None


def hidden_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of what `text` hides from readers or frames for a chat model (see `_HIDDEN`)."""
    return [m.span() for m in _HIDDEN.finditer(text)]


def candidates(hits: list[Hit], article_text: Callable[[str], str] | None = None) -> list[Sentence]:
    """Every distinct, trustworthy sentence of the retrieved chunks, with article offsets.

    `article_text(id)` lets hidden spans be found in the whole article, so a comment opened in
    an earlier chunk still hides the sentences of this one."""
    seen, found = set(), []
    whole: dict[str, list[tuple[int, int]] | None] = {}  # article id -> hidden spans of the whole article
    for hit in hits:
        if hit.article_id not in whole:
            full = article_text(hit.article_id) if article_text else ""
            whole[hit.article_id] = hidden_spans(full) if full else None
        hidden = whole[hit.article_id]
        if hidden is None:  # the article's text is unknown: the chunk's own spans
            hidden = hidden_spans(hit.text)
        else:
            hidden = [(start - hit.start, end - hit.start) for start, end in hidden]
        for a, b in filter(None, (_outside(hit.text, a, b, hidden) for a, b in sentence_spans(hit.text))):
            key = (hit.article_id, hit.start + a)
            text = hit.text[a:b]
            if key in seen or len(text.split()) < 4 or _INJECTION.search(text):
                continue
            seen.add(key)
            found.append((hit, a, b, text))
    terms = tokenize([text for *_, text in found]) if found else []
    return [Sentence(hit, hit.start + a, hit.start + b, text, frozenset(t))
            for (hit, a, b, text), t in zip(found, terms)]


def _outside(text: str, a: int, b: int, hidden: list[tuple[int, int]]) -> tuple[int, int] | None:
    """The sentence `text[a:b]` without a hidden span it starts or ends in; None if one lies inside it."""
    for start, end in hidden:
        if start < b and a < end:
            if start <= a:
                a = end
            elif end >= b:
                b = start
            else:
                return None
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b) if a < b else None


def question_terms(question: str) -> set[str]:
    """Stemmed content words of a question, without the question words BM25's stopwords keep."""
    return set(tokenize([question])[0]) - _QUESTION_STEMS


def _novelty(asked: set[str], words: frozenset[str]) -> float:
    """Share of the sentence's content words that the question does not already contain."""
    return len(words - asked) / len(words) if words else 0.0


def lexical_overlap(query_terms: set[str], words: frozenset[str]) -> float:
    return len(query_terms & words) / len(query_terms) if query_terms else 0.0


def split_question(question: str) -> list[str]:
    """A compound question ("Who bought it, and what did they pay?") as its parts."""
    parts = re.split(r",?\s+and\s+(?=(?:what|which|who|whom|whose|when|where|why|how)\b)", question.strip(),
                     flags=re.IGNORECASE)
    return [p.strip() for p in parts if len(question_terms(p)) >= 1] or [question.strip()]


def embed_sentences(sentences: list[Sentence], embedder) -> np.ndarray:
    return embedder.embed_batch([s.text for s in sentences]) if sentences else np.zeros((0, 1), np.float32)


def score(question: str, sentences: list[Sentence], vectors: np.ndarray, embedder, lexical_weight: float = 0.4,
          context: str | None = None) -> list[Scored]:
    """Each sentence scored against the question, best first. `context` (the question a
    follow-up follows, or the rest of a compound question) counts half."""
    if not sentences:
        return []
    queries = [question] + ([f"{question} {context}"] if context else [])
    query_vectors = embedder.embed_batch(queries)
    totals = np.zeros(len(sentences))
    for q, qv in zip(queries, query_vectors):
        terms = question_terms(q)
        totals += [(1 - lexical_weight) * float(v @ qv) + lexical_weight * lexical_overlap(terms, s.terms)
                   for s, v in zip(sentences, vectors)]
    totals /= len(queries)
    asked = question_terms(question)
    novelty = np.array([_novelty(asked, s.terms) for s in sentences])
    totals *= 0.7 + 0.3 * novelty  # a sentence that only restates the question answers nothing
    scored = [Scored(s, float(t), v) for s, t, v in zip(sentences, totals, vectors)]
    return sorted(scored, key=lambda x: -x.score)


def fitting_sentences(question: str, scored: list[Scored], fit_ratio: float = 0.0) -> list[Scored]:
    """The scored sentences that can answer this kind of question, best first; none when the best
    of them scores below `fit_ratio` of the best sentence of any kind."""
    kind = answer_kind(question)
    fitting = [s for s in scored if fits_kind(s.sentence.text, kind, question, s.sentence.hit.text)
               and not other_time(s.sentence.text, question)]
    return fitting if fitting and fitting[0].score >= fit_ratio * scored[0].score else []


def select(question: str, scored: list[Scored], max_sentences: int, keep_ratio: float,
           redundancy: float = 0.85, fit_ratio: float = 0.0) -> list[Scored]:
    """The best sentence that can answer this kind of question, then up to a few more that are
    nearly as good, not redundant, and cover question terms or entities not yet covered.

    Nothing when that best sentence scores below `fit_ratio` of the best sentence of any kind:
    the passages about the question then do not hold the number, name or date it asks for."""
    fitting = fitting_sentences(question, scored, fit_ratio)
    if not fitting:
        return []
    best = fitting[0]
    chosen = [best]
    terms = question_terms(question)
    covered = terms & best.sentence.terms
    for s in fitting[1:]:
        if len(chosen) == max_sentences or s.score < keep_ratio * best.score:
            break
        words = s.sentence.terms
        if any(float(s.vector @ c.vector) > redundancy for c in chosen):
            continue
        new_article = all(s.sentence.hit.article_id != c.sentence.hit.article_id for c in chosen)
        if (terms & words) - covered or new_article:
            chosen.append(s)
            covered |= terms & words
    return chosen
