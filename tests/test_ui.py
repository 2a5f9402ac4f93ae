"""The web UI: rendering and upload handling (fast), then the real app in headless Chromium (slow).

The browser tests start the Gradio server in this process (prevent_thread_lock) over a real
index of seeds/ and drive it with Playwright and Debian's chromium; the /ask API and the
`newsrag serve` subprocess are in test_ui_api.py.
"""
from __future__ import annotations

import shutil
import time

import pytest

from conftest import ROOT, SEEDS, free_port
from webui import SEED_QUESTION, ask, open_filters, set_text, upload
from rag.api import Citation, Hit
from ui import render
from ui.corpus import UploadRejected, example_question, safe_name, save_upload

# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")
ARTIFACTS = ROOT / "tests" / "artifacts"

HOSTILE_TXT = """date 2025-11-05
Quibblefrost <svg onload="window.__pwned=true"></svg> council news

The Quibblefrost council <script>window.__pwned = true; document.title = "pwned"</script> approved a moonlight festival budget of 88 crowns on Tuesday.

Festival organisers said <img src=x onerror="window.__pwned = true; document.title = 'pwned'"> the Quibblefrost moonlight festival starts at dusk.

Tickets: [click](javascript:window.__pwned=true) for the Quibblefrost festival programme ${window.__pwned=true} {{constructor.constructor('window.__pwned=true')()}}.
"""
HOSTILE_MD = """---
title: "Quibblefrost harbour <img src=x onerror=window.__pwned=true>"
date: 2025-11-06
source: "<img src=y onerror=window.__pwned=true>Harbour Gazette"
url: "javascript:window.__pwned=true"
---
The Quibblefrost harbour master <b onmouseover="window.__pwned=true">resigned</b> after the storm [x](javascript:window.__pwned=true).
"""


def _citation(**kw) -> Citation:
    base = dict(n=1, article="a.txt", title="T", date="2025-01-01", source=None, url=None,
                quote="q", start=0, end=1)
    return Citation(**{**base, **kw})


# -- rendering (fast) -----------------------------------------------------------

def test_card_escapes_everything_from_the_article():
    text = 'Intro. <script>alert(1)</script> says <img src=x onerror="alert(2)"> [c](javascript:alert(3)) ${x} end.'
    start = text.index("<script>")
    quote = text[start:text.index(" end.")]
    c = _citation(title="<b onmouseover=alert(4)>T</b>", source="<i>Src</i>", url="javascript:alert(5)",
                  quote=quote, start=start, end=start + len(quote))
    html = render.article_card("nr-0-1", [c], {1: render.passage(text, c)})
    assert "<script" not in html and "<img" not in html and "<b " not in html and "<i>" not in html
    assert "javascript:" not in html.split("</summary>")[0]  # the bad URL is not linked
    assert 'href="javascript' not in html and "${" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&#36;&#123;x&#125;" in html
    assert '<mark class="nr-quote">&lt;script&gt;' in html


def test_answer_links_only_known_markers_and_escapes_text():
    out = render.linked_text("A <b>claim</b> [1] and [7] [2].", {1: "nr-2-1", 2: "nr-2-2"})
    assert '<a class="nr-cite" href="#nr-2-1" data-card="nr-2-1"' in out
    assert 'href="#nr-2-2"' in out and "#nr-2-7" not in out and "[7]" in out
    assert "&lt;b&gt;claim&lt;/b&gt;" in out


def test_passage_shows_quote_in_context_cut_at_words():
    text = "word " * 100 + "THE QUOTE." + " tail" * 100
    start = text.index("THE QUOTE.")
    c = _citation(quote="THE QUOTE.", start=start, end=start + 10)
    p = render.passage(text, c, context=40)
    assert p.quote == "THE QUOTE." and p.cut_before and p.cut_after
    assert p.before.startswith("word") and p.after.strip().startswith("tail") and len(p.before) <= 40
    stale = render.passage("changed text", c)  # the article changed since: the quote alone
    assert (stale.before, stale.quote, stale.after) == ("", "THE QUOTE.", "")


