"""The delivery outbox: every digest message is written here before it is sent.

The unique key (subscription, period, part) makes a second copy impossible from our side. A
period's messages and the subscription's progress are written in one transaction, so a digest is
either fully queued or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from storage.db import Database, utc_now


@dataclass(frozen=True, slots=True)
class Delivery:
    """One queued message."""

    id: int
    subscription_id: int
    period: str
    part: int
    platform: str
    chat_id: str
    thread_id: str
    reply: str
    attempts: int
    # Of a message sent as several platform messages, those already accepted by an earlier
    # try (``record_partly_sent``); a retry sends only the rest.
    sent_ids: tuple[str, ...] = ()


def _delivery(row: aiosqlite.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        subscription_id=row["subscription_id"],
        period=row["period"],
        part=row["part"],
        platform=row["platform"],
        chat_id=row["chat_id"],
        thread_id=row["thread_id"],
        reply=row["reply"],
        attempts=row["attempts"],
        sent_ids=tuple(row["message_ids"].split(",")) if row["message_ids"] else (),
    )


async def enqueue_period(
    db: Database,
    *,
    subscription_id: int,
    period: str,
    platform: str,
    chat_id: str,
    thread_id: str,
    parts: list[str],
    last_article_id: int,
) -> bool:
    """Queue a period's messages and record the period as done, atomically.

    Returns False (and writes nothing) when the period was already recorded.
    """
    async with db.transaction() as connection:
        cursor = await connection.execute(
            "UPDATE subscriptions SET last_period = ?, last_article_id = MAX(last_article_id, ?) "
            "WHERE id = ? AND active = 1 AND (last_period IS NULL OR last_period != ?)",
            (period, last_article_id, subscription_id, period),
        )
        if cursor.rowcount == 0:
            return False
        now = utc_now()
        await connection.executemany(
            "INSERT OR IGNORE INTO deliveries (subscription_id, period, part, platform, chat_id, "
            "thread_id, reply, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (subscription_id, period, part, platform, chat_id, thread_id, reply, now)
                for part, reply in enumerate(parts)
            ],
        )
    return True


async def pending(db: Database, limit: int = 1000) -> list[Delivery]:
    """Unsent messages of active subscriptions, oldest first (parts in order)."""
    cursor = await db.connection.execute(
        "SELECT d.* FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id "
        "WHERE d.status = 'pending' AND s.active = 1 ORDER BY d.id LIMIT ?",
        (limit,),
    )
    return [_delivery(row) for row in await cursor.fetchall()]


async def mark_sent(db: Database, delivery_id: int, message_ids: list[str]) -> None:
    """Record that the platform accepted the message."""
    await db.connection.execute(
        "UPDATE deliveries SET status = 'sent', sent_at = ?, message_ids = ? WHERE id = ?",
        (utc_now(), ",".join(message_ids), delivery_id),
    )


async def record_partly_sent(db: Database, delivery_id: int, message_ids: list[str]) -> None:
    """Record which of a message's parts the platform accepted before a failure (still pending)."""
    await db.connection.execute(
        "UPDATE deliveries SET message_ids = ? WHERE id = ? AND status = 'pending'",
        (",".join(message_ids), delivery_id),
    )


async def record_failure(db: Database, delivery_id: int, error: str) -> None:
    """Count a failed attempt (the message stays pending)."""
    await db.connection.execute(
        "UPDATE deliveries SET attempts = attempts + 1, last_error = ? WHERE id = ?",
        (error[:500], delivery_id),
    )


async def count_by_status(db: Database) -> dict[str, int]:
    """How many outbox rows are in each status."""
    cursor = await db.connection.execute("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
    return {row[0]: row[1] for row in await cursor.fetchall()}


async def mark_failed(db: Database, delivery_id: int, error: str) -> None:
    """Give up on a message that kept failing (it stays in the outbox, marked failed)."""
    await db.connection.execute(
        "UPDATE deliveries SET status = 'failed', last_error = ? WHERE id = ?",
        (error[:500], delivery_id),
    )
