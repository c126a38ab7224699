"""Command line: ``python -m bot`` or ``newsbot``: add, ask, list, remove, upgrade, run."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.render import plain_block, render_plain
from handlers.compose import answer_reply, article_line, article_reply
from news.errors import UserError
from news.ingest import ArticleDraft, FetchPolicy, from_bytes, from_text, from_url
from news.knowledge import Answer, Knowledge
from storage import articles as article_store
from storage.db import Database

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="newsbot", description="News bot: add articles, ask questions."
    )
    parser.add_argument("--db", help="SQLite database file (default: $NEWSBOT_DB or newsbot.db)")
    commands = parser.add_subparsers(dest="command")

    add = commands.add_parser("add", help="add an article from a file, a URL or standard input (-)")
    add.add_argument("source", nargs="?", help="PATH, URL or - for standard input")
    add.add_argument("--jsonl", help="a file with one JSON article per line")
    add.add_argument("--title")
    add.add_argument("--source", dest="source_name", metavar="SOURCE")
    add.add_argument("--url")
    add.add_argument("--published", metavar="YYYY-MM-DD")
    add.add_argument("--lang", choices=["ar", "en"])

    ask = commands.add_parser(
        "ask", help="answer questions (one per line of stdin when none given)"
    )
    ask.add_argument("question", nargs="?")
    ask.add_argument("--json", action="store_true", help="one JSON object per question")
    ask.add_argument("--top", type=int, default=5, help="facts to return (default 5)")

    listing = commands.add_parser("articles", help="list stored articles, newest first")
    listing.add_argument("--limit", type=int, default=50)
    show = commands.add_parser("article", help="show one article's key facts")
    show.add_argument("id", type=int)
    remove = commands.add_parser("remove", help="remove an article and its facts")
    remove.add_argument("id", type=int)
    commands.add_parser(
        "upgrade",
        help="re-encode the facts of articles stored by an older version "
        "(the running bot does this in the background)",
    )
    commands.add_parser("run", help="run the bot: chat adapters with tokens, else the console")
    commands.add_parser("console", help="chat with the bot on this terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    if args.db:
        settings.db = args.db
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO)
        if args.command in ("run", "console")
        else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        args.command = "run"
    try:
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 130


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("run", "console"):
        from bot.app import run_bot

        await run_bot(settings, console_only=args.command == "console")
        return 0
    async with Database(settings.db) as db:
        knowledge = Knowledge(db)
        handler = {
            "add": _add,
            "ask": _ask,
            "articles": _articles,
            "article": _article,
            "remove": _remove,
            "upgrade": _upgrade,
        }[args.command]
        return await handler(knowledge, args, settings)


async def _add(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    if args.jsonl:
        return await _add_jsonl(knowledge, Path(args.jsonl))
    if not args.source:
        print("add: give a PATH, a URL, - (standard input) or --jsonl FILE", file=sys.stderr)
        return 2
    overrides = {
        "title": args.title,
        "source": args.source_name,
        "url": args.url,
        "published": args.published,
        "language": args.lang,
    }
    try:
        draft = await load_draft(args.source, overrides, settings)
        result = await knowledge.add(draft, added_by=f"cli:{os.environ.get('USER', 'local')}")
    except UserError as error:
        print(f"not added: {error}", file=sys.stderr)
        return 1
    article = result.article
    if result.created:
        print(
            f"added #{article.id}: {article.title} ({article.fact_count} facts, {article.language})"
        )
    else:
        print(f"already present as #{article.id}: {article.title}")
    return 0


async def load_draft(
    source: str, overrides: dict[str, str | None], settings: Settings
) -> ArticleDraft:
    """Read an article from a URL, standard input (``-``) or a file path."""
    if source.startswith(("http://", "https://")):
        policy = FetchPolicy(
            max_bytes=settings.fetch_max_bytes,
            timeout_seconds=settings.fetch_timeout,
            allow_private_addresses=settings.allow_private_urls,
        )
        return await from_url(source, policy, **overrides)
    if source == "-":
        return from_bytes(sys.stdin.buffer.read(), "stdin.txt", **overrides)
    path = Path(source)
    if not path.is_file():
        raise UserError(f"There is no file {source!r}.", key="no_file")
    if path.stat().st_size > settings.fetch_max_bytes:
        raise UserError(
            f"That file is too large: the limit is {settings.fetch_max_bytes // 1_000_000} MB.",
            key="file_too_large",
        )
    return from_bytes(path.read_bytes(), path.name, **overrides)


async def _add_jsonl(knowledge: Knowledge, path: Path) -> int:
    added = skipped = refused = 0
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        print(f"cannot read {path}: {error}", file=sys.stderr)
        return 1
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise UserError(
                    'each line needs a JSON object with a "text" string', key="bad_jsonl"
                )
            draft = from_text(
                item["text"],
                title=item.get("title"),
                source=item.get("source"),
                url=item.get("url"),
                published=item.get("published"),
                language=item.get("lang"),
            )
            result = await knowledge.add(draft, added_by="cli:jsonl")
        except (UserError, json.JSONDecodeError) as error:
            refused += 1
            print(f"line {number}: refused: {error}", file=sys.stderr)
            continue
        if result.created:
            added += 1
        else:
            skipped += 1
    print(f"{added} added, {skipped} skipped as duplicates, {refused} refused")
    return 0 if refused == 0 else 1


async def _ask(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    questions = (
        [args.question] if args.question is not None else [line.rstrip("\n") for line in sys.stdin]
    )
    empty_store = await article_store.count_articles(knowledge.db) == 0
    if outdated := len(await article_store.articles_read_alone(knowledge.db)):
        print(
            f"note: {_articles_count(outdated)} stored by an older version; answers about "
            "them improve once `newsbot upgrade` or the running bot has re-encoded them",
            file=sys.stderr,
        )
    status = 0
    for question in questions:
        try:
            answer = await knowledge.ask(question, top_k=max(1, args.top))
        except UserError as error:
            status = 1
            if args.json:
                print(
                    json.dumps(
                        {
                            "question": question,
                            "answered": False,
                            "error": str(error),
                            "answer": str(error),
                            "facts": [],
                        },
                        ensure_ascii=False,
                    )
                )
            else:
                print(str(error))
            continue
        text = render_plain(
            answer_reply(answer, empty_store=empty_store), isolate_runs=not args.json
        )
        if args.json:
            print(json.dumps(_answer_json(answer, text), ensure_ascii=False), flush=True)
        else:
            print(text + "\n", flush=True)
    return status


def _answer_json(answer: Answer, text: str) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answered": answer.answered,
        "answer": text,
        "facts": [
            {
                "text": found.fact.text,
                "sentence": found.fact.sentence,
                "article_id": found.article.id,
                "article_title": found.article.title,
                "score": round(found.score, 4),
            }
            for found in answer.facts
        ],
    }


async def _articles(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    stored = await article_store.list_articles(knowledge.db, limit=args.limit)
    if not stored:
        print("no articles stored")
    for article in stored:
        print(
            plain_block(article_line(article), settings.default_language)
            + f" [{article.language}, {article.fact_count} facts]"
        )
    return 0


async def _article(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    article = await article_store.get_article(knowledge.db, args.id)
    if article is None:
        print(f"there is no article #{args.id}", file=sys.stderr)
        return 1
    facts = await article_store.article_facts(knowledge.db, article.id)
    print(render_plain(article_reply(article, facts, settings.default_language)))
    return 0


async def _remove(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    if await knowledge.remove(args.id):
        print(f"removed #{args.id}")
        return 0
    print(f"there is no article #{args.id}", file=sys.stderr)
    return 1


async def _upgrade(knowledge: Knowledge, args: argparse.Namespace, settings: Settings) -> int:
    upgraded = await knowledge.upgrade_vectors()
    print(
        f"re-encoded the facts of {_articles_count(upgraded)}" if upgraded else "nothing to upgrade"
    )
    return 0


def _articles_count(count: int) -> str:
    return f"{count} article" if count == 1 else f"{count} articles"