def test_safe_url_allows_only_http():
    assert render.safe_url("https://example.com/a?b=1&c=2") == "https://example.com/a?b=1&amp;c=2"
    for bad in ("javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,x", "/relative", "http://",
                "https://x.com/a b", None, ""):
        assert render.safe_url(bad) is None, bad
    assert '"' not in render.safe_url('https://x.com/"onmouseover="alert(1)')


def test_abstention_lists_closest_articles():
    from rag.api import Answer

    hit = Hit("c", "b.txt", "<Close> one", "2025-02-02", "Wire", None, 0, 5, "text <img src=x>", 0.1)
    turn = render.Turn("q?", answer=Answer("The articles in the corpus don't say. The closest articles are: x.",
                                           True, (), "q?", closest=(hit,)))
    html = render.transcript([turn])
    assert "nr-abstained" in html and "Closest articles" in html and "&lt;Close&gt; one" in html
    assert "<img" not in html and "The closest articles are" not in html


def test_conversations_belong_to_the_user_or_the_browser(tmp_path):
    from rag.conversations import ConversationStore
    from ui.history import History, browser_secret, owner_of

    assert owner_of("b1", "ann") == "user:ann" and owner_of("b1", None) == "browser:b1"
    assert owner_of(None, None) is None  # an event racing the page's load owns nothing
    history = History(ConversationStore(tmp_path / "c.sqlite"), tmp_path)
    assert history.choices(None) == [] and history.export(None, "x") == (None, None)
    assert browser_secret(tmp_path) == browser_secret(tmp_path)  # kept: a restart knows its browsers
    assert oct((tmp_path / "ui-secret").stat().st_mode & 0o777) == "0o600"


def test_timeline_needs_two_dates_and_escapes_titles():
    assert render.timeline_svg([("a", "2025-01-01", "One"), ("b", "2025-01-01", "Same day")]) == ""
    svg = render.timeline_svg([("a", "2025-01-01", "<b>x</b>"), ("b", "2025-03-01", "Two"), ("c", None, "Undated")])
    assert svg.count('class="nr-tl-point"') == 2 and "<b>" not in svg and "&lt;b&gt;" in svg
    assert 'data-card="a"' in svg and "2025-01-01 to 2025-03-01" in svg


# -- uploads (fast) -------------------------------------------------------------

def test_upload_names_are_sanitised(tmp_path):
    assert safe_name("../../etc/passwd.txt") == "passwd.txt"
    assert safe_name("..\\..\\x.MD") == "x.md"
    assert safe_name(".hidden.json") == "hidden.json"
    assert safe_name("a b<script>.jsonl") == "a_b_script.jsonl"
    assert safe_name("....txt") == "upload.txt"
    for bad in ("x.exe", "noext", "x.txt.sh", "x.pdf"):
        with pytest.raises(UploadRejected):
            safe_name(bad)


def test_save_upload_stays_in_folder_and_never_overwrites(tmp_path):
    folder = tmp_path / "data" / "uploads"
    src = tmp_path / "in.txt"
    src.write_text("one")
    first = save_upload(src, folder, 100, name="../../evil.txt")
    assert first.path == folder.resolve() / "evil.txt" and first.path.read_text() == "one"
    assert save_upload(src, folder, 100, name="evil.txt").path == first.path  # same bytes: reused
    src.write_text("two")
    second = save_upload(src, folder, 100, name="evil.txt")
    assert second.path.name == "evil-1.txt" and first.path.read_text() == "one"
    src.write_text("x" * 101)
    with pytest.raises(UploadRejected, match="limit"):
        save_upload(src, folder, 100, name="big.txt")
    src.write_text("")
    with pytest.raises(UploadRejected, match="empty"):
        save_upload(src, folder, 100, name="empty.txt")
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["evil-1.txt", "evil.txt", "in.txt"]


