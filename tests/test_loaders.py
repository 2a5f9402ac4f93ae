"""Unit tests of `index.loaders`: discovery, decoding and every supported file format."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import SEED_ID, SEEDS, bbc_files
from index.loaders import DEFAULT_MAX_BYTES, SourceFile, decode, discover, iter_loaded, load_file
from index.models import Article

SUMMIT = ("The summit in Budapest, Hungary, where US President Donald Trump and Russian President "
          "Vladimir Putin were set to meet to discuss the latter's ongoing conflict with Ukraine, "
          "has been called off.")


def load_one(path: Path, root: Path | None = None) -> Article:
    """The single article a file yields, loaded through discover + iter_loaded like an ingest."""
    files, problems = discover([root or path])
    assert problems == []
    [(src, loaded)] = [(s, lf) for s, lf in iter_loaded(files, DEFAULT_MAX_BYTES) if s.path == path.absolute()]
    assert loaded.problems == ()
    [article] = loaded.articles
    return article


def load_all(path: Path) -> tuple[list[Article], list[str]]:
    """All articles and problem lines from a file or folder."""
    files, problems = discover([path])
    articles: list[Article] = []
    lines = [str(p) for p in problems]
    for _src, loaded in iter_loaded(files, DEFAULT_MAX_BYTES):
        articles.extend(loaded.articles)
        lines.extend(str(p) for p in loaded.problems)
    return articles, lines


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# -- .txt ---------------------------------------------------------------------

def test_txt_date_header_on_the_same_line(tmp_path):
    path = write(tmp_path / "summit.txt", f" date 2025-10-21 {SUMMIT}\n\nA US official told the news "
                                          "agency there will be no meeting in the immediate future.\n")
    article = load_one(path)
    assert article.date == "2025-10-21"
    assert article.text.startswith("The summit in Budapest")
    assert "date 2025" not in article.text
    # no headline: the title is the first sentence of the body, cut at a word boundary
    assert article.title.startswith("The summit in Budapest")
    assert article.title.endswith("…") and len(article.title) <= 81
    assert article.id == "summit.txt"
    assert article.origin == str(path)


def test_real_seed_file():
    path = SEEDS / SEED_ID
    assert path.read_text(encoding="utf-8").startswith(" date 2025-10-21 The summit")
    article = load_one(path)
    assert article.id == SEED_ID  # a file given directly gets its name
    assert article.date == "2025-10-21"
    assert article.text.startswith("The summit in Budapest, Hungary")
    assert article.title.startswith("The summit in Budapest")
    assert "Dmitry Peskov" in article.text
    # chunk offsets index into the body, so the body must be exactly what the file holds after the header
    raw = path.read_text(encoding="utf-8")
    assert article.text == raw[raw.index("The summit"):].strip()


def test_real_bbc_file_headline_becomes_title():
    [path] = bbc_files(1)
    first_line, _, rest = path.read_text(encoding="utf-8", errors="replace").partition("\n\n")
    article = load_one(path)
    assert article.title == first_line.strip()
    assert article.text == rest.strip()
    assert not article.text.startswith(first_line.strip())
    assert article.date is None


def test_hand_written_bbc_format(tmp_path):
    path = write(tmp_path / "ads.txt", "Ad sales boost Time Warner profit\n\n"
                                       "Quarterly profits at US media giant TimeWarner jumped 76%.\n\n"
                                       "The firm benefited from sales of high-speed internet connections.\n")
    article = load_one(path)
    assert article.title == "Ad sales boost Time Warner profit"
    assert article.text == ("Quarterly profits at US media giant TimeWarner jumped 76%.\n\n"
                            "The firm benefited from sales of high-speed internet connections.")


@pytest.mark.parametrize("first", [
    # a long first paragraph that ends in a full stop
    "The city council voted on Wednesday to approve a new tram line. Construction will start in spring.",
    # a long first paragraph without a full stop (too many words for a headline)
    "Officials said the tram line linking the northern suburbs with the central station would open "
    "in 2028 and carry about forty thousand passengers every single day according to the plan",
])
def test_long_first_paragraph_is_not_a_headline(tmp_path, first):
    path = write(tmp_path / "tram.txt", f"{first}\n\nOpponents argued the money should go to buses.\n")
    article = load_one(path)
    assert article.text.startswith(first)  # the paragraph stays in the body
    assert "Opponents argued" in article.text
    assert article.title != first
    assert first.startswith(article.title.rstrip("…"))  # derived from the text


def test_single_paragraph_txt_keeps_everything(tmp_path):
    path = write(tmp_path / "one.txt", "Markets rallied on Monday. Shares rose 2%.\n")
    article = load_one(path)
    assert article.text == "Markets rallied on Monday. Shares rose 2%."
    assert article.title == "Markets rallied on Monday."


# -- .md ----------------------------------------------------------------------

@pytest.mark.parametrize("date_line", ["date: 2024-03-14", "date: '2024-03-14'", "date: 2024-03-14T09:30:00Z"])
def test_markdown_front_matter(tmp_path, date_line):
    path = write(tmp_path / "tram.md", f"""---
