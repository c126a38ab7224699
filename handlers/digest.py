"""/subscribe, /unsubscribe, /subscriptions and /digest; and how a digest reads.

Changing a chat's digests needs that chat's admin or a bot admin (checked by the router).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.context import Context
from bot.i18n import message
from bot.render import DISCORD_LIMIT, TELEGRAM_LIMIT, render_discord, render_telegram
from bot.router import Router
from bot.types import Block, Citation, Incoming, Paragraph, Quote, Reply, Text
from news import digest as digest_news
from news.errors import UserError
from news.schedule import (
    latest_period,
    looks_like_timezone,
    next_run,
    parse_schedule,
    parse_timezone,
    schedule_from_text,
)
from storage import subscriptions as subscription_store
from storage.articles import last_article_id
from storage.chats import chat_timezone, set_chat_timezone

router = Router()

# Each platform's renderer and limit, to split digests on article boundaries.
_RENDERERS: dict[str, tuple[Callable[[Reply, int], list[str]], int]] = {
    "telegram": (render_telegram, TELEGRAM_LIMIT),
    "discord": (render_discord, DISCORD_LIMIT),
}


def _thread(msg: Incoming) -> str:
    return msg.conversation.thread_id or ""


@router.command(
    "subscribe",
    permission="chat_admin",
    help_key="help_subscribe",
    description="Subscribe to digests",
)
async def subscribe(msg: Incoming, ctx: Context) -> Reply:
    """Subscribe this chat (or topic/thread) to digests, or resume a paused one."""
    words = ctx.args.split()
    schedule, rest = parse_schedule(words)
    zones = [word for word in rest if looks_like_timezone(word)]
    if len(zones) > 1:
        raise UserError(
            "Give one time zone, for example: /subscribe daily 08:00 Africa/Cairo",
            key="bad_timezone",
            value=" ".join(zones),
        )
    if zones:
        zone_name = str(parse_timezone(zones[0]))
        rest = [word for word in rest if word != zones[0]]
        await set_chat_timezone(
            ctx.db, msg.conversation.platform, msg.conversation.chat_id, zone_name
        )
    else:
        stored = await chat_timezone(ctx.db, msg.conversation.platform, msg.conversation.chat_id)
        zone_name = stored or "UTC"
    zone = ZoneInfo(zone_name)
    keywords = tuple(word for word in rest if word.strip())[:10]
    now = datetime.now(UTC)
    subscription, created = await subscription_store.subscribe(
        ctx.db,
        platform=msg.conversation.platform,
        chat_id=msg.conversation.chat_id,
        thread_id=_thread(msg),
        schedule=str(schedule),
        timezone=zone_name,
        keywords=keywords,
        language=ctx.language,
        created_by=msg.user.key,
        last_article_id=await last_article_id(ctx.db),
        # The first digest is the next scheduled run, covering articles added from now on.
        last_period=latest_period(schedule, zone, now).key,
    )
    await subscription_store.resume_chat(
        ctx.db, msg.conversation.platform, msg.conversation.chat_id, _thread(msg)
    )
    key = "subscribed" if created else "resubscribed"
    return Reply.text(
        message(
            key,
            ctx.language,
            id=subscription.id,
            schedule=subscription.schedule,
            timezone=zone_name,
            keywords=_keywords_text(keywords, ctx.language),
            next_run=_local(next_run(schedule, zone, now), zone),
        ),
        language=ctx.language,
    )


@router.command(
    "unsubscribe", permission="chat_admin", help_key="help_unsubscribe", description="Stop a digest"
)
async def unsubscribe(msg: Incoming, ctx: Context) -> Reply:
    """Stop one of this chat's digests (the only one, or the one named by its number)."""
    mine = await _chat_subscriptions(msg, ctx)
    if not mine:
        return Reply.text(message("no_subscriptions", ctx.language), language=ctx.language)
    wanted = ctx.args.strip().lstrip("#")
    if not wanted and len(mine) > 1:
        return _listing(mine, ctx, header_key="which_subscription")
    chosen = mine[0] if not wanted else None
    if wanted:
        chosen = next((s for s in mine if wanted.isdigit() and s.id == int(wanted)), None)
        if chosen is None:
            raise UserError(
                message("no_such_subscription", "en", id=wanted),
                key="no_such_subscription",
                id=wanted,
            )
    assert chosen is not None
    await subscription_store.unsubscribe(ctx.db, chosen.id)
    return Reply.text(message("unsubscribed", ctx.language, id=chosen.id), language=ctx.language)


