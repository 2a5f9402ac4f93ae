"""BM25 over the stored chunks (bm25s), rebuilt when the registry's generation moves on, so it
stays in step with Chroma and is never rebuilt per query."""
from __future__ import annotations

import json
import os
import shutil
from functools import cache
from pathlib import Path

import numpy as np

from .registry import Registry


@cache
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), return_ids=False, show_progress=False)


class LexicalIndex:
    def __init__(self, folder: Path, retriever, ids: list[str], generation: int) -> None:
        self.folder, self.retriever, self.ids, self.generation = folder, retriever, ids, generation

    @classmethod
    def open(cls, folder: Path, registry: Registry) -> "LexicalIndex":
        """Load the saved index, rebuilding it first if the registry has changed since."""
        folder = Path(folder)
        cls.refresh(folder, registry)
        import bm25s

        meta = folder / "current" / "newsrag.json"

        info = json.loads(meta.read_text())
        if not info["ids"]:
            return cls(folder, None, [], info["generation"])
        retriever = bm25s.BM25.load(str(folder / "current"), mmap=True, show_progress=False)
        return cls(folder, retriever, info["ids"], info["generation"])

    @classmethod
    def refresh(cls, folder: Path, registry: Registry) -> bool:
        """Rebuild if the registry moved on since the last build (or one was never made)."""
        meta = Path(folder) / "current" / "newsrag.json"
        if meta.exists() and json.loads(meta.read_text())["generation"] == registry.generation():
            return False
        cls.build(Path(folder), registry)
        return True

    @staticmethod
    def build(folder: Path, registry: Registry) -> None:
        """Index every chunk (headline + passage, as embedded) into a new folder, then swap it in."""
        import bm25s

        generation = registry.generation()
        texts = registry.chunk_texts()
        ids = sorted(texts)
        tmp = folder / f"build-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if ids:
            retriever = bm25s.BM25()
            retriever.index(bm25s.tokenize([f"{texts[i][0]}\n{texts[i][1]}" for i in ids], stopwords="en",
                                           stemmer=_stemmer(), show_progress=False), show_progress=False)
            retriever.save(str(tmp), show_progress=False)
        (tmp / "newsrag.json").write_text(json.dumps({"generation": generation, "ids": ids}))
        old = folder / "old"
        shutil.rmtree(old, ignore_errors=True)
        if (folder / "current").exists():
            os.replace(folder / "current", old)
        os.replace(tmp, folder / "current")  # readers see the old or the new index, never half of one
        shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(position in `ids`, score) of the best `k` chunks with a positive score."""
        if self.retriever is None or k <= 0:
            return []
        tokens = tokenize([query])
        k = min(k, len(self.ids))
        docs, scores = self.retriever.retrieve(tokens, k=k, weight_mask=mask, show_progress=False)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]
