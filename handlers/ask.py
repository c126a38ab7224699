"""/ask, and plain text addressed to the bot: answer from the stored facts."""

from __future__ import annotations

from bot.context import Context
from bot.i18n import message
from bot.router import Router
from bot.types import Incoming, Reply
from handlers.compose import answer_reply
from news.errors import UserError
from storage.articles import count_articles

router = Router()


@router.command(
    "ask", help_key="help_ask", rate_limited=True, description="Ask about the stored news"
)
async def ask(msg: Incoming, ctx: Context) -> Reply:
    """Answer the question after the command (or the replied-to message's text)."""
    question = ctx.args or (msg.reply_text or "")
    if not question.strip():
        raise UserError(message("usage_ask", ctx.language), key="usage_ask")
    if await count_articles(ctx.db) == 0:
        return Reply.text(message("empty_store", ctx.language), language=ctx.language)
    answer = await ctx.knowledge.ask(question)
    return answer_reply(answer, ctx.language)


router.text(ask)
