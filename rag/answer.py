"""The answer step: score the sentences of the retrieved chunks, keep those of articles about the
question's subject, let a reader pick the one that answers each part (and a short phrase of it)
or let a model write from them and keep only what verifies; abstain when the evidence is weak,
and report conflicting sources."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from index.chunking import sentence_spans
from index.text import titled

from .errors import LLMError
from .evidence import (Scored, answer_kind, candidates, embed_sentences, fitting_sentences, key_entities, mentions,
                       score, select, split_question)
from .models import NOT_IN_ARTICLES, Answer, Citation, Hit
from .reader import Reader, Reading, ScoreReader, prompt
from .verify import COMMON_CAPS, MARKER, Verified, facts, markers_inside, mask_facts, verify

_TIME_SENSITIVE = re.compile(r"\b(now|current(ly)?|latest|still|today|recent(ly)?|so far|yet|at the moment|"
                             r"this (week|month|year)|most recent|newest|upcoming|next)\b", re.IGNORECASE)


@dataclass(frozen=True)
class AnswerSettings:
    min_evidence: float = 0.3  # best sentence score below this: abstain
    support_threshold: float = 0.55  # verifier: a generated sentence needs this much support
    keep_ratio: float = 0.7  # further evidence must score this fraction of the best
    fit_ratio: float = 0.8  # abstain when the best sentence of the asked kind scores below this share of the best
    conflict_similarity: float = 0.8  # sentences from two articles alike but for names/numbers ...
    max_tokens: int = 160  # ... that differ in a name or number: a conflict
    read_depth: int = 6  # the best fitting sentences per part a model reads (mixed set: 34 of 41 answers in the top 6)
    weak_evidence: float = 0.45  # a citation whose sentence scores below this is shown as weak


def is_time_sensitive(question: str) -> bool:
    return bool(_TIME_SENSITIVE.search(question))


class Answerer:
    def __init__(self, embedder, llm, settings: AnswerSettings = AnswerSettings(),
                 article_text: Callable[[str], str] | None = None, reader: Reader | None = ScoreReader()) -> None:
        """`article_text(id)` gives an article's full text, so the names a question is about may
        be found anywhere in the article the evidence comes from, not only in the retrieved chunk.
        `reader` picks the answering sentence of each part; None: `llm` writes the answer from the
        best sentences and every sentence it writes is verified (generate-then-verify)."""
        self.embedder, self.llm, self.settings, self.reader = embedder, llm, settings, reader
        self.article_text = article_text

    def stream(self, question: str, hits: list[Hit], time_sensitive: bool = False,
               context: str | None = None, warnings: tuple[str, ...] = ()) -> Iterator[str | Answer]:
        """Text pieces as verified sentences become ready, then the final `Answer`.

        `question` is what the evidence must answer (time phrases already turned into filters);
        `time_sensitive` answers start "As of <newest cited date>"; `context` is the question a
        follow-up follows; `warnings` (what went wrong before, e.g. in retrieval) end the text as notes.
        If the LLM fails, the answer keeps what it verified and quotes the rest of the evidence."""
        s = self.settings
        sentences = candidates(hits, self.article_text)
        vectors = embed_sentences(sentences, self.embedder)
        parts = split_question(question)
        readings: list[Reading] = []
        picks: list[list[Scored]] = []  # per answered part: the scorer's sentences, the reader's first
        shown: list[Scored] = []  # what a writing model sees: each part's best fitting sentences
        first_scored: list[Scored] = []
        for part in parts:  # each part of a compound question gets its own evidence
            rest = " ".join([p for p in parts if p != part] + ([context] if context else [])) or None
            scored = self._about(part, score(part, sentences, vectors, self.embedder, context=rest))
            # a part of a compound question may lean on the other part's passages: no fit check
            single = len(parts) == 1
            # the best sentence and, for a one-part question, at most one supporting sentence
            picked = select(part, scored, 2 if single else 1, s.keep_ratio, fit_ratio=s.fit_ratio if single else 0.0)
            if not picked or picked[0].score < s.min_evidence:
                continue
            first_scored = first_scored or scored
            fitting = fitting_sentences(part, scored)
            reading = self.reader.read(part, fitting) if self.reader else Reading(part, picked[0])
            readings.append(reading)
            picks.append([reading.sentence] if reading.by_model else picked)
            shown += [f for f in fitting[:s.read_depth] if all(f.sentence != x.sentence for x in shown)]
        if not readings:
            answer = self._abstain(question, hits, warnings)
            yield answer.text
            yield answer
            return
        chosen = [p for part in picks for p in part]
        chosen = [c for i, c in enumerate(chosen) if all(c.sentence != d.sentence for d in chosen[:i])]
        prefix = ""
        if time_sensitive:
            newest = max((c.sentence.hit.date for c in chosen if c.sentence.hit.date), default=None)
            prefix = f"As of {newest}: " if newest else ""
        other = self._conflict(chosen[0], first_scored, answer_kind(parts[0]))
        if other is not None:
            evidence = [chosen[0], other]
            verified = [Verified(self._display(e), (i + 1,), 1.0) for i, e in enumerate(evidence)]
            yield from self._finish(question, f"{prefix}The sources disagree. ", verified, evidence, conflict=True,
                                    warnings=warnings)
            return
        if self.reader is not None:  # the reader chose: its phrases, else the chosen sentences
            number = {c.sentence: i + 1 for i, c in enumerate(chosen)}
            verified = []
            for reading, part in zip(readings, picks):
                for c in part if reading.phrase is None else [reading.sentence]:
                    text = _sentence(reading.phrase) if reading.phrase else self._display(c)
                    verified.append(Verified(text, (number[c.sentence],), 1.0))
            yield from self._finish(question, prefix, verified, chosen, warnings=warnings)
            return
        verified = []
        failed = False
        try:
            for piece in self._phrase(question, shown, verified):
                yield (prefix if len(verified) == 1 else "") + piece
        except LLMError as exc:
            failed = True
            warnings += (f"The language model failed, so this answer quotes the evidence: {exc}",)
        if verified and not failed:
            yield from self._finish(question, prefix, verified, shown, streamed=len(verified), warnings=warnings)
            return
        # quote the chosen evidence the model's kept sentences do not cite
        cited = {shown[n - 1].sentence for v in verified for n in v.cites}
        evidence = [shown[n - 1] for v in verified for n in v.cites]
        evidence = list({e.sentence: e for e in evidence}.values())
        position = {e.sentence: i + 1 for i, e in enumerate(shown)}
        renumber = {position[e.sentence]: i + 1 for i, e in enumerate(evidence)}
        kept = [Verified(v.text, tuple(renumber[n] for n in v.cites), v.support, v.recited) for v in verified]
        extra = [c for c in chosen if c.sentence not in cited]
        kept += [Verified(self._display(c), (len(evidence) + i + 1,), 1.0) for i, c in enumerate(extra)]
        yield from self._finish(question, prefix, kept, evidence + extra, streamed=len(verified), warnings=warnings)

    def _about(self, part: str, scored: list[Scored]) -> list[Scored]:
        """The relevance floor: only sentences of articles that mention every name and number the
        part is about. A sentence from an article on something else never pads an answer, and a
        question whose subject no retrieved article treats finds no evidence."""
        names = key_entities(part)
        if not names:
            return scored
        treats: dict[str, bool] = {}
        for x in scored:
            hit = x.sentence.hit
            if hit.article_id not in treats:
                text = titled(hit.title, self.article_text(hit.article_id) if self.article_text else hit.text)
                treats[hit.article_id] = all(mentions(text, e) for e in names)
        return [x for x in scored if treats[x.sentence.hit.article_id]]

    def _display(self, chosen: Scored) -> str:
        """The sentence as the answer shows it: a leading pronoun gets its referent from the
        sentence before, in brackets ("He [Enrico Bondi] sued..."); the citation quotes it exactly."""
        sentence = chosen.sentence
        first = sentence.text.split(maxsplit=1)
        if len(first) < 2 or first[0] not in _PRONOUNS:
            return sentence.text
        text = self.article_text(sentence.hit.article_id) if self.article_text else ""
        if text[sentence.start:sentence.end] != sentence.text:
            return sentence.text
        before = text[max(0, sentence.start - 800):sentence.start]
        spans = sentence_spans(before)
        previous = before[spans[-1][0]:spans[-1][1]] if spans else ""
        names = _names(previous)
        if not names:
            return sentence.text
        return f"{first[0]} [{names[0]}] {first[1]}"

    def _conflict(self, best: Scored, scored: list[Scored], kind: str) -> Scored | None:
        """A sentence from another article that says the same with other names or numbers.

        "The same" is judged with names and numbers masked out, so the differing facts cannot
        hide the likeness; for a how-many/how-much question only numbers count, and a number
        both sentences share means they agree."""
        rivals = [o for o in scored if o.score >= self.settings.keep_ratio * best.score
                  and o.sentence.hit.article_id != best.sentence.hit.article_id]
        if not rivals:
            return None
        masked = self.embedder.embed_batch([mask_facts(x.sentence.text) for x in [best, *rivals]])
        for other, vector in zip(rivals, masked[1:]):
            if float(vector @ masked[0]) < self.settings.conflict_similarity:
                continue
            a, b = facts(best.sentence.text), facts(other.sentence.text)
            if kind in ("number", "amount", "measure"):
                a, b = {f for f in a if f[0].isdigit()}, {f for f in b if f[0].isdigit()}
                if a & b:
                    continue
            only_a = {f for f in a - b if not mentions(other.sentence.text, f)}
            only_b = {f for f in b - a if not mentions(best.sentence.text, f)}
            if only_a and only_b:
                return other
        return None

    def _phrase(self, question: str, chosen: list[Scored], verified: list[Verified]) -> Iterator[str]:
        """Stream the LLM's wording, one verified sentence at a time (appended to `verified`)."""
        evidence = "\n".join(f"[{i + 1}] {c.sentence.text}" for i, c in enumerate(chosen))
        messages = [{"role": "system", "content": prompt("answer_system.txt")},
                    {"role": "user", "content": prompt("answer_user.txt").format(question=question, evidence=evidence)}]
        buffer, done = "", 0
        numbering: dict[int, int] = {}
        for piece in self.llm.stream(messages, max_tokens=self.settings.max_tokens):
            buffer += piece
            normal = markers_inside(buffer)
            spans = sentence_spans(normal)
            for a, b in spans[done:-1]:
                yield from self._check(normal[a:b], chosen, verified, numbering)
            done = max(done, len(spans) - 1)
        normal = markers_inside(buffer)
        for a, b in sentence_spans(normal)[done:]:
            yield from self._check(normal[a:b], chosen, verified, numbering)

    def _check(self, sentence: str, chosen, verified: list[Verified], numbering: dict) -> Iterator[str]:
        result = verify(sentence, chosen, self.embedder, self.settings.support_threshold)
        if result is not None:
            verified.append(result)
            yield (" " if len(verified) > 1 else "") + render_cited(result, numbering)

    def _finish(self, question: str, prefix: str, verified: list[Verified], evidence: list[Scored],
                streamed: int = 0, conflict: bool = False, warnings: tuple[str, ...] = ()) -> Iterator[str | Answer]:
        """The rest of the text (`streamed`: how many of `verified` were already sent), then the `Answer`."""
        numbering: dict[int, int] = {}
        rendered = [render_cited(v, numbering) for v in verified]
        notes = note_lines(warnings)
        text = (prefix + " ".join(rendered)).strip() + notes
        # one piece per sentence, so a chat shows the text grow; the pieces join to `text`
        if streamed:
            pieces = [" " + r for r in rendered[streamed:]]
        else:
            pieces = [prefix + rendered[0], *(" " + r for r in rendered[1:])] if rendered else [prefix]
            pieces[0] = pieces[0].lstrip()
            pieces[-1] = pieces[-1].rstrip()
        for piece in [*pieces, notes]:
            if piece:
                yield piece
        citations = []
        for source, n in sorted(numbering.items(), key=lambda kv: kv[1]):
            e = evidence[source - 1].sentence
            h = e.hit
            weak = evidence[source - 1].score < self.settings.weak_evidence
            citations.append(Citation(n, h.article_id, h.title, h.date, h.source, h.url, e.text, e.start, e.end, weak))
        yield Answer(text, False, tuple(citations), question, conflict=conflict, warnings=warnings)

    def _abstain(self, question: str, hits: list[Hit], warnings: tuple[str, ...] = ()) -> Answer:
        closest = list({h.article_id: h for h in reversed(hits)}.values())[::-1][:3]
        listed = "; ".join(f"“{h.title}” ({h.date or 'undated'})" for h in closest)
        text = NOT_IN_ARTICLES
        if listed:
            text += f" The closest articles are: {listed}."
        return Answer(text + note_lines(warnings), True, (), question, closest=tuple(closest), warnings=warnings)


