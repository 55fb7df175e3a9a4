"""Request rate limits per key (an API key, a client address), over the `limits` package.

A moving window: "60/minute" means at most 60 hits in any 60 seconds, with no burst at a window
edge. In server mode the counters live in Redis (Lua, plain commands) and every replica shares
them; embedded, they live in process memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from memory.sessions import REDIS_DOWN, redis_down


@dataclass(frozen=True, slots=True)
class RateDecision:
    allowed: bool
    retry_after_s: int
    """0 when allowed; else whole seconds until one more hit fits (HTTP Retry-After)."""
    remaining: int
    """Hits left in the window after this one."""


class RateLimiter:
    """`hit(key, rate)` counts one request and says whether it is within `rate`."""

    def __init__(self, storage: Storage) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._items: dict[str, RateLimitItem] = {}

    @classmethod
    def in_memory(cls) -> RateLimiter:
        return cls(MemoryStorage())

    @classmethod
    def on_redis(cls, url: str, redis: Redis, *, prefix: str = "fragrance:") -> RateLimiter:
        """Counters in Redis through the given client's connection pool (its timeouts apply)."""
        options: dict[str, Any] = {"connection_pool": redis.connection_pool}
        storage = RedisStorage("async+" + url, implementation="redispy", key_prefix=f"{prefix}limits", **options)
        return cls(storage)

    async def hit(self, key: str, rate: str) -> RateDecision:
        item = self._item(rate)
        try:
            allowed = await self._limiter.hit(item, key)
            reset_at, remaining = await self._limiter.get_window_stats(item, key)
        except REDIS_DOWN as exc:
            raise redis_down(exc) from exc
        retry_after = 0 if allowed else max(1, math.ceil(reset_at - time.time()))
        return RateDecision(allowed=allowed, retry_after_s=retry_after, remaining=remaining)

    async def peek(self, key: str, rate: str) -> RateDecision:
        """Whether one more hit would fit, without counting one: for limits that count only some
        outcomes (failed sign-ins) but must refuse before the work is done."""
        item = self._item(rate)
        try:
            allowed = await self._limiter.test(item, key)
            reset_at, remaining = await self._limiter.get_window_stats(item, key)
        except REDIS_DOWN as exc:
            raise redis_down(exc) from exc
        retry_after = 0 if allowed else max(1, math.ceil(reset_at - time.time()))
        return RateDecision(allowed=allowed, retry_after_s=retry_after, remaining=remaining)

    def _item(self, rate: str) -> RateLimitItem:
        item = self._items.get(rate)
        if item is None:
            try:
                item = parse(rate)
            except ValueError as exc:
                raise ValueError(
                    f"{rate!r} is not a rate limit: write a count per period, such as '60/minute' or '1000 per hour'"
                ) from exc
            self._items[rate] = item
        return item