title: Council approves new tram line
{date_line}
source: Riverside Gazette
url: https://example.org/news/tram
author:
  - Jane Porter
  - Sam Lee
---

The city council voted on Wednesday to approve a new tram line.

Construction starts next spring.
""")
    article = load_one(path)
    assert article.title == "Council approves new tram line"
    assert article.date == "2024-03-14"
    assert article.source == "Riverside Gazette"
    assert article.url == "https://example.org/news/tram"
    assert article.author == "Jane Porter, Sam Lee"
    assert article.text == ("The city council voted on Wednesday to approve a new tram line.\n\n"
                            "Construction starts next spring.")


def test_markdown_heading_is_the_title(tmp_path):
    path = write(tmp_path / "floods.md", "# Floods close the coast road\n\nHeavy rain closed the coast road "
                                         "on Sunday.\n\nRepairs will take a week.\n")
    article = load_one(path)
    assert article.title == "Floods close the coast road"
    assert article.text == "Heavy rain closed the coast road on Sunday.\n\nRepairs will take a week."
    assert article.date is None and article.author is None


# -- .html --------------------------------------------------------------------

NEWS_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Council approves new tram line | Riverside Gazette</title>
<meta property="og:title" content="Council approves new tram line">
<meta property="og:site_name" content="Riverside Gazette">
<meta property="article:published_time" content="2024-03-14T09:30:00Z">
<meta name="author" content="Jane Porter">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/politics">Politics</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/subscribe">Subscribe today</a></li></ul></nav>
<article>
<h1>Council approves new tram line</h1>
<p>The city council voted on Wednesday evening to approve a new tram line linking the northern suburbs
with the central railway station, ending a decade of debate over the project.</p>
<p>Construction of the twelve-kilometre route is expected to begin next spring and to cost around
480 million euros, according to figures presented by the transport committee.</p>
<p>Opponents argued that the money would be better spent on buses, but the motion passed by 31 votes
to 19 after a four-hour session that stretched late into the night.</p>
</article>
<footer><p>Copyright 2024 Riverside Gazette. All rights reserved.</p>
<a href="/privacy">Privacy policy</a> <a href="/cookies">Cookie settings</a></footer>
</body></html>
"""


def test_html_news_page(tmp_path):
    article = load_one(write(tmp_path / "tram.html", NEWS_PAGE))
    assert article.title == "Council approves new tram line"
    assert article.date == "2024-03-14"
    assert article.source == "Riverside Gazette"
    assert article.author == "Jane Porter"
    text = " ".join(article.text.split())
    for sentence in ("The city council voted on Wednesday evening to approve a new tram line",
                     "expected to begin next spring and to cost around 480 million euros",
                     "the motion passed by 31 votes to 19"):
        assert sentence in text
    for noise in ("Subscribe today", "Politics", "Copyright", "Privacy policy", "Cookie settings"):
        assert noise not in text
    # trafilatura keeps the <h1> as the first line of the extracted text
    assert article.text.splitlines()[0] == "Council approves new tram line"


def test_html_date_from_the_page_text(tmp_path):
    page = NEWS_PAGE.replace('<meta property="article:published_time" content="2024-03-14T09:30:00Z">', "")
    page = page.replace("<h1>", '<p class="dateline">Published 2023-11-02</p><h1>')
    article = load_one(write(tmp_path / "tram.htm", page))
    assert article.date == "2023-11-02"
    assert "the motion passed by 31 votes" in " ".join(article.text.split())


