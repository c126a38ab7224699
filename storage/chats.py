"""Per-chat preferences (language, time zone) and store-wide markers."""

from __future__ import annotations

from storage.db import Database, utc_now


async def chat_language(db: Database, platform: str, chat_id: str) -> str | None:
    """The language set for a chat with /language, if any."""
    cursor = await db.connection.execute(
        "SELECT language FROM chats WHERE platform = ? AND chat_id = ?", (platform, chat_id)
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def set_chat_language(db: Database, platform: str, chat_id: str, language: str) -> None:
    """Remember a chat's language."""
    await db.connection.execute(
        "INSERT INTO chats (platform, chat_id, language, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (platform, chat_id) DO UPDATE SET language = excluded.language, "
        "updated_at = excluded.updated_at",
        (platform, chat_id, language, utc_now()),
    )


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


async def chat_timezone(db: Database, platform: str, chat_id: str) -> str | None:
    """The time zone set for a chat, if any."""
    cursor = await db.connection.execute(
        "SELECT timezone FROM chats WHERE platform = ? AND chat_id = ?", (platform, chat_id)
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def set_chat_timezone(db: Database, platform: str, chat_id: str, timezone: str) -> None:
    """Remember a chat's time zone (the default for its next subscriptions)."""
    await db.connection.execute(
        "INSERT INTO chats (platform, chat_id, timezone, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (platform, chat_id) DO UPDATE SET timezone = excluded.timezone, "
        "updated_at = excluded.updated_at",
        (platform, chat_id, timezone, utc_now()),
    )