def test_example_question_from_title():
    assert example_question("The summit in Budapest, Hungary, where US President…") == \
        "What do the articles say about the summit in Budapest?"
    assert example_question("Ad sales boost Time Warner profit") == \
        "What do the articles say about Ad sales boost Time Warner profit?"
    assert example_question("") == ""


def test_launch_is_loopback_and_private_by_default(capsys):
    from ui.serve import exposure_warning, launch, parse_auth

    calls = []

    class FakeApp:
        local_url, share_url, newsrag_login_limit = "http://127.0.0.1:7860/", None, (5, 30.0)

        def launch(self, **kw):
            calls.append(kw)

        def block_thread(self):
            calls.append("blocked")

        def close(self):
            pass

    launch(FakeApp(), quiet=True)
    assert calls[-1] == "blocked"
    launch(FakeApp(), prevent_thread_lock=True)
    captured = capsys.readouterr()
    assert "serving http://127.0.0.1:7860/" in captured.out and captured.err == ""
    assert calls[-1]["server_name"] == "127.0.0.1" and calls[-1]["share"] is False and calls[-1]["auth"] is None
    assert calls[-1]["app_kwargs"] == {"middleware": []}  # no sign-in, nothing to throttle
    launch(FakeApp(), host="0.0.0.0", prevent_thread_lock=True)
    assert "without --auth" in capsys.readouterr().err
    launch(FakeApp(), host="0.0.0.0", auth="ann:s3cret:x", prevent_thread_lock=True, quiet=True)
    assert calls[-1]["auth"] == ("ann", "s3cret:x") and capsys.readouterr().err == ""
    [throttle] = calls[-1]["app_kwargs"]["middleware"]
    assert throttle.cls.__name__ == "LoginThrottle" and throttle.args == (5, 30.0)
    assert exposure_warning("::1", None) is None and exposure_warning("localhost", None) is None
    with pytest.raises(ValueError):
        parse_auth("nopassword")


# -- the real app in a browser (slow) ----------------------------------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    """The app over a fresh index of seeds/, served from this process on a free loopback port."""
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings
    from ui.app import create_app
    from ui.serve import launch

    root = tmp_path_factory.mktemp("ui")
    shutil.copytree(SEEDS, root / "corpus")
    # the tests' own tmp_path folders are under the base temp dir: the one folder the web may ingest
    settings = Settings(data_dir=root / "data", ingest_root=(tmp_path_factory.getbasetemp(),))
    assistant = Assistant(settings, index=Index(IndexConfig(data_dir=settings.data_dir), embedder=embedder))
    assistant.ingest([root / "corpus"])
    expected = assistant.ask(SEED_QUESTION)
    app = create_app(assistant)
    port = free_port()
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield {"url": f"http://127.0.0.1:{port}/", "assistant": assistant, "data_dir": settings.data_dir,
           "expected": expected}
    app.close()
    assistant.close()


@pytest.mark.slow
def test_chat_streams_cites_and_follows_up(page, served):
    # Record every state the answer passes through, to see it arrive in steps.
    page.evaluate("""() => {
        window.__states = [];
        new MutationObserver(() => document.querySelectorAll('.nr-a').forEach(
            a => window.__states.push(a.dataset.state))).observe(
            document.getElementById('nr-transcript'), {subtree: true, childList: true, characterData: true});
    }""")
    ask(page, SEED_QUESTION)
    assert "streaming" in page.evaluate("window.__states") and "done" in page.evaluate("window.__states")
    answer = page.locator(".nr-turn").nth(0).locator(".nr-answer")
    assert "[1]" in answer.locator(".nr-text").inner_text()
    quote = served["expected"].citations[0].quote
    card = page.locator("#nr-0-1")
    assert card.get_attribute("open") is None
    answer.locator("a.nr-cite", has_text="[1]").first.click()  # the marker opens its card
    page.wait_for_function("() => document.getElementById('nr-0-1').open")
    mark = card.locator("mark.nr-quote")
    assert mark.is_visible() and mark.inner_text().strip() == quote
    assert card.locator(".nr-passage").inner_text().strip() != quote  # shown with its context
    assert "2025-10-21" in card.locator("summary").inner_text()
    page.wait_for_function("() => !document.getElementById('nr-0-1').classList.contains('nr-flash')")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-chat.png"), full_page=True)

    ask(page, "and who made the phone call?")
    second = page.locator(".nr-turn").nth(1)
    assert "Rubio" in second.locator(".nr-answer .nr-text").inner_text()
    assert second.locator("a.nr-cite").first.get_attribute("href") == "#nr-1-1"
    page.click("#nr-new-chat")
    page.wait_for_function("() => document.querySelectorAll('.nr-turn').length === 0")


