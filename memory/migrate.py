"""Versioned schema migrations: plain SQL files applied by yoyo, then LangGraph's own tables.

One folder of SQL per dialect (migrations/postgres, migrations/sqlite); yoyo keeps the applied
versions in its table. Replicas may start together, so the whole step runs under one lock (a
Postgres advisory lock, or a file lock next to the SQLite files): LangGraph's
`AsyncPostgresSaver.setup()` fails when several processes run it at once on a fresh database.
yoyo is synchronous: it runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiosqlite
import asyncpg
import psycopg
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from yoyo import get_backend, read_migrations

from core.settings import Settings
from memory.postgres import SCHEMA, unreachable
from memory.repository import StoreUnavailable

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LANGGRAPH_SCHEMA = "langgraph"
# pg_advisory_lock key of the migration step: any fixed bigint, the same in every replica.
ADVISORY_LOCK_KEY = 0x66_72_61_67_6D_69_67  # "fragmig"


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What one run did: ids of the migrations it applied, and of those it found applied."""

    backend: Literal["postgres", "sqlite"]
    applied: tuple[str, ...]
    already: tuple[str, ...]


async def migrate(settings: Settings) -> MigrationReport:
    """Bring the product's tables and LangGraph's checkpoint tables up to date; safe to run from
    several processes at once. StoreUnavailable when the database does not answer."""
    if settings.database_url:
        return await _migrate_postgres(settings.database_url, settings.database_timeout_s)
    return await _migrate_sqlite(settings.embedded_memory_dir, settings.database_timeout_s)


# -- Postgres ------------------------------------------------------------------------------
async def _migrate_postgres(dsn: str, timeout_s: float) -> MigrationReport:
    try:
        conn = await asyncpg.connect(dsn, timeout=timeout_s)
    except (OSError, asyncpg.PostgresError) as exc:
        raise unreachable(exc) from exc
    try:
        await _advisory_lock(conn)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}; CREATE SCHEMA IF NOT EXISTS {LANGGRAPH_SCHEMA}")
            applied, already = await asyncio.to_thread(_apply, yoyo_url(dsn, timeout_s), MIGRATIONS / "postgres")
            await _setup_langgraph_postgres(dsn, timeout_s)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    except (OSError, asyncpg.PostgresConnectionError, psycopg.OperationalError) as exc:
        raise unreachable(exc) from exc
    finally:
        await conn.close()
    if applied:
        log.info("database migrations applied: %s", ", ".join(applied))
    return MigrationReport("postgres", applied, already)


async def _advisory_lock(conn: asyncpg.Connection) -> None:
    """Wait for the migration lock by polling, never inside one long `pg_advisory_lock()` call:
    a waiting statement holds a snapshot, and the holder's `CREATE INDEX CONCURRENTLY` (LangGraph's
    setup) waits for every older snapshot in the database, so blocking waiters deadlock it."""
    delay = 0.05
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_LOCK_KEY):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.5)


def yoyo_url(dsn: str, timeout_s: float) -> str:
    """The database URL as yoyo reads it: psycopg 3 (`postgresql+psycopg`), the product's schema."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"database_url must be a postgresql:// URL, not {parts.scheme}://")
    query = dict(parse_qsl(parts.query))
    query.setdefault("connect_timeout", str(max(1, round(timeout_s))))
    query["schema"] = SCHEMA
    return urlunsplit(parts._replace(scheme="postgresql+psycopg", query=urlencode(query)))


def langgraph_conninfo(dsn: str) -> str:
    """The psycopg conninfo LangGraph's saver uses: the same database, search_path=langgraph."""
    return psycopg.conninfo.make_conninfo(dsn, options=f"-csearch_path={LANGGRAPH_SCHEMA}")


async def _setup_langgraph_postgres(dsn: str, timeout_s: float) -> None:
    async with await psycopg.AsyncConnection.connect(
        langgraph_conninfo(dsn),
        autocommit=True,  # setup() creates indexes CONCURRENTLY
        prepare_threshold=0,
        row_factory=dict_row,
        connect_timeout=max(1, round(timeout_s)),
    ) as conn:
        await AsyncPostgresSaver(conn).setup()


# -- SQLite --------------------------------------------------------------------------------
async def _migrate_sqlite(home: Path, timeout_s: float) -> MigrationReport:
    try:
        lock_file = await asyncio.to_thread(_open_lock_file, home)
    except OSError as exc:
        raise StoreUnavailable(f"the database is not reachable: cannot write to {home}: {exc}") from exc
    try:
        await asyncio.to_thread(fcntl.flock, lock_file, fcntl.LOCK_EX)
        try:
            applied, already = await asyncio.to_thread(
                _apply, f"sqlite:///{home / 'memory.sqlite3'}", MIGRATIONS / "sqlite"
            )
            async with aiosqlite.connect(home / "conversations.sqlite3", timeout=timeout_s) as conn:
                await AsyncSqliteSaver(conn).setup()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the database is not reachable: {home}: {exc}") from exc
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    finally:
        lock_file.close()
    return MigrationReport("sqlite", applied, already)


def _open_lock_file(home: Path) -> BinaryIO:
    home.mkdir(parents=True, exist_ok=True)
    return (home / ".migrate.lock").open("a+b")


# -- yoyo, in a worker thread --------------------------------------------------------------
def _apply(url: str, folder: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Apply the folder's pending migrations; (applied ids, ids found applied)."""
    backend = get_backend(url)
    try:
        migrations = read_migrations(str(folder))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        applied = tuple(migration.id for migration in pending)
        return applied, tuple(migration.id for migration in migrations if migration.id not in applied)
    finally:
        backend.connection.close()
