"""The RGB benchmark script: its scoring matches RGB's checkanswer, and a 5-question run writes
a well-formed rgb.json."""
from __future__ import annotations

import json

import pytest

from conftest import SHARED
from eval.bench_rgb import contains_answer, main

RGB_DIR = SHARED / "benchmarks" / "rgb"


@pytest.mark.parametrize("text, gold, expected", [
    ("It was played in Tampa, Florida [1].", "Tampa, Florida", True),
    ("IT WAS PLAYED IN TAMPA, FLORIDA.", "tampa, florida", True),  # case-insensitive
    ("It was played in Glendale, Arizona.", "Tampa, Florida", False),
    ("Released on 21 Jul., 2017.", [["July 21 2017", "21 Jul., 2017"]], True),  # any variant
    ("Released on July 1, 2007.", [["July 21 2017", "21 Jul., 2017"]], False),
    ("Facebook bought Instagram and WhatsApp.", ["facebook", "whatsapp"], True),  # every item
    ("Facebook bought Instagram.", ["facebook", "whatsapp"], False),
    ("The Apple deal.", ["facebook", ["apple", "Apple Inc."]], False),
    ("Facebook, not Apple Inc.", ["facebook", ["apple inc.", "Apple Computer"]], True),
])
def test_contains_answer(text, gold, expected):
    assert contains_answer(text, gold) is expected


@pytest.mark.slow
def test_bench_rgb_smoke(tmp_path, embedder):
    if not (RGB_DIR / "en_fact.json").is_file():
        pytest.skip("the RGB data is not in ../shared/benchmarks/rgb (en_fact.json)")
    result = main(["--limit", "5", "--out", str(tmp_path)], embedder=embedder)
    saved = json.loads((tmp_path / "rgb.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(result))
    assert saved["questions"] == 5
    for name in ("clean", "counterfactual"):
        setting = saved[name]
        for key in ("accuracy", "abstained", "conflict_flagged", "fake_stated_unflagged", "conflict_gold_vs_fake"):
            assert 0.0 <= setting[key] <= 1.0, (name, key)
        assert len(setting["records"]) == 5
        for row in setting["records"]:
            assert {"query", "answer", "conflict", "abstained", "correct"} <= row.keys()
            assert row["answer"]
