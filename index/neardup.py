"""Near-duplicate articles (syndicated copies of one wire story): MinHash signatures of word
shingles, candidates found by LSH (datasketch), kept when the estimated Jaccard similarity of the
two bodies reaches the threshold and the new one adds no sentence of its own (an updated story
keeps its new facts searchable). Signatures are stored in the registry, so every later ingest
folds copies of anything stored before."""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from .chunking import sentence_spans

NUM_PERM = 128
SHINGLE_WORDS = 3
SCHEME = "affine32"  # datasketch 2 hashing; stored signatures depend on it
MIN_SHINGLES = 25  # shorter bodies (a few lines) are too small to call copies: only equal text folds
MAX_SHINGLES = 20_000  # bounds the work on a hostile file; a news article has a few hundred
DEFAULT_THRESHOLD = 0.4  # eval/bench_neardup.py: precision 0.997, recall 0.983 on the BBC-built set (README)

_WORD = re.compile(r"\w+")
_NUMBER = re.compile(r"\d[\d.,]*\d|\d")
KNOWN_WORDS = 0.6  # eval/bench_neardup.py: 0.5 folds 4 of 100 updates, 0.6 one, 0.7 one but recall 0.95


def _permutations():
    from datasketch import MinHash

    return MinHash(num_perm=NUM_PERM, scheme=SCHEME).permutations  # seeded: the same for every process


_PERMS = None


def signature(text: str) -> np.ndarray | None:
    """The MinHash of `text`'s word 3-shingles (case and punctuation ignored), or None when the
    text is too short to judge."""
    from datasketch import MinHash

    global _PERMS
    words = _WORD.findall(text.casefold())
    shingles: dict[str, None] = {}
    for i in range(len(words) - SHINGLE_WORDS + 1):
        shingles[" ".join(words[i:i + SHINGLE_WORDS])] = None
        if len(shingles) >= MAX_SHINGLES:
            break
    if len(shingles) < MIN_SHINGLES:
        return None
    _PERMS = _PERMS if _PERMS is not None else _permutations()
    m = MinHash(num_perm=NUM_PERM, permutations=_PERMS, scheme=SCHEME)
    m.update_batch([s.encode() for s in shingles])
    return m.hashvalues.copy()


def to_bytes(sig: np.ndarray) -> bytes:
    return sig.astype(np.uint32).tobytes()  # affine32 values fit


def from_bytes(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the two shingle sets."""
    return float(np.count_nonzero(a == b)) / len(a)


class NearDuplicates:
    """The signatures of the stored originals, searchable for copies of a new text."""

    def __init__(self, threshold: float, signatures: Iterable[tuple[str, bytes]] = ()) -> None:
        from datasketch import MinHashLSH

        if not 0 < threshold <= 1:
            raise ValueError(f"the near-duplicate threshold must be in (0, 1], not {threshold}")
        self.threshold = threshold
        # LSH bands tuned a little below the threshold: candidates are checked exactly after
        self._lsh = MinHashLSH(threshold=max(0.05, threshold - 0.1), num_perm=NUM_PERM)
        self._sigs: dict[str, np.ndarray] = {}
        for key, blob in signatures:
            self.add(key, from_bytes(blob))

    def add(self, key: str, sig: np.ndarray) -> None:
        if key in self._sigs:
            self.remove(key)
        self._sigs[key] = sig
        self._lsh.insert(key, _lean(sig))

    def remove(self, key: str) -> None:
        if self._sigs.pop(key, None) is not None:
            self._lsh.remove(key)

    def match(self, sig: np.ndarray | None, exclude: str = "") -> tuple[str, float] | None:
        """The most similar stored original at or above the threshold (ties: the smaller id)."""
        if sig is None:
            return None
        best = None
        for key in self._lsh.query(_lean(sig)):
            if key == exclude:
                continue
            score = similarity(sig, self._sigs[key])
            if score >= self.threshold and (best is None or (-score, key) < (-best[1], best[0])):
                best = (key, score)
        return best


def adds_sentences(text: str, original: str) -> bool:
    """Whether `text` has a sentence `original` does not hold: a number it lacks, or under 60% of
    its longer words in it (a synonym or two, a trimmed tail or new paragraph order do not count)."""
    known = set(_WORD.findall(original.casefold()))
    numbers = set(_NUMBER.findall(original))
    for start, end in sentence_spans(text):
        sentence = text[start:end]
        words = [w for w in _WORD.findall(sentence.casefold()) if len(w) >= 4]
        if any(n not in numbers for n in _NUMBER.findall(sentence)):
            return True
        if words and sum(w in known for w in words) < KNOWN_WORDS * len(words):
            return True
    return False


def _lean(sig: np.ndarray):
    from datasketch import LeanMinHash

    return LeanMinHash(seed=1, hashvalues=sig, scheme=SCHEME)
