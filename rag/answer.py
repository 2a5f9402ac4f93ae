"""The answer step: select and verify evidence first, let the LLM only phrase it, keep only
what verifies, abstain when the evidence is weak, and report conflicting sources."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources

from index.chunking import sentence_spans

from .errors import LLMError
from .evidence import (Scored, answer_kind, candidates, embed_sentences, key_entities, mentions, score, select,
                       split_question)
from .models import Answer, Citation, Hit
from .verify import MARKER, Verified, facts, mask_facts, verify

_TIME_SENSITIVE = re.compile(r"\b(now|current(ly)?|latest|still|today|recent(ly)?|so far|yet|at the moment|"
                             r"this (week|month|year)|most recent|newest|upcoming|next)\b", re.IGNORECASE)
# "done. [1] Next" -> "done [1]. Next": markers join the sentence they follow
_MARKER_AFTER_END = re.compile(r"([.!?][\"'”’)]*)\s*((?:\[\d+\]\s*)*\[\d+\])")


@dataclass(frozen=True)
class AnswerSettings:
    min_evidence: float = 0.3  # best sentence score below this: abstain
    support_threshold: float = 0.55  # verifier: a generated sentence needs this much support
    max_sentences: int = 3
    keep_ratio: float = 0.7  # further evidence must score this fraction of the best
    fit_ratio: float = 0.8  # abstain when the best sentence of the asked kind scores below this share of the best
    conflict_similarity: float = 0.8  # sentences from two articles alike but for names/numbers ...
    max_tokens: int = 160  # ... that differ in a name or number: a conflict


def _prompt(name: str) -> str:
    return resources.files("rag").joinpath("prompts", name).read_text(encoding="utf-8")


def is_time_sensitive(question: str) -> bool:
    return bool(_TIME_SENSITIVE.search(question))


class Answerer:
    def __init__(self, embedder, llm, settings: AnswerSettings = AnswerSettings(),
                 article_text: Callable[[str], str] | None = None) -> None:
        """`article_text(id)` gives an article's full text, so the names a question is about may
        be found anywhere in the article the evidence comes from, not only in the retrieved chunk."""
        self.embedder, self.llm, self.settings = embedder, llm, settings
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
        chosen: list[Scored] = []
        first_scored: list[Scored] = []
        for part in parts:  # each part of a compound question gets its own evidence
            rest = " ".join([p for p in parts if p != part] + ([context] if context else [])) or None
            scored = score(part, sentences, vectors, self.embedder, context=rest)
            # a part of a compound question may lean on the other part's passages: no fit check
            picked = select(part, scored, s.max_sentences if len(parts) == 1 else 2, s.keep_ratio,
                            fit_ratio=s.fit_ratio if len(parts) == 1 else 0.0)
            if picked and picked[0].score >= s.min_evidence:
                first_scored = first_scored or scored
                chosen += [p for p in picked if all(p.sentence != c.sentence for c in chosen)]
        if self._too_weak(question, chosen):
            answer = self._abstain(question, hits, warnings)
            yield answer.text
            yield answer
            return
        prefix = ""
        if time_sensitive:
            newest = max((c.sentence.hit.date for c in chosen if c.sentence.hit.date), default=None)
            prefix = f"As of {newest}: " if newest else ""
        other = self._conflict(chosen[0], first_scored, answer_kind(parts[0]))
        if other is not None:
            evidence = [chosen[0], other]
            verified = [Verified(e.sentence.text, (i + 1,), 1.0) for i, e in enumerate(evidence)]
            yield from self._finish(question, f"{prefix}The sources disagree. ", verified, evidence, conflict=True,
                                    warnings=warnings)
            return
        verified: list[Verified] = []
        failed = False
        try:
            for piece in self._phrase(question, chosen, verified):
                yield (prefix if len(verified) == 1 else "") + piece
        except LLMError as exc:
            failed = True
            warnings += (f"The language model failed, so this answer quotes the evidence: {exc}",)
        streamed = len(verified)
        if failed or not verified:  # quote the evidence the model's kept sentences do not cite
            cited = {n for v in verified for n in v.cites}
            verified += [Verified(c.sentence.text, (i + 1,), 1.0) for i, c in enumerate(chosen) if i + 1 not in cited]
        yield from self._finish(question, prefix, verified, chosen, streamed=streamed, warnings=warnings)

    def _too_weak(self, question: str, chosen: list[Scored]) -> bool:
        if not chosen:
            return True
        articles = {c.sentence.hit.article_id: c.sentence.hit for c in chosen}
        context = " ".join(f"{h.title}\n{self.article_text(a) if self.article_text else h.text}"
                           for a, h in articles.items())
        return any(not mentions(context, e) for e in key_entities(question))

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
        messages = [{"role": "system", "content": _prompt("answer_system.txt")},
                    {"role": "user", "content": _prompt("answer_user.txt").format(question=question, evidence=evidence)}]
        buffer, done = "", 0
        numbering: dict[int, int] = {}
        for piece in self.llm.stream(messages, max_tokens=self.settings.max_tokens):
            buffer += piece
            spans = sentence_spans(_MARKER_AFTER_END.sub(r" \2\1", buffer))
            for a, b in spans[done:-1]:
                yield from self._check(_MARKER_AFTER_END.sub(r" \2\1", buffer)[a:b], chosen, verified, numbering)
            done = max(done, len(spans) - 1)
        normal = _MARKER_AFTER_END.sub(r" \2\1", buffer)
        for a, b in sentence_spans(normal)[done:]:
            yield from self._check(normal[a:b], chosen, verified, numbering)

    def _check(self, sentence: str, chosen, verified: list[Verified], numbering: dict) -> Iterator[str]:
        result = verify(sentence, chosen, self.embedder, self.settings.support_threshold)
        if result is not None:
            verified.append(result)
            yield (" " if len(verified) > 1 else "") + _render(result, numbering)

    def _finish(self, question: str, prefix: str, verified: list[Verified], evidence: list[Scored],
                streamed: int = 0, conflict: bool = False, warnings: tuple[str, ...] = ()) -> Iterator[str | Answer]:
        """The rest of the text (`streamed`: how many of `verified` were already sent), then the `Answer`."""
        numbering: dict[int, int] = {}
        rendered = [_render(v, numbering) for v in verified]
        notes = _notes(warnings)
        text = (prefix + " ".join(rendered)).strip() + notes
        rest = "".join(" " + r for r in rendered[streamed:]) + notes if streamed else text
        if rest:
            yield rest
        citations = []
        for source, n in sorted(numbering.items(), key=lambda kv: kv[1]):
            e = evidence[source - 1].sentence
            h = e.hit
            citations.append(Citation(n, h.article_id, h.title, h.date, h.source, h.url, e.text, e.start, e.end))
        yield Answer(text, False, tuple(citations), question, conflict=conflict, warnings=warnings)

    def _abstain(self, question: str, hits: list[Hit], warnings: tuple[str, ...] = ()) -> Answer:
        closest = list({h.article_id: h for h in reversed(hits)}.values())[::-1][:3]
        listed = "; ".join(f"“{h.title}” ({h.date or 'undated'})" for h in closest)
        text = "The articles in the corpus don't say."
        if listed:
            text += f" The closest articles are: {listed}."
        return Answer(text + _notes(warnings), True, (), question, closest=tuple(closest), warnings=warnings)


def _notes(warnings: tuple[str, ...]) -> str:
    """Warnings end the text, so every reader of it (CLI, web, JSON) sees them."""
    return "".join(f"\n\nNote: {w}" for w in warnings)


def _render(v: Verified, numbering: dict[int, int]) -> str:
    """The sentence with its markers, numbered by first appearance in the answer."""
    marks = "".join(f"[{numbering.setdefault(n, len(numbering) + 1)}]" for n in v.cites)
    return f"{MARKER.sub('', v.text).strip()} {marks}"
