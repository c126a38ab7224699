"""Handlers, one router per module, combined here into the bot's router."""

from bot.router import Router
from handlers import articles, ask, digest, start


def build_router() -> Router:
    """The router with every handler module's commands."""
    router = Router()
    for module in (start, ask, articles, digest):
        router.include(module.router)
    return router