@router.command("subscriptions", help_key="help_subscriptions", description="This chat's digests")
async def subscriptions(msg: Incoming, ctx: Context) -> Reply:
    """List this chat's digests with their next run time."""
    mine = await _chat_subscriptions(msg, ctx)
    if not mine:
        return Reply.text(message("no_subscriptions", ctx.language), language=ctx.language)
    return _listing(mine, ctx, header_key="subscriptions_header")


@router.command("digest", description="Preview the next digest")
async def preview(msg: Incoming, ctx: Context) -> Reply:
    """What the next digest would say now, without moving anything."""
    mine = await _chat_subscriptions(msg, ctx)
    after = min((s.last_article_id for s in mine), default=0)
    keywords: tuple[str, ...] = ()
    if len(mine) == 1:
        keywords = mine[0].keywords
    items = await digest_news.compose(ctx.knowledge, after, keywords)
    if not items:
        return Reply.text(message("digest_preview_none", ctx.language), language=ctx.language)
    return Reply(digest_blocks(items, ctx.language), language=ctx.language)


async def _chat_subscriptions(msg: Incoming, ctx: Context) -> list[subscription_store.Subscription]:
    return await subscription_store.chat_subscriptions(
        ctx.db, msg.conversation.platform, msg.conversation.chat_id, _thread(msg)
    )


def _listing(
    mine: list[subscription_store.Subscription], ctx: Context, *, header_key: str
) -> Reply:
    now = datetime.now(UTC)
    blocks: list[Block] = [Paragraph((Text(message(header_key, ctx.language), "bold"),))]
    for item in mine:
        zone = ZoneInfo(item.timezone)
        paused = (
            message("paused_suffix", ctx.language, reason=item.paused_reason or "?")
            if not item.active
            else ""
        )
        line = message(
            "subscription_line",
            ctx.language,
            id=item.id,
            schedule=item.schedule,
            timezone=item.timezone,
            keywords=_keywords_text(item.keywords, ctx.language),
            next_run=_local(next_run(schedule_from_text(item.schedule), zone, now), zone),
            paused=paused,
        )
        blocks.append(Paragraph((Text(line),)))
    return Reply(tuple(blocks), language=ctx.language)


def _keywords_text(keywords: tuple[str, ...], language: str) -> str:
    if not keywords:
        return ""
    return message("keywords_suffix", language, keywords=", ".join(keywords))


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


# --- how a digest reads ----------------------------------------------------------------------


def article_blocks(item: digest_news.DigestItem, language: str) -> tuple[Block, ...]:
    """One article of a digest: title, citation, key facts and how to read more."""
    article = item.article
    blocks: list[Block] = [
        Paragraph((Text(article.title, "bold", own_direction=True),)),
        Citation(article.title, article.source, article.published, article.url, article.id),
    ]
    blocks.extend(Quote(fact.text) for fact in item.facts)
    if not article.url:
        blocks.append(Paragraph((Text(message("digest_read_more", language, id=article.id)),)))
    return tuple(blocks)


def digest_blocks(items: list[digest_news.DigestItem], language: str) -> tuple[Block, ...]:
    """A whole digest as one reply's blocks (for previews and the console)."""
    header = Paragraph((Text(message("digest_header", language, count=len(items)), "bold"),))
    return (header, *(block for item in items for block in article_blocks(item, language)))


def digest_replies(
    items: list[digest_news.DigestItem], language: str, platform: str
) -> list[Reply]:
    """A digest as messages within the platform's limit, split between articles."""
    render, limit = _RENDERERS.get(platform, (render_telegram, TELEGRAM_LIMIT))
    header = Paragraph((Text(message("digest_header", language, count=len(items)), "bold"),))
    parts: list[list[Block]] = [[header]]
    for item in items:
        blocks = list(article_blocks(item, language))
        candidate = Reply(tuple(parts[-1] + blocks), language=language)
        if len(parts[-1]) > 1 and len(render(candidate, limit)) > 1:
            parts.append([])
        parts[-1].extend(blocks)
    return [Reply(tuple(blocks), language=language) for blocks in parts if blocks]