_END = re.compile(r"[.!?…]+[\"'”’)]*$")
_PRONOUNS = {"He", "She", "It", "They", "His", "Her", "Its", "Their"}
_NAME = re.compile(r"\b[A-Z][\w'’-]+(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’-]+)*")


def _names(text: str) -> list[str]:
    """Capitalised runs of `text` without a leading common word ("The Telegraph" -> "Telegraph"):
    the names it mentions, its subject usually first."""
    out = []
    for m in _NAME.finditer(text):
        words = m.group().split()
        while words and words[0] in COMMON_CAPS:
            words.pop(0)
        if words:
            out.append(" ".join(words))
    return out


def _sentence(phrase: str) -> str:
    """A reader's phrase as the lead of an answer: capitalised first letter, a full stop."""
    return phrase[:1].upper() + phrase[1:] + ("" if phrase.endswith((".", "!", "?")) else ".")


def note_lines(warnings: tuple[str, ...]) -> str:
    """Warnings end the text, so every reader of it (CLI, web, JSON) sees them."""
    return "".join(f"\n\nNote: {w}" for w in warnings)


def render_cited(v: Verified, numbering: dict[int, int]) -> str:
    """The sentence with its markers, numbered by first appearance in the answer."""
    marks = "".join(f"[{numbering.setdefault(n, len(numbering) + 1)}]" for n in v.cites)
    text = MARKER.sub("", v.text).strip()
    end = _END.search(text)  # "Nagano [1]." rather than "Nagano. [1]"
    return f"{text[:end.start()]} {marks}{end.group()}" if end else f"{text} {marks}"