@pytest.mark.slow
def test_sessions_do_not_mix(browser, served, page):
    other = browser.new_context().new_page()
    other.goto(served["url"])
    other.wait_for_selector("#nr-question textarea")
    page.locator("#nr-question textarea").fill(SEED_QUESTION)
    other.locator("#nr-question textarea").fill("What did the Kremlin spokesperson say?")
    page.click("#nr-ask")
    other.click("#nr-ask")
    for p in (page, other):
        p.wait_for_function("() => document.querySelectorAll('.nr-a:not(.nr-pending)').length === 1")
    assert "Kremlin" not in page.locator(".nr-q").inner_text()
    assert "summit" not in other.locator(".nr-q").inner_text()
    assert "Peskov" in other.locator(".nr-a").inner_text()
    other.context.close()


@pytest.mark.slow
def test_abstentions_differ_and_date_filter_excludes_the_seed(page):
    ask(page, "What is the price of bananas in Peru?")
    block = page.locator(".nr-turn").last.locator(".nr-a")
    assert "nr-abstained" in block.get_attribute("class") and "no answer" in block.inner_text().lower()
    closest = block.locator(".nr-closest details.nr-card")
    assert closest.count() >= 1 and "2025-10-21" in closest.first.locator("summary").inner_text()
    closest.first.locator("summary").click()
    passage = closest.first.locator(".nr-passage")
    assert passage.is_visible() and "summit" in passage.inner_text()

    open_filters(page)
    set_text(page, "nr-since", "2026-01-01")
    ask(page, SEED_QUESTION)
    block = page.locator(".nr-turn").last.locator(".nr-a")
    assert "nr-abstained" in block.get_attribute("class")
    assert "don't say" in block.inner_text() and "No indexed article matches the filters" in block.inner_text()
    assert "since 2026-01-01" in page.locator(".nr-turn").last.locator(".nr-scope").inner_text()
    assert block.locator("a.nr-cite").count() == 0


def _row(result: str, name: str) -> str:
    return next(line for line in result.splitlines() if line.startswith(name))


