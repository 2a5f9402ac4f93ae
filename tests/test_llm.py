"""LLM backends: LlamaIndex's Ollama and OpenAI-like integrations against a real local HTTP server,
the registry and dotted LlamaIndex classes, the bundled SmolLM2 as a LlamaIndex CustomLLM."""
from __future__ import annotations

import threading
import time
from importlib.resources import files

import pytest

from conftest import free_port
from llm_server import LLMServer, silent_server
from rag import Settings
from rag.errors import ConfigError, LLMUnavailableError
from rag.llm import LLM, backends, make_llm
from rag.llm.local import LlamaCpp

EVIDENCE = [
    "The summit in Budapest, Hungary, has been called off, as per a report by the Associated Press.",
    "A US official told the news agency that there will be no meeting between the two leaders in the ‘immediate future’.",
    "Dmitry Peskov said that “preparation is needed, serious preparation.”",
]


def prompt(question: str, evidence: list[str]) -> list[dict]:
    """The messages the answer step sends, built from the package's own prompt files."""
    folder = files("rag") / "prompts"
    block = "\n".join(f"[{i}] {text}" for i, text in enumerate(evidence, 1))
    user = (folder / "answer_user.txt").read_text().format(question=question, evidence=block)
    return [{"role": "system", "content": (folder / "answer_system.txt").read_text()},
            {"role": "user", "content": user}]


MESSAGES = prompt("Will Trump and Putin meet in Budapest?", EVIDENCE)


def client(kind: str, url: str, timeout: float = 60.0, api_key: str | None = None) -> LLM:
    """The backend `kind` as the answer step builds it, pointed at `url`."""
    model, base = ("llama3.2", url) if kind == "ollama" else ("gpt-test", url + "/v1")
    return make_llm(kind, Settings(llm=kind, llm_model=model, llm_base_url=base, llm_timeout=timeout,
                                   llm_api_key=api_key))


http_kinds = pytest.mark.parametrize("kind", ["ollama", "openai"])


@pytest.fixture
def server():
    with LLMServer() as srv:
        yield srv


# --- HTTP backends -------------------------------------------------------------------------------


@http_kinds
def test_streams_the_scripted_reply_in_pieces(server, kind):
    server.reply = "The Budapest summit was called off. [1] Peskov said preparation is needed. [7]"
    pieces = list(client(kind, server.url).stream(MESSAGES))
    assert "".join(pieces) == server.reply
    assert len(pieces) > 3
    assert client(kind, server.url).generate(MESSAGES) == server.reply


@http_kinds
def test_request_carries_model_messages_and_settings(server, kind):
    client(kind, server.url).generate(MESSAGES, max_tokens=99, temperature=0.3)
    (request,) = server.requests
    body = request["body"]
    assert [{"role": m["role"], "content": m["content"]} for m in body["messages"]] == MESSAGES
    assert body["stream"] is True
    if kind == "ollama":
        assert request["path"] == "/api/chat" and body["model"] == "llama3.2"
        assert body["options"]["temperature"] == 0.3 and body["options"]["num_predict"] == 99
        assert "Authorization" not in request["headers"]
    else:
        assert request["path"] == "/v1/chat/completions" and body["model"] == "gpt-test"
        assert body["max_tokens"] == 99 and body["temperature"] == 0.3
        # no key configured: a placeholder, never one read from OPENAI_API_KEY
        assert request["headers"]["Authorization"] == "Bearer no-key"


def test_openai_sends_the_api_key():
    with LLMServer(reply="ok then", api_key="sk-test") as server:
        assert client("openai", server.url, api_key="sk-test").generate(MESSAGES) == "ok then"
        assert server.requests[0]["headers"]["Authorization"] == "Bearer sk-test"
        with pytest.raises(LLMUnavailableError, match=r"HTTP 401: Incorrect API key provided.*Check the API key"):
            client("openai", server.url, api_key="sk-wrong").generate(MESSAGES)
        with pytest.raises(LLMUnavailableError, match="HTTP 401"):
            client("openai", server.url).generate(MESSAGES)


