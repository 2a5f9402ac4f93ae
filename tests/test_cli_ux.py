"""The terminal as a user meets it: a mistyped data dir or flag, the chat's commands."""
from __future__ import annotations

import pytest

from conftest import SEED_ID, SEEDS, run_cli


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    assert run_cli("ingest", str(SEEDS), "--data-dir", str(folder), "--quiet").returncode == 0
    return str(folder)


@pytest.mark.parametrize("command", [["ask", "Why was the summit cancelled?"], ["chat"], ["status"]])
def test_a_data_dir_without_an_index_is_an_error_that_says_how_to_build_one(tmp_path, command):
    missing = tmp_path / "typo"
    result = run_cli(*command, "--data-dir", str(missing), input="")
    assert result.returncode == 2
    assert f"no index in {missing}" in result.stderr and "newsrag ingest PATH" in result.stderr
    assert not missing.exists()  # nothing was created


def test_chat_commands(data):
    session = "/help\nWhy was the summit cancelled?\n/sources\n/new\n/bogus\n/quit\nnever asked\n"
    result = run_cli("chat", "--data-dir", data, input=session)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "/sources  the last answer's sources in full" in out
    assert out.count("Marco Rubio") >= 2  # the answer, then its sources again
    assert f"{SEED_ID}:" in out and "A new conversation" in out
    assert "unknown command '/bogus'; /help lists them" in out
    assert "never asked" not in out


@pytest.mark.parametrize("args, suggestion", [
    (["aks", "Why?"], "did you mean 'ask'?"),
    (["ask", "Why?", "--top-kk", "3"], "did you mean '--top-k'?"),
    (["ingest", "seeds", "--prunne"], "did you mean '--prune'?"),
])
def test_a_mistyped_command_or_flag_gets_the_closest_one(args, suggestion):
    result = run_cli(*args)
    assert result.returncode == 2 and suggestion in result.stderr
