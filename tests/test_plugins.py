"""Extension points from outside the package: an LLM backend and a loader, each one file in
tests/plugins/, registered by entry points the way a pip-installed plugin is, and seen by the
CLI (help, ingest, ask) and the web UI (the backend dropdown, the upload formats, /ask)."""
from __future__ import annotations

import json
import os
import shutil
import urllib.request

import pytest

from conftest import ROOT, SEEDS, run_cli, served_cli

PLUGINS = ROOT / "tests" / "plugins"
STORY = ("HARBOUR-STRIKE | 2025-11-03\nDock workers in Velmorra walked out on Monday over a new shift "
         "rota. The port authority said talks would resume on Thursday.\n")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory) -> dict:
    """PYTHONPATH with the plugin modules and a distribution whose metadata declares them."""
    site = tmp_path_factory.mktemp("site")
    info = site / "newsrag_test_plugins-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newsrag-test-plugins\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[newsrag.llms]\nquote = newsrag_quote_llm:build\n\n"
                                           "[newsrag.loaders]\nwire = newsrag_wire_loader:WireLoader\n")
    path = os.pathsep.join([str(site), str(PLUGINS), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    shutil.copytree(SEEDS, folder, dirs_exist_ok=True)
    (folder / "strike.wire").write_text(STORY)
    (folder / "broken.wire").write_text("no header line here\n")
    return folder


@pytest.fixture(scope="module")
def ingested(plugin_env, corpus, tmp_path_factory):
    """The data dir after `newsrag ingest` of the corpus, and what the ingest printed."""
    data = str(tmp_path_factory.mktemp("data"))
    return data, run_cli("ingest", str(corpus), "--data-dir", data, env=plugin_env)


def test_the_cli_sees_the_plugins(plugin_env, ingested):
    help_text = run_cli("ask", "--help", env=plugin_env).stdout
    assert "quote" in help_text and "extractive" in help_text
    data, ingest = ingested
    assert ingest.returncode == 1  # the broken file is named; the rest is stored
    assert "broken.wire: the first line must be 'SLUG | YYYY-MM-DD'" in ingest.stdout + ingest.stderr
    assert "2 added" in ingest.stdout
    ask = run_cli("ask", "When will the Velmorra port talks resume?", "--llm", "quote", "--json",
                  "--data-dir", data, env=plugin_env)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout)
    assert not answer["abstained"] and "Thursday" in answer["answer"]
    cited = answer["citations"][0]
    assert cited["article"] == "strike.wire" and cited["date"] == "2025-11-03" and cited["source"] == "wire"


def test_without_the_plugins_the_names_are_unknown(ingested):
    ask = run_cli("ask", "When will the talks resume?", "--llm", "quote", "--data-dir", ingested[0])
    assert ask.returncode != 0 and "unknown LLM backend 'quote'" in ask.stderr


def test_the_web_ui_sees_the_plugins(plugin_env, ingested):
    from gradio_client import Client

    data = ingested[0]
    with served_cli("--data-dir", data, env=plugin_env) as (_, url):
        config = json.loads(urllib.request.urlopen(url + "config", timeout=30).read())
        components = {c.get("props", {}).get("elem_id"): c["props"] for c in config["components"]}
        assert "quote" in [choice[0] for choice in components["nr-llm"]["choices"]]
        formats = " ".join(str(c["props"].get("value", "")) for c in config["components"])
        assert ".wire" in formats  # the upload formats come from the loaders
        reply = Client(url, verbose=False).predict("When will the Velmorra port talks resume?", llm="quote",
                                                   api_name="/ask")
    assert "Thursday" in reply["answer"] and reply["citations"][0]["article"] == "strike.wire"


def test_a_broken_loader_plugin_is_skipped_with_a_warning(tmp_path):
    site = tmp_path / "site"
    info = site / "newsrag_broken-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: newsrag-broken\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[newsrag.loaders]\nbroken = no_such_plugin_module:Loader\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    ingest = run_cli("ingest", str(SEEDS), "--data-dir", str(tmp_path / "data"), env=env)
    assert ingest.returncode == 0 and "1 added" in ingest.stdout  # the built-in loaders still work
    assert "the loader 'broken' needs no_such_plugin_module" in ingest.stderr and "skipped" in ingest.stderr
