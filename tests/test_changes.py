""""What changed since D": the later articles' new facts about a story, cited verbatim; what the
earlier articles said, and what the later ones repeat, stays out."""
from __future__ import annotations

import json

import pytest

from rag.errors import ConfigError
from ui.screenshots import write_demo


@pytest.fixture(scope="module")
def bot(tmp_path_factory, embedder):
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    root = tmp_path_factory.mktemp("changes")
    write_demo(root / "story")  # the Velmora dam: 2025-03-02, 2025-05-14, 2025-09-30
    (root / "story" / "undated.txt").write_text("Velmora dam opinion\n\nThe Velmora dam divides Ostrel residents.\n")
    (root / "story" / "other.md").write_text("---\ntitle: Dalsby mill\ndate: 2025-10-02\n---\n"
                                             "The Dalsby mill reopened with 40 workers.\n")
    data = root / "data"
    assistant = Assistant(Settings(data_dir=data), index=Index(IndexConfig(data_dir=data), embedder=embedder))
    assistant.ingest([root / "story"])
    yield assistant
    assistant.close()


def test_only_new_facts_from_after_the_date_are_cited_verbatim(bot):
    answer = bot.changes("the Velmora dam", "2025-06-01")
    assert not answer.abstained and answer.text.startswith("Since 2025-06-01: ")
    assert "300 workers" in answer.text
    assert "40,000 homes" not in answer.text  # the September article repeats it from March
    assert "7 votes" not in answer.text and "90-metre" not in answer.text  # before the date
    assert "Dalsby" not in answer.text  # after the date, but not about the dam
    assert {c.date for c in answer.citations} == {"2025-09-30"}
    for c in answer.citations:
        assert bot.article_text(c.article)[c.start:c.end] == c.quote and f"[{c.n}]" in answer.text
    assert any("1 undated article" in w for w in answer.warnings)


def test_an_earlier_date_takes_in_more_articles_in_date_order(bot):
    answer = bot.changes("the Velmora dam", "April 2025")
    dates = [c.date for c in answer.citations]
    assert dates == sorted(dates) and dates[0] == "2025-05-14" and "7 votes" in answer.text
    assert "90-metre" not in answer.text


def test_nothing_new_and_bad_dates(bot):
    nothing = bot.changes("the Velmora dam", "2025-10-01")
    assert nothing.abstained and nothing.text.startswith("Nothing new since 2025-10-01")
    assert nothing.citations == ()
    with pytest.raises(ConfigError, match='since "whenever" is not a date'):
        bot.changes("the Velmora dam", "whenever")
    with pytest.raises(ConfigError, match="give the date to compare from"):
        bot.changes("the Velmora dam", "")


def test_the_cli_prints_the_changes(tmp_path):
    from conftest import run_cli

    write_demo(tmp_path / "story")
    data = str(tmp_path / "data")
    assert run_cli("ingest", str(tmp_path / "story"), "--data-dir", data).returncode == 0
    done = run_cli("changes", "the Velmora dam", "--since", "2025-06-01", "--data-dir", data, "--json")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "300 workers" in out["answer"] and [c["date"] for c in out["citations"]] == ["2025-09-30"]
    missing = run_cli("changes", "the Velmora dam", "--data-dir", data)
    assert missing.returncode == 2 and "needs --since" in missing.stderr