@pytest.mark.parametrize("page", [
    '<html><head><title>Menu</title></head><body><nav><ul><li><a href="/">Home</a></li>'
    '<li><a href="/news">News</a></li></ul></nav></body></html>',
    "<html><head><title>Menu</title></head><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>",
    "<html><head><title>Empty</title></head><body></body></html>",
])
def test_html_without_article_text_is_a_problem(tmp_path, page):
    path = write(tmp_path / "menu.html", page)
    articles, lines = load_all(path)
    assert articles == []
    assert lines == [f"{path}: no article text found in the HTML (is it a page without a story?)"]


# -- .json / .jsonl -----------------------------------------------------------

RECORDS = [
    {"id": "wire-1", "title": "Rates held", "date": "2024-05-02", "source": "Wire", "url": "https://w.example/1",
     "author": "A. Writer", "text": "The central bank held rates on Thursday."},
    {"title": "Strike ends", "published_at": "2024-05-03T08:00:00+02:00", "body": "The rail strike ended."},
]


def test_json_list_of_records(tmp_path):
    articles, lines = load_all(write(tmp_path / "feed" / "wire.json", json.dumps(RECORDS)))
    assert lines == []
    first, second = articles
    assert (first.id, first.title, first.date, first.source, first.url, first.author, first.text) == (
        "wire-1", "Rates held", "2024-05-02", "Wire", "https://w.example/1", "A. Writer",
        "The central bank held rates on Thursday.")
    assert second.id == "wire.json#2"  # no id: relative path + record number
    assert (second.title, second.date, second.text) == ("Strike ends", "2024-05-03", "The rail strike ended.")
    assert first.origin == second.origin == str(tmp_path / "feed" / "wire.json")


def test_json_single_object(tmp_path):
    [article] = load_all(write(tmp_path / "one.json", json.dumps(RECORDS[1])))[0]
    assert article.id == "one.json#1"
    assert article.text == "The rail strike ended."
    assert article.date == "2024-05-03"


def test_jsonl_records(tmp_path):
    lines_text = "\n".join(json.dumps(r) for r in RECORDS) + "\n\n"
    nested = write(tmp_path / "feeds" / "daily" / "wire.jsonl", lines_text)
    articles, lines = load_all(tmp_path)
    assert lines == []
    assert [a.id for a in articles] == ["wire-1", "feeds/daily/wire.jsonl#2"]  # record id; else relpath#line
    assert articles[1].title == "Strike ends" and articles[1].origin == str(nested)


def test_json_records_need_text(tmp_path):
    path = write(tmp_path / "mixed.json", json.dumps([{"title": "no body"}, "just a string", RECORDS[0]]))
    articles, lines = load_all(path)
    assert [a.id for a in articles] == ["wire-1"]
    assert lines == [f"{path} (record 1): record has no 'text' or 'body'; skipped",
                     f"{path} (record 2): a record must be a JSON object with 'text' or 'body'"]


def test_author_list_with_non_strings_does_not_crash(tmp_path):
    record = {"id": "x", "text": "Body text.", "author": [{"name": "Jane"}, 42]}
    [article] = load_all(write(tmp_path / "a.json", json.dumps([record])))[0]
    assert "Jane" in article.author and "42" in article.author


# -- ids and discovery --------------------------------------------------------

def test_ids_are_posix_paths_relative_to_the_folder_given(tmp_path):
    write(tmp_path / "corpus" / "a.txt", "Alpha story text.")
    write(tmp_path / "corpus" / "world" / "europe" / "b.md", "Beta story text.")
    write(tmp_path / "corpus" / "world" / "c.html", NEWS_PAGE)
    write(tmp_path / "corpus" / "notes.csv", "not,an,article")  # unsupported suffix: ignored
    files, problems = discover([tmp_path / "corpus"])
    assert problems == []
    assert [f.article_id for f in files] == ["a.txt", "world/c.html", "world/europe/b.md"]
    assert all(f.path.is_absolute() for f in files)
    # the same file seen from a deeper folder, or given directly
    assert [f.article_id for f in discover([tmp_path / "corpus" / "world"])[0]] == ["c.html", "europe/b.md"]
    [direct] = discover([tmp_path / "corpus" / "world" / "europe" / "b.md"])[0]
    assert direct.article_id == "b.md"


def test_readme_license_and_hidden_files_are_skipped(tmp_path):
    for name in ("README.md", "README.txt", "LICENSE.txt", "CHANGELOG.md", ".draft.txt", ".cache/x.txt", "story.txt"):
        write(tmp_path / name, "Some text here.")
    files, problems = discover([tmp_path])
    assert problems == []
    assert [f.article_id for f in files] == ["story.txt"]
    # a file named explicitly is always taken
    assert [f.article_id for f in discover([tmp_path / "README.md"])[0]] == ["README.md"]


