"""The web app's trust boundary: server folders, uploads, sign-in back-off, exposure warnings and
answers during an ingest.

The handler tests build the real app over a real index (shared embedding model) and call the
Corpus tab's event function; the HTTP tests drive one real `newsrag serve --auth` subprocess with
plain HTTP, the way a script that never loads the page would.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from conftest import SEED_ID, SEEDS, bbc_files, served_cli

pytestmark = pytest.mark.filterwarnings("ignore:.*no_silent_downcasting", "ignore:The copy keyword is deprecated")
AUTH = ("reader", "correct horse")
SECRET = "The vault code at the Krellin savings bank is 7319, staff said on Monday.\n"
ALLOWED = ("date 2025-11-02\nThe Zorvath lighthouse keeper retired after 41 years on the rock, the harbour "
           "board said on Sunday.\n")


def _folders(root: Path) -> dict[str, Path]:
    """An allowed root holding an article, a secret folder beside it, and a symlink inside the
    root that points at the secret folder."""
    allowed, secret = root / "allowed", root / "secret"
    (allowed / "news").mkdir(parents=True)
    secret.mkdir()
    (allowed / "news" / "lighthouse.txt").write_text(ALLOWED)
    (secret / "vault.txt").write_text(SECRET)
    (allowed / "link").symlink_to(secret, target_is_directory=True)
    return {"allowed": allowed, "secret": secret}


def _escapes(folders: dict[str, Path]) -> list[str]:
    """Ways to name the secret folder: directly, through `..`, through a symlink in the root."""
    return [str(folders["secret"]), f"{folders['allowed']}/../secret", str(folders["allowed"] / "link"),
            "/etc"]


# -- through the handler ----------------------------------------------------------

@pytest.fixture
def web_bot(tmp_path, embedder):
    """`make(**settings)`: an Assistant over seeds/ and the real app over it, and the app's ingest
    handler (the Corpus tab's Ingest button)."""
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings
    from ui.app import create_app

    shutil.copytree(SEEDS, tmp_path / "corpus")
    made = []

    def make(**settings):
        data = tmp_path / f"data{len(made)}"
        bot = Assistant(Settings(data_dir=data, **settings),
                        index=Index(IndexConfig(data_dir=data), embedder=embedder))
        made.append(bot)
        bot.ingest([tmp_path / "corpus"])
        app = create_app(bot)
        handler = next(f.fn for f in app.fns.values() if f.name == "ingest")
        return bot, app, handler

    yield make
    for bot in made:
        bot.close()


def _temp_copies(tmp_path: Path, files: dict[str, bytes]) -> list[str]:
    """Files as Gradio hands them to the handler: copies in its temp dir."""
    folder = tmp_path / "gradio-temp" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return [str(folder / name) for name in files]


def test_folder_ingest_is_off_without_an_ingest_root(web_bot, tmp_path):
    folders = _folders(tmp_path / "server")
    bot, app, handler = web_bot()
    before = bot.status().articles
    for folder in [str(folders["allowed"]), *_escapes(folders)]:
        html = handler(None, folder)[0]
        assert "folder ingest from the web is off" in html and "--ingest-root DIR" in html, folder
    assert bot.status().articles == before
    assert "7319" not in json.dumps(bot.ask("What is the vault code at the Krellin savings bank?").to_json())
    box = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "nr-folder")
    assert box.interactive is False and "--ingest-root" in box.info  # the page says so too


def test_folder_ingest_stays_inside_the_ingest_roots(web_bot, tmp_path):
    folders = _folders(tmp_path / "server")
    bot, app, handler = web_bot(ingest_root=(folders["allowed"],))
    box = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "nr-folder")
    assert box.interactive is not False and str(folders["allowed"]) in box.info
    before = bot.status().articles
    for folder in _escapes(folders):
        html = handler(None, folder)[0]
        assert "outside the folders this server may ingest" in html and "--ingest-root" in html, folder
        assert folder in html  # names the path it refused
    assert bot.status().articles == before
    assert "no such folder" in handler(None, str(folders["allowed"] / "missing"))[0]
    html = handler(None, str(folders["allowed"] / "news"))[0]
    assert "1 added" in html
    assert "41 years" in bot.ask("When did the Zorvath lighthouse keeper retire?").text
    # the root itself holds a symlink to the secret folder: it is not followed out of the root
    html = handler(None, str(folders["allowed"]))[0]
    assert "symlink leads outside" in html
    assert {a.origin for a in bot.articles()} & {str(folders["allowed"] / "link" / "vault.txt")} == set()
    assert "7319" not in json.dumps(bot.ask("What is the vault code at the Krellin savings bank?").to_json())