@pytest.mark.slow
def test_uploaded_and_folder_articles_can_be_asked_about(page, served, tmp_path):
    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "ferry.md").write_text("---\ntitle: Ferry strike in Lomvik\ndate: 2025-12-02\nsource: Harbour Post\n"
                                     "---\nFerry crews in Lomvik walked out over pay on Tuesday, stranding "
                                     "3,200 passengers.\n")
    (folder / "bad.json").write_text("{not json")
    result = upload(page, [
        {"name": "glorbnik bridge.txt", "mimeType": "text/plain",
         "buffer": b"date 2025-12-01\nThe Glorbnik bridge over the Zandar river is 417 metres long and was "
                   b"opened by mayor Ilse Varga on Monday.\n"},
        {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 not an article"},
        {"name": "broken.jsonl", "mimeType": "application/json", "buffer": b"{oops\n"},
    ], folder=str(folder))
    assert "added" in _row(result, "glorbnik bridge.txt") and "uploads/glorbnik_bridge.txt" in result
    assert "rejected" in _row(result, "scan.pdf") and ".pdf files are not articles" in result
    assert "failed" in _row(result, "broken.jsonl") and "invalid JSON" in _row(result, "broken.jsonl")
    assert "1 added" in _row(result, str(folder)) and "invalid JSON" in _row(result, "bad.json")
    uploads = served["data_dir"] / "uploads"
    assert sorted(p.name for p in uploads.iterdir()) == ["glorbnik_bridge.txt"]  # nothing that failed is kept
    assert "not kept" in _row(result, "broken.jsonl")
    assert "3 with errors" in result

    ask(page, "How long is the Glorbnik bridge?")
    answer = page.locator(".nr-turn").last.locator(".nr-answer")
    assert "417" in answer.locator(".nr-text").inner_text()
    assert "2025-12-01" in answer.locator(".nr-card summary").first.inner_text()

    open_filters(page)
    page.locator("#nr-sources input").click()  # the new source is offered as a filter
    page.get_by_role("option", name="Harbour Post").click()
    ask(page, "Why did workers walk out?")
    last = page.locator(".nr-turn").last
    assert "source: Harbour Post" in last.locator(".nr-scope").inner_text()
    assert "Lomvik" in last.locator(".nr-answer .nr-text").inner_text()
    assert "Harbour Post" in last.locator(".nr-card summary").first.inner_text()

    page.reload()  # example questions are drawn from the corpus, newest articles first
    page.wait_for_selector("#nr-question textarea")
    page.click("#nr-new-chat")
    page.wait_for_function("() => document.querySelectorAll('.nr-turn').length === 0")
    page.locator("#nr-examples button", has_text="Ferry strike in Lomvik").click()
    page.wait_for_function("() => document.querySelectorAll('.nr-a:not(.nr-pending)').length === 1")
    assert "Ferry strike in Lomvik" in page.locator(".nr-q").inner_text()


@pytest.mark.slow
def test_hostile_article_is_shown_as_text_and_runs_nothing(page, served):
    title = page.title()
    result = upload(page, [
        {"name": "x<img src=x onerror=window.__pwned=true>.txt", "mimeType": "text/plain",
         "buffer": HOSTILE_TXT.encode()},
        {"name": "harbour.md", "mimeType": "text/markdown", "buffer": HOSTILE_MD.encode()},
    ])
    assert result.count("added") == 2, result
    ask(page, "What budget did the Quibblefrost council approve?")
    ask(page, "What did the Quibblefrost organisers say about the moonlight festival?")
    ask(page, "Who resigned in Quibblefrost harbour?")
    page.evaluate("() => document.querySelectorAll('details.nr-card').forEach(d => d.open = true)")
    page.reload()  # the examples and source lists are rebuilt from the hostile titles on load
    page.wait_for_selector("#nr-question textarea")
    ask(page, "What budget did the Quibblefrost council approve?")
    page.evaluate("() => document.querySelectorAll('details.nr-card').forEach(d => d.open = true)")
    page.locator(".nr-card summary").first.hover()
    open_filters(page)
    page.locator("#nr-sources").click()  # the source list includes the hostile source name
    time.sleep(0.5)  # give any onerror/onload handler the chance to run
    assert page.evaluate("() => window.__pwned") is None
    assert page.title() == title
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui-hostile.png"), full_page=True)
    transcript = page.locator("#nr-transcript")
    assert transcript.locator("script, img, svg:not(.nr-timeline), b, iframe").count() == 0
    assert page.locator("a[href^='javascript:' i]").count() == 0
    text = transcript.inner_text()
    assert "<script>window.__pwned = true" in text  # visible, as text
    assert "88 crowns" in text
    page.get_by_role("tab", name="Corpus").click()
    assert "Harbour Gazette" in page.locator("#nr-stats").inner_text()
    assert page.evaluate("() => window.__pwned") is None
