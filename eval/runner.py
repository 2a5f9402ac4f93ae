"""`newsrag eval`: index a corpus, ask every gold question through the public API, score it.

    newsrag eval --gold eval/gold/seeds.jsonl --corpus seeds [--llm B] [--out DIR] [--compare]
    newsrag eval --gold eval/gold/mixed.jsonl --corpus eval/gold/mixed.corpus   # a corpus spec
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from rag import Assistant, Settings
from rag.api import open_index
from rag.verify import support_score

from . import corpus as corpus_spec
from . import metrics
from .gold import GoldItem, load_gold
from .report import write_report


@dataclass(frozen=True)
class RunConfig:
    name: str
    llm: str = "extractive"
    retrieval: str = "hybrid"
    rerank: str = "none"
    model: str | None = None
    reader: str = "auto"

    @classmethod
    def of(cls, retrieval: str, llm: str, rerank: str = "none") -> "RunConfig":
        """Named `retrieval[+rerank]+llm`, e.g. `hybrid+mmr+extractive`, `hybrid+ce(model-dir)+local`.
        `llm` may name a model and a reader: `BACKEND[@MODEL][/READER]`, e.g.
        `local@qwen2.5-coder-1.5b/model-shuffled`."""
        kind, _, path = rerank.partition(":")
        label = f"ce({Path(path).name})" if kind == "cross-encoder" else rerank
        parts = [retrieval] + ([label] if rerank != "none" else []) + [llm]
        backend, model, reader = parse_llm(llm)
        return cls("+".join(parts), backend, retrieval, rerank, model, reader)


def parse_llm(spec: str) -> tuple[str, str | None, str]:
    """`BACKEND[@MODEL][/READER]` as (backend, model or None, reader), e.g. `local@qwen2.5-coder-1.5b`."""
    rest, _, reader = spec.partition("/")
    backend, _, model = rest.partition("@")
    return backend, model or None, reader or "auto"


def compare_configs(llms: list[str], reranks: tuple[str, ...] | list[str] = ("none",)) -> list[RunConfig]:
    """Retrievers (dense, bm25, hybrid) with the first backend and reranker, then hybrid with each
    other reranker, then hybrid with each other backend."""
    llm, *other_llms = llms
    rerank, *other_reranks = reranks
    return ([RunConfig.of(mode, llm, rerank) for mode in ("dense", "bm25", "hybrid")]
            + [RunConfig.of("hybrid", llm, r) for r in other_reranks]
            + [RunConfig.of("hybrid", other, rerank) for other in other_llms])


def eval_data_dir(corpus: Path, settings: Settings) -> Path:
    """Each corpus gets its own index under the data dir, re-used while the corpus is unchanged.
    A folder is keyed on its path; a corpus spec (`*.corpus`) on the files it selects."""
    if corpus_spec.is_spec(corpus):
        key, name = corpus_spec.spec_key(corpus_spec.resolve(corpus)), corpus.stem
    else:
        key, name = hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:10], corpus.resolve().name
    return Path(settings.data_dir) / "eval" / f"{name}-{key}"


def corpus_folder(corpus: Path, data_dir: Path) -> Path:
    """The folder to ingest: `corpus` itself, or for a spec its symlink folder inside `data_dir`."""
    if not corpus_spec.is_spec(corpus):
        return corpus
    return corpus_spec.materialise(corpus_spec.resolve(corpus), data_dir / "corpus")


def run(gold: Path, corpus: Path, configs: list[RunConfig], out: Path, settings: Settings | None = None,
        progress: bool = False, baseline: bool = False) -> dict:
    """Score every configuration on the gold set; writes report.json, a table and a chart to `out`."""
    settings = settings or Settings()
    # each corpus has its own index; catalog models are joined once, in the user's data dir
    settings = settings.replace(data_dir=eval_data_dir(corpus, settings), model_cache=settings.models_dir())
    folder = corpus_folder(corpus, Path(settings.data_dir))
    index = open_index(settings)
    report = index.ingest([folder])
    aliases = index.registry.aliases()
    texts = {a.id: a.text for a in index.registry.articles()}  # as stored: no second load of the corpus
    texts.update({alias: texts[canonical] for alias, canonical in aliases.items()})
    items = load_gold(gold, articles=texts)
    results = {}
    for config in configs:
        bot = Assistant(settings.replace(llm=config.llm, retrieval=config.retrieval, rerank=config.rerank,
                                         llm_model=config.model or settings.llm_model, reader=config.reader),
                        index=index)
        results[config.name] = evaluate(bot, items, texts, aliases, progress, config.name,
                                        settings.support_threshold)
    if baseline:
        from .baseline import LlamaIndexBaseline

        engine = LlamaIndexBaseline(index, settings)
        results["llamaindex-default"] = evaluate(engine, items, texts, aliases, progress, "llamaindex-default",
                                                 settings.support_threshold)
    status = index.status()
    index.close()
    primary = configs[-1].name if len(configs) > 1 else configs[0].name
    summary = {**results[primary]["summary"], "config": primary, "gold": str(gold), "corpus": str(corpus),
               "index": {"articles": status.articles, "chunks": status.chunks,
                         "duplicates": status.duplicates, "data_dir": status.data_dir,
                         "ingest_seconds": report.seconds},
               "records": results[primary]["records"],
               "compare": {name: r["summary"] for name, r in results.items()},
               "records_by_config": {name: r["records"] for name, r in results.items() if name != primary}}
    write_report(summary, out)
    return summary


def evaluate(bot, items: list[GoldItem], texts: dict, aliases: dict, progress: bool, label: str,
             support_threshold: float) -> dict:
    """Ask each question (follow-ups inside a chat that first asks their parent) and score it."""
    from tqdm import tqdm

    by_id = {item.id: item for item in items}
    records, rows = [], []
    for item in tqdm(items, desc=label, unit="q", disable=not progress):
        chat = bot.chat()
        if item.follow_up_of:
            chat.ask(by_id[item.follow_up_of].question)
        started = time.perf_counter()
        answer = chat.ask(item.question)
        latency = 1000 * (time.perf_counter() - started)
        hits = bot.search(chat.history[-1], k=10)
        spans = metrics.evidence_spans(item.evidence, texts, aliases)
        judge = _judge(bot, answer, spans, aliases, support_threshold)
        result = metrics.score_question(item, answer, hits, spans, judge,
                                        latency_ms=latency, aliases=aliases)
        records.append(result)
        rows.append({**result.__dict__, "question": item.question, "answer": answer.text,
                     "citations": [c.to_dict() for c in answer.citations],
                     "retrieved": [h.article_id for h in hits]})
    return {"summary": metrics.aggregate(records), "records": rows}


def _judge(bot, answer, spans, aliases, threshold: float):
    """A citation supports its sentence when its quote overlaps gold evidence, or when the
    verifier's support score of the sentence by the quote reaches the verifier's threshold."""
    overlap = metrics.overlap_supports(answer.citations, spans, aliases)
    embedder = bot.index.embedder
    scored = metrics.threshold_supports(lambda s, q: support_score(s, q, embedder), threshold)
    return lambda sentence, quotes: overlap(sentence, quotes) or scored(sentence, quotes)

