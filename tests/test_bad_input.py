"""The issue's acceptance for bad input: one clear line per bad file, good files still ingested,
nothing already stored is lost, and a non-zero exit code when some file failed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import ROOT, SEED_ID, SEEDS

MAX_BYTES = 10 * 1024  # the limit used in-process; the CLI uses --max-file-mb 0.01 (10,485 bytes)
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
       b"\x1f\xf3\xffa\x00\x00\x00\x19tEXtSoftware\x00Adobe ImageReady\x00\x00\x00\x00IEND\xaeB`\x82")
GOOD_MD = """---
title: Council approves new tram line
date: 2024-03-14
source: Riverside Gazette
---

The city council voted on Wednesday evening to approve a new tram line linking the northern suburbs
with the central railway station, ending a decade of debate over the project.

Construction is expected to begin next spring and to cost around 480 million euros.
"""
NAV_ONLY = ("<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a> "
            "<a href='/news'>News</a> <a href='/sport'>Sport</a></nav></body></html>")

# file (relative to the folder) -> words the problem line must contain
EXPECTED = {
    "empty.txt": "file is empty",
    "blank.txt": "file is empty",
    "photo.txt": "binary file",
    "huge.txt": "over the",
    "broken.json": "invalid JSON at line",
    "wire.jsonl:2": "invalid JSON",
    "broken_yaml.md": "malformed YAML front matter",
    "unclosed.md": "no closing '---'",
    "menu.html": "no article text",
    "blank_page.html": "no article text",
    "sub/loop": "symlink loop",
    "self.txt": "symbolic links",  # ELOOP from the OS: "Too many levels of symbolic links"
}
UNREADABLE = {"locked.txt": "cannot read (Permission denied)"}
GOOD_IDS = {SEED_ID, "good.md", "wire-1", "wire-3"}


def build_folder(folder: Path, unreadable: bool) -> Path:
    """Two good articles (plus two good JSONL lines) and one file of each bad kind."""
    (folder / "sub").mkdir(parents=True)
    shutil.copy(SEEDS / SEED_ID, folder / SEED_ID)
    (folder / "good.md").write_text(GOOD_MD)
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_text("  \n\t\n   \n")
    (folder / "photo.txt").write_bytes(PNG)
    (folder / "huge.txt").write_text("A very long story. " * 1000)  # 19,000 bytes
    (folder / "broken.json").write_text('[{"title": "Rates held", "text": "The bank held rates."},\n{"title": ')
    (folder / "wire.jsonl").write_text(
        json.dumps({"id": "wire-1", "title": "Rates held", "text": "The central bank held rates on Thursday."})
        + '\n{"id": "wire-2", "title": "Broken\n'
        + json.dumps({"id": "wire-3", "title": "Strike ends", "text": "The rail strike ended on Friday."}) + "\n")
    (folder / "broken_yaml.md").write_text("---\ntitle: [unclosed\ndate: 2024-01-01\n---\nA story body.\n")
    (folder / "unclosed.md").write_text("---\ntitle: Front matter never closed\nA story body.\n")
    (folder / "menu.html").write_text(NAV_ONLY)
    (folder / "blank_page.html").write_text("<html><head><title>Nothing</title></head><body></body></html>")
    (folder / "sub" / "loop").symlink_to("..", target_is_directory=True)  # points at its ancestor
    (folder / "self.txt").symlink_to("self.txt")  # a.txt -> a.txt
    if unreadable:
        (folder / "locked.txt").write_text("A story nobody may read.")
    return folder


def assert_one_line_per_problem(lines: list[str], folder: Path, expected: dict[str, str]) -> None:
    for line in lines:
        assert "\n" not in line
    for name, words in expected.items():
        mentions = [line for line in lines if line.startswith(f"{folder / name}:")
                    or line.startswith(f"{folder / name} ")]
        assert len(mentions) == 1, (name, lines)
        assert words in mentions[0], (name, mentions[0])
    assert len(lines) == len(expected), lines


def test_bad_files_reported_good_files_ingested(tmp_path, make_index):
    folder = build_folder(tmp_path / "corpus", unreadable=False)
    index = make_index(max_file_bytes=MAX_BYTES)
    report = index.ingest([folder])
    assert_one_line_per_problem(report.problems, folder, EXPECTED)
    assert report.failed == len(EXPECTED)
    assert report.added == len(GOOD_IDS)
    assert {a.id for a in index.registry.articles()} == GOOD_IDS
    assert index.registry.article("wire-3").title == "Strike ends"
    assert index.registry.article(SEED_ID).text.startswith("The summit in Budapest")
    assert index.status().stored_chunks == index.status().chunks > 0
    # ingesting again changes nothing and reports the same problems again
    again = index.ingest([folder], prune=True)
    assert (again.added, again.updated, again.removed, again.failed) == (0, 0, 0, len(EXPECTED))
    assert again.unchanged == len(GOOD_IDS)


def test_bad_replacement_does_not_lose_stored_articles(tmp_path, make_index):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEEDS / SEED_ID, folder / SEED_ID)
    (folder / "good.md").write_text(GOOD_MD)
    (folder / "feed.json").write_text(json.dumps([{"id": "wire-1", "title": "Rates held",
                                                   "text": "The central bank held rates on Thursday."}]))
    (folder / "notes.txt").write_text("Floods close the coast road\n\nHeavy rain closed the road on Sunday.\n")
    index = make_index(max_file_bytes=MAX_BYTES)
    first = index.ingest([folder])
    assert (first.added, first.failed) == (4, 0)
    before = {a.id: a.content_hash for a in index.registry.articles()}
    chunks_before = index.status().stored_chunks

    (folder / "good.md").write_bytes(PNG)  # a good file turns binary
    (folder / "feed.json").write_text('[{"id": "wire-1", "text": ')  # and another turns malformed
    (folder / "notes.txt").write_text("Too big. " * 2000)  # and one grows over the limit
    report = index.ingest([folder], prune=True)

    assert report.failed == 3
    assert report.removed == 0
    assert report.unchanged == 1  # the seed
    assert sorted(p.split(":")[0] for p in report.problems) == sorted(
        str(folder / n) for n in ("feed.json", "good.md", "notes.txt"))
    after = {a.id: a.content_hash for a in index.registry.articles()}
    assert after == before  # nothing already stored is lost or changed
    assert index.status().stored_chunks == chunks_before
    assert index.registry.article("good.md").title == "Council approves new tram line"

    # once the file is good again it is re-read and stays stored
    (folder / "good.md").write_text(GOOD_MD)
    fixed = index.ingest([folder], prune=True)
    assert (fixed.failed, fixed.removed, fixed.added, fixed.updated) == (2, 0, 0, 0)
    assert {a.id for a in index.registry.articles()} == set(before)


def test_legacy_encoding_is_ingested_with_the_right_characters(tmp_path, make_index):
    folder = tmp_path / "corpus"
    folder.mkdir()
    raw = (b"Bread prices rise\r\n\r\n\x93Prices are rising,\x94 said the minister. A loaf now costs \xa32, "
           b"up from \xa31.50 a year ago \x96 the steepest rise since 1990.\r\n")
    (folder / "legacy.txt").write_bytes(raw)
    (folder / "wide.txt").write_bytes("\u201cCaf\u00e9\u201d owners cut prices.".encode("utf-16"))
    index = make_index()
    report = index.ingest([folder])
    assert (report.added, report.failed, report.problems) == (2, 0, [])
    stored = index.registry.article("legacy.txt")
    assert stored.title == "Bread prices rise"
    assert stored.text == ("\u201cPrices are rising,\u201d said the minister. A loaf now costs \u00a32, "
                           "up from \u00a31.50 a year ago \u2013 the steepest rise since 1990.")
    assert index.registry.article("wide.txt").text == "\u201cCaf\u00e9\u201d owners cut prices."
    [(hit, _score)] = index.store.query(index.embedder.embed_batch(["price of a loaf of bread"])[0], 1,
                                        {"article_id": "legacy.txt"})
    assert "\u00a32" in hit.text and "\u201cPrices" in hit.text


def test_one_file_that_used_to_crash_does_not_stop_the_ingest(tmp_path, make_index):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEEDS / SEED_ID, folder / SEED_ID)
    (folder / "a_truncated_utf16.txt").write_bytes(b"\xff\xfeA\x00B")
    (folder / "b_authors.json").write_text(json.dumps([{"id": "r1", "text": "Rates held.",
                                                        "author": [{"name": "Jane"}, 7]}]))
    (folder / "c_deep.json").write_text("[" * 100_000)
    index = make_index()
    report = index.ingest([folder])
    assert report.added == 2 and report.failed == 2
    assert {a.id for a in index.registry.articles()} == {SEED_ID, "r1"}
    assert "UTF-16" in report.problems[0] and "nested too deeply" in report.problems[1]


# -- the CLI: stderr lines, exit code, and a file the user cannot read ----------

def _as_user_prefix() -> list[str] | None:
    """Run the CLI as `nobody` when we are root (root reads chmod-000 files)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if setpriv else None


