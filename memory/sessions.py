"""Session memory: a short event log per conversation and a little working memory.

The event log lets a stream that drops reconnect with `Last-Event-ID` and receive what it missed:
each event gets the next id of its conversation, and only the last `size` events are kept, for
`ttl_s` after the last one. Working memory (`get`/`put`) holds small JSON documents with a TTL;
`claim` is "first caller wins" (Slack retries one event on any replica: de-duplicate on its id).

`RedisSessionMemory` is shared by every replica; `LocalSessionMemory` is its in-process twin for
the embedded mode. Values cross both as JSON, so the twin never hands out a shared mutable object.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import FragranceError

T = TypeVar("T")

# What "Redis does not answer" looks like from redis-py.
REDIS_DOWN: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError, OSError)


class SessionUnavailable(FragranceError):
    """Redis does not answer: the request fails with 503 rather than running without its lock or log."""


def redis_down(exc: BaseException) -> SessionUnavailable:
    """The sentence a person reads when Redis does not answer."""
    return SessionUnavailable(f"the session store (Redis) is not reachable: {exc or type(exc).__name__}")


async def guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Run one Redis call; a connection failure becomes SessionUnavailable."""
    try:
        return await call()
    except REDIS_DOWN as exc:
        raise redis_down(exc) from exc


class SessionMemory(Protocol):
    async def append(self, conversation_id: str, event: dict[str, Any]) -> int:
        """Store the event under the conversation's next id (from 1) and return that id."""
        ...

    async def after(self, conversation_id: str, last_id: int) -> list[tuple[int, dict[str, Any]]]:
        """The kept events with an id above `last_id`, oldest first."""
        ...

    async def forget(self, conversation_id: str) -> None:
        """Drop the conversation's events (customer deletion)."""
        ...

    async def get(self, key: str) -> dict[str, Any] | None: ...

    async def put(self, key: str, value: dict[str, Any], ttl_s: int | None = None) -> None:
        """Store `value` for `ttl_s` seconds (default: the session TTL)."""
        ...

    async def claim(self, key: str, ttl_s: int) -> bool:
        """True for the first caller within `ttl_s`, False for every later one."""
        ...


# Appends the event and trims the log in one step, so concurrent appenders never see a gap or
# a log longer than its bound. KEYS: log (sorted set, score = id), counter. ARGV: json, size, ttl.
_APPEND = """
local id = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], id, id .. ' ' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return id
"""


class RedisSessionMemory:
    """Session memory in Redis with plain commands (a sorted set per conversation, strings)."""

    def __init__(self, redis: Redis, *, size: int, ttl_s: int, prefix: str = "fragrance:") -> None:
        self._redis = redis
        self._size = size
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._append = redis.register_script(_APPEND)

    def _log(self, conversation_id: str) -> str:
        return f"{self._prefix}events:{conversation_id}"

    async def append(self, conversation_id: str, event: dict[str, Any]) -> int:
        log = self._log(conversation_id)
        data = _dumps(event)
        result = await guarded(lambda: self._append(keys=[log, f"{log}:id"], args=[data, self._size, self._ttl_s]))
        return int(result)

    async def after(self, conversation_id: str, last_id: int) -> list[tuple[int, dict[str, Any]]]:
        members = await guarded(lambda: self._redis.zrangebyscore(self._log(conversation_id), f"({last_id}", "+inf"))
        events = []
        for member in members:
            text = member.decode() if isinstance(member, bytes) else str(member)
            event_id, _, data = text.partition(" ")
            events.append((int(event_id), json.loads(data)))
        return events

    async def forget(self, conversation_id: str) -> None:
        log = self._log(conversation_id)
        await guarded(lambda: self._redis.delete(log, f"{log}:id"))

    async def get(self, key: str) -> dict[str, Any] | None:
        data = await guarded(lambda: self._redis.get(f"{self._prefix}kv:{key}"))
        return None if data is None else json.loads(data)

    async def put(self, key: str, value: dict[str, Any], ttl_s: int | None = None) -> None:
        data = _dumps(value)
        await guarded(lambda: self._redis.set(f"{self._prefix}kv:{key}", data, ex=ttl_s or self._ttl_s))

    async def claim(self, key: str, ttl_s: int) -> bool:
        won = await guarded(lambda: self._redis.set(f"{self._prefix}claim:{key}", "1", nx=True, ex=ttl_s))
        return bool(won)


@dataclass
class _Log:
    events: deque[tuple[int, str]]
    last_id: int = 0
    expires: float = field(default=0.0)


class LocalSessionMemory:
    """The in-process twin: the same contract in dictionaries, expired lazily (one process only)."""

    def __init__(self, *, size: int, ttl_s: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._size = size
        self._ttl_s = ttl_s
        self._clock = clock
        self._logs: dict[str, _Log] = {}
        self._values: dict[str, tuple[str, float]] = {}
        self._writes = 0

    async def append(self, conversation_id: str, event: dict[str, Any]) -> int:
        data = _dumps(event)
        log = self._live_log(conversation_id)
        if log is None:
            log = self._logs[conversation_id] = _Log(events=deque(maxlen=self._size))
        log.last_id += 1
        log.events.append((log.last_id, data))
        log.expires = self._clock() + self._ttl_s
        self._wrote()
        return log.last_id

    async def after(self, conversation_id: str, last_id: int) -> list[tuple[int, dict[str, Any]]]:
        log = self._live_log(conversation_id)
        if log is None:
            return []
        return [(event_id, json.loads(data)) for event_id, data in log.events if event_id > last_id]

    async def forget(self, conversation_id: str) -> None:
        self._logs.pop(conversation_id, None)

    async def get(self, key: str) -> dict[str, Any] | None:
        data = self._live_value(f"kv:{key}")
        return None if data is None else json.loads(data)

    async def put(self, key: str, value: dict[str, Any], ttl_s: int | None = None) -> None:
        self._values[f"kv:{key}"] = (_dumps(value), self._clock() + (ttl_s or self._ttl_s))
        self._wrote()

    async def claim(self, key: str, ttl_s: int) -> bool:
        if self._live_value(f"claim:{key}") is not None:
            return False
        self._values[f"claim:{key}"] = ("1", self._clock() + ttl_s)
        self._wrote()
        return True

    def _live_log(self, conversation_id: str) -> _Log | None:
        log = self._logs.get(conversation_id)
        if log is not None and log.expires <= self._clock():
            del self._logs[conversation_id]
            return None
        return log

    def _live_value(self, key: str) -> str | None:
        entry = self._values.get(key)
        if entry is not None and entry[1] <= self._clock():
            del self._values[key]
            return None
        return None if entry is None else entry[0]

    def _wrote(self) -> None:
        """Every 256 writes, drop what has expired, so idle conversations do not pile up."""
        self._writes += 1
        if self._writes % 256:
            return
        now = self._clock()
        self._logs = {key: log for key, log in self._logs.items() if log.expires > now}
        self._values = {key: entry for key, entry in self._values.items() if entry[1] > now}


def _dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
