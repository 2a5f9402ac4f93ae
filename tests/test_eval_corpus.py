"""Corpus specs (eval/corpus.py): `BASE :: GLOB` lines resolve to article ids, a folder of symlinks
ingests under those ids, bad lines are reported by number, and the shipped mixed spec selects 321 files."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import BBC, ROOT, SEED_ID, SEEDS
from eval import corpus
from eval.corpus import CorpusSpecError, is_spec, materialise, resolve, spec_key
from eval.gold import corpus_texts, main
from index.loaders import discover

TOPICS = ("business", "entertainment", "politics", "sport", "tech")


@pytest.fixture
def tree(tmp_path) -> Path:
    """Two corpus folders and a spec folder beside them, with real article files."""
    for name in ("001.txt", "002.txt", "003.txt", "010.txt"):
        (tmp_path / "news" / "world").mkdir(parents=True, exist_ok=True)
        (tmp_path / "news" / "world" / name).write_text(f"Headline {name}\n\nBody of world article {name}.\n")
    (tmp_path / "news" / "world" / ".hidden.txt").write_text("Hidden\n\nNot an article.\n")
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "seed.txt").write_text("Seed headline\n\nThe seed article's body.\n")
    (tmp_path / "specs").mkdir()
    return tmp_path


def write_spec(folder: Path, text: str, name: str = "test.corpus") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_lines_resolve_to_ids_relative_to_their_base(tree):
    spec = write_spec(tree / "specs", f"""# comment line

