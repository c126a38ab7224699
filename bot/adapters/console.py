"""The console adapter: chat with the bot on standard input and output, as a bot admin."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from datetime import UTC, datetime
from typing import TextIO

from bot.adapters.base import Adapter
from bot.bidi import isolate, language_direction
from bot.render import render_plain
from bot.router import Dispatcher
from bot.types import Conversation, Incoming, Reply, User

CONSOLE = Conversation(platform="console", chat_id="local", is_private=True)
LOCAL_USER = User(platform="console", id="local", name="you")


class ConsoleAdapter(Adapter):
    """Reads one message per line; commands start with /, anything else is a question."""

    platform = "console"

    def __init__(
        self,
        dispatcher: Dispatcher,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        prompt: bool | None = None,
    ) -> None:
        super().__init__(dispatcher)
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self.prompt = self.stdin.isatty() if prompt is None else prompt
        self._task: asyncio.Task[None] | None = None
        self._counter = 0

    async def start(self) -> None:
        """Greet and start reading lines."""
        self._write("newsbot console — ask a question, or /help. Ctrl-D or /quit to leave.\n")
        self._task = asyncio.create_task(self._loop(), name="console")

    async def stop(self) -> None:
        """Stop reading."""
        if self._task and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.stopped.set()

    async def send(self, conversation: Conversation, reply: Reply, *, skip: int = 0) -> list[str]:
        """Print a reply (digests delivered to the console); one message, so nothing to skip."""
        if skip:
            return []
        self._write(render_plain(reply) + "\n\n")
        self._counter += 1
        return [str(self._counter)]

    async def _loop(self) -> None:
        try:
            while True:
                if self.prompt:
                    self._write("> ")
                line = await asyncio.to_thread(self.stdin.readline)
                if not line or line.strip() in ("/quit", "/exit"):
                    break
                if not line.strip():
                    continue
                await self._handle(line.rstrip("\n"))
        finally:
            self.stopped.set()

    async def _handle(self, text: str) -> None:
        self._counter += 1
        msg = Incoming(
            conversation=CONSOLE,
            user=LOCAL_USER,
            text=text,
            message_id=str(self._counter),
            sent_at=datetime.now(UTC),
            is_admin=True,  # whoever runs the console owns the bot
            is_chat_admin=True,
        )
        reply = await self.dispatcher.handle(msg)
        if reply is not None:
            self._write(render_plain(reply) + "\n")
            # Buttons' data is "command:argument", so the console offers the same command.
            for button in reply.buttons:
                command, _, argument = button.data.partition(":")
                line = f"[{button.label}: /{command} {argument}]"
                self._write(f"  {isolate(line, language_direction(reply.language))}\n")
            self._write("\n")

    def _write(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()