def test_an_openai_key_in_the_environment_is_never_sent(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-from-env")
    with LLMServer(reply="ok then") as server:
        client("openai", server.url).generate(MESSAGES)
        assert "sk-secret" not in server.requests[0]["headers"]["Authorization"]


@http_kinds
def test_server_error_raises_with_the_servers_message(server, kind):
    server.status_error = (500, "CUDA out of memory")
    with pytest.raises(LLMUnavailableError, match=r"HTTP 500: CUDA out of memory") as info:
        client(kind, server.url).generate(MESSAGES)
    assert server.url in str(info.value)


def test_ollama_missing_model_says_how_to_pull_it(server):
    server.status_error = (404, 'model "llama3.2" not found, try pulling it first')
    with pytest.raises(LLMUnavailableError, match=r"HTTP 404: model \"llama3.2\" not found.*`ollama pull llama3.2`"):
        client("ollama", server.url).generate(MESSAGES)


@http_kinds
def test_error_in_the_middle_of_the_stream_raises(server, kind):
    server.reply = "one two three four"
    server.stream_error = "model runner crashed"
    with pytest.raises(LLMUnavailableError, match="answered with an error: model runner crashed"):
        client(kind, server.url).generate(MESSAGES)


@http_kinds
@pytest.mark.parametrize("raw", ["<html>502 Bad Gateway</html>\n", "data: {not json\n\n"])
def test_malformed_stream_raises(server, kind, raw):
    server.raw = raw
    with pytest.raises(LLMUnavailableError, match="not part of its streaming protocol"):
        client(kind, server.url).generate(MESSAGES)


@http_kinds
def test_server_down_fails_fast_naming_the_url(kind):
    url = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(LLMUnavailableError, match="connection refused") as info:
        client(kind, url).generate(MESSAGES)
    assert time.monotonic() - start < 3
    assert url in str(info.value) and "--llm" in str(info.value)
    if kind == "ollama":
        assert str(info.value).startswith(f"cannot reach Ollama at {url} (connection refused). Start it with `ollama serve`")


@http_kinds
def test_server_that_never_answers_times_out(kind):
    with silent_server() as url:
        start = time.monotonic()
        with pytest.raises(LLMUnavailableError, match=r"sent nothing for 0.5 s") as info:
            client(kind, url, timeout=0.5).generate(MESSAGES)
        assert time.monotonic() - start < 3
        assert url in str(info.value)


@http_kinds
def test_bad_base_url_is_a_config_error(kind):
    with pytest.raises(ConfigError, match="base URL"):
        make_llm(kind, Settings(llm=kind, llm_model="m", llm_base_url="ftp://127.0.0.1:11434")).generate(MESSAGES)


# --- registry and factory ------------------------------------------------------------------------


def test_the_built_in_backends_are_registered_entry_points():
    assert set(backends()) == {"extractive", "local", "ollama", "openai"}
    assert make_llm("extractive", Settings()) is None  # no model: the answer is the evidence itself
    ollama = make_llm("ollama", Settings(llm_model="llama3.2", llm_timeout=5))
    assert ollama.where == "http://127.0.0.1:11434" and ollama.watch.timeout.read == 5
    assert type(ollama.model).__module__.startswith("llama_index.llms.ollama")
    openai = make_llm("openai", Settings(llm_model="gpt-4o-mini", llm_api_key="sk-x"))
    assert openai.where == "https://api.openai.com/v1" and openai.model.api_key == "sk-x"
    assert type(openai.model).__module__.startswith("llama_index.llms.openai_like")


def test_local_thread_count_comes_from_the_settings(tmp_path):
    import os

    from rag import Assistant

    assert make_llm("local", Settings()).model.n_threads == os.cpu_count()
    bot = Assistant(Settings(data_dir=tmp_path, llm="local", llm_threads=1))
    assert bot.llm().model.n_threads == 1
    bot.close()


def test_make_llm_unknown_name_lists_the_choices():
    with pytest.raises(ConfigError, match="extractive, local, ollama, openai, a dotted path.*newsrag.llms"):
        make_llm("gpt5", Settings())


@pytest.mark.parametrize("name", ["ollama", "openai"])
def test_make_llm_http_backends_need_a_model(name):
    with pytest.raises(ConfigError, match="needs a model name"):
        make_llm(name, Settings())


def test_a_dotted_llama_index_class_gets_the_model_and_the_json_options():
    llm = make_llm("llm_server:EchoLLM", Settings(llm_model="m1", llm_options='{"prefix": "> "}'))
    assert llm.generate([{"role": "user", "content": "hi"}]) == "> m1|user: hi"
    with pytest.raises(ConfigError, match="not JSON"):
        make_llm("llm_server:EchoLLM", Settings(llm_options="{prefix"))
    with pytest.raises(ConfigError, match="cannot build llm_server:EchoLLM.*--llm-options"):
        make_llm("llm_server:EchoLLM", Settings(llm_options='{"prefix": ["not", "text"]}'))


@pytest.mark.parametrize("path", ["no_such_module:X", "llm_server:Missing", "llm_server:LLMServer"])
def test_make_llm_bad_dotted_path(path):
    with pytest.raises(ConfigError, match=path):
        make_llm(path, Settings())


def test_a_missing_extra_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "llama_cpp" else real(name, *a))
    with pytest.raises(ConfigError, match=r"needs llama_cpp, which is not installed: pip install 'newsrag\[llm\]'"):
        make_llm("local", Settings())


