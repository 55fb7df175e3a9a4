"""Slack's retries answered once, whichever replica they reach.

Slack re-sends an event it thinks was not acknowledged (X-Slack-Retry-Num), and a retry may land on
another replica. Bolt has no de-duplication of its own, so a global middleware claims each event id
in the shared session memory (`SET key NX EX` in Redis) before any listener runs: the first delivery
wins, every later one is acknowledged and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.response import BoltResponse

from memory.sessions import SessionMemory

log = logging.getLogger(__name__)

EVENT_CLAIM_TTL_S = 3600
"""Slack retries for about half an hour; an hour covers every retry of one event."""


def event_claim_key(event_id: str) -> str:
    return f"slack:event:{event_id[:64]}"


def drop_retries(sessions: SessionMemory, ttl_s: int = EVENT_CLAIM_TTL_S) -> Callable[..., Awaitable[Any]]:
    """A Bolt global middleware. Requests without an event id (commands, buttons) pass: Slack does not
    retry those. A store that is down fails the request (Slack retries later), rather than answering
    twice."""

    async def drop_retried_events(body: dict[str, Any], next: Callable[[], Awaitable[Any]]) -> Any:
        event_id = body.get("event_id") if isinstance(body, dict) else None
        repeated = isinstance(event_id, str) and event_id and not await sessions.claim(event_claim_key(event_id), ttl_s)
        if repeated:
            log.info("dropped a repeated delivery of Slack event %s", event_id)
            return BoltResponse(status=200, body="")
        return await next()

    return drop_retried_events