def test_uploads_take_the_loaders_suffixes_and_keep_only_what_was_ingested(web_bot, tmp_path):
    from index import loaders
    from ui import corpus

    assert corpus.suffixes is loaders.suffixes  # one list, not a drifted copy
    bot, _, handler = web_bot()
    paths = _temp_copies(tmp_path, {
        "quarry.htm": b"<html><head><title>Quarry reopens</title></head><body><p>The Velmor quarry reopened "
                      b"on Friday after a two-year closure.</p></body></html>",
        "notes.markdown": b"---\ntitle: Tram fares\n---\nTram fares in Osterby rise by 5 cents in March.\n",
        "payload.bin": b"\x00\x01" * 100,
        "broken.jsonl": b"{oops\n",
    })
    html = handler(paths, "")[0]
    uploads = bot.settings.data_dir / "uploads"
    assert "rejected" in html and ".bin files are not articles" in html and "invalid JSON" in html
    assert sorted(p.name for p in uploads.iterdir()) == ["notes.markdown", "quarry.htm"]  # the failed one is gone
    assert "not kept" in html and not any(Path(p).exists() for p in paths)  # Gradio's copies too
    assert "Velmor" in bot.ask("When did the Velmor quarry reopen?").text


def test_uploads_are_capped_per_ingest(web_bot, tmp_path):
    bot, _, handler = web_bot(max_upload_files=3, max_upload_mb=1)
    many = _temp_copies(tmp_path, {f"a{i}.txt": f"Story number {i} about the Quellin ferry.".encode()
                                   for i in range(4)})
    html = handler(many, "")[0]
    assert "4 files is over the limit of 3 per ingest" in html
    big = _temp_copies(tmp_path, {f"b{i}.txt": b"Quellin ferry news. " * 30_000 for i in range(2)})  # 1.1 MB
    html = handler(big, "")[0]
    assert "MB in all is over the limit of 1 MB per ingest" in html
    assert not (bot.settings.data_dir / "uploads").exists() and not any(Path(p).exists() for p in many + big)
    assert bot.status().articles == 1


def test_an_upload_never_replaces_a_folder_article(web_bot, tmp_path):
    bot, _, handler = web_bot()
    seed = bot.article_text(SEED_ID)
    record = {"id": SEED_ID, "title": "Summit back on", "text": "The Budapest summit is back on, officials said."}
    html = handler(_temp_copies(tmp_path, {"records.json": json.dumps([record]).encode()}), "")[0]
    assert "added" in html, html
    assert bot.article_text(SEED_ID) == seed
    assert bot.article_text(f"upload:{SEED_ID}") == record["text"]
    assert bot.status().articles == 2


# -- exposure ---------------------------------------------------------------------

class FakeApp:
    local_url, share_url, newsrag_login_limit = "http://127.0.0.1:7860/", None, (5, 30.0)

    def __init__(self):
        self.calls = []

    def launch(self, **kw):
        self.calls.append(kw)


def test_share_and_every_interface_warn_without_auth(capsys, monkeypatch):
    from ui.serve import launch

    app = FakeApp()
    launch(app, share=True, prevent_thread_lock=True, quiet=True)
    assert "--share without --auth" in capsys.readouterr().err
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")  # what Gradio binds for an empty host
    launch(app, host="", prevent_thread_lock=True, quiet=True)
    assert app.calls[-1]["server_name"] == "0.0.0.0" and "serving on 0.0.0.0 without --auth" in capsys.readouterr().err
    monkeypatch.setenv("GRADIO_SERVER_NAME", "")  # an empty bind address: every interface
    launch(app, host="", prevent_thread_lock=True, quiet=True)
    assert "every interface without --auth" in capsys.readouterr().err
    monkeypatch.delenv("GRADIO_SERVER_NAME")
    launch(app, host="", prevent_thread_lock=True, quiet=True)
    assert app.calls[-1]["server_name"] == "127.0.0.1" and capsys.readouterr().err == ""
    launch(app, host="0.0.0.0", auth="ann:pw", share=True, prevent_thread_lock=True, quiet=True)
    assert capsys.readouterr().err == ""


# -- answers during an ingest -------------------------------------------------------

