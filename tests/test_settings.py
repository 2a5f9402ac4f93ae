"""Settings drive the CLI: every flag, its help and its NEWSRAG_* name come from a `Settings`
field; values are coerced to the field's type; the stages' defaults are stated once."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conftest import SEEDS, run_cli
from rag import Settings
from rag.answer import AnswerSettings
from rag.cli import ANSWER, INDEX, INGEST, SERVE, build_parser, settings_from
from rag.errors import ConfigError
from rag.retrieval import RetrievalSettings


def test_every_setting_has_help_and_is_a_flag_or_a_secret():
    flagged = set(INDEX + INGEST + ANSWER + SERVE)
    for f in dataclasses.fields(Settings):
        assert f.metadata["help"], f.name
        assert f.name in flagged or f.name == "llm_api_key", f"{f.name} has no flag"  # keys stay out of `ps`


def test_flags_are_typed_and_explained_from_the_fields():
    args = build_parser().parse_args(["ask", "q", "--top-k", "3", "--bm25-weight", "0.25", "--llm-timeout", "5",
                                      "--data-dir", "/tmp/x"])
    settings = settings_from(args)
    assert settings.top_k == 3 and settings.bm25_weight == 0.25 and settings.llm_timeout == 5.0
    assert settings.data_dir == Path("/tmp/x")
    serve = build_parser().parse_args(["serve", "--ingest-root", "/a", "--ingest-root", "/b"])
    assert settings_from(serve).ingest_root == (Path("/a"), Path("/b"))
    help_text = " ".join(run_cli("ask", "--help").stdout.split())
    assert "--top-k TOP_K chunks retrieved per question (env NEWSRAG_TOP_K; default 8)" in help_text
    assert "registered: extractive, local, ollama, openai" in help_text
    assert "registered: cross-encoder, mmr, none" in help_text


def test_the_environment_then_the_flags(monkeypatch):
    monkeypatch.setenv("NEWSRAG_TOP_K", "4")
    monkeypatch.setenv("NEWSRAG_PER_ARTICLE", "1")
    settings = settings_from(build_parser().parse_args(["ask", "q", "--top-k", "6"]))
    assert settings.top_k == 6 and settings.per_article == 1  # a flag beats the environment


@pytest.mark.parametrize("name, raw, value", [
    ("top_k", "12", 12), ("mmr_weight", "0.5", 0.5), ("data_dir", "d", Path("d")),
    ("chroma_host", None, None), ("embed_model_path", None, None), ("llm_model", "m", "m"),
    ("ingest_root", "/a:/b", (Path("/a"), Path("/b"))), ("ingest_root", ["/c"], (Path("/c"),)),
])
def test_coercion_keeps_each_fields_type(name, raw, value):
    assert getattr(Settings().replace(**{name: raw}), name) == value


def test_a_value_of_the_wrong_type_names_the_setting():
    with pytest.raises(ConfigError, match=r"setting top_k='many' is not valid"):
        Settings().replace(top_k="many")
    with pytest.raises(ConfigError, match=r"setting llm_timeout='soon' is not valid"):
        Settings.from_env({"NEWSRAG_LLM_TIMEOUT": "soon"})


def test_stage_defaults_are_the_settings_defaults():
    s = Settings()
    assert s.retrieval_settings() == dataclasses.replace(RetrievalSettings(), mode=s.retrieval)
    answer = AnswerSettings()
    assert (s.min_evidence, s.support_threshold) == (answer.min_evidence, answer.support_threshold)
    from index import IndexConfig

    assert (s.chroma_port, s.batch_chunks) == (IndexConfig.chroma_port, IndexConfig.batch_chunks)


def test_the_manifest_records_the_newsrag_version(tmp_path):
    from importlib.metadata import version

    assert run_cli("ingest", str(SEEDS), "--data-dir", str(tmp_path), "--quiet").returncode == 0
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["newsrag"] == version("newsrag")