def test_missing_path_is_a_problem(tmp_path):
    files, problems = discover([tmp_path / "nope"])
    assert files == [] and [str(p) for p in problems] == [f"{tmp_path / 'nope'}: no such file or folder"]


# -- decoding -----------------------------------------------------------------

def test_cp1252_file_decodes(tmp_path):
    raw = b"\x93Prices are rising,\x94 said the minister. A loaf now costs \xa32.\n"
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert decode(raw) == "\u201cPrices are rising,\u201d said the minister. A loaf now costs \u00a32.\n"
    article = load_one(write(tmp_path / "legacy.txt", raw))
    assert article.text == "\u201cPrices are rising,\u201d said the minister. A loaf now costs \u00a32."


def test_latin1_only_bytes_decode(tmp_path):
    raw = "Caf\u00e9 owners in M\u00fcnchen".encode("latin-1") + b" \x81\x8d"  # undefined in cp1252
    assert decode(raw) == "Caf\u00e9 owners in M\u00fcnchen \x81\x8d"


def test_utf8_bom_is_stripped(tmp_path):
    raw = "\ufeff date 2024-01-02 Caf\u00e9 prices rose.".encode("utf-8")
    assert raw.startswith(b"\xef\xbb\xbf")
    article = load_one(write(tmp_path / "bom.txt", raw))
    assert article.text == "Caf\u00e9 prices rose."
    assert article.date == "2024-01-02"  # the header is still found behind the BOM


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom(tmp_path, codec):
    text = "\u201cCaf\u00e9\u201d sales rose \u00a35m.\r\nSecond line."
    raw = text.encode(codec)
    if codec != "utf-16":
        raw = ("\ufeff".encode(codec)) + raw
    assert decode(raw) == "\u201cCaf\u00e9\u201d sales rose \u00a35m.\nSecond line."  # CRLF normalised
    assert load_one(write(tmp_path / "wide.txt", raw)).text == "\u201cCaf\u00e9\u201d sales rose \u00a35m.\nSecond line."


@pytest.mark.parametrize("raw", [b"\xff\xfeA\x00B", b"\xff\xfe\x00\xd8A\x00"])
def test_invalid_utf16_is_a_problem_not_a_crash(tmp_path, raw):
    path = write(tmp_path / "wide.txt", raw)
    articles, lines = load_all(path)
    assert articles == []
    assert len(lines) == 1 and lines[0].startswith(f"{path}: ") and "UTF-16" in lines[0]


def test_crlf_line_endings_normalised(tmp_path):
    article = load_one(write(tmp_path / "win.txt", b"Short headline\r\n\r\nBody one.\r\nBody two.\r\n"))
    assert article.title == "Short headline"
    assert article.text == "Body one.\nBody two."


# -- hashes -------------------------------------------------------------------

def test_content_hash_tracks_metadata_text_hash_does_not():
    base = Article(id="a", text="Body.", title="T", date="2024-01-01", source="S", url="u", author="x")
    for change in ({"title": "T2"}, {"date": "2024-01-02"}, {"source": None}, {"url": "v"}, {"author": "y"}):
        other = replace(base, **change)
        assert other.content_hash != base.content_hash
        assert other.text_hash == base.text_hash
    assert replace(base, id="b", origin="/elsewhere").content_hash == base.content_hash  # not metadata
    changed = replace(base, text="Body!")
    assert changed.text_hash != base.text_hash and changed.content_hash != base.content_hash


def test_file_hash_is_of_the_bytes(tmp_path):
    path = write(tmp_path / "a.txt", "Alpha story text.")
    src = SourceFile(path, "a.txt")
    one = load_file(src, path.read_bytes())
    two = load_file(src, b"Alpha story text.\n")
    assert one.file_hash != two.file_hash
    assert one.articles[0].content_hash == two.articles[0].content_hash  # same article after stripping


def test_deeply_nested_json_is_a_problem_not_a_crash(tmp_path):
    path = write(tmp_path / "deep.json", b"[" * 100_000)
    articles, lines = load_all(path)
    assert articles == []
    assert lines == [f"{path}: data nested too deeply to parse"]
