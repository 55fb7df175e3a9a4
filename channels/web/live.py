"""Messages that reach an open chat outside the customer's own turns: a staff member's reply, the
news that someone took the request or that nobody was free.

The turn service pushes them (service.watch, fed by the event bus from whichever replica produced
them). This replica follows each conversation that has a browser session here, one watch per
conversation however many tabs show it, and draws every pushed event in each of those sessions, as
if inside one of its handlers (channels/web/internals.py), so it is also saved in the chat history.
The last event id drawn is kept in the thread's metadata: a customer who comes back after the
session expired is given what was pushed meanwhile, and nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable

from channels.web import internals
from graphs.events import TurnEvent
from graphs.service import TurnService

log = logging.getLogger(__name__)

Show = Callable[[TurnEvent], Awaitable[None]]
"""Draws one pushed event in the current Chainlit session (called inside that session's context)."""

CHECK_EVERY_S = 30.0
RETRY_AFTER_S = 2.0
LAST_EVENT = "last_event_id"


class LiveThreads:
    def __init__(self, service: TurnService | None, show: Show, check_every_s: float = CHECK_EVERY_S) -> None:
        self.service = service
        self.show = show
        self.check_every_s = check_every_s
        self._watching: dict[str, asyncio.Task[None]] = {}

    def watching(self, conversation_id: str) -> bool:
        task = self._watching.get(conversation_id)
        return task is not None and not task.done()

    def follow(self, conversation_id: str, after: int | None) -> None:
        """Start following the conversation unless this replica already does (or has no service:
        no catalog yet, so no conversation either)."""
        if self.service is None or self.watching(conversation_id):
            return
        task = asyncio.create_task(self._follow(conversation_id, after), name=f"web-live-{conversation_id}")
        self._watching[conversation_id] = task
        task.add_done_callback(lambda done: self._forget(conversation_id, done))

    def _forget(self, conversation_id: str, task: asyncio.Task[None]) -> None:
        if self._watching.get(conversation_id) is task:
            del self._watching[conversation_id]

    async def _follow(self, conversation_id: str, after: int | None) -> None:
        """Follow while a session of this process has the thread (a closed tab's session lives on for
        Chainlit's session_timeout, so a reload finds what arrived meanwhile); a watch that fails (the
        bus went away) starts again from the last event drawn."""
        seen = after
        while internals.live_sessions(conversation_id):
            consumer = asyncio.create_task(self._consume(conversation_id, seen))
            while not consumer.done():
                await asyncio.wait({consumer}, timeout=self.check_every_s)
                if not consumer.done() and not internals.live_sessions(conversation_id):
                    consumer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                seen = await consumer
            await asyncio.sleep(RETRY_AFTER_S)

    async def _consume(self, conversation_id: str, after: int | None) -> int | None:
        seen = after
        assert self.service is not None
        try:
            async for event in self.service.watch(conversation_id, after=after):
                for session in internals.live_sessions(conversation_id):
                    try:
                        await internals.in_session(session, functools.partial(self.show, event))
                    except Exception:
                        log.exception("could not show a pushed event in web session %s", session.id)
                if event.id is not None:
                    seen = max(seen or 0, event.id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("following conversation %s stopped: %s", conversation_id, type(exc).__name__)
        return seen

    async def close(self) -> None:
        tasks = list(self._watching.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watching.clear()
