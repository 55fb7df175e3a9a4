"""Real Postgres and Redis for the memory contract tests, each test session in its own namespace.

Postgres: a fresh database `fragrance_test_<random>` created through the `postgres` database and
dropped (WITH (FORCE)) at the end. Redis: keys under a random prefix, deleted at the end. When a
service is down the tests fail with a sentence saying how to start it; they never skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import asyncpg
import pytest
from redis.asyncio import Redis

from core.settings import Settings
from memory.backends import Memory, redis_client
from memory.events import EventBus, LocalEventBus, RedisEventBus
from memory.locks import ConversationLocks, LocalConversationLocks, RedisConversationLocks
from memory.postgres import PostgresRepository
from memory.repository import Repository
from memory.sessions import LocalSessionMemory, RedisSessionMemory, SessionMemory
from memory.sqlite import SqliteRepository

POSTGRES_ADMIN_DSN = os.environ.get("FRAGRANCE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("FRAGRANCE_TEST_REDIS", "redis://127.0.0.1:6379/0")
HOW_TO_START = "start it as .ci/run does"


def settings_for(
    home: Path, *, database_url: str | None = None, redis_url: str | None = None, **extra: Any
) -> Settings:
    """Explicit settings: neither the environment nor a .env file decides which stores a test uses."""
    values: dict[str, Any] = {
        "fragrance_home": home,
        "memory_dir": None,
        "database_url": database_url,
        "redis_url": redis_url,
        "database_timeout_s": 5.0,
        "turn_lock_wait_s": 1.0,
        "turn_lock_lease_s": 1.0,
        "event_log_size": 50,
        "migrate_on_start": True,
    }
    values.update(extra)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def dsn_with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@asynccontextmanager
async def fresh_database(admin_dsn: str = POSTGRES_ADMIN_DSN) -> AsyncIterator[str]:
    """A new, empty database for this test session; its DSN. Dropped on exit."""
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"Postgres is not reachable at {admin_dsn} ({exc}): {HOW_TO_START}", pytrace=False)
    name = f"fragrance_test_{uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield dsn_with_database(admin_dsn, name)
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def redis_namespace(url: str = REDIS_URL) -> AsyncIterator[tuple[Redis, str]]:
    """A client and a key prefix of this test session; every key under the prefix is deleted on exit."""
    client = redis_client(url)
    try:
        await client.ping()
    except Exception as exc:
        await client.aclose()
        pytest.fail(f"Redis is not reachable at {url} ({exc}): {HOW_TO_START}", pytrace=False)
    prefix = f"fragrance-test-{uuid4().hex[:12]}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@dataclass
class Backend:
    """One way of running the memory (embedded or server), opened once for the session, plus
    factories for stores with test-sized leases and bounds."""

    name: str
    settings: Settings
    memory: Memory
    redis: Redis | None = None
    prefix: str = "fragrance:"

    @property
    def server(self) -> bool:
        return self.name == "server"

    def locks(self, *, wait_s: float, lease_s: float = 1.0) -> ConversationLocks:
        if self.redis is None:
            return LocalConversationLocks(wait_s=wait_s)
        return RedisConversationLocks(self.redis, wait_s=wait_s, lease_s=lease_s, prefix=self.prefix)

    def sessions(self, *, size: int = 50, ttl_s: int = 600) -> SessionMemory:
        if self.redis is None:
            return LocalSessionMemory(size=size, ttl_s=ttl_s)
        return RedisSessionMemory(self.redis, size=size, ttl_s=ttl_s, prefix=self.prefix)

    def bus(self, redis: Redis | None = None) -> EventBus:
        if self.redis is None:
            return LocalEventBus()
        return RedisEventBus(redis or self.redis, prefix=self.prefix, poll_s=0.2, backoff_s=(0.05, 0.5))

    @asynccontextmanager
    async def other_repository(self) -> AsyncIterator[Repository]:
        """A second repository on the same database, as another process would open it."""
        repository: Repository
        if self.settings.database_url:
            repository = await PostgresRepository.open(self.settings.database_url, pool_size=4)
        else:
            repository = await SqliteRepository.open(self.settings.embedded_memory_dir / "memory.sqlite3")
        try:
            yield repository
        finally:
            await repository.close()

    @asynccontextmanager
    async def other_redis(self) -> AsyncIterator[Redis | None]:
        """A second Redis client (another replica), named so a test can find its connections; None embedded."""
        if self.redis is None:
            yield None
            return
        client = Redis.from_url(REDIS_URL, decode_responses=True, client_name=f"{self.prefix}peer".replace(":", "-"))
        try:
            yield client
        finally:
            await client.aclose()
