"""Shared fixtures: one loaded embedding model per session, a fresh data dir per test."""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SHARED = ROOT.parent / "shared"
BBC = SHARED / "corpora" / "bbc-news"
SEED_ID = "000_cd4f49b57c6e24c3.txt"

_CACHE = Path(tempfile.mkdtemp(prefix="newsrag-test-cache-"))
for var, sub in (("XDG_CACHE_HOME", ""), ("MPLCONFIGDIR", "matplotlib"), ("GRADIO_TEMP_DIR", "gradio")):
    os.environ.setdefault(var, str(_CACHE / sub))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# catalog models joined and the ONNX embedder exported once, where `make chat` keeps them
MODELS = ROOT / ".newsrag" / "models"
os.environ.setdefault("NEWSRAG_MODEL_CACHE", str(MODELS))


@pytest.fixture(scope="session")
def embedder():
    """The default embedder of a new index (the bundled MiniLM, int8 ONNX)."""
    from index.embedder import DEFAULT_BACKEND, make_embedder

    return make_embedder(DEFAULT_BACKEND, cache_dir=MODELS)


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def make_index(data_dir, embedder):
    """Open an Index in the test's data dir with the shared model; closes them all at the end."""
    from index import Index, IndexConfig

    opened = []

    def make(**config):
        index = Index(IndexConfig(data_dir=config.pop("data_dir", data_dir), **config), embedder=embedder)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


@pytest.fixture
def corpus(tmp_path) -> Path:
    """A writable copy of the seed corpus."""
    folder = tmp_path / "corpus"
    shutil.copytree(SEEDS, folder)
    return folder


def run_cli(*args: str, env: dict | None = None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    """Run the real `newsrag` CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "rag", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, cwd=kw.pop("cwd", ROOT), **kw)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bbc_files(n: int) -> list[Path]:
    """The first `n` BBC articles, spread over the five topics (skips when the corpus is absent)."""
    if not BBC.is_dir():
        pytest.skip("the BBC corpus is not in ../shared/corpora/bbc-news")
    topics = sorted(p for p in BBC.iterdir() if p.is_dir())
    per = -(-n // len(topics))
    files = [f for t in topics for f in sorted(t.glob("*.txt"))[:per]]
    return files[:n]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until `newsrag serve` at `url` answers (even 401 counts); raises if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"newsrag serve exited early:\n{proc.stdout.read()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            return  # answering at all (even 401) means it is up
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("newsrag serve did not start")


@contextlib.contextmanager
def served_cli(*args: str, env: dict, port: int | None = None):
    """A real `newsrag serve ARGS` subprocess on `port` (default: a free loopback port): yields (process, url), up."""
    port = port or free_port()
    proc = subprocess.Popen([sys.executable, "-m", "rag", "serve", "--port", str(port), *args], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_until_up(url, proc)
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    from webui import CHROMIUM, CHROMIUM_ARGS

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make browser)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, served):
    """A fresh browser context on the module's `served` app; fails if the page fetched from outside it."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    external = []
    page.on("request", lambda r: None if r.url.startswith(served["url"]) or r.url.startswith("data:")
            else external.append(r.url))
    page.goto(served["url"])
    page.wait_for_selector("#nr-question textarea")
    yield page
    context.close()
    assert external == [], f"the page fetched from outside the app: {external}"
