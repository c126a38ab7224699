"""Persistence: one SQLite file reached through aiosqlite; all SQL of the project lives here."""
