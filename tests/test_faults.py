"""Answers under faults, against real parts: an LLM server that drips, floods or sends content
that is not text (tests/llm_server.py), a full disk (a real small tmpfs), and questions that are
too long or not text. A Chroma server going away is in test_chroma_server.py."""
from __future__ import annotations

import os
import random
import shutil
import subprocess
import time

import pytest

from conftest import SEED_ID, SEEDS
from llm_server import LLMServer
from rag import Assistant, Settings
from rag.errors import ConfigError, DiskFullError, LLMError
from rag.llm.base import CHARS_PER_TOKEN
from test_llm import MESSAGES, client, http_kinds

SEED_Q = "Why was the summit cancelled?"
SUPPORTED = "The summit was called off after a phone conversation between Marco Rubio and Sergey Lavrov [1]."


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory, embedder):
    from index import Index, IndexConfig

    corpus = tmp_path_factory.mktemp("corpus")
    shutil.copy(SEEDS / SEED_ID, corpus / SEED_ID)
    data = tmp_path_factory.mktemp("data")
    index = Index(IndexConfig(data_dir=data), embedder=embedder)
    index.ingest([corpus])
    yield index
    index.close()


def remote(index, server: LLMServer, **settings) -> Assistant:
    """An assistant over `index` whose LLM is the OpenAI-compatible `server`."""
    return Assistant(Settings(data_dir=index.data_dir, llm="openai", llm_model="m",
                              llm_base_url=server.url + "/v1", **settings), index=index)


# --- the LLM server ----------------------------------------------------------------------------


@http_kinds
def test_a_dripping_server_is_cut_off_at_the_deadline(kind):
    with LLMServer(reply="one two three four five six seven eight nine ten " * 3) as server:
        server.drip = 0.2  # each wait is short: a per-read timeout never fires
        started = time.monotonic()
        with pytest.raises(LLMError, match=r"did not finish its reply within 1 s.*bounds the whole reply"):
            client(kind, server.url, timeout=1.0).generate(MESSAGES)
        # the whole reply would drip for 6 s: the deadline, not the reply's end, stopped it
        assert time.monotonic() - started < 4
        assert server.disconnected.wait(10), "the client did not hang up"


def test_an_answer_from_a_dripping_server_falls_back_to_the_evidence(seed_index):
    with LLMServer(reply=SUPPORTED) as server:
        server.drip = 0.3
        answer = remote(seed_index, server, llm_timeout=1.0).ask(SEED_Q)
        assert server.disconnected.wait(10)
    assert not answer.abstained and "Rubio" in answer.text and answer.citations
    assert answer.warnings and "did not finish its reply within 1 s" in answer.warnings[0]
    assert answer.text.endswith(f"Note: {answer.warnings[0]}")  # the reader sees why


@http_kinds
def test_a_huge_reply_is_capped(kind):
    with LLMServer(reply="word " * 40_000) as server:  # 200,000 characters
        reply = client(kind, server.url).generate(MESSAGES, max_tokens=50)
        assert reply.startswith("word word") and len(reply) <= 50 * CHARS_PER_TOKEN
        assert server.disconnected.wait(10), "the client read the whole reply"


@http_kinds
@pytest.mark.parametrize("content", [42, ["part"], {"text": "hi"}])
def test_content_that_is_not_text_is_a_clear_llm_error(kind, content):
    with LLMServer(reply="a b c") as server:
        server.content = content
        with pytest.raises(LLMError, match=r"not part of its streaming protocol .*(str|string).*--llm"):
            client(kind, server.url).generate(MESSAGES)


def test_an_answer_survives_content_that_is_not_text(seed_index):
    extractive = Assistant(Settings(data_dir=seed_index.data_dir), index=seed_index).ask(SEED_Q)
    with LLMServer(reply=SUPPORTED) as server:
        server.content = 7
        answer = remote(seed_index, server).ask(SEED_Q)
    assert answer.citations == extractive.citations
    assert answer.text.startswith(extractive.text) and "not part of its streaming protocol" in answer.text
    assert answer.warnings and answer.to_json().keys() == {"answer", "abstained", "citations"}


