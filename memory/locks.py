"""One turn at a time per conversation: two writers on one LangGraph thread fork its checkpoints.

`RedisConversationLocks` serialises turns across replicas with redis-py's lock (SET NX PX plus
Lua). Its lease is short so a crashed replica frees the conversation soon; a watchdog extends it
while the turn runs. Each acquisition builds a new `Lock` object: redis-py keeps the token on the
object, and asyncio tasks sharing one object would share one token.
`LocalConversationLocks` is the in-process twin (one process only).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError

from core.errors import FragranceError
from memory.sessions import REDIS_DOWN, redis_down

log = logging.getLogger(__name__)

_RELEASE_FAILED: tuple[type[BaseException], ...] = (LockError, *REDIS_DOWN)


class ConversationBusy(FragranceError):
    """Another message of this conversation is still being answered (REST: 409)."""


def busy(conversation_id: str, wait_s: float) -> ConversationBusy:
    return ConversationBusy(
        f"conversation {conversation_id} is still answering an earlier message (waited {wait_s:g} s); "
        "send this one again in a moment"
    )


class ConversationLocks(Protocol):
    def hold(self, conversation_id: str, wait_s: float | None = None) -> AbstractAsyncContextManager[None]:
        """Hold the conversation for the body; ConversationBusy when not free within `wait_s`
        (default: the configured turn_lock_wait_s)."""
        ...


class RedisConversationLocks:
    """Conversation locks in Redis, leased for `lease_s` and renewed while held."""

    def __init__(
        self, redis: Redis, *, wait_s: float, lease_s: float, prefix: str = "fragrance:", poll_s: float = 0.05
    ) -> None:
        self._redis = redis
        self._wait_s = wait_s
        self._lease_s = lease_s
        self._prefix = prefix
        self._poll_s = poll_s

    @asynccontextmanager
    async def hold(self, conversation_id: str, wait_s: float | None = None) -> AsyncIterator[None]:
        wait = self._wait_s if wait_s is None else wait_s
        lock = Lock(
            self._redis,
            f"{self._prefix}lock:{conversation_id}",
            timeout=self._lease_s,
            sleep=self._poll_s,
            blocking=True,
            blocking_timeout=wait,
            thread_local=False,
        )
        try:
            acquired = await lock.acquire()
        except REDIS_DOWN as exc:
            raise redis_down(exc) from exc
        if not acquired:
            raise busy(conversation_id, wait)
        watchdog = asyncio.create_task(self._renew(lock, conversation_id), name=f"lease:{conversation_id}")
        try:
            yield
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            try:
                await lock.release()
            except LockNotOwnedError:
                log.warning("conversation %s: the lock's lease ran out during the turn", conversation_id)
            except _RELEASE_FAILED as exc:
                log.warning("conversation %s: the lock could not be released (%s); it expires", conversation_id, exc)

    async def _renew(self, lock: Lock, conversation_id: str) -> None:
        """Reset the lease to its full length every third of it, until cancelled."""
        while True:
            await asyncio.sleep(self._lease_s / 3)
            try:
                await lock.extend(self._lease_s, replace_ttl=True)
            except LockNotOwnedError:
                log.warning("conversation %s: the lock was lost before the turn ended", conversation_id)
                return
            except REDIS_DOWN as exc:
                log.warning("conversation %s: the lock's lease could not be extended: %s", conversation_id, exc)


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    """Holders plus waiters: the entry is dropped when it falls to zero."""


class LocalConversationLocks:
    """The in-process twin: one asyncio.Lock per conversation in use, dropped when unused."""

    def __init__(self, *, wait_s: float) -> None:
        self._wait_s = wait_s
        self._entries: dict[str, _Entry] = {}

    @asynccontextmanager
    async def hold(self, conversation_id: str, wait_s: float | None = None) -> AsyncIterator[None]:
        wait = self._wait_s if wait_s is None else wait_s
        entry = self._entries.setdefault(conversation_id, _Entry())
        entry.users += 1
        try:
            try:
                async with asyncio.timeout(wait):
                    await entry.lock.acquire()
            except TimeoutError:
                raise busy(conversation_id, wait) from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._entries[conversation_id]

    def __len__(self) -> int:
        """Conversations with a holder or a waiter (a test sees that unused locks are dropped)."""
        return len(self._entries)
