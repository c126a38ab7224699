"""Per-chat preferences (language, time zone) and store-wide markers."""

from __future__ import annotations

from typing import Literal

from storage.db import Database, utc_now

ChatSetting = Literal["language", "timezone"]


async def _get(db: Database, platform: str, chat_id: str, column: ChatSetting) -> str | None:
    # ``column`` is one of two fixed names (typed), never user text.
    cursor = await db.connection.execute(
        f"SELECT {column} FROM chats WHERE platform = ? AND chat_id = ?", (platform, chat_id)
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def _set(db: Database, platform: str, chat_id: str, column: ChatSetting, value: str) -> None:
    await db.connection.execute(
        f"INSERT INTO chats (platform, chat_id, {column}, updated_at) VALUES (?, ?, ?, ?) "
        f"ON CONFLICT (platform, chat_id) DO UPDATE SET {column} = excluded.{column}, "
        "updated_at = excluded.updated_at",
        (platform, chat_id, value, utc_now()),
    )


async def chat_language(db: Database, platform: str, chat_id: str) -> str | None:
    """The language set for a chat with /language, if any."""
    return await _get(db, platform, chat_id, "language")


async def set_chat_language(db: Database, platform: str, chat_id: str, language: str) -> None:
    """Remember a chat's language."""
    await _set(db, platform, chat_id, "language", language)


async def chat_timezone(db: Database, platform: str, chat_id: str) -> str | None:
    """The time zone set for a chat, if any."""
    return await _get(db, platform, chat_id, "timezone")


async def set_chat_timezone(db: Database, platform: str, chat_id: str, timezone: str) -> None:
    """Remember a chat's time zone (the default for its next subscriptions)."""
    await _set(db, platform, chat_id, "timezone", timezone)


async def get_meta(db: Database, key: str) -> str | None:
    """A store-wide marker."""
    cursor = await db.connection.execute("SELECT value FROM meta WHERE key = ?", (key,))
    row = await cursor.fetchone()
    return row[0] if row else None


async def set_meta(db: Database, key: str, value: str) -> None:
    """Set a store-wide marker."""
    await db.connection.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )
