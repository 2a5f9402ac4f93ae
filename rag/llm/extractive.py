"""The no-model backend: answers by copying the prompt's evidence lines verbatim, each with its marker.

Its reply goes through the same citation check as a real model's, so the pipeline runs (and is tested)
end to end without a model, and it can never say anything the evidence does not.
"""
from __future__ import annotations

import re
from typing import Iterator

from .base import LLM

NO_ANSWER = "The articles don't say."
_ENTRY = re.compile(r"\[(\d+)\][ \t]+(\S.*?)\s*")


def evidence(prompt: str) -> list[tuple[int, str]]:
    """The `[n] text` lines of the block under the prompt's last `Evidence:` line, in order.

    The last one, because the template puts the evidence after the question, which may contain anything.
    """
    lines = prompt.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "Evidence:"]
    if not starts:
        return []
    entries = []
    for line in lines[starts[-1] + 1:]:
        match = _ENTRY.fullmatch(line)
        if not match:
            if entries or line.strip():  # the block ends at the first line that is not an entry
                break
            continue
        entries.append((int(match[1]), match[2]))
    return entries


class ExtractiveLLM(LLM):
    """Deterministic: every evidence line `[n] text` of the last user message becomes `text [n]`."""

    name = "extractive"

    def stream(self, messages: list[dict], *, max_tokens: int = 256,
               temperature: float = 0.0) -> Iterator[str]:
        # max_tokens is ignored: a cut-off sentence would fail the citation check
        prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        entries = evidence(prompt)
        answer = " ".join(f"{text} [{n}]" for n, text in entries) if entries else NO_ANSWER
        # word by word, like a model streams, and the pieces join back to exactly `answer`
        yield from re.findall(r"\S+\s*", answer)
