"""A small end-to-end eval run through the real CLI: index, ask every gold question, score, report."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import ROOT, run_cli

pytestmark = pytest.mark.slow
KEYS = {"hit_at_1", "hit_at_3", "hit_at_5", "hit_at_10", "mrr", "answer_correct", "token_f1", "citation_recall",
        "citation_precision", "abstention_accuracy", "false_abstention_rate", "latency_p50_ms", "latency_p95_ms"}


def test_eval_seeds_writes_report_table_and_chart(tmp_path):
    out = tmp_path / "out"
    result = run_cli("eval", "--gold", str(ROOT / "eval/gold/seeds.jsonl"), "--corpus", str(ROOT / "seeds"),
                     "--out", str(out), "--data-dir", str(tmp_path / "data"), timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert KEYS <= set(report)
    assert all(report[k] is None or 0 <= report[k] <= 1 for k in KEYS if not k.startswith("latency"))
    assert report["questions"] == len(report["records"]) >= 20
    record = report["records"][0]
    assert {"id", "question", "answer", "citations", "correct", "abstained", "latency_ms"} <= set(record)
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| hybrid+extractive |" in result.stdout and (out / "table.md").exists()
    # the seed set is small and hand-checked: the bot must do far better than the measured
    # LlamaIndex default (answer-correct 0.14, no abstentions)
    assert report["hit_at_5"] >= 0.9 and report["answer_correct"] >= 0.6 and report["abstention_accuracy"] >= 0.5
    # a second run re-uses the same index and compares retrievers and rerankers
    again = run_cli("eval", "--gold", str(ROOT / "eval/gold/seeds.jsonl"), "--corpus", str(ROOT / "seeds"),
                    "--out", str(out), "--data-dir", str(tmp_path / "data"), "--compare", "--rerank", "none,mmr",
                    timeout=900)
    assert again.returncode == 0, again.stderr
    compared = json.loads((out / "report.json").read_text())
    assert compared["index"]["articles"] == 1 and compared["index"]["chunks"] == report["index"]["chunks"]
    assert set(compared["compare"]) == {"dense+extractive", "bm25+extractive", "hybrid+extractive",
                                        "hybrid+mmr+extractive"}


def test_bad_gold_file_reports_every_line(tmp_path):
    gold = tmp_path / "bad.jsonl"
    gold.write_text('{"id": "a", "question": "", "answer": "x", "must_include": ["x"], "evidence": [], '
                    '"answerable": true}\nnot json\n')
    result = run_cli("eval", "--gold", str(gold), "--corpus", str(ROOT / "seeds"), "--out", str(tmp_path / "o"),
                     "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "bad.jsonl:1:" in result.stderr and "bad.jsonl:2:" in result.stderr


def test_eval_over_a_corpus_spec_ingests_its_links_under_the_spec_ids(tmp_path):
    """`--corpus X.corpus`: the runner links the selected files into its own eval data dir, ingests that
    folder (ids relative to each BASE), and a second run re-uses the links and the index."""
    world = tmp_path / "news" / "world"
    world.mkdir(parents=True)
    (world / "001.txt").write_text("Harbour reopens\n\nThe harbour at Port Elwin reopened on Monday after a "
                                   "storm closed it for nine days. The port authority said repairs cost £2m.\n")
    (world / "002.txt").write_text("Not selected\n\nThis file is left out by the spec.\n")
    spec = tmp_path / "mini.corpus"
    spec.write_text(f"# the seed plus one article\n{ROOT / 'seeds'} :: *.txt\nnews :: world/001.txt\n")
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r) for r in [
        {"id": "m1", "question": "How long was the harbour at Port Elwin closed?", "answer": "Nine days.",
         "must_include": ["nine days"], "answerable": True,
         "evidence": [{"article": "world/001.txt", "quote": "a storm closed it for nine days"}]},
        {"id": "m2", "question": "In which city was the Trump-Putin summit to be held?", "answer": "Budapest.",
         "must_include": ["Budapest"], "answerable": True,
         "evidence": [{"article": "000_cd4f49b57c6e24c3.txt", "quote": "The summit in Budapest, Hungary"}]},
        {"id": "m3", "question": "What did China say about the harbour?", "answer": "Not stated.",
         "must_include": [], "evidence": [], "answerable": False},
    ]) + "\n")
    args = ("eval", "--gold", str(gold), "--corpus", str(spec), "--out", str(tmp_path / "out"),
            "--data-dir", str(tmp_path / "data"))
    result = run_cli(*args, timeout=900)
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    data_dir = Path(report["index"]["data_dir"])
    assert data_dir.parent == tmp_path / "data" / "eval" and data_dir.name.startswith("mini-")
    assert report["index"]["articles"] == 2 and report["questions"] == 3
    retrieved = {aid for r in report["records"] for aid in r["retrieved"]}
    assert retrieved == {"world/001.txt", "000_cd4f49b57c6e24c3.txt"}
    link = data_dir / "corpus" / "world" / "001.txt"
    assert link.is_symlink() and not (data_dir / "corpus" / "world" / "002.txt").exists()
    inode = os.lstat(link).st_ino
    again = run_cli(*args, timeout=900)
    assert again.returncode == 0, again.stderr
    second = json.loads((tmp_path / "out" / "report.json").read_text())
    assert second["index"]["data_dir"] == report["index"]["data_dir"]
    assert second["index"]["chunks"] == report["index"]["chunks"] and os.lstat(link).st_ino == inode


def test_a_bad_corpus_spec_is_one_clear_error(tmp_path):
    spec = tmp_path / "bad.corpus"
    spec.write_text("nowhere :: *.txt\n")
    result = run_cli("eval", "--gold", str(ROOT / "eval/gold/seeds.jsonl"), "--corpus", str(spec),
                     "--out", str(tmp_path / "o"), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert f"{spec}:1: BASE 'nowhere' is not a folder" in result.stderr
