"""The README's screenshots, from a real run: the app over seeds/ plus a three-article demo story,
driven in Debian's chromium.

    python -m ui.screenshots [--out docs/img]

The demo story is written by this script because the timeline needs dated articles on one story
(the BBC set has no dates); everything else on the pages is what the app shows.
"""
from __future__ import annotations

import argparse
import shutil
import socket
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
QUESTION = "Why was the summit cancelled?"
DEMO = {  # one story over three dates
    "dam-1.md": ("2025-03-02", "Velmora dam plan announced",
                 "The Velmora river authority announced a plan for a 90-metre dam near Ostrel. "
                 "Engineers said the Velmora dam would supply power to 40,000 homes."),
    "dam-2.md": ("2025-05-14", "Velmora dam approved by council",
                 "The Ostrel council approved the Velmora dam by 7 votes to 2. "
                 "Construction of the Velmora dam is due to start in the autumn."),
    "dam-3.md": ("2025-09-30", "Velmora dam construction begins",
                 "Construction of the Velmora dam began on Monday with 300 workers on site. "
                 "Engineers said the Velmora dam would supply power to 40,000 homes."),
}


def write_demo(folder: Path) -> None:
    """The demo story as Markdown files with front matter, in a new `folder`."""
    folder.mkdir()
    for name, (date, title, body) in DEMO.items():
        (folder / name).write_text(f"---\ntitle: {title}\ndate: {date}\nsource: Ostrel Courier\n---\n{body}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img", help="folder for the PNG files")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    from rag.api import Assistant
    from rag.settings import Settings
    from ui.app import create_app
    from ui.serve import launch

    work = Path(tempfile.mkdtemp(prefix="newsrag-shots-"))
    corpus = work / "corpus"
    shutil.copytree(ROOT / "seeds", corpus)
    write_demo(corpus / "demo")
    assistant = Assistant(Settings(data_dir=work / "data"))
    assistant.ingest([corpus])
    app = create_app(assistant)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launch(app, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#nr-question textarea")
            page.locator("#nr-question textarea").fill(QUESTION)
            page.click("#nr-ask")
            page.wait_for_selector(".nr-answer")
            page.locator("a.nr-cite").first.click()
            page.wait_for_timeout(1500)  # the card's flash fades
            page.screenshot(path=str(args.out / "chat.png"))
            page.get_by_role("tab", name="Corpus").click()
            page.locator("#nr-articles [role=gridcell]").first.wait_for()
            page.locator("#nr-articles [role=gridcell]", has_text="Velmora dam plan announced").first.click()
            page.wait_for_function("() => document.querySelector('#nr-article').innerText.includes('Velmora')")
            page.screenshot(path=str(args.out / "corpus.png"), full_page=True)
            page.get_by_role("tab", name="Timeline").click()
            page.locator("#nr-story textarea").fill("the Velmora dam")
            page.locator("#nr-changed-since textarea").fill("2025-06-01")
            page.click("#nr-story-go")
            page.wait_for_function("() => document.querySelector('#nr-story-out').innerText.includes('What changed')")
            page.locator("#nr-story-out .nr-tl-point circle").nth(2).click()
            page.wait_for_timeout(1500)
            page.screenshot(path=str(args.out / "timeline.png"), full_page=True)
            browser.close()
    finally:
        app.close()
        assistant.close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {', '.join(p.name for p in sorted(args.out.glob('*.png')))} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