../news :: world/00?.txt   # trailing comment: 001-003, not 010 and not the hidden file
{tree / "extra"} :: *.txt
../news :: world/001.txt
""")
    entries = resolve(spec)
    assert [e.article_id for e in entries] == ["seed.txt", "world/001.txt", "world/002.txt", "world/003.txt"]
    assert entries[1].path == (tree / "news" / "world" / "001.txt").absolute() and entries[1].line == 3
    assert entries[0].line == 4  # absolute BASE
    assert is_spec(spec) and not is_spec(tree / "news")


def test_every_bad_line_is_reported_with_its_number(tree):
    (tree / "other" / "world").mkdir(parents=True)
    (tree / "other" / "world" / "001.txt").write_text("Clash\n\nSame id, other file.\n")
    spec = write_spec(tree / "specs", "\n".join([
        "../news :: world/*.txt",          # 1 good
        "../nowhere :: *.txt",             # 2 missing BASE
        "../news :: world/9*.txt",         # 3 matches nothing
        "just some words",                 # 4 no ::
        "../news :: ../extra/*.txt",       # 5 leaves BASE
        "../other :: world/001.txt",       # 6 id already taken by another file
        "../news/world/001.txt :: *.txt",  # 7 BASE is a file
    ]))
    with pytest.raises(CorpusSpecError) as caught:
        resolve(spec)
    problems = caught.value.problems
    assert isinstance(caught.value, ValueError) and str(caught.value).splitlines() == problems
    by_line = {int(p.split(":")[1]): p for p in problems}
    assert set(by_line) == {2, 3, 4, 5, 6, 7}
    assert "BASE '../nowhere' is not a folder" in by_line[2] and "does not exist" in by_line[2]
    assert "relative to the spec's folder" in by_line[2]
    assert "GLOB 'world/9*.txt' matches no file" in by_line[3]
    assert "expected `BASE :: GLOB`" in by_line[4]
    assert "must be relative to BASE" in by_line[5]
    assert "article id 'world/001.txt' is claimed by" in by_line[6] and "(line 1)" in by_line[6]
    assert "is a file" in by_line[7]


def test_an_empty_or_missing_spec_is_an_error(tree):
    with pytest.raises(CorpusSpecError, match="selects no files"):
        resolve(write_spec(tree / "specs", "# only a comment\n"))
    with pytest.raises(CorpusSpecError, match="cannot read the corpus spec"):
        resolve(tree / "specs" / "absent.corpus")


def test_materialise_lays_out_links_that_ingest_under_the_spec_ids(tree):
    spec = write_spec(tree / "specs", "../news :: world/*.txt\n../extra :: seed.txt\n")
    folder = materialise(resolve(spec), tree / "data" / "corpus")
    files, problems = discover([folder])
    assert problems == []
    assert [f.article_id for f in files] == ["seed.txt", "world/001.txt", "world/002.txt", "world/003.txt",
                                             "world/010.txt"]
    link = folder / "world" / "001.txt"
    assert link.is_symlink() and link.resolve() == (tree / "news" / "world" / "001.txt").resolve()
    before = os.lstat(link)
    materialise(resolve(spec), folder)  # a re-run keeps the links it already has
    assert os.lstat(link).st_ino == before.st_ino
    # a narrower selection removes the stale links, stray files and the emptied folder
    (folder / "stray.txt").write_text("not from the spec")
    narrow = write_spec(tree / "specs", "../extra :: seed.txt\n", "narrow.corpus")
    materialise(resolve(narrow), folder)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")) == ["seed.txt"]


def test_texts_and_the_gold_cli_accept_a_spec(tree, capsys):
    spec = write_spec(tree / "specs", "../news :: world/001.txt\n../extra :: seed.txt\n")
    texts = corpus_texts(spec)
    assert set(texts) == {"world/001.txt", "seed.txt"} and texts["seed.txt"] == "The seed article's body."
    gold = tree / "gold.jsonl"
    gold.write_text(json.dumps({"id": "q1", "question": "What is in the seed?", "answer": "Its body.",
                                "must_include": ["body"], "evidence": [{"article": "seed.txt", "quote": "body"}],
                                "answerable": True}) + "\n", encoding="utf-8")
    assert main([str(gold), "--corpus", str(spec)]) == 0
    assert "1 questions ok" in capsys.readouterr().out
    bad = write_spec(tree / "specs", "../news :: world/7*.txt\n", "bad.corpus")
    assert main([str(gold), "--corpus", str(bad)]) == 1
    assert f"{bad}:1: GLOB 'world/7*.txt' matches no file" in capsys.readouterr().err


def test_the_eval_data_dir_keys_on_what_a_spec_selects(tree):
    from eval.runner import eval_data_dir
    from rag import Settings

    settings = Settings(data_dir=tree / "data")
    one = write_spec(tree / "specs", "../news :: world/00?.txt\n", "mix.corpus")
    (tree / "copy").mkdir()
    same = write_spec(tree / "copy", f"# the same files, said differently\n{tree / 'news'} :: world/00[1-3].txt\n",
                      "mix.corpus")
    other = write_spec(tree / "specs", "../news :: world/*.txt\n", "other.corpus")
    assert eval_data_dir(one, settings) == eval_data_dir(same, settings)
    assert eval_data_dir(one, settings).parent == tree / "data" / "eval"
    assert eval_data_dir(one, settings).name == f"mix-{spec_key(resolve(one))}"
    assert eval_data_dir(other, settings).name.startswith("other-")
    assert eval_data_dir(other, settings) != eval_data_dir(one, settings)
    assert eval_data_dir(SEEDS, settings).name.startswith("seeds-")  # folders as before


def test_the_mixed_spec_selects_the_seed_and_the_first_64_articles_of_each_topic():
    if not BBC.is_dir():
        pytest.skip("the BBC corpus is not in ../shared/corpora/bbc-news")
    entries = resolve(ROOT / "eval" / "gold" / "mixed.corpus")
    assert len(entries) == 321
    ids = [e.article_id for e in entries]
    assert ids[0] == SEED_ID and entries[0].path.resolve() == (SEEDS / SEED_ID).resolve()
    for topic in TOPICS:
        first = sorted(os.listdir(BBC / topic))[:64]
        assert [i for i in ids if i.startswith(f"{topic}/")] == [f"{topic}/{name}" for name in first]
    assert "business/047.txt" in ids and "business/065.txt" not in ids
    assert corpus.is_spec("eval/gold/mixed.corpus")
