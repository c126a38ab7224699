"""Handlers, one router per module, combined here into the bot's router."""

from bot.router import Router
from handlers import articles, ask, start


def build_router() -> Router:
    """The router with every handler module's commands."""
    router = Router()
    for module in (start, ask, articles):
        router.include(module.router)
    return router
