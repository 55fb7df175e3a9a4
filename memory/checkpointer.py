"""The LangGraph checkpointer: thread state between turns, in Postgres or in a SQLite file.

Postgres: `AsyncPostgresSaver` over a psycopg pool whose connections see only schema `langgraph`
(its tables have generic names such as `checkpoints`). Its tables are created by memory/migrate.py
under the migration lock, never here: `setup()` from several replicas at once fails.
SQLite: `AsyncSqliteSaver` on conversations.sqlite3 in settings.embedded_memory_dir (FRAGRANCE_HOME).

Both use a strict serializer: a checkpoint read back may only rebuild the types on LangGraph's
safe list (datetimes, langchain messages ...) plus those the compiled graph's state declares,
never an arbitrary class named in the stored bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.settings import Settings
from memory.migrate import langgraph_conninfo
from memory.repository import StoreUnavailable


def strict_serializer() -> JsonPlusSerializer:
    """LangGraph's serializer with the msgpack allow-list on (as LANGGRAPH_STRICT_MSGPACK=true does),
    and no pickle fallback."""
    return JsonPlusSerializer(allowed_msgpack_modules=None)


@asynccontextmanager
async def open_checkpointer(settings: Settings) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """The saver of this process, opened inside the running loop and closed on exit."""
    if settings.database_url:
        async with _postgres_saver(settings.database_url, settings) as saver:
            yield saver
        return
    path = settings.embedded_memory_dir / "conversations.sqlite3"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, timeout=settings.database_timeout_s)
    except OSError as exc:
        raise StoreUnavailable(f"the database is not reachable: cannot open {path}: {exc}") from exc
    try:
        sqlite_saver = AsyncSqliteSaver(conn, serde=strict_serializer())
        await sqlite_saver.setup()
        yield sqlite_saver
    finally:
        await conn.close()


@asynccontextmanager
async def _postgres_saver(dsn: str, settings: Settings) -> AsyncIterator[AsyncPostgresSaver]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo=langgraph_conninfo(dsn),
        min_size=1,
        max_size=settings.database_pool_size,
        open=False,
        timeout=settings.database_timeout_s,
        check=AsyncConnectionPool.check_connection,  # a connection cut by a restart is replaced, not used
        kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
    )
    try:
        await pool.open(wait=True, timeout=settings.database_timeout_s)
    except PoolTimeout as exc:
        await pool.close()
        raise StoreUnavailable(f"the database is not reachable: {exc}") from exc
    try:
        yield AsyncPostgresSaver(pool, serde=strict_serializer())
    finally:
        await pool.close()
