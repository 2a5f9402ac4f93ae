"""The reader: which sentence answers a part of the question, and the short phrase in it that
states the fact. The scorer proposes the sentences; a reader picks one. A model's phrase counts
only where it occurs word for word in a proposed sentence, which then is the one cited: a model
may choose, never invent, and the citation follows the words, not the number the model gives."""
from __future__ import annotations

import random
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .errors import ConfigError, LLMError
from .evidence import Scored

READERS = ("auto", "score", "model", "model-shuffled", "generate")
_NONE = re.compile(r"^\W*(none|n/?a|unknown|not (stated|mentioned|given|known)|the articles don.t say)\W*$",
                   re.IGNORECASE)


@cache
def prompt(name: str) -> str:
    """A prompt of `rag/prompts/`, read once: answers are built on every question."""
    return resources.files("rag").joinpath("prompts", name).read_text(encoding="utf-8")


@dataclass(frozen=True)
class Reading:
    part: str
    sentence: Scored
    phrase: str | None = None  # the fact, exactly as the sentence writes it; None: the sentence is the answer
    by_model: bool = False  # a model's phrase verified in `sentence`; else the scorer's choice


class Reader(ABC):
    """Picks the answering sentence among `fitting` (the sentences that can answer `part`, best
    scored first, never empty)."""

    name = "reader"

    @abstractmethod
    def read(self, part: str, fitting: list[Scored]) -> Reading:
        ...


class ScoreReader(Reader):
    """No model: the best-scored sentence is the answer."""

    name = "score"

    def read(self, part: str, fitting: list[Scored]) -> Reading:
        return Reading(part, fitting[0])


class ModelReader(Reader):
    """An LLM reads the top `depth` sentences and writes the shortest phrase that answers.

    The phrase is located in those sentences (case and spacing aside); the best-scored sentence
    that holds it is cited. A phrase found nowhere, or "none", leaves the scorer's choice.
    `shuffle` shows the sentences in a random order (seeded by the part), to measure position bias."""

    name = "model"

    def __init__(self, llm, depth: int = 6, shuffle: bool = False, max_tokens: int = 32) -> None:
        self.llm, self.depth, self.shuffle, self.max_tokens = llm, depth, shuffle, max_tokens

    def read(self, part: str, fitting: list[Scored]) -> Reading:
        shown = fitting[:self.depth]
        if self.shuffle:
            shown = random.Random(part).sample(shown, len(shown))
        listing = "\n".join(f"[{i + 1}] {s.sentence.text}" for i, s in enumerate(shown))
        messages = [{"role": "system", "content": prompt("read_system.txt")},
                    {"role": "user", "content": f"Sentences:\n{listing}\n\nQuestion: {part}\nShort answer:"}]
        try:
            reply = self.llm.generate(messages, max_tokens=self.max_tokens)
        except LLMError:
            return Reading(part, fitting[0])
        phrase = reply.strip().splitlines()[0].strip(" \"'“”.") if reply.strip() else ""
        if not phrase or _NONE.match(phrase):
            return Reading(part, fitting[0])
        for s in fitting[:self.depth]:  # best scored first, whatever order the model saw
            found = locate(phrase, s.sentence.text)
            if found:
                return Reading(part, s, found, by_model=True)
        return Reading(part, fitting[0])


def locate(phrase: str, text: str) -> str | None:
    """`phrase` as `text` writes it (matched ignoring case and runs of spaces), or None."""
    words = phrase.split()
    if not words:
        return None
    pattern = r"\s+".join(re.escape(w) for w in words)
    m = re.search(rf"(?<!\w){pattern}(?!\w)" if phrase[-1].isalnum() else rf"(?<!\w){pattern}", text, re.IGNORECASE)
    return m.group() if m else None


def make_reader(name: str, llm, **options) -> Reader | None:
    """`auto`: no model (extractive) reads by score, a local model picks the phrase, and any
    other model (a server's, a plugin's) writes the answer (generate-then-verify: None here, the
    answerer does it)."""
    if name not in READERS:
        raise ConfigError(f"reader {name!r} is not one of {', '.join(READERS)}")
    if name == "auto":
        name = "score" if llm is None else "model" if llm.name == "local" else "generate"
    if name == "score" or llm is None:  # a question asked with extractive: no model to read with
        return ScoreReader()
    if name == "generate":
        return None
    return ModelReader(llm, shuffle=name == "model-shuffled", **options)
