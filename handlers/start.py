"""/start and /help: what the bot does, with the commands this user may use."""

from __future__ import annotations

from bot.context import Context
from bot.i18n import message
from bot.router import Command, Router, may_use
from bot.types import Incoming, Paragraph, Reply, Text

router = Router()


def help_lines(msg: Incoming, ctx: Context, commands: dict[str, object]) -> list[str]:
    """One line per command the sender may use, in the chat's language."""
    lines: list[str] = []
    for command in commands.values():
        if isinstance(command, Command) and command.help_key and may_use(command, msg):
            line = message(command.help_key, ctx.language)
            if line not in lines:
                lines.append(line)
    return lines


def _help_reply(msg: Incoming, ctx: Context, intro: str | None) -> Reply:
    commands = ctx.extras.get("commands", {})
    assert isinstance(commands, dict)
    blocks = []
    if intro:
        blocks.append(Paragraph((Text(intro),)))
    blocks.append(Paragraph((Text(message("help_header", ctx.language), "bold"),)))
    blocks.extend(Paragraph((Text(line),)) for line in help_lines(msg, ctx, commands))
    return Reply(tuple(blocks), language=ctx.language)


@router.command("start", help_key=None)
async def start(msg: Incoming, ctx: Context) -> Reply:
    """Greet and list the commands."""
    return _help_reply(msg, ctx, message("start", ctx.language))


@router.command("help", help_key="help_help")
async def help_command(msg: Incoming, ctx: Context) -> Reply:
    """List the commands this user may use."""
    return _help_reply(msg, ctx, None)