@pytest.mark.slow
def test_questions_are_answered_while_an_ingest_runs(tmp_path, embedder):
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    shutil.copytree(SEEDS, tmp_path / "corpus")
    data = tmp_path / "data"
    bot = Assistant(Settings(data_dir=data), index=Index(IndexConfig(data_dir=data, batch_chunks=8), embedder=embedder))
    bot.ingest([tmp_path / "corpus"])
    bbc = tmp_path / "bbc"
    bbc.mkdir()
    files = bbc_files(20)
    for f in files:
        shutil.copy(f, bbc / f"{f.parent.name}-{f.name}")
    bm25 = data / "bm25" / "current" / "newsrag.json"
    reading, answered, outcome = threading.Event(), threading.Event(), {}

    def on_file(done, total, path):
        if done == total // 2:  # several batches are written by now; hold the ingest here
            reading.set()
            answered.wait(timeout=60)

    def run():
        outcome["report"] = bot.ingest([bbc], on_file=on_file)

    ingest = threading.Thread(target=run)
    ingest.start()
    try:
        assert reading.wait(timeout=120)
        built = bm25.read_text()
        answer = bot.ask("Why was the summit cancelled?")  # before the fix: waits for the whole ingest
        still_running = ingest.is_alive()
        assert bm25.read_text() == built  # the question did not rebuild BM25 over a half-done ingest
        assert bot.status().articles == 1  # questions see the index as it was when the ingest began
    finally:
        answered.set()
        ingest.join()
    try:
        assert still_running, "the answer only came after the ingest"
        assert not answer.abstained and answer.citations[0].article == SEED_ID
        assert answer.citations[0].quote in bot.article_text(SEED_ID)
        assert outcome["report"].added == len(files)
        assert bot.status().articles == 1 + len(files)  # the first question after it sees it all
        article = bot.index.registry.article(f"{files[0].parent.name}-{files[0].name}")
        assert bot.search(article.title, k=3)[0].article_id == article.id
    finally:
        bot.close()


# -- over HTTP ----------------------------------------------------------------------

class Web:
    """A client of the app over plain HTTP, with its own cookies: sign in, upload, run an event."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def _open(self, path: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 60):
        return self.opener.open(urllib.request.Request(self.url + path, data=data, headers=headers or {}),
                                timeout=timeout)

    def login(self, user: str, password: str) -> int:
        form = urllib.parse.urlencode({"username": user, "password": password}).encode()
        try:
            with self._open("login", form, {"Content-Type": "application/x-www-form-urlencoded"}) as r:
                return r.status
        except urllib.error.HTTPError as err:
            return err.code

    def _json(self, path: str, body) -> object:
        with self._open(path, json.dumps(body).encode(), {"Content-Type": "application/json"}) as r:
            return json.loads(r.read())

    def fn_index(self, elem_id: str) -> int:
        """The event that takes the component with `elem_id` as an input (the page's own wiring)."""
        with self._open("config") as r:
            config = json.loads(r.read())
        ids = {c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == elem_id}
        return next(d["id"] for d in config["dependencies"] if ids & set(d["inputs"]))

    def upload(self, files: dict[str, bytes]) -> list[dict]:
        boundary = uuid.uuid4().hex
        body = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                        f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n"
                        for name, data in files.items()) + f"--{boundary}--\r\n".encode()
        with self._open("gradio_api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}) as r:
            paths = json.loads(r.read())
        return [{"path": p, "orig_name": name, "meta": {"_type": "gradio.FileData"}} for p, name in zip(paths, files)]

    def event(self, fn_index: int, data: list) -> list:
        """Run one event through Gradio's queue, as the page does, and return its outputs."""
        session = uuid.uuid4().hex
        self._json("gradio_api/queue/join", {"data": data, "fn_index": fn_index, "session_hash": session,
                                             "event_data": None, "trigger_id": None})
        with self._open(f"gradio_api/queue/data?session_hash={session}", timeout=300) as stream:
            for line in stream:
                if line.startswith(b"data:"):
                    message = json.loads(line[5:])
                    if message.get("msg") == "process_completed":
                        assert message.get("success"), message
                        return message["output"]["data"]
        raise AssertionError("the event never completed")

    def ask(self, question: str) -> dict:
        event = self._json("gradio_api/call/ask", {"data": [question, None, None, None, None]})["event_id"]
        with self._open(f"gradio_api/call/ask/{event}", timeout=120) as stream:
            lines = stream.read().decode().splitlines()
        assert "event: complete" in lines, lines
        return json.loads(lines[lines.index("event: complete") + 1][len("data: "):])[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder):
    """`newsrag serve --auth --ingest-root <root>/allowed` over seeds/, with a 2 s sign-in wait and
    a 10-file upload cap, and a signed-in `Web` client."""
    from index import Index, IndexConfig
    from rag.api import Assistant
    from rag.settings import Settings

    root = tmp_path_factory.mktemp("web")
    folders = _folders(root)
    shutil.copytree(SEEDS, root / "corpus")
    data = root / "data"
    bot = Assistant(Settings(data_dir=data), index=Index(IndexConfig(data_dir=data), embedder=embedder))
    try:
        bot.ingest([root / "corpus"])
    finally:
        bot.close()
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}  # as served: Gradio's temp dir in the data dir
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", NEWSRAG_LOGIN_WAIT="2",
               NEWSRAG_MAX_UPLOAD_FILES="10")
    with served_cli("--data-dir", str(data), "--auth", ":".join(AUTH), "--ingest-root", str(folders["allowed"]),
                    env=env) as (_, url):
        web = Web(url)
        assert web.login(*AUTH) == 200
        yield {"url": url, "web": web, "data": data, **folders}


