"""Load benchmark of the web app's `/ask` API: many concurrent `gradio_client` users.

    python -m eval.bench_load [--users 20] [--seconds 60] [--url URL [--auth user:pw]]
                              [--corpus seeds/] [--concurrency 4]

Without --url it indexes --corpus into a temporary data dir and starts `newsrag serve` on a
free loopback port itself. Each user has its own client and cycles through the questions from
its own offset; every reply is compared with the reply that question got when asked alone
first, so an answer that belongs to another user's question counts as mixed up. Prints
answers/s, p50/p95 latency, errors and mix-ups (the target is zero of both).
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [  # about seeds/; the last two have no answer there, so they abstain
    "Why was the summit cancelled?",
    "Who made the phone call?",
    "What did the Kremlin spokesperson say?",
    "What will the EU discuss in Brussels?",
    "What do European leaders want to do with frozen Russian assets?",
    "What did Trump say about Ukraine's territory in September?",
    "Where was the summit going to be held?",
    "What did Zelensky say about Tomahawk missiles?",
    "What is the price of bananas in Peru?",
    "Who won the football league this season?",
]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_load", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running newsrag app; unset: start `newsrag serve` over --corpus")
    p.add_argument("--auth", help="user:password for --url")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--corpus", default=str(ROOT / "seeds"), help="articles to serve when no --url (default seeds/)")
    p.add_argument("--concurrency", type=int, help="`newsrag serve --concurrency` when no --url")
    p.add_argument("--questions", help="a file of questions, one a line (default: questions about seeds/)")
    args = p.parse_args(argv)
    questions = (Path(args.questions).read_text().split("\n") if args.questions else QUESTIONS)
    questions = [q.strip() for q in questions if q.strip()]
    auth = tuple(args.auth.split(":", 1)) if args.auth else None

    server = tmp = None
    url = args.url
    try:
        if not url:
            tmp = Path(tempfile.mkdtemp(prefix="newsrag-bench-load-"))
            url, server = start_server(Path(args.corpus), tmp, args.concurrency)
        return run(url, auth, questions, args.users, args.seconds)
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def start_server(corpus: Path, tmp: Path, concurrency: int | None) -> tuple[str, subprocess.Popen]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "XDG_CACHE_HOME": str(tmp / "cache"),
           "MPLCONFIGDIR": str(tmp / "cache" / "matplotlib"), "GRADIO_TEMP_DIR": str(tmp / "cache" / "gradio")}
    data = tmp / "data"
    print(f"indexing {corpus} ...", file=sys.stderr, flush=True)
    subprocess.run([sys.executable, "-m", "rag", "ingest", str(corpus), "--data-dir", str(data), "--quiet"],
                   check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "rag", "serve", "--data-dir", str(data), "--port", str(port)]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    log = open(tmp / "serve.log", "w")
    server = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"newsrag serve exited:\n{(tmp / 'serve.log').read_text()}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return url, server
        except urllib.error.HTTPError:
            return url, server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("newsrag serve did not start within 180 s")


def run(url: str, auth, questions: list[str], users: int, seconds: float) -> int:
    from gradio_client import Client

    def client() -> Client:
        return Client(url, auth=auth, verbose=False, download_files=False)

    print(f"baseline: asking each of {len(questions)} questions alone ...", file=sys.stderr, flush=True)
    solo = client()
    expected = {q: solo.predict(q, api_name="/ask") for q in questions}

    latencies: list[float] = []
    errors: list[str] = []
    mixed: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + seconds

    def user(k: int) -> None:
        try:
            c = client()
        except Exception as exc:  # noqa: BLE001 - counted and reported
            with lock:
                errors.append(f"user {k}: cannot connect: {exc}")
            return
        i = k
        while time.monotonic() < stop:
            q = questions[i % len(questions)]
            i += 1
            t = time.monotonic()
            try:
                out = c.predict(q, api_name="/ask")
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"user {k}: {q!r}: {exc.__class__.__name__}: {exc}")
                continue
            took = time.monotonic() - t
            with lock:
                latencies.append(took)
                if out != expected[q]:
                    mixed.append(f"user {k}: {q!r} got {str(out.get('answer'))[:80]!r}")

    with ThreadPoolExecutor(users) as pool:
        list(pool.map(user, range(users)))
    elapsed = time.monotonic() - start

    n = len(latencies)
    q = statistics.quantiles(latencies, n=100) if n >= 2 else latencies * 99
    print(f"users:        {users} for {seconds:g} s (ran {elapsed:.1f} s) against {url}")
    print(f"answers:      {n} ({n / elapsed:.2f} answers/s)")
    if n:
        print(f"latency:      p50 {q[49]:.2f} s, p95 {q[94]:.2f} s, max {max(latencies):.2f} s")
    print(f"errors:       {len(errors)}")
    print(f"mixed up:     {len(mixed)} (replies that differ from the question's own solo answer)")
    for line in (errors + mixed)[:10]:
        print(f"  {line}")
    return 1 if errors or mixed or not n else 0


if __name__ == "__main__":
    raise SystemExit(main())
