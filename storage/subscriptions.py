"""Digest subscriptions: the single source of truth for what is scheduled where."""

from __future__ import annotations

import json
from dataclasses import dataclass

import aiosqlite

from storage.db import Database, utc_now


@dataclass(frozen=True, slots=True)
class Subscription:
    """A chat's (or thread's) digest subscription."""

    id: int
    platform: str
    chat_id: str
    thread_id: str
    schedule: str
    timezone: str
    keywords: tuple[str, ...]
    language: str
    created_by: str | None
    created_at: str
    active: bool
    paused_reason: str | None
    admins_told: bool
    last_period: str | None
    last_article_id: int


def _subscription(row: aiosqlite.Row) -> Subscription:
    return Subscription(
        id=row["id"],
        platform=row["platform"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        schedule=row["schedule"],
        timezone=row["timezone"],
        keywords=tuple(json.loads(row["keywords"])),
        language=row["language"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        active=bool(row["active"]),
        paused_reason=row["paused_reason"],
        admins_told=bool(row["admins_told"]),
        last_period=row["last_period"],
        last_article_id=row["last_article_id"],
    )


async def subscribe(
    db: Database,
    *,
    platform: str,
    chat_id: str,
    thread_id: str,
    schedule: str,
    timezone: str,
    keywords: tuple[str, ...],
    language: str,
    created_by: str,
    last_article_id: int,
    last_period: str | None,
) -> tuple[Subscription, bool]:
    """Create a subscription, or resume (and update) the same one; returns it and whether new.

    Subscribing again where a subscription was paused by a failed send resumes it.
    """
    keywords_json = json.dumps(list(keywords), ensure_ascii=False)
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT id FROM subscriptions WHERE platform = ? AND chat_id = ? AND thread_id = ? "
            "AND schedule = ? AND keywords = ?",
            (platform, chat_id, thread_id, schedule, keywords_json),
        )
        existing = await cursor.fetchone()
        if existing:
            await connection.execute(
                "UPDATE subscriptions SET timezone = ?, language = ?, active = 1, "
                "paused_reason = NULL, admins_told = 0 WHERE id = ?",
                (timezone, language, existing[0]),
            )
            subscription_id, created = int(existing[0]), False
        else:
            cursor = await connection.execute(
                "INSERT INTO subscriptions (platform, chat_id, thread_id, schedule, timezone, "
                "keywords, language, created_by, created_at, last_article_id, last_period) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    platform,
                    chat_id,
                    thread_id,
                    schedule,
                    timezone,
                    keywords_json,
                    language,
                    created_by,
                    utc_now(),
                    last_article_id,
                    last_period,
                ),
            )
            assert cursor.lastrowid is not None
            subscription_id, created = cursor.lastrowid, True
    found = await get_subscription(db, subscription_id)
    assert found is not None
    return found, created


async def resume_chat(db: Database, platform: str, chat_id: str, thread_id: str) -> int:
    """Resume every paused subscription of a chat; returns how many."""
    cursor = await db.connection.execute(
        "UPDATE subscriptions SET active = 1, paused_reason = NULL, admins_told = 0 "
        "WHERE platform = ? AND chat_id = ? AND thread_id = ? AND active = 0",
        (platform, chat_id, thread_id),
    )
    return cursor.rowcount


async def get_subscription(db: Database, subscription_id: int) -> Subscription | None:
    """One subscription by id."""
    cursor = await db.connection.execute(
        "SELECT * FROM subscriptions WHERE id = ?", (subscription_id,)
    )
    row = await cursor.fetchone()
    return _subscription(row) if row else None


async def chat_subscriptions(
    db: Database, platform: str, chat_id: str, thread_id: str
) -> list[Subscription]:
    """A chat's (or thread's) subscriptions, oldest first."""
    cursor = await db.connection.execute(
        "SELECT * FROM subscriptions WHERE platform = ? AND chat_id = ? AND thread_id = ? "
        "ORDER BY id",
        (platform, chat_id, thread_id),
    )
    return [_subscription(row) for row in await cursor.fetchall()]


async def active_subscriptions(db: Database) -> list[Subscription]:
    """Every subscription that is not paused."""
    cursor = await db.connection.execute("SELECT * FROM subscriptions WHERE active = 1 ORDER BY id")
    return [_subscription(row) for row in await cursor.fetchall()]


async def unsubscribe(db: Database, subscription_id: int) -> bool:
    """Delete a subscription (and its outbox rows); False if there was none."""
    cursor = await db.connection.execute(
        "DELETE FROM subscriptions WHERE id = ?", (subscription_id,)
    )
    return cursor.rowcount > 0


async def pause(db: Database, subscription_id: int, reason: str) -> bool:
    """Pause after a permanent send failure; returns True if the admins were not told yet."""
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "SELECT admins_told FROM subscriptions WHERE id = ?", (subscription_id,)
        )
        row = await cursor.fetchone()
        if row is None:
            return False
        await connection.execute(
            "UPDATE subscriptions SET active = 0, paused_reason = ?, admins_told = 1 WHERE id = ?",
            (reason, subscription_id),
        )
        return not row[0]
