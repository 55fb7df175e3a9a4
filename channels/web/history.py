"""The web chat's history (Chainlit's data layer) on the product's own database.

Server mode: Chainlit's official asyncpg `ChainlitDataLayer`, on the tables migration 0003 creates
in their own Postgres schema `chainlit`, through a bounded pool of its own. Embedded mode: the same
class and the same SQL on the embedded SQLite file (memory.sqlite3), with the few Postgres-only
words translated; so both modes run the code Chainlit maintains, and a reload or a restart finds
the customer's conversations in either.

Chainlit's "User" rows are keyed by the product customer's id and reference the customers table
with ON DELETE CASCADE: erasing a customer (`fragrance-ai customer delete`) erases their chat
history, threads, steps, elements and feedback with it, in the same transaction.

This history is what the browser shows; it is not the record. The turn service's transcript is.
Chainlit writes to it fire-and-forget, and actions (buttons) are not kept.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from chainlit.data.base import BaseDataLayer
from chainlit.data.chainlit_data_layer import ChainlitDataLayer
from chainlit.step import StepDict
from chainlit.types import Feedback

from core.settings import Settings
from graphs.guards import redact

SCHEMA = "chainlit"
_TIMESTAMPS = frozenset({"createdAt", "updatedAt", "startTime", "endTime", "deletedAt"})
_BOOLEANS = frozenset({"isError", "defaultOpen", "autoPlay"})
_PLACEHOLDER = re.compile(r"\$(\d+)")


def open_history(settings: Settings) -> BaseDataLayer:
    """The data layer for these settings; it connects on first use and is closed by `close()`."""
    if settings.database_url:
        return PostgresHistory(
            settings.database_url, pool_size=min(settings.database_pool_size, 5), timeout_s=settings.database_timeout_s
        )
    return SqliteHistory(settings.embedded_memory_dir / "memory.sqlite3", timeout_s=settings.database_timeout_s)


class RedactingHistory(ChainlitDataLayer):
    """Chainlit keeps what the customer typed on its own (the user message's step, the thread's name
    taken from the first message, a feedback comment), before the turn service has seen it: every
    such text is redacted here, the one door to both databases, so no e-mail address, phone or card
    number reaches a table raw."""

    async def create_step(self, step_dict: StepDict) -> Any:  # update_step writes through this too
        clean: dict[str, Any] = dict(step_dict)
        for field in ("input", "output", "name"):
            if isinstance(clean.get(field), str):
                clean[field] = redact(clean[field])
        return await super().create_step(clean)

    async def update_thread(
        self,
        thread_id: str,
        name: str | None = None,
        user_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
    ) -> Any:
        if metadata is not None and isinstance(metadata.get("name"), str):
            metadata = {**metadata, "name": redact(metadata["name"])}
        return await super().update_thread(
            thread_id, name=redact(name) if name else name, user_id=user_id, metadata=metadata, tags=tags
        )

    async def upsert_feedback(self, feedback: Feedback) -> str:
        if feedback.comment:
            feedback.comment = redact(feedback.comment)
        return await super().upsert_feedback(feedback)


class PostgresHistory(RedactingHistory):
    """The official layer with a bounded pool in schema `chainlit` (its default pool holds ten
    connections and uses the search path of whoever configured the role)."""

    def __init__(self, dsn: str, pool_size: int, timeout_s: float) -> None:
        super().__init__(database_url=dsn)
        self._pool_size = pool_size
        self._timeout_s = timeout_s
        self._connecting = asyncio.Lock()

    async def connect(self) -> None:
        async with self._connecting:  # fire-and-forget writes arrive together: one pool, not one each
            if self.pool is None:
                self.pool = await asyncpg.create_pool(
                    self.database_url,
                    min_size=1,
                    max_size=self._pool_size,
                    timeout=self._timeout_s,
                    command_timeout=self._timeout_s,
                    server_settings={"search_path": SCHEMA},
                )


class SqliteHistory(RedactingHistory):
    """The official layer's queries on SQLite: `$n` placeholders become `?n`, ILIKE and LEAST their
    SQLite words; values are stored as SQLite stores them (timestamps as ISO text, JSON as text)
    and read back as the Postgres driver would hand them over."""

    def __init__(self, path: Path, timeout_s: float) -> None:
        super().__init__(database_url=f"sqlite:///{path}")
        self.path = path
        self._timeout_s = timeout_s
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> None:
        if self._conn is None:
            conn = await aiosqlite.connect(self.path, timeout=self._timeout_s)
            await conn.execute("PRAGMA foreign_keys=ON")
            await conn.execute(f"PRAGMA busy_timeout={int(self._timeout_s * 1000)}")
            conn.row_factory = aiosqlite.Row
            self._conn = conn

    async def execute_query(self, query: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        async with self._lock:  # one connection: statements run one at a time, each committed
            await self.connect()
            assert self._conn is not None
            values = [_to_sqlite(value) for value in (params or {}).values()]
            async with self._conn.execute(_sqlite_sql(query), values) as cursor:
                rows = await cursor.fetchall()
            await self._conn.commit()
        return [_from_sqlite(dict(row)) for row in rows]

    async def get_favorite_steps(self, user_id: str) -> list[StepDict]:
        rows = await self.execute_query(
            'SELECT s.* FROM "Step" s JOIN "Thread" t ON s."threadId" = t.id '
            "WHERE t.\"userId\" = $1 AND json_extract(s.metadata, '$.favorite') = 1 "
            'ORDER BY s."createdAt" DESC',
            {"user_id": user_id},
        )
        return [self._convert_step_row_to_dict(row) for row in rows]

    async def cleanup(self) -> None:
        async with self._lock:
            if self._conn is not None:
                await self._conn.close()
                self._conn = None


def _sqlite_sql(query: str) -> str:
    query = _PLACEHOLDER.sub(r"?\1", query)
    return query.replace(" ILIKE ", " LIKE ").replace("LEAST(", "MIN(")


def _to_sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _from_sqlite(row: dict[str, Any]) -> dict[str, Any]:
    for column in _TIMESTAMPS & row.keys():
        if isinstance(row[column], str):
            row[column] = datetime.fromisoformat(row[column])
    for column in _BOOLEANS & row.keys():
        if row[column] is not None:
            row[column] = bool(row[column])
    return row
