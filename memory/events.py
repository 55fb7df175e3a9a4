"""Wake-ups between replicas: a publish/subscribe channel per conversation.

A staff reply or a streamed token may be produced on one replica while the customer's socket is
held by another. Delivery is at most once (Redis pub/sub): writers store first and publish second,
and a reader that sees `{"type": "reconnected"}` reconciles from storage (the session event log or
the transcript), because what was published while it was away is lost.

A subscription is an async iterator over a queue, so a reader may wait with
`asyncio.wait_for(anext(events), timeout)`: a cancelled wait loses nothing and ends nothing.
`RedisEventBus` reads in a task of its own and reconnects after Redis restarts, with backoff;
`LocalEventBus` fans out to the queues in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from memory.sessions import REDIS_DOWN, guarded

log = logging.getLogger(__name__)

RECONNECTED: dict[str, Any] = {"type": "reconnected"}


class EventBus(Protocol):
    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        """Deliver `payload` (JSON-able) to every current subscriber of the conversation, on any replica."""
        ...

    def subscribe(self, conversation_id: str) -> AbstractAsyncContextManager[AsyncIterator[dict[str, Any]]]:
        """Receive what is published on the conversation from the moment the context is entered."""
        ...


class Subscription:
    """The reader's side: events in arrival order; a full queue drops its oldest event (at most
    once, like Redis: a reader that stopped reading must not hold memory without bound)."""

    def __init__(self, size: int) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(size)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._queue.get()

    def put(self, event: dict[str, Any]) -> None:
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(event)


class RedisEventBus:
    """Pub/sub on channel `<prefix>bus:<conversation id>`, one connection per subscription."""

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "fragrance:",
        poll_s: float = 1.0,
        backoff_s: tuple[float, float] = (0.1, 5.0),
        queue_size: int = 1000,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._poll_s = poll_s
        self._backoff_s = backoff_s
        self._queue_size = queue_size

    def _channel(self, conversation_id: str) -> str:
        return f"{self._prefix}bus:{conversation_id}"

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False)
        await guarded(lambda: self._redis.publish(self._channel(conversation_id), data))

    @asynccontextmanager
    async def subscribe(self, conversation_id: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """SessionUnavailable when Redis does not answer at entry; later outages are reconnected."""
        channel = self._channel(conversation_id)
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await guarded(lambda: pubsub.subscribe(channel))
        except BaseException:
            with contextlib.suppress(*REDIS_DOWN):
                await pubsub.aclose()
            raise
        subscription = Subscription(self._queue_size)
        reader = asyncio.create_task(self._read(channel, pubsub, subscription), name=f"bus:{channel}")
        try:
            yield subscription
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader

    async def _read(self, channel: str, pubsub: PubSub, sink: Subscription) -> None:
        """Move messages into the queue until cancelled; a lost connection is replaced by a fresh
        subscription and marked with RECONNECTED."""
        current = [pubsub]  # the live subscription, closed however this task ends
        try:
            while True:
                try:
                    message = await current[0].get_message(ignore_subscribe_messages=True, timeout=self._poll_s)
                except REDIS_DOWN as exc:
                    log.warning("event bus: lost the subscription to %s (%s); reconnecting", channel, exc)
                    await self._resubscribe(channel, current)
                    sink.put(dict(RECONNECTED))
                    continue
                if message is None or message.get("type") != "message":
                    continue
                data = message["data"]
                try:
                    sink.put(json.loads(data.decode() if isinstance(data, bytes) else data))
                except ValueError:
                    log.warning("event bus: ignored a message on %s that is not JSON", channel)
        finally:
            with contextlib.suppress(*REDIS_DOWN):
                await current[0].aclose()

    async def _resubscribe(self, channel: str, current: list[PubSub]) -> None:
        """Replace current[0] by a fresh subscription, retried with exponential backoff."""
        with contextlib.suppress(*REDIS_DOWN):
            await current[0].aclose()
        delay, ceiling = self._backoff_s
        while True:
            current[0] = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await current[0].subscribe(channel)
                return
            except REDIS_DOWN as exc:
                with contextlib.suppress(*REDIS_DOWN):
                    await current[0].aclose()
                log.warning("event bus: Redis still unreachable (%s); next try in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, ceiling)


class LocalEventBus:
    """The in-process twin: every subscriber of the conversation gets its own copy of each event."""

    def __init__(self, *, queue_size: int = 1000) -> None:
        self._queue_size = queue_size
        self._subscribers: dict[str, set[Subscription]] = {}

    async def publish(self, conversation_id: str, payload: dict[str, Any]) -> None:
        data = json.dumps(payload, ensure_ascii=False)
        for subscription in self._subscribers.get(conversation_id, ()):
            subscription.put(json.loads(data))

    @asynccontextmanager
    async def subscribe(self, conversation_id: str) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        subscription = Subscription(self._queue_size)
        self._subscribers.setdefault(conversation_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers[conversation_id]
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[conversation_id]

    def __len__(self) -> int:
        """Conversations with a subscriber (a test sees that finished subscriptions are dropped)."""
        return len(self._subscribers)