def test_a_failure_after_a_verified_sentence_keeps_it_and_quotes_the_rest(seed_index):
    with LLMServer(reply=SUPPORTED + " and then" * 500) as server:
        server.drip = 0.1  # the supported sentence arrives in ~2 s, the rest would take ~100 s
        items = list(remote(seed_index, server, llm_timeout=3.0).stream(SEED_Q))
    answer = items[-1]
    assert "".join(items[:-1]) == answer.text  # what was streamed is the answer
    kept = "The summit was called off after a phone conversation between Marco Rubio and Sergey Lavrov [1]."
    assert answer.text.startswith(kept) and "within 3 s" in answer.warnings[0]
    assert len(answer.citations) >= 1 and answer.citations[0].article == SEED_ID


# --- questions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [123, None, ["Why?"], b"Why was the summit cancelled?"])
def test_a_question_that_is_not_text_is_a_config_error(seed_index, question):
    bot = Assistant(Settings(data_dir=seed_index.data_dir), index=seed_index)
    with pytest.raises(ConfigError, match="the question must be text"):
        bot.ask(question)


def test_a_question_over_the_limit_is_refused_saying_the_limit(seed_index):
    bot = Assistant(Settings(data_dir=seed_index.data_dir), index=seed_index)
    with pytest.raises(ConfigError, match=r"1,000,000 characters, over the 2,000 limit \(max_question_chars\)"):
        bot.ask("why " * 250_000)
    assert not bot.ask(SEED_Q + " " * (2000 - len(SEED_Q))).abstained  # at the limit: answered
    small = Assistant(Settings(data_dir=seed_index.data_dir, max_question_chars=10), index=seed_index)
    with pytest.raises(ConfigError, match="over the 10 limit"):
        small.ask(SEED_Q)


# --- a full disk -------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A real 40 MB filesystem (tmpfs), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mount)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def fill(disk, leave: int) -> None:
    """Take all but `leave` bytes of the disk's free space."""
    stat = os.statvfs(disk)
    with open(disk / "filler", "wb") as f:
        f.write(b"\1" * (stat.f_bavail * stat.f_frsize - leave))


def test_a_full_disk_stops_the_ingest_clearly_and_reads_keep_working(small_disk, tmp_path, embedder):
    from index import Index, IndexConfig

    data = small_disk / "data"
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEEDS / SEED_ID, seeds / SEED_ID)
    more = tmp_path / "more"
    more.mkdir()
    vocabulary = sorted(set((SEEDS / SEED_ID).read_text().split()))
    for i in range(100):  # a hundred different stories: none a near copy of another
        rng = random.Random(i)
        (more / f"{i:03}.txt").write_text(f"Story {i}\n\n" + " ".join(
            " ".join(rng.choices(vocabulary, k=14)) + "." for _ in range(12)))
    config = IndexConfig(data_dir=data)
    index = Index(config, embedder=embedder)
    index.ingest([seeds])
    fill(small_disk, leave=1_500_000)
    with pytest.raises(DiskFullError) as info:
        index.ingest([more])
    message = str(info.value)
    assert "no space left on device" in message and str(data) in message and "--data-dir" in message
    assert "chroma run" not in message
    index.close()

    bot = Assistant(Settings(data_dir=data), index=Index(config, embedder=embedder))  # opening works
    assert bot.status().articles == 1 and bot.status().stored_chunks > 0  # nothing stored was lost
    answer = bot.ask(SEED_Q)
    assert not answer.abstained and "Rubio" in answer.text and not answer.degraded
    (small_disk / "filler").unlink()
    report = bot.ingest([more])  # with room again, the same ingest completes
    assert report.added == 100 and bot.status().articles == 101
    bot.close()


def test_a_disk_with_no_room_at_all_stops_the_registry_write_clearly(small_disk, tmp_path, embedder):
    """With not a byte free, the registry's journal write fails before Chroma is reached."""
    from index import Index, IndexConfig

    data = small_disk / "data"
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shutil.copy(SEEDS / SEED_ID, seeds / SEED_ID)
    index = Index(IndexConfig(data_dir=data), embedder=embedder)
    fill(small_disk, leave=0)
    with pytest.raises(DiskFullError, match="no space left on device") as info:
        index.ingest([seeds])
    assert str(data) in str(info.value) and "chroma run" not in str(info.value)
    index.close()
