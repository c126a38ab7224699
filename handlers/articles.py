"""/add, /remove (bot admins), /articles, /article and /language."""

from __future__ import annotations

import re

from bot.context import Context
from bot.i18n import message
from bot.router import Router
from bot.types import Button, Incoming, Paragraph, Reply, Text
from handlers.compose import article_line, article_reply
from news.errors import UserError
from news.ingest import ArticleDraft, FetchPolicy, from_bytes, from_text, from_url
from storage import articles as article_store
from storage.chats import set_chat_language

router = Router()
PAGE_SIZE = 10
_URL = re.compile(r"^https?://\S+$")


@router.command(
    "add", permission="bot_admin", help_key="help_add", description="Add an article (admins)"
)
async def add(msg: Incoming, ctx: Context) -> Reply:
    """Add an article from an attached file, a URL, the text after /add or a replied-to message."""
    draft = await _draft(msg, ctx)
    result = await ctx.knowledge.add(draft, added_by=msg.user.key)
    article = result.article
    key = "added" if result.created else "already_present"
    return Reply.text(
        message(key, ctx.language, id=article.id, title=article.title, facts=article.fact_count),
        language=ctx.language,
    )


async def _draft(msg: Incoming, ctx: Context) -> ArticleDraft:
    if msg.attachments:
        attachment = msg.attachments[0]
        if attachment.size > ctx.settings.fetch_max_bytes:
            raise UserError(
                "That file is too large: the limit is "
                f"{ctx.settings.fetch_max_bytes // 1_000_000} MB.",
                key="file_too_large",
            )
        if not attachment.filename.lower().endswith((".txt", ".md", ".markdown", ".html", ".htm")):
            raise UserError("Send the article as a .txt, .md or .html file.", key="bad_file_type")
        data = await ctx.fetch_file(attachment)
        return from_bytes(data, attachment.filename)
    text = ctx.args.strip()
    if _URL.match(text):
        policy = FetchPolicy(
            max_bytes=ctx.settings.fetch_max_bytes,
            timeout_seconds=ctx.settings.fetch_timeout,
            allow_private_addresses=ctx.settings.allow_private_urls,
        )
        return await from_url(text, policy)
    if text:
        return from_text(text)
    if msg.reply_text and msg.reply_text.strip():
        return from_text(msg.reply_text)
    raise UserError(message("usage_add", ctx.language), key="usage_add")


@router.command(
    "remove",
    permission="bot_admin",
    help_key="help_remove",
    description="Remove an article (admins)",
)
async def remove(msg: Incoming, ctx: Context) -> Reply:
    """Remove an article by id."""
    article_id = _article_id(ctx.args, "usage_remove", ctx.language)
    if not await ctx.knowledge.remove(article_id):
        raise UserError(
            message("no_such_article", "en", id=article_id), key="no_such_article", id=article_id
        )
    return Reply.text(message("removed", ctx.language, id=article_id), language=ctx.language)


@router.command("articles", help_key="help_articles", description="Recent articles")
async def articles(msg: Incoming, ctx: Context) -> Reply:
    """Recent articles, one page at a time, with buttons for the next and previous pages."""
    page = int(ctx.args) if ctx.args.strip().isdigit() else 1
    return await articles_page(ctx, max(1, page))


@router.callback("articles")
async def articles_button(msg: Incoming, ctx: Context) -> Reply:
    """A page button of /articles."""
    return await articles_page(ctx, int(ctx.args) if ctx.args.isdigit() else 1)


async def articles_page(ctx: Context, page: int) -> Reply:
    """Page ``page`` of the article list."""
    total = await article_store.count_articles(ctx.db)
    if total == 0:
        return Reply.text(message("no_articles", ctx.language), language=ctx.language)
    pages = (total + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(page, pages)
    stored = await article_store.list_articles(
        ctx.db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    first = (page - 1) * PAGE_SIZE + 1
    header = message(
        "articles_header", ctx.language, first=first, last=first + len(stored) - 1, total=total
    )
    buttons = []
    if page > 1:
        buttons.append(Button("◀", f"articles:{page - 1}"))
    if page < pages:
        buttons.append(Button("▶", f"articles:{page + 1}"))
    blocks = (Paragraph((Text(header, "bold"),)), *(article_line(a) for a in stored))
    return Reply(blocks, language=ctx.language, buttons=tuple(buttons))


@router.command("article", help_key="help_articles", description="One article's key facts")
async def article(msg: Incoming, ctx: Context) -> Reply:
    """One article's title, source, date and key facts."""
    return await show_article(ctx, _article_id(ctx.args, "usage_article", ctx.language))


@router.callback("article")
async def article_button(msg: Incoming, ctx: Context) -> Reply:
    """The "more from this article" button of an answer."""
    return await show_article(ctx, _article_id(ctx.args, "usage_article", ctx.language))


async def show_article(ctx: Context, article_id: int) -> Reply:
    """The reply describing one article."""
    found = await article_store.get_article(ctx.db, article_id)
    if found is None:
        raise UserError(
            message("no_such_article", "en", id=article_id), key="no_such_article", id=article_id
        )
    facts = await article_store.article_facts(ctx.db, article_id)
    return article_reply(found, facts, ctx.language)


@router.command(
    "language",
    permission="chat_admin",
    help_key="help_language",
    description="Set this chat's language",
)
async def language(msg: Incoming, ctx: Context) -> Reply:
    """Set the chat's language (ar or en)."""
    chosen = ctx.args.strip().lower()
    if chosen not in ("ar", "en"):
        raise UserError(message("usage_language", "en"), key="usage_language")
    await set_chat_language(ctx.db, msg.conversation.platform, msg.conversation.chat_id, chosen)
    return Reply.text(message("language_set", chosen), language=chosen)


def _article_id(text: str, usage_key: str, language: str) -> int:
    cleaned = text.strip().lstrip("#")
    if not cleaned.isdigit() or len(cleaned) > 12:
        raise UserError(message(usage_key, "en"), key=usage_key)
    return int(cleaned)
