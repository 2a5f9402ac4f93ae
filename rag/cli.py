"""`newsrag` command line: a thin layer over `rag.api`; each command calls one API function."""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import os
import re
import sys
from pathlib import Path

from . import api
from .api import Answer, Assistant, llm_backends
from .errors import ConfigError, NewsragError, require_extra
from .settings import Settings


# Which settings each command takes as flags; flags, help and NEWSRAG_* names come from `Settings`.
INDEX = ("data_dir", "store", "chroma_host", "chroma_port", "embedder", "embed_model_path")
INGEST = ("chunk_size", "chunk_overlap", "max_file_mb", "batch_chunks", "near_duplicate", "workers")
ANSWER = ("llm", "llm_model", "llm_options", "llm_base_url", "llm_threads", "llm_timeout", "model_cache", "reader",
          "retrieval", "top_k", "per_article", "dense_weight", "bm25_weight", "rerank", "rerank_depth",
          "mmr_weight", "min_evidence", "support_threshold", "max_question_chars")
SERVE = ("ingest_root", "max_upload_files", "max_upload_mb", "login_attempts", "login_wait")
# the registry whose names a setting takes, listed in its help
REGISTERED = {"llm": llm_backends, "embedder": api.embedder_backends, "rerank": api.reranker_backends,
              "store": api.store_backends}


def add_settings(p: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    """A flag per setting: `--top-k` for `top_k`, typed and explained as the field is."""
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    for name in names:
        f = fields[name]
        kind = str(f.type)
        options = ({"action": "append", "metavar": "DIR"} if kind.startswith("tuple") else
                   {"type": int} if "int" in kind else {"type": float} if "float" in kind else {})
        choices = f"; registered: {', '.join(REGISTERED[name]())}" if name in REGISTERED else ""
        default = "" if f.default in (None, ()) else f"; default {f.default}"
        p.add_argument("--" + name.replace("_", "-"), dest=name, **options,
                       help=f"{f.metadata['help']}{choices} (env NEWSRAG_{name.upper()}{default})")


def _common(p: argparse.ArgumentParser) -> None:
    add_settings(p, INDEX)
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")


class Parser(argparse.ArgumentParser):
    """argparse that answers a mistyped command or flag with the closest real one."""

    def error(self, message: str):
        typo = re.search(r"invalid choice: '([^']*)'|unrecognized arguments: (\S+)", message)
        if typo:
            word = typo[1] or typo[2]
            known = [c for a in self._actions if isinstance(a, argparse._SubParsersAction) for c in a.choices]
            known += [o for p in _all_parsers(self) for a in p._actions for o in a.option_strings]
            close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
            if close:
                message += f" (did you mean {close[0]!r}?)"
        super().error(message)


def _all_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    subs = [p for a in parser._actions if isinstance(a, argparse._SubParsersAction) for p in a.choices.values()]
    return [parser, *subs]


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="newsrag", description="Cited answers over your news articles.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("ingest", help=api.ingest.__doc__.split(".")[0], description=api.ingest.__doc__)
    p.add_argument("paths", nargs="+", help=f"files or folders of {'/'.join(api.suffixes())} articles")
    p.add_argument("--prune", action="store_true", help="remove articles whose file is gone")
    p.add_argument("--rebuild", action="store_true", help="delete the index and build it again")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_settings(p, INGEST)
    _common(p)

    p = sub.add_parser("status", help=api.status.__doc__.split(".")[0], description=api.status.__doc__)
    _common(p)

    p = sub.add_parser("ask", help="answer one question with cited sources", description=api.Assistant.ask.__doc__)
    p.add_argument("question")
    _answer_options(p)
    _common(p)

    p = sub.add_parser("changes", help="what the articles from a date on add to a story, cited",
                       description=api.Assistant.changes.__doc__)
    p.add_argument("question", help="the story, e.g. \"the Budapest summit\"")
    _answer_options(p)
    _common(p)

    p = sub.add_parser("chat", help="a conversation in the terminal (follow-ups understood)")
    _answer_options(p)
    _common(p)

    p = sub.add_parser("eval", help="score answers and citations on a gold Q&A set",
                       description="Index CORPUS into its own data dir (re-used while unchanged), ask every "
                                   "gold question through the Python API, print a table, write report.json and a chart.")
    p.add_argument("--gold", required=True, help="gold JSONL file (see eval/README.md)")
    p.add_argument("--corpus", required=True, help="the folder of articles the gold set refers to, or a *.corpus spec (eval/corpus.py)")
    p.add_argument("--llm", help="answer backend (default extractive); with --compare a comma list, e.g. extractive,local")
    p.add_argument("--retrieval", help="hybrid (default), dense or bm25")
    p.add_argument("--out", default="eval/out", help="where report.json, table.md and report.png go")
    p.add_argument("--rerank", help="none (default), mmr or cross-encoder:PATH; with --compare a comma list, e.g. none,mmr")
    p.add_argument("--compare", action="store_true",
                   help="compare dense/bm25/hybrid retrieval, each --rerank and each --llm backend")
    p.add_argument("--baseline", action="store_true", help="also score LlamaIndex's default query engine")
    add_settings(p, tuple(n for n in ANSWER if n not in ("llm", "rerank", "retrieval")))
    _common(p)

    p = sub.add_parser("serve", help="the web UI (chat, sources, corpus) and the /ask API",
                       description="Serve the Gradio web UI and its /ask API. Loopback only by default.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; other "
                                                       "addresses without --auth print a warning)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth", help="require this user:password to use the app (env NEWSRAG_AUTH)")
    p.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default)")
    p.add_argument("--concurrency", type=int, default=8, help="answers computed at once; others queue (default 8)")
    add_settings(p, ANSWER + SERVE)
    _common(p)
    return parser


