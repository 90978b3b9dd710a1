"""Engine and session factory. Built by entry points from settings, never at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, Table, event, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from store.sealed import attach_data_key

# How long a SQLite writer waits for the lock. Shorter than an activity's start-to-close timeout
# (workflows/common.py, 10 s): a writer that waited the whole timeout had already been given up,
# and its retry queued behind the same lock (an Update answered after 25 s under load).
SQLITE_BUSY_TIMEOUT_MS = 5000
# Connections the pool keeps open. Past the default 5, every connection checked out beyond them
# was opened and closed again, an aiosqlite thread started and stopped with it: with the worker's
# 8 activities at once (a verification holds two), that was about one per registration. An idle
# connection costs a file handle and a parked thread.
SQLITE_POOL_SIZE = 20


def make_engine(url: str, data_key: str | None = None) -> AsyncEngine:
    """`data_key` (`Settings.data_key`) seals and opens the personal-data columns
    (`store.sealed`); an engine without it refuses to read or write them."""
    # No statement parameters in errors and logs: an IntegrityError would otherwise print the
    # row, name, phone and e-mail included, into the worker's log and the activity's failure.
    options: dict[str, Any] = {}
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        options["pool_size"] = SQLITE_POOL_SIZE
    engine = create_async_engine(url, hide_parameters=True, **options)
    if data_key:
        attach_data_key(engine.sync_engine.dialect, data_key)
    if engine.dialect.name == "sqlite":
        # Activities write concurrently: WAL lets readers run beside the writer, and the busy
        # timeout makes a writer wait for the lock instead of failing at once.
        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

    return engine


def insert_new(session: AsyncSession, table: Table | type[Any]) -> Insert:
    """INSERT that skips rows a unique key already holds (ON CONFLICT DO NOTHING, on SQLite and
    PostgreSQL alike): an idempotent write in one statement, where a SELECT first would cost a
    round trip and still race a concurrent attempt."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing()


def make_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