@pytest.mark.slow
def test_folder_ingest_over_http_is_refused_outside_the_root(server):
    web = server["web"]
    ingest = web.fn_index("nr-folder")  # a private event, but callable by fn_index like any other
    for folder in _escapes(server):
        html = web.event(ingest, [None, folder, "", ""])[0]
        assert "outside the folders this server may ingest" in html, html
    assert "7319" not in json.dumps(web.ask("What is the vault code at the Krellin savings bank?"))
    assert "1 added" in web.event(ingest, [None, str(server["allowed"] / "news"), "", ""])[0]
    assert "41 years" in web.ask("When did the Zorvath lighthouse keeper retire?")["answer"]


@pytest.mark.slow
def test_uploads_over_http_are_capped_and_leave_nothing_behind(server):
    web = server["web"]
    ingest = web.fn_index("nr-upload")
    files = web.upload({f"blob{i}.bin": os.urandom(2**20) for i in range(40)})
    html = web.event(ingest, [files, "", "", ""])[0]
    assert _kept(server["data"]) == []
    assert "40 files is over the limit of 10 per ingest" in html, html
    files = web.upload({"payload.bin": b"\x00" * 1000, "broken.jsonl": b"{oops\n",
                        "report.txt": b"The Brannock dam was finished in May, the water board said.\n"})
    html = web.event(ingest, [files, "", "", ""])[0]
    assert ".bin files are not articles" in html and "invalid JSON" in html and "uploads/report.txt" in html
    assert _kept(server["data"]) == ["uploads/report.txt"]  # nothing rejected or failed, nor Gradio's copies


def _kept(data: Path) -> list[str]:
    """Uploaded-looking files anywhere in the data dir (Chroma's own .bin files aside)."""
    return sorted(p.relative_to(data).as_posix() for p in data.rglob("*")
                  if p.is_file() and p.suffix in (".bin", ".jsonl", ".txt") and "chroma" not in p.parts)


@pytest.mark.slow
def test_failed_sign_ins_back_off_then_the_password_works(server):
    web = Web(server["url"])
    assert [web.login(AUTH[0], f"guess {i}") for i in range(5)] == [400] * 5
    burst = [web.login(AUTH[0], f"guess {i}") for i in range(50)]
    assert burst.count(400) <= 2 and burst.count(429) >= 48, burst  # before: all 50 were checked
    assert web.login(*AUTH) == 429  # refused unchecked while waiting, even the right password
    deadline = time.monotonic() + 60
    while (status := web.login(*AUTH)) == 429 and time.monotonic() < deadline:
        time.sleep(0.5)  # polling while refused does not extend the wait
    assert status == 200
    assert web.login(AUTH[0], "wrong again") == 400  # the success cleared the address
    assert web.login(*AUTH) == 200
    with ThreadPoolExecutor(12) as pool:  # colleagues behind one address sign in at once
        assert list(pool.map(lambda _: web.login(*AUTH), range(12))) == [200] * 12
        burst = list(pool.map(lambda i: web.login(AUTH[0], f"parallel guess {i}"), range(24)))
    assert burst.count(400) == 5 and burst.count(429) == 19, burst  # parallel guesses judged one by one


@pytest.mark.slow
def test_an_exposed_server_without_auth_lets_no_visitor_edit(server):
    env = {k: v for k, v in os.environ.items() if k != "GRADIO_TEMP_DIR"}
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    with served_cli("--data-dir", str(server["data"]), "--host", "0.0.0.0", env=env) as (proc, url):
        web = Web(url)
        delete = web.fn_index("nr-article-confirm")  # the page shows the button disabled; the event refuses too
        assert "lets visitors read the corpus but not change it" in web.event(delete, [SEED_ID, True])[0]
        save = web.fn_index("nr-article-source")
        assert "not change it" in web.event(save, [SEED_ID, "1999-01-01", "Forged Wire"])[0]
        apply = web.fn_index("nr-llm-url")  # no visitor points the server at a URL of their choosing
        out = web.event(apply, ["openai", "m", "http://169.254.169.254/v1", "", None])
        assert any("does not let visitors choose a model or server" in str(x) for x in out), out
        answer = web.ask("Why was the summit cancelled?")
        assert answer["citations"][0]["article"] == SEED_ID and answer["citations"][0]["date"] == "2025-10-21"
