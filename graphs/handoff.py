"""Live handoff to a person: what staff are told when a customer asks for one, and the interface a
staff tool (the Slack app) implements to hear about tickets.

The ticket itself lives in the database (memory.records.Ticket: requested -> taken -> returned |
resolved | timed_out | cancelled), so any replica can move it; the turn service owns the moves and
calls every registered notifier after each. A notifier that fails is logged and skipped: a staff
tool being down must never cost a customer their answer.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

from memory.records import Ticket
from memory.repository import Repository

log = logging.getLogger(__name__)


class SummaryLine(BaseModel):
    role: Literal["user", "assistant", "staff"]
    text: str


class HandoffSummary(BaseModel):
    """What a staff member needs before answering: who, in which language, wanting what, with which
    stated preferences, and the last lines of the conversation (all already redacted)."""

    ticket_id: str
    conversation_id: str
    customer_id: str
    channel: str
    language: Literal["ko", "en"]
    wants: str = Field(description="The customer's words when they asked for a person (the lines before give the why).")
    preferences: dict[str, Any] = Field(default_factory=dict)
    last_messages: list[SummaryLine] = Field(default_factory=list, description="Oldest first.")


class HandoffNotifier(Protocol):
    async def ticket_opened(self, summary: HandoffSummary) -> None:
        """A customer asked for a person."""
        ...

    async def ticket_changed(self, ticket: Ticket) -> None:
        """Any status change after opening (taken, returned, resolved, timed out, cancelled)."""
        ...

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        """A customer line (redacted) while the ticket is open: staff answer it."""
        ...


async def summarize(repository: Repository, ticket: Ticket, lines: int = 8) -> HandoffSummary:
    """The summary staff see, from the stored (redacted) transcript and preferences."""
    conversation = await repository.get_conversation(ticket.conversation_id)
    transcript = await repository.transcript(ticket.conversation_id, limit=2000)
    said = [SummaryLine(role=m.role, text=m.content) for m in transcript if m.content]
    wants = next((line.text for line in reversed(said) if line.role == "user"), "")
    preferences = await repository.preferences(ticket.customer_id)
    return HandoffSummary(
        ticket_id=ticket.id,
        conversation_id=ticket.conversation_id,
        customer_id=ticket.customer_id,
        channel=conversation.channel if conversation is not None else "api",
        language=ticket.language,
        wants=wants,
        preferences={k: v for k, v in preferences.to_dict().items() if v},
        last_messages=said[-lines:],
    )


class Notifiers:
    """Every registered staff tool, called one after the other, each bounded in time."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self._notifiers: list[HandoffNotifier] = []
        self._timeout_s = timeout_s

    def add(self, notifier: HandoffNotifier) -> None:
        self._notifiers.append(notifier)

    def __bool__(self) -> bool:
        return bool(self._notifiers)

    async def opened(self, summary: HandoffSummary) -> None:
        for notifier in self._notifiers:
            await self._call(notifier.ticket_opened(summary), notifier, summary.ticket_id)

    async def changed(self, ticket: Ticket) -> None:
        for notifier in self._notifiers:
            await self._call(notifier.ticket_changed(ticket), notifier, ticket.id)

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        for notifier in self._notifiers:
            await self._call(notifier.customer_message(ticket, text), notifier, ticket.id)

    async def _call(self, call: Any, notifier: HandoffNotifier, ticket_id: str) -> None:
        try:
            await asyncio.wait_for(call, self._timeout_s)
        except Exception as exc:
            log.warning("handoff notifier %s failed for ticket %s: %s", type(notifier).__name__, ticket_id, exc)
