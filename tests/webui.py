"""Driving the web app in Debian's chromium with Playwright: the steps the browser tests share.
The `browser` and `page` fixtures are in conftest.py; each test module serves its own app."""
from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SEED_QUESTION = "Why was the summit cancelled?"
DONE = ".nr-turn .nr-a:not(.nr-pending)"


def ask(page, question: str) -> None:
    """Type a question, press Ask, wait until its answer (or abstention, or error) is complete."""
    done = page.locator(DONE).count()
    page.locator("#nr-question textarea").fill(question)
    page.click("#nr-ask")
    page.wait_for_function(f"n => document.querySelectorAll('{DONE}').length > n", arg=done)


def open_filters(page) -> None:
    """Open the "Filters and model" panel (closed at first, so a phone shows the chat)."""
    if not page.locator("#nr-since").is_visible():
        page.locator("#nr-filters button").first.click()
        page.locator("#nr-since").wait_for(state="visible")


def set_text(page, elem_id: str, value: str) -> None:
    """Fill a Gradio Textbox and commit it (Enter), as a user does."""
    box = page.locator(f"#{elem_id}").locator("textarea, input").first
    box.fill(value)
    box.press("Enter")


def upload(page, files: list[dict], folder: str = "") -> str:
    """Upload `files` (and ingest `folder`) on the Corpus tab; returns the per-file result table."""
    page.get_by_role("tab", name="Corpus").click()
    page.locator("#nr-upload input[type=file]").set_input_files(files)
    page.wait_for_function("n => document.querySelectorAll('#nr-upload .file-preview tr.file').length === n",
                           arg=len(files))  # uploaded: the component lists every file
    if folder:
        page.locator("#nr-folder textarea").fill(folder)
    page.click("#nr-ingest")
    page.locator("#nr-ingest-result table").wait_for()
    result = page.locator("#nr-ingest-result").inner_text()
    page.get_by_role("tab", name="Chat").click()
    return result