def test_missing_gguf_file(tmp_path):
    missing = tmp_path / "nope.gguf"
    with pytest.raises(LLMUnavailableError, match=f"no GGUF model file at {missing}.*bundled SmolLM2"):
        make_llm("local", Settings(llm_model=str(missing)))


def test_unreadable_gguf_file(tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(LLMUnavailableError, match=f"cannot load the GGUF model {bad}"):
        make_llm("local", Settings(llm_model=str(bad))).generate(MESSAGES)


# --- the bundled SmolLM2 on llama.cpp ------------------------------------------------------------


@pytest.fixture(scope="module")
def smollm():
    llm = make_llm("local", Settings())
    llm.generate([{"role": "user", "content": "Hi"}], max_tokens=1)  # load once for the module
    return llm


@pytest.mark.slow
def test_bundled_model_answers_from_the_prompt_files(smollm):
    messages = prompt("Will Trump and Putin meet in Budapest?", EVIDENCE[:2])
    pieces = list(smollm.stream(messages, max_tokens=60))
    assert "".join(pieces).strip()
    assert len(pieces) > 3
    assert smollm.generate(messages, max_tokens=60) == "".join(pieces)  # fixed seed, greedy: repeatable


@pytest.mark.slow
def test_bundled_model_serialises_concurrent_calls(smollm):
    messages = prompt("Who called off the summit?", EVIDENCE[:1])
    expected = smollm.generate(messages, max_tokens=20)
    results = []
    threads = [threading.Thread(target=lambda: results.append(smollm.generate(messages, max_tokens=20)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [expected, expected]


@pytest.mark.slow
def test_bundled_model_refuses_a_nested_call_instead_of_hanging(smollm):
    stream = smollm.stream(MESSAGES, max_tokens=20)
    next(stream)
    with pytest.raises(RuntimeError, match="still streaming"):
        smollm.generate(MESSAGES)
    stream.close()
    assert smollm.generate([{"role": "user", "content": "Hi"}], max_tokens=3)


@pytest.mark.slow
def test_bundled_model_prompt_too_long(smollm):
    with pytest.raises(ConfigError, match="2048-token context"):
        smollm.generate(prompt("Why?", EVIDENCE * 60))


@pytest.mark.slow
def test_bundled_model_is_a_llama_index_llm(smollm):
    from llama_index.core.llms import ChatMessage

    assert isinstance(smollm.model, LlamaCpp)
    reply = smollm.model.chat([ChatMessage(role="user", content="Say hello.")])
    assert reply.message.content.strip()
    assert smollm.model.complete("Say hello.").text.strip()
