"""OnnxEmbedder against sentence-transformers, with the real bundled model (export once per module)."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from index.embedder import SentenceTransformerEmbedder, make_embedder
from index.onnx_embedder import OnnxEmbedder

LONG = " ".join(["The central bank raised interest rates again, citing stubborn inflation and a tight labour market."] * 30)
TEXTS = [
    LONG,  # > 256 tokens: truncated, first so that sorting by length must reorder rows
    "Rates up.",
    "Manchester United beat Chelsea 2-1 at Old Trafford on Saturday.",
    "x",
    "   ",
    "Apple unveiled a new iPhone with a faster chip and a better camera.",
    "The prime minister faces a confidence vote after a string of by-election defeats, "
    "with backbench MPs openly questioning her economic plans.",
    "Café owners in Zürich complain about rising rents — «c'est la vie», says one.",
    "東京の株式市場は今日大幅に上昇しました。",
    "Oil prices fell 3% as OPEC signalled higher output 🛢️📉",
    "BREAKING: EARTHQUAKE OF MAGNITUDE 6.1 HITS COASTAL REGION",
    "What time does the match start?",
    "Scientists have sequenced the genome of the axolotl, which can regrow lost limbs, "
    "hoping to shed light on regeneration in humans. " * 3,
    "Shares in the retailer slumped after it issued a profit warning.",
    "The film won best picture at the Oscars.",
    "GDP grew 0.3% in the third quarter, according to the Office for National Statistics.",
    "A new law requires social media firms to verify the age of their users.",
    "The striker signed a four-year contract worth £200,000 a week.",
    "Heavy rain caused flooding across northern England, closing roads and railways.",
    "e-mail, URLs like https://example.com/a?b=c and numbers 3.14159 are tokenised too",
]

DEGENERATE = {"x", "   "}  # compared with sentence-transformers, but int8 scores only ~0.97-0.98 on them

PAIRS = [
    ("who won the football match", "Liverpool won 3-0 against Everton in the derby on Sunday."),
    ("interest rate decision", "The Bank of England held its base rate at 5.25% on Thursday."),
    ("new smartphone launch", "Samsung launched its latest Galaxy phone with a foldable screen."),
    ("flooding and storms", "Storm Ciarán brought flooding and power cuts to southern England."),
    ("film awards ceremony", "The actress collected the Bafta for best leading role."),
]


@pytest.fixture(scope="module")
def embedders(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    int8 = OnnxEmbedder(cache_dir=cache, int8=True)
    int8.build()  # builds model.onnx and model-int8.onnx
    return cache, OnnxEmbedder(cache_dir=cache), int8


@pytest.fixture(scope="module")
def reference():
    return SentenceTransformerEmbedder()


def cosines(a, b):
    return (a * b).sum(axis=1)


def test_fp32_matches_sentence_transformers(embedders, reference, monkeypatch):
    _, fp32, _ = embedders
    assert fp32.count_tokens(LONG) > 300 and fp32.precision == "fp32"
    expected = reference.embed_batch(TEXTS)
    for batch_size in (32, 3):  # one batch, and many sorted batches that must be put back in order
        monkeypatch.setattr(fp32, "batch_size", batch_size)
        got = fp32.embed_batch(TEXTS)
        assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
        assert np.abs(got - expected).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_empty_input(embedders):
    assert embedders[1].embed_batch([]).shape == (0, 384)


def test_int8_close_to_fp32(embedders):
    _, fp32, int8 = embedders
    texts = [t for t in TEXTS if t not in DEGENERATE]
    assert cosines(int8.embed_batch(texts), fp32.embed_batch(texts)).min() >= 0.98


def test_int8_retrieves_like_fp32(embedders):
    _, fp32, int8 = embedders
    queries, passages = [q for q, _ in PAIRS], [p for _, p in PAIRS]
    top1 = {emb.precision: (emb.embed_batch(queries) @ emb.embed_batch(passages).T).argmax(axis=1).tolist()
            for emb in (fp32, int8)}
    assert top1["fp32"] == list(range(len(PAIRS)))  # the pairs are unambiguous
    assert top1["int8-matmul"] == top1["fp32"]


def test_second_instance_reuses_cache(embedders):
    cache, _, _ = embedders
    folder = cache / "onnx" / "all-MiniLM-L6-v2"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    assert set(before) == {"model.onnx", "model-int8-matmul.onnx"}  # no temp files left behind
    again = OnnxEmbedder(cache_dir=cache, int8=True)
    assert again.embed_batch(["hello"]).shape == (1, 384)
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_make_embedder(embedders):
    cache, _, _ = embedders
    emb = make_embedder("onnx-int8", cache_dir=cache)
    assert isinstance(emb, OnnxEmbedder)
    assert emb.precision == "int8-matmul" and emb.dim == 384
    assert make_embedder("onnx", cache_dir=cache).precision == "fp32"


def test_a_dead_builders_temp_file_is_removed_by_the_next_build(tmp_path):
    import subprocess
    import sys

    from index.onnx_embedder import _atomic_build

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    target = tmp_path / "model.onnx"
    stale = tmp_path / f"model.onnx.{int(dead.stdout)}.abcd1234.tmp"  # left by a kill -9 mid-export
    live = tmp_path / f"model.onnx.{os.getpid()}.ffff0000.tmp"  # a concurrent build still writing
    for stray in (stale, live):
        stray.write_bytes(b"half")
        os.utime(stray, (0, 0))  # untouched for decades
    _atomic_build(target, lambda tmp: tmp.write_bytes(b"model"))
    assert target.read_bytes() == b"model"
    assert not stale.exists() and live.exists()
