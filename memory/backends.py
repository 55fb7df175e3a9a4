"""Open every memory store once, the way the settings ask, and close them all on exit.

Postgres (database_url) and Redis (redis_url) may be set independently. Without Redis the locks,
session log, event bus and rate counters stay in this process: correct for one process only,
so a database without Redis logs a warning.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from redis.asyncio import Redis

from core.settings import Settings
from memory.checkpointer import open_checkpointer
from memory.events import EventBus, LocalEventBus, RedisEventBus
from memory.locks import ConversationLocks, LocalConversationLocks, RedisConversationLocks
from memory.migrate import migrate
from memory.postgres import PostgresRepository
from memory.ratelimit import RateLimiter
from memory.repository import Repository
from memory.sessions import LocalSessionMemory, RedisSessionMemory, SessionMemory, guarded
from memory.sqlite import SqliteRepository

log = logging.getLogger(__name__)

REDIS_SOCKET_TIMEOUT_S = 5.0
"""Connect and command timeout of Redis calls (pub/sub reads use their own shorter poll)."""
REDIS_HEALTH_CHECK_S = 30
"""A connection idle this long is pinged before use, so one cut by a restart is replaced."""


@dataclass
class Memory:
    """Every store of the long-term and session memory, opened once per process."""

    repository: Repository
    checkpointer: BaseCheckpointSaver[Any]
    locks: ConversationLocks
    sessions: SessionMemory
    bus: EventBus
    limiter: RateLimiter
    server: bool
    """True when a store is shared between processes (database_url or redis_url is set)."""


def redis_client(url: str) -> Redis:
    """A Redis client with bounded timeouts; text replies (every value stored is JSON text)."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=REDIS_SOCKET_TIMEOUT_S,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT_S,
        health_check_interval=REDIS_HEALTH_CHECK_S,
    )


@asynccontextmanager
async def open_memory(settings: Settings, *, prefix: str | None = None) -> AsyncIterator[Memory]:
    """Migrate first (when settings.migrate_on_start), then open the stores; `prefix` (default:
    settings.redis_key_prefix) namespaces every Redis key. StoreUnavailable / SessionUnavailable when
    a configured server does not answer."""
    prefix = prefix or settings.redis_key_prefix
    async with AsyncExitStack() as stack:
        if settings.migrate_on_start:
            await migrate(settings)
        repository: Repository
        if settings.database_url:
            repository = await PostgresRepository.open(
                settings.database_url, pool_size=settings.database_pool_size, timeout_s=settings.database_timeout_s
            )
        else:
            repository = await SqliteRepository.open(
                settings.embedded_memory_dir / "memory.sqlite3", timeout_s=settings.database_timeout_s
            )
        stack.push_async_callback(repository.close)
        checkpointer = await stack.enter_async_context(open_checkpointer(settings))

        locks: ConversationLocks
        sessions: SessionMemory
        bus: EventBus
        if settings.redis_url:
            redis = redis_client(settings.redis_url)
            stack.push_async_callback(redis.aclose)
            await guarded(redis.ping)  # fail at start-up, with a sentence, rather than at the first turn
            locks = RedisConversationLocks(
                redis, wait_s=settings.turn_lock_wait_s, lease_s=settings.turn_lock_lease_s, prefix=prefix
            )
            sessions = RedisSessionMemory(
                redis, size=settings.event_log_size, ttl_s=settings.session_ttl_s, prefix=prefix
            )
            bus = RedisEventBus(redis, prefix=prefix)
            limiter = RateLimiter.on_redis(settings.redis_url, redis, prefix=prefix)
        else:
            if settings.database_url:
                log.warning(
                    "database_url is set but redis_url is not: conversation locks, session events and rate "
                    "limits stay in this process, so run a single process (set REDIS_URL to scale out)"
                )
            locks = LocalConversationLocks(wait_s=settings.turn_lock_wait_s)
            sessions = LocalSessionMemory(size=settings.event_log_size, ttl_s=settings.session_ttl_s)
            bus = LocalEventBus()
            limiter = RateLimiter.in_memory()
        yield Memory(
            repository=repository,
            checkpointer=checkpointer,
            locks=locks,
            sessions=sessions,
            bus=bus,
            limiter=limiter,
            server=bool(settings.database_url or settings.redis_url),
        )
