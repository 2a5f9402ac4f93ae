"""RGB counterfactual robustness (en_fact.json): accuracy on clean passages, and how often planted
false passages are flagged as a conflict rather than repeated.

    python -m eval.bench_rgb [--limit N] [--out DIR] [--llm extractive] [--rerank none]

The data (CC BY-NC-SA 4.0, non-commercial) is read from ../shared/benchmarks/rgb at run time and
never copied into the project. Each question sees only its own passages (the `article` filter), as
in the RGB protocol; an answer is correct when it contains the gold answer (RGB's `checkanswer`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from eval.runner import parse_llm  # noqa: E402
from index import Index  # noqa: E402
from index.embedder import DEFAULT_BACKEND, make_embedder  # noqa: E402
from rag.api import Assistant  # noqa: E402
from rag.settings import Settings  # noqa: E402

RGB = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "rgb" / "en_fact.json"
KINDS = {"pos": "positive", "neg": "negative", "wrong": "positive_wrong"}
SETTINGS = {"clean": ("pos", "neg"), "counterfactual": ("pos", "wrong", "neg")}


def contains_answer(text: str, gold: str | list) -> bool:
    """RGB's checkanswer: every item must appear (case-insensitive); an item that is itself a
    list is a set of variants, any one of which will do."""
    text = text.lower()
    items = gold if isinstance(gold, list) else [gold]
    return all(any(v.lower() in text for v in item) if isinstance(item, list) else item.lower() in text
               for item in items)


def load(path: Path = RGB, limit: int | None = None) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f if line.strip()]
    return records[:limit] if limit else records


def write_corpus(records: list[dict], folder: Path) -> dict[str, Path]:
    """One JSONL file per passage kind; record ids are rgb-{qid}-{kind}-{i}."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for kind, field in KINDS.items():
        files[kind] = folder / f"{kind}.jsonl"
        with files[kind].open("w", encoding="utf-8") as f:
            for r in records:
                for i, text in enumerate(r[field]):
                    f.write(json.dumps({"id": f"rgb-{r['id']}-{kind}-{i}", "title": "RGB passage",
                                        "text": text, "source": "RGB"}) + "\n")
    return files


def run_setting(name: str, records: list[dict], files: dict[str, Path], data_dir: Path, llm: str, rerank: str,
                embedder=None) -> list[dict]:
    backend, model, reader = parse_llm(llm)
    settings = Settings(data_dir=data_dir, llm=backend, llm_model=model, reader=reader, rerank=rerank,
                        model_cache=Settings().models_dir())  # catalog models joined once, in .newsrag/
    bot = Assistant(settings, index=Index(settings.index_config(), embedder=embedder))
    rows = []
    try:
        bot.ingest([files[k] for k in SETTINGS[name]])
        aliases = bot.index.registry.aliases()  # a duplicate passage is stored once, under another id
        for r in records:
            ids = [aliases.get(f"rgb-{r['id']}-{k}-{i}", f"rgb-{r['id']}-{k}-{i}")
                   for k in SETTINGS[name] for i in range(len(r[KINDS[k]]))]
            ans = bot.ask(r["query"], article=sorted(set(ids)))
            said = "" if ans.abstained else ans.text
            rows.append({"id": r["id"], "query": r["query"], "answer": ans.text, "conflict": ans.conflict,
                         "abstained": ans.abstained, "correct": contains_answer(said, r["answer"]),
                         "fake": contains_answer(said, r["fakeanswer"])})
    finally:
        bot.close()
    return rows


def summarize(rows: list[dict]) -> dict[str, float]:
    n = len(rows) or 1
    share = lambda pred: round(sum(1 for r in rows if pred(r)) / n, 3)  # noqa: E731
    return {"accuracy": share(lambda r: r["correct"]), "abstained": share(lambda r: r["abstained"]),
            "conflict_flagged": share(lambda r: r["conflict"]),
            "fake_stated_unflagged": share(lambda r: r["fake"] and not r["conflict"]),
            # a real detection: the flagged answer puts the gold and the planted answer side by side
            "conflict_gold_vs_fake": share(lambda r: r["conflict"] and r["correct"] and r["fake"])}


def main(argv: list[str] | None = None, embedder=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="only the first N questions (quick runs)")
    parser.add_argument("--out", type=Path, default=Path("eval/out"), help="folder for rgb.json")
    parser.add_argument("--llm", default="extractive",
                        help="answer backend (default: extractive), as BACKEND[@MODEL][/READER], e.g. local@qwen2.5-coder-1.5b")
    parser.add_argument("--rerank", default="none", help="reranker: none (default), mmr, cross-encoder:PATH")
    parser.add_argument("--data", type=Path, default=RGB, help="path to en_fact.json")
    parser.add_argument("--embedder", default=DEFAULT_BACKEND, help=f"embedding backend (default {DEFAULT_BACKEND})")
    args = parser.parse_args(argv)

    records = load(args.data, args.limit)
    embedder = embedder or make_embedder(args.embedder, cache_dir=Settings().models_dir())  # loaded once for both
    work = Path(tempfile.mkdtemp(prefix="newsrag-rgb-"))
    started = time.perf_counter()
    result: dict = {"questions": len(records), "llm": args.llm, "rerank": args.rerank}
    try:
        files = write_corpus(records, work / "corpus")
        for name in SETTINGS:
            rows = run_setting(name, records, files, work / f"data-{name}", args.llm, args.rerank, embedder)
            result[name] = {**summarize(rows), "records": rows}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["seconds"] = round(time.perf_counter() - started, 1)

    cols = ("accuracy", "abstained", "conflict_flagged", "fake_stated_unflagged", "conflict_gold_vs_fake")
    print(f"RGB en_fact, {len(records)} questions, llm={args.llm}, rerank={args.rerank}, {result['seconds']} s")
    print(f"{'setting':<15}" + "".join(f"{c:>22}" for c in cols))
    for name in SETTINGS:
        print(f"{name:<15}" + "".join(f"{result[name][c]:>22.3f}" for c in cols))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rgb.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out / 'rgb.json'}")
    return result


if __name__ == "__main__":
    main()
