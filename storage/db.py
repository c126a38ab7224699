"""Open the SQLite file, set its PRAGMAs and bring its schema up to date by numbered migrations."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import aiosqlite

log = logging.getLogger(__name__)

# Each migration is applied once, in order, inside one transaction with its version row.
MIGRATIONS: list[str] = [
    # 1: articles, their sentences and facts, the keyword index and the vectors.
    """
    CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        title TEXT NOT NULL,
        source TEXT,
        url TEXT,
        language TEXT NOT NULL,
        published TEXT,
        added_by TEXT,
        added_at TEXT NOT NULL,
        content_hash TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        key_entities TEXT NOT NULL DEFAULT '[]',
        vocabulary TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX articles_added_at ON articles(added_at);
    CREATE TABLE sentences (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        UNIQUE (article_id, position)
    );
    CREATE TABLE facts (
        id INTEGER PRIMARY KEY,
        article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        sentence_id INTEGER NOT NULL REFERENCES sentences(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        text TEXT NOT NULL,
        is_sentence INTEGER NOT NULL,
        language TEXT NOT NULL,
        kind TEXT NOT NULL,
        entities TEXT NOT NULL DEFAULT '[]',
        numbers TEXT NOT NULL DEFAULT '[]',
        dates TEXT NOT NULL DEFAULT '[]',
        speaker TEXT,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL
    );
    CREATE INDEX facts_article ON facts(article_id);
    CREATE INDEX facts_sentence ON facts(sentence_id);
    CREATE VIRTUAL TABLE facts_fts USING fts5(
        terms, context, tokenize = 'unicode61 remove_diacritics 2'
    );
    CREATE TABLE fact_vectors (
        fact_id INTEGER PRIMARY KEY REFERENCES facts(id) ON DELETE CASCADE,
        use_vector BLOB NOT NULL,
        e5_vector BLOB NOT NULL
    );
    CREATE TABLE terms (
        id INTEGER PRIMARY KEY,
        word TEXT NOT NULL UNIQUE,
        stem TEXT NOT NULL,
        is_arabic INTEGER NOT NULL,
        use_vector BLOB NOT NULL,
        articles INTEGER NOT NULL DEFAULT 0
    );
    """,
    # 2: per-chat preferences and small key-value facts about the store itself.
    """
    CREATE TABLE chats (
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        language TEXT,
        timezone TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (platform, chat_id)
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
    # 3: digest subscriptions (the single source of truth for schedules) and the delivery outbox.
    """
    CREATE TABLE subscriptions (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        thread_id TEXT NOT NULL DEFAULT '',
        schedule TEXT NOT NULL,
        timezone TEXT NOT NULL,
        keywords TEXT NOT NULL DEFAULT '[]',
        language TEXT NOT NULL,
        created_by TEXT,
        created_at TEXT NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        paused_reason TEXT,
        admins_told INTEGER NOT NULL DEFAULT 0,
        last_period TEXT,
        last_article_id INTEGER NOT NULL DEFAULT 0,
        UNIQUE (platform, chat_id, thread_id, schedule, keywords)
    );
    CREATE INDEX subscriptions_chat ON subscriptions(platform, chat_id, thread_id);
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        subscription_id INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
        period TEXT NOT NULL,
        part INTEGER NOT NULL,
        platform TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        thread_id TEXT NOT NULL DEFAULT '',
        reply TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        message_ids TEXT,
        created_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (subscription_id, period, part)
    );
    CREATE INDEX deliveries_pending ON deliveries(status, id);
    """,
    # 4: facts are now encoded as read alone and after their article's title
    # (``news.embed.Encoders.passages``); a store written before is marked for one re-encoding.
    """
    INSERT INTO meta (key, value)
    SELECT 'fact_vectors_outdated', '1' WHERE EXISTS (SELECT 1 FROM facts);
    """,
    # 5: which reading each article's fact vectors hold (``storage.articles.ALONE_READING`` or
    # ``TITLED_READING``), so a store is upgraded one article at a time while the bot serves,
    # and a stop part-way keeps what was done. Replaces migration 4's one mark for the store.
    """
    ALTER TABLE articles ADD COLUMN fact_reading INTEGER NOT NULL DEFAULT 2;
    UPDATE articles SET fact_reading = 1
    WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'fact_vectors_outdated');
    DELETE FROM meta WHERE key = 'fact_vectors_outdated';
    """,
]


class Database:
    """An open SQLite store; use as ``async with Database(path) as db``."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._connection: aiosqlite.Connection | None = None
        # One transaction at a time on the one connection: a BEGIN while another coroutine's
        # transaction is open fails ("cannot start a transaction within a transaction"), so a
        # subscription saved while an article was being stored, say, was refused.
        self._transaction_lock = asyncio.Lock()

    @property
    def connection(self) -> aiosqlite.Connection:
        """The open connection; raises if the database is not open."""
        if self._connection is None:
            raise RuntimeError("database is not open")
        return self._connection

    async def open(self) -> Database:
        """Connect, set PRAGMAs and apply pending migrations."""
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (see ``transaction``), never implicit.
        self._connection = await aiosqlite.connect(self.path, isolation_level=None)
        self._connection.row_factory = aiosqlite.Row
        await self._connection.execute("PRAGMA journal_mode = WAL")
        await self._connection.execute("PRAGMA synchronous = NORMAL")
        await self._connection.execute("PRAGMA foreign_keys = ON")
        await self._connection.execute("PRAGMA busy_timeout = 5000")
        await self._migrate()
        return self

    async def close(self) -> None:
        """Close the connection if open."""
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    async def __aenter__(self) -> Database:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run the block as one IMMEDIATE transaction: all of it is written, or none of it."""
        async with self._transaction_lock:
            connection = self.connection
            await connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                await connection.execute("ROLLBACK")
                raise
            await connection.execute("COMMIT")

    async def data_version(self) -> int:
        """A number that changes when another connection (another process) commits a write.

        This connection's own writes leave it as it is (SQLite's ``PRAGMA data_version``).
        """
        cursor = await self.connection.execute("PRAGMA data_version")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def schema_version(self) -> int:
        """The number of the last applied migration."""
        cursor = await self.connection.execute("SELECT MAX(version) FROM schema_migrations")
        row = await cursor.fetchone()
        return int(row[0] or 0) if row else 0

    async def _migrate(self) -> None:
        await self.connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        current = await self.schema_version()
        for version, script in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            log.info("applying migration %d to %s", version, self.path)
            async with self.transaction() as connection:
                for statement in _statements(script):
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                    (version, utc_now()),
                )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no migration contains ';' inside a literal)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def utc_now() -> str:
    """The current time as a UTC ISO-8601 string, as every timestamp is stored."""
    return datetime.now(UTC).isoformat(timespec="seconds")