def _answer_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", help="only articles published on or after YYYY-MM-DD")
    p.add_argument("--until", help="only articles published on or before YYYY-MM-DD")
    p.add_argument("--source", action="append", help="only articles from this source (repeatable)")
    add_settings(p, ANSWER)


def settings_from(args: argparse.Namespace) -> Settings:
    """`NEWSRAG_*` variables, then the flags given."""
    return Settings.from_env(os.environ, **{f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)})


def cmd_ingest(args) -> int:
    report = api.ingest(args.paths, settings_from(args), prune=args.prune, rebuild=args.rebuild,
                        progress=not (args.quiet or args.json) and sys.stderr.isatty())
    for line in report.problems:
        print(f"newsrag: {line}", file=sys.stderr)
    for line in report.warnings:
        print(f"newsrag: warning: {line}", file=sys.stderr)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for dup, canonical in report.duplicates:
            print(f"duplicate: {dup} has the same text as {canonical}; stored once")
        for copy, canonical, similarity in report.copies:
            print(f"copy: {copy} is a near copy of {canonical} ({similarity:.0%} similar); cited as it, "
                  "\"also reported by\" this one")
        print(f"ingest: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
              f"{report.duplicate} duplicate, {report.removed} removed, {report.failed} failed; "
              f"{report.chunks_written} chunks written in {report.seconds:.1f} s")
    return 1 if report.failed else 0


def indexed(settings: Settings) -> Settings:
    """`settings`, once its data dir is known to hold an index: a mistyped --data-dir would
    otherwise create an empty one and answer that the articles don't say."""
    if not (Path(settings.data_dir) / "manifest.json").is_file():
        raise ConfigError(f"no index in {Path(settings.data_dir).absolute()}: build one with "
                          f"`newsrag ingest PATH --data-dir {settings.data_dir}`, or give the --data-dir of an index")
    return settings


def _opening(args) -> Assistant:
    """The assistant over an existing index, saying so while the models load (seconds, at a terminal)."""
    settings = indexed(settings_from(args))
    if sys.stderr.isatty():
        print("newsrag: loading the index and models…", end="\r", file=sys.stderr, flush=True)
    bot = Assistant(settings)
    if sys.stderr.isatty():
        print(" " * 40, end="\r", file=sys.stderr, flush=True)
    return bot


def cmd_status(args) -> int:
    info = api.status(indexed(settings_from(args)))
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
        return 0
    dates = " to ".join(info.date_range) if info.date_range else "none"
    emb = info.embedder
    print(f"articles:  {info.articles} ({info.duplicates} duplicates stored once, {info.undated} undated)\n"
          f"chunks:    {info.chunks} (store holds {info.stored_chunks})\n"
          f"dates:     {dates}\n"
          f"sources:   {', '.join(info.sources) or 'none recorded'}\n"
          f"embedder:  {emb['model']} ({emb['dim']}-d, {emb['precision']})\n"
          f"chunking:  {info.chunking['size']} tokens, {info.chunking['overlap']} overlap\n"
          f"data dir:  {info.data_dir}\n"
          f"store:     {info.store}")
    return 0


def render(answer: Answer) -> str:
    """An answer and its numbered sources, for the terminal."""
    lines = [answer.text]
    for c in answer.citations:
        meta = ", ".join(x for x in (c.date or "undated", c.source, c.url) if x)
        weak = " (weak match: check the passage)" if c.weak else ""
        lines.append(f"  [{c.n}] {c.title} ({meta}) {c.article}:{c.start}-{c.end}{weak}\n      “{c.quote}”")
        if c.also:
            lines.append(f"      {c.also_reported()}")
    return "\n".join(lines)