@pytest.fixture
def open_tmp():
    """A temp dir anyone may enter and write (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="newsrag-bad-input-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_cli_reports_each_bad_file_and_exits_1(open_tmp, make_index):
    prefix = _as_user_prefix()
    unreadable = prefix is not None
    folder = build_folder(open_tmp / "corpus", unreadable=unreadable)
    for path in [folder, folder / "sub"]:
        path.chmod(0o755)
    for path in folder.iterdir():
        if not path.is_symlink() and path.is_file():
            path.chmod(0o644)
    expected = dict(EXPECTED)
    if unreadable:
        (folder / "locked.txt").chmod(0)
        expected.update(UNREADABLE)
    data = open_tmp / "data"
    home = open_tmp / "home"
    home.mkdir(mode=0o777)
    home.chmod(0o777)
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / "cache"),
           "MPLCONFIGDIR": str(home / "mpl"), "GRADIO_TEMP_DIR": str(home / "gradio"),
           "HF_HUB_OFFLINE": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([*(prefix or []), sys.executable, "-m", "rag", "ingest", str(folder),
                           "--data-dir", str(data), "--max-file-mb", "0.01", "--quiet"],
                          capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line.removeprefix("newsrag: ") for line in proc.stderr.splitlines() if line.startswith("newsrag: ")]
    assert_one_line_per_problem(lines, folder, expected)
    assert f"{len(GOOD_IDS)} added" in proc.stdout and f"{len(expected)} failed" in proc.stdout

    index = make_index(data_dir=data)
    assert {a.id for a in index.registry.articles()} == GOOD_IDS
    assert index.status().articles == len(GOOD_IDS)


def test_prune_keeps_articles_of_a_path_that_failed_discovery(tmp_path, make_index):
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(SEEDS / SEED_ID, folder / SEED_ID)
    (folder / "notes.txt").write_text("Floods close the coast road\n\nHeavy rain closed the road on Sunday.\n")
    index = make_index()
    assert index.ingest([folder]).added == 2
    (folder / "notes.txt").unlink()
    (folder / "notes.txt").symlink_to("notes.txt")  # now a symlink loop: reported as a failure ...
    report = index.ingest([folder], prune=True)
    assert report.failed == 1 and "notes.txt" in report.problems[0]
    assert report.removed == 0  # ... so it must not also be treated as gone
    assert index.registry.article("notes.txt") is not None
