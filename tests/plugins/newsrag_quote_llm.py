"""A third-party LLM backend, in one file: registered as `quote` in the `newsrag.llms` entry-point
group, it builds a LlamaIndex LLM that answers with the first evidence line it is shown, cited."""
from __future__ import annotations

import re

from llama_index.core.llms import CompletionResponse, CustomLLM, LLMMetadata
from llama_index.core.llms.callbacks import llm_completion_callback


class QuoteLLM(CustomLLM):
    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(model_name="quote-first")

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
        first = re.search(r"^\[1\] (.+)$", prompt, re.MULTILINE)
        return CompletionResponse(text=f"{first[1]} [1]" if first else "The articles don't say.")

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
        text = self.complete(prompt).text
        yield CompletionResponse(text=text, delta=text)


def build(settings) -> QuoteLLM:
    return QuoteLLM()