def _filters(args) -> dict:
    return {"since": args.since, "until": args.until, "source": args.source}


def cmd_ask(args) -> int:
    bot = _opening(args)
    try:
        if args.json:
            print(json.dumps(bot.ask(args.question, **_filters(args)).to_json(), ensure_ascii=False, indent=2))
            return 0
        _show(bot.stream(args.question, **_filters(args)), as_json=False)
        return 0
    finally:
        bot.close()


def cmd_changes(args) -> int:
    if not args.since:
        print("newsrag: error: changes needs --since DATE (e.g. 2025-10-01 or \"last week\")", file=sys.stderr)
        return 2
    bot = _opening(args)
    try:
        answer = bot.changes(args.question, args.since, until=args.until, source=args.source)
        print(json.dumps(answer.to_json(), ensure_ascii=False, indent=2) if args.json else render(answer))
        return 0
    finally:
        bot.close()


CHAT_HELP = """/help     this list
/sources  the last answer's sources in full
/new      start a new conversation (follow-ups forget the old one)
/quit     end the chat (so do an empty line and Ctrl-D)"""


def cmd_chat(args) -> int:
    bot = _opening(args)
    chat, last = bot.chat(), None
    print("Ask about the articles; /help lists the commands, an empty line or Ctrl-D ends the chat.")
    try:
        while True:
            try:
                question = input("? ").strip()
            except EOFError:
                break
            if not question or question in ("/quit", "/exit"):
                break
            if question.startswith("/"):
                if question == "/help":
                    print(CHAT_HELP)
                elif question == "/new":
                    chat, last = bot.chat(), None
                    print("A new conversation: the next question stands alone.")
                elif question == "/sources":
                    print(render(last) if last else "No answer yet.")
                else:
                    print(f"unknown command {question.split()[0]!r}; /help lists them")
                continue
            last = _show(chat.stream(question, **_filters(args)), args.json)
        return 0
    finally:
        bot.close()


def _show(items, as_json: bool) -> Answer:
    """Print a streamed answer: its text as it verifies (at a terminal), then the whole answer."""
    streaming = sys.stdout.isatty() and not as_json
    for item in items:
        if isinstance(item, Answer):
            if as_json:
                print(json.dumps(item.to_json(), ensure_ascii=False), flush=True)
            else:
                print("\r" + render(item) if streaming else render(item), flush=True)
            return item
        if streaming:
            print(item, end="", flush=True)
    raise AssertionError("stream ended without an answer")


def cmd_eval(args) -> int:
    from eval import runner

    llms = (args.llm or "extractive").split(",")
    reranks = (args.rerank or "none").split(",")
    if args.compare:
        configs = runner.compare_configs(llms, reranks)
    else:
        configs = [runner.RunConfig.of(args.retrieval or "hybrid", llms[0], reranks[0])]
    settings = settings_from(argparse.Namespace(**{**vars(args), "llm": None, "rerank": None}))
    runner.run(Path(args.gold), Path(args.corpus), configs, Path(args.out), settings,
               progress=sys.stderr.isatty(), baseline=args.baseline)
    return 0


def cmd_serve(args) -> int:
    settings = settings_from(args)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    # Gradio keeps uploads in its temp dir until the UI copies them to <data_dir>/uploads.
    os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(settings.data_dir).absolute() / "cache" / "gradio"))
    require_extra("gradio", "ui", "the web UI")
    from ui.app import create_app  # lazily: Gradio is only needed here
    from ui.serve import bind_address, is_loopback, launch, parse_auth

    try:
        auth = parse_auth(args.auth or os.environ.get("NEWSRAG_AUTH") or None)
    except ValueError as exc:
        print(f"newsrag: error: {exc}", file=sys.stderr)
        return 2
    bot = Assistant(settings)
    try:
        bot.search("warm up")  # load the models now rather than during the first visitor's question
        # editing the corpus or the model's server is for the operator: on loopback or signed in
        manage = bool(auth) or (is_loopback(bind_address(args.host)) and not args.share)
        launch(create_app(bot, concurrency=args.concurrency, manage=manage), host=args.host, port=args.port,
               auth=auth, share=args.share)
        return 0
    finally:
        bot.close()


COMMANDS = {"ingest": cmd_ingest, "status": cmd_status, "ask": cmd_ask, "changes": cmd_changes, "chat": cmd_chat,
            "eval": cmd_eval, "serve": cmd_serve}


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no weight-loading progress bars
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except NewsragError as exc:
        print(f"newsrag: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("newsrag: interrupted; run the same command again to finish (nothing is lost)", file=sys.stderr)
        return 130
