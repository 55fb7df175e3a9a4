"""The turn service: the one way any channel runs a turn of the conversation.

A channel hands it an `Inbound` message and reads back typed events (graphs/events.py); it never
sees the graph, its nodes or its state. The service owns what every channel would otherwise
copy: cleaning, limits and redaction before anything is stored; the per-conversation lock
(turns of one conversation run one at a time, across replicas); idempotency (a retried message
id replays its answer instead of running a second turn); the customer's long-term preferences
going in and coming out; the redacted transcript; the handoff policy; and a failed turn leaving
the conversation exactly as it was.

A turn runs as a task of its own, so a client that disconnects does not cut it short: its
events go to the conversation's event log (ids for SSE `Last-Event-ID`) and the event bus
(other replicas) as well as to the stream that asked for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from langgraph.types import Command

from agents.language import reply_language
from core.errors import FragranceError
from core.settings import Settings
from graphs.events import (
    Error,
    Formula,
    FormulaCard,
    HandoffRequested,
    Notice,
    PerfumeCard,
    Perfumes,
    Refused,
    Reply,
    StaffMessage,
    Token,
    ToolFinished,
    ToolStarted,
    TurnEvent,
    event_from_dict,
    is_final,
)
from graphs.handoff import HandoffNotifier, Notifiers, summarize
from graphs.inbound import Inbound, Language, MessageRejected, clean_text
from graphs.state import Context
from memory.backends import Memory
from memory.events import RECONNECTED
from memory.locks import ConversationBusy
from memory.records import OPEN_TICKET_STATUSES, Preferences, Ticket, Turn
from memory.repository import StoreUnavailable
from memory.sessions import SessionUnavailable
from prompts import render

log = logging.getLogger(__name__)

_UNAVAILABLE = (StoreUnavailable, SessionUnavailable, OSError, ConnectionError, TimeoutError)


class NoOpenTicket(FragranceError):
    """A staff message or hand-back for a conversation nobody asked a person into."""


class UnknownConversation(FragranceError):
    """No such conversation (or not one the caller may see)."""


_NEW_CONVERSATIONS = uuid.uuid5(uuid.NAMESPACE_URL, "fragrance-ai:new-conversation")


def _new_conversation_id(customer_id: str, message_id: str) -> str:
    """The id of a conversation this message starts: the same for a retry of the same message, whose
    client lost the answer and so never learnt the thread id (any replica then replays the answer
    instead of starting a second conversation), unpredictable for a fresh random message id."""
    return uuid.uuid5(_NEW_CONVERSATIONS, f"{customer_id}\n{message_id}").hex


def _language(text: str, hint: Language | None) -> Language:
    """The channel's hint, else the message's own language ("budget 10만원 or so" is English)."""
    return hint or ("ko" if reply_language(text) == "ko" else "en")


def _title(text: str, limit: int = 60) -> str:
    """A conversation's title for lists: its first message, on one line, cut at a word."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit].rsplit(" ", 1)[0] + "…"


def _is_unavailable(exc: BaseException) -> bool:
    """A store that did not answer, however deep the driver wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, _UNAVAILABLE) or type(seen).__module__.startswith(("psycopg", "asyncpg", "redis")):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class TurnStream:
    """The events of one turn, as an async iterator that ends after the turn's final event."""

    def __init__(self, conversation_id: str, message_id: str, language: Language) -> None:
        self.conversation_id = conversation_id
        self.message_id = message_id
        self.language = language
        self._queue: asyncio.Queue[TurnEvent | None] = asyncio.Queue()

    @classmethod
    def of(cls, conversation_id: str, message_id: str, language: Language, events: list[TurnEvent]) -> TurnStream:
        """A stream whose events are already known (a replay, a refusal)."""
        stream = cls(conversation_id, message_id, language)
        for event in events:
            stream.put(event)
        stream.close()
        return stream

    def put(self, event: TurnEvent) -> None:
        self._queue.put_nowait(event)

    def close(self) -> None:
        self._queue.put_nowait(None)

    def __aiter__(self) -> AsyncIterator[TurnEvent]:
        return self._events()

    async def _events(self) -> AsyncIterator[TurnEvent]:
        while (event := await self._queue.get()) is not None:
            yield event

    async def collect(self) -> list[TurnEvent]:
        return [event async for event in self]


@dataclass
class _Turn:
    """What one running turn knows about itself."""

    inbound: Inbound
    conversation_id: str
    language: Language
    stream: TurnStream
    exits: AsyncExitStack


class TurnService:
    def __init__(self, graph: Any, context: Context, memory: Memory, settings: Settings) -> None:
        self.graph = graph
        self.context = context
        self.memory = memory
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self.notifiers = Notifiers()

    def add_notifier(self, notifier: HandoffNotifier) -> None:
        """A staff tool (the Slack app) that hears about tickets and the customer's lines to staff."""
        self.notifiers.add(notifier)

    # -- starting a turn ---------------------------------------------------------------------
    async def start(self, inbound: Inbound, last_event_id: int | None = None) -> TurnStream:
        """Begin a turn and return its events. Raises before any event when the turn cannot start:
        ConversationBusy (another turn holds the conversation past the wait), ConversationForbidden
        (another customer's conversation), StoreUnavailable / SessionUnavailable (a store is down).
        A refused message (too long, empty) is a stream with one Refused event: nothing is stored."""
        conversation_id = inbound.conversation_id or _new_conversation_id(inbound.customer_id, inbound.message_id)
        language = _language(inbound.text, inbound.language)
        try:
            text = clean_text(inbound.text, self.settings.max_message_chars)
        except MessageRejected as exc:
            words = {"length": len(inbound.text), "limit": self.settings.max_message_chars}
            refused = Refused(
                reason=exc.reason,
                text=render("service", language, exc.reason, **words),
                language=language,
                thread_id=conversation_id,
                message_id=inbound.message_id,
            )
            return TurnStream.of(conversation_id, inbound.message_id, language, [refused])
        # One customer, one rate, whichever channel the messages come through (web, REST, Slack).
        decision = await self.memory.limiter.hit(f"customer:{inbound.customer_id}", self.settings.customer_rate_limit)
        if not decision.allowed:
            refused = Refused(
                reason="too_many",
                text=render("service", language, "too_many", seconds=decision.retry_after_s),
                language=language,
                retry_after_s=decision.retry_after_s,
                thread_id=conversation_id,
                message_id=inbound.message_id,
            )
            return TurnStream.of(conversation_id, inbound.message_id, language, [refused])
        # Redacted before anything else sees it: the lock's owner, the title, the log, the checkpoint.
        redacted, blocked = await self.context.guards.check_input(text)
        exits = AsyncExitStack()
        try:
            await exits.enter_async_context(self.memory.locks.hold(conversation_id, self.settings.turn_lock_wait_s))
        except ConversationBusy:
            if last_event_id is not None or await self._running(conversation_id, inbound.message_id):
                return await self._follow(conversation_id, inbound.message_id, language, last_event_id)
            raise
        try:
            await self.memory.repository.open_conversation(
                conversation_id, inbound.customer_id, inbound.channel, title=_title(redacted)
            )
            done = await self.memory.repository.find_turn(conversation_id, inbound.message_id)
            if done is not None:
                await exits.aclose()
                return await self._replay(conversation_id, done, language, last_event_id)
            await self.memory.sessions.put(self._running_key(conversation_id, inbound.message_id), {"at": time.time()})
        except BaseException:
            await exits.aclose()
            raise
        stream = TurnStream(conversation_id, inbound.message_id, language)
        turn = _Turn(inbound=inbound, conversation_id=conversation_id, language=language, stream=stream, exits=exits)
        self._spawn(self._run(turn, redacted, blocked))
        return stream

    async def say(self, inbound: Inbound) -> list[TurnEvent]:
        """A whole turn's events, for callers that do not stream."""
        return await (await self.start(inbound)).collect()

    def _spawn(self, work: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Let running turns finish (a shutdown must not leave half a turn)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.settings.turn_lock_lease_s)

    # -- the turn itself -----------------------------------------------------------------------
    def _config(self, conversation_id: str) -> dict[str, Any]:
        return {"configurable": {"thread_id": conversation_id}}

    async def _run(self, turn: _Turn, redacted: str, blocked: bool) -> None:
        config = self._config(turn.conversation_id)
        before: Any = None
        try:
            ticket = await self.memory.repository.open_ticket_of(turn.conversation_id)
            if ticket is not None and not await self._handoff_policy(turn, ticket, redacted):
                return
            before = await self.graph.aget_state(config)
            await self._run_graph(turn, redacted, blocked)
        except Exception as exc:
            log.exception(
                "turn failed in conversation %s (%s)", turn.conversation_id, type(exc).__name__,
                extra={"thread_id": turn.conversation_id},
            )  # fmt: skip
            await self._restore(turn.conversation_id, before)
            unavailable = _is_unavailable(exc)
            template = "turn_unavailable" if unavailable else "turn_failed"
            await self._emit(
                turn,
                Error(text=render("service", turn.language, template), language=turn.language, retryable=unavailable),
            )
        finally:
            with contextlib.suppress(Exception):
                await self.memory.sessions.put(
                    self._running_key(turn.conversation_id, turn.inbound.message_id), {"done": True}, ttl_s=60
                )
            turn.stream.close()
            await turn.exits.aclose()

    async def _run_graph(self, turn: _Turn, redacted: str, blocked: bool) -> None:
        repository = self.memory.repository
        customer_id = turn.inbound.customer_id
        preferences = await repository.preferences(customer_id)
        payload = {
            "message": redacted,
            "blocked": blocked,
            "language": turn.inbound.language,
            "profile": preferences.to_dict(),
        }
        config = self._config(turn.conversation_id)
        tokens: list[str] = []
        state: dict[str, Any] = {}
        # A turn is all or nothing (a failed one is restored), so its checkpoint is written once, when
        # it ends, not after every step: a tenth of the database round trips and disk flushes.
        async for mode, chunk in self.graph.astream(
            payload, config, context=self.context, stream_mode=["custom", "values"], durability="exit"
        ):
            if mode == "values":
                state = chunk
            elif "token" in chunk:
                tokens.append(chunk["token"])
                await self._emit(turn, Token(text=chunk["token"]))
            elif "tokens_discarded" in chunk:
                tokens.clear()
            elif "tool_started" in chunk:
                await self._emit(turn, ToolStarted(tool=chunk["tool_started"]))
            elif "tool_finished" in chunk:
                await self._emit(turn, ToolFinished(tool=chunk["tool_finished"], ok=chunk["ok"]))
        language: Language = state.get("language") if state.get("language") in ("ko", "en") else turn.language  # type: ignore[assignment]
        turn.language = language
        snapshot = await self.graph.aget_state(config)
        if snapshot.interrupts:  # the customer asked for a person
            await self._open_handoff(turn, redacted, "customer asked for a person")
            return
        cards = [PerfumeCard.model_validate(c) for c in state.get("cards") or []]
        formulas = [FormulaCard.model_validate(f) for f in state.get("formulas") or []]
        text = str(state.get("reply", ""))
        final: list[TurnEvent] = []
        if cards:
            final.append(Perfumes(perfumes=cards))
        final += [Formula(formula=f) for f in formulas]
        final.append(
            Reply(
                text=text,
                language=language,
                intent=state.get("intent"),
                corrected=bool(tokens) and "".join(tokens).strip() != text.strip(),
            )
        )
        await self._record(turn, redacted, text, final)
        learned = Preferences.from_dict({**preferences.to_dict(), **(state.get("profile") or {}), "language": language})
        if learned != preferences:
            await repository.save_preferences(customer_id, learned)
        for formula in formulas:
            if formula.kind == "composed":
                await repository.save_formula(
                    customer_id, turn.conversation_id, formula.name or "", formula.model_dump()
                )

    async def _record(self, turn: _Turn, user_text: str, reply_text: str, final: list[TurnEvent]) -> None:
        """Write the turn to the transcript first, then tell the channels: what a customer was told
        is always in the record."""
        stamped = [self._stamp(turn, event) for event in final]
        await self.memory.repository.record_turn(
            Turn(
                conversation_id=turn.conversation_id,
                message_id=turn.inbound.message_id,
                user_text=user_text,
                reply_text=reply_text,
                payload={"events": [event.model_dump(exclude={"id"}) for event in stamped]},
            )
        )
        for event in stamped:
            await self._emit(turn, event)

    @staticmethod
    def _stamp(turn: _Turn, event: TurnEvent) -> TurnEvent:
        return event.model_copy(update={"thread_id": turn.conversation_id, "message_id": turn.inbound.message_id})

    async def _emit(self, turn: _Turn, event: TurnEvent) -> None:
        """Log the event (its id is its place in the conversation's log), publish it for other
        replicas, and hand it to the stream. The log and the bus are best effort: Redis going away
        mid-turn costs a reconnecting client its replay, never the turn."""
        event = self._stamp(turn, event)
        data = event.model_dump()
        try:
            event_id = await self.memory.sessions.append(turn.conversation_id, data)
            event = event.model_copy(update={"id": event_id})
            await self.memory.bus.publish(turn.conversation_id, event.model_dump())
        except Exception as exc:
            log.warning("event log unavailable for conversation %s: %s", turn.conversation_id, type(exc).__name__)
        turn.stream.put(event)

    async def _restore(self, conversation_id: str, before: Any) -> None:
        """Put the thread back where it was before the failed turn: a copy of the last good
        checkpoint becomes the newest (LangGraph's own fork), or a thread that had none is dropped."""
        try:
            now = await self.graph.aget_state(self._config(conversation_id))
            if before is None or not before.config.get("configurable", {}).get("checkpoint_id"):
                if now.config.get("configurable", {}).get("checkpoint_id"):
                    await self.memory.checkpointer.adelete_thread(conversation_id)
                return
            if now.config["configurable"].get("checkpoint_id") != before.config["configurable"]["checkpoint_id"]:
                await self.graph.aupdate_state(before.config, None, as_node="__copy__")
        except Exception:
            log.exception("could not restore conversation %s after a failed turn", conversation_id)

    # -- retries and reconnects ------------------------------------------------------------------
    @staticmethod
    def _running_key(conversation_id: str, message_id: str) -> str:
        return f"turn:{conversation_id}:{message_id}"

    async def _running(self, conversation_id: str, message_id: str) -> bool:
        marker = await self.memory.sessions.get(self._running_key(conversation_id, message_id))
        return marker is not None and not marker.get("done")

    async def _logged(self, conversation_id: str, message_id: str, after: int) -> list[TurnEvent]:
        return [
            event_from_dict({**data, "id": event_id})
            for event_id, data in await self.memory.sessions.after(conversation_id, after)
            if data.get("message_id") == message_id
        ]

    async def _replay(
        self, conversation_id: str, done: Turn, language: Language, last_event_id: int | None
    ) -> TurnStream:
        """The answer already given to this message id: from the event log when a reconnecting
        stream names what it saw, else the recorded final events."""
        if last_event_id is not None:
            logged = await self._logged(conversation_id, done.message_id, 0)
            if logged and is_final(logged[-1]):  # the whole turn is logged: what the client has not seen, maybe nothing
                missed = [event for event in logged if event.id is not None and event.id > last_event_id]
                return TurnStream.of(conversation_id, done.message_id, language, missed)
        events = [event_from_dict(data) for data in done.payload.get("events", [])]
        if last_event_id is not None:  # the log has expired: give the final events the client has not seen
            events = [e for e in events if e.id is None or e.id > last_event_id]
        return TurnStream.of(conversation_id, done.message_id, language, events)

    async def _follow(
        self, conversation_id: str, message_id: str, language: Language, last_event_id: int | None
    ) -> TurnStream:
        """The same message id is being answered right now (on this replica or another): follow its
        events instead of running it twice."""
        stream = TurnStream(conversation_id, message_id, language)

        async def follow() -> None:
            seen = last_event_id or 0
            deadline = time.monotonic() + self.settings.turn_lock_lease_s
            try:
                async with self.memory.bus.subscribe(conversation_id) as wakeups:
                    while time.monotonic() < deadline:
                        for event in await self._logged(conversation_id, message_id, seen):
                            stream.put(event)
                            seen = max(seen, event.id or seen)
                            if is_final(event):
                                return
                        with contextlib.suppress(TimeoutError, StopAsyncIteration):
                            await asyncio.wait_for(anext(wakeups), timeout=1.0)
                done = await self.memory.repository.find_turn(conversation_id, message_id)
                if done is not None:
                    async for event in await self._replay(conversation_id, done, language, seen):
                        stream.put(event)
            except Exception:
                log.exception("following conversation %s failed", conversation_id)
                stream.put(
                    Error(text=render("service", language, "turn_unavailable"), language=language, retryable=True)
                )
            finally:
                stream.close()

        self._spawn(follow())
        return stream

    # -- people: the handoff policy ---------------------------------------------------------------
    async def _open_handoff(self, turn: _Turn, redacted: str, reason: str) -> None:
        """Open the conversation's ticket (or find its open one), tell the customer, then staff."""
        ticket = await self.memory.repository.open_ticket(
            turn.conversation_id, turn.inbound.customer_id, reason, language=turn.language
        )
        notice = render("service", turn.language, "handoff")
        await self._record(turn, redacted, notice, [HandoffRequested(ticket_id=ticket.id, text=notice)])
        if self.notifiers:
            self._spawn(self._notify_opened(ticket))

    async def _notify_opened(self, ticket: Ticket) -> None:
        try:
            summary = await summarize(self.memory.repository, ticket)
        except Exception:
            log.exception("could not summarise ticket %s for staff", ticket.id)
            return
        await self.notifiers.opened(summary)

    async def _handoff_policy(self, turn: _Turn, ticket: Ticket, redacted: str) -> bool:
        """While a person is asked for or has the conversation, the assistant stays silent: the
        customer's message is kept and passed to staff. A request nobody took within the configured
        time (should the sweeper not have got there first) times out here: the customer is told and
        the assistant answers. True: run the assistant on this message."""
        if ticket.status == "requested" and self._overdue(ticket):
            moved = await self.memory.repository.move_ticket(ticket.id, "timed_out", only_from=("requested",))
            if moved is not None:
                await self._emit(turn, self._notice("handoff_timed_out", turn.language))
                await self.notifiers.changed(moved)
                return True
            ticket = await self.memory.repository.get_ticket(ticket.id) or ticket
            if not ticket.is_open:
                return True
        kind: Literal["handoff_waiting", "handoff_with_staff"] = (
            "handoff_waiting" if ticket.status == "requested" else "handoff_with_staff"
        )
        text = render("service", turn.language, kind)
        await self._record(turn, redacted, text, [Notice(kind=kind, text=text, language=turn.language)])
        await self.notifiers.customer_message(ticket, redacted)
        return False

    def _overdue(self, ticket: Ticket) -> bool:
        return (datetime.now(UTC) - ticket.created_at).total_seconds() > self.settings.handoff_timeout_s

    @staticmethod
    def _notice(kind: Any, language: Language, **words: Any) -> Notice:
        return Notice(kind=kind, text=render("service", language, kind, **words), language=language)

    async def _push(self, conversation_id: str, event: TurnEvent, staff: str | None = None) -> TurnEvent:
        """An event outside the customer's own turns (a staff reply, a handoff notice): into the
        transcript first (it is in the history after a reload), then the event log and the bus, where
        service.watch() on whichever replica holds the customer's connection picks it up."""
        event = event.model_copy(
            update={"thread_id": conversation_id, "message_id": f"push-{uuid.uuid4().hex}", "pushed": True}
        )
        role = "staff" if isinstance(event, StaffMessage) else "assistant"
        text = getattr(event, "text", "")
        await self.memory.repository.add_message(
            conversation_id, role, text, {"staff": staff, "event": event.model_dump(exclude={"id"})}
        )
        try:
            event_id = await self.memory.sessions.append(conversation_id, event.model_dump())
            event = event.model_copy(update={"id": event_id})
            await self.memory.bus.publish(conversation_id, event.model_dump())
        except Exception as exc:
            log.warning("event log unavailable for conversation %s: %s", conversation_id, type(exc).__name__)
        return event

    async def watch(self, conversation_id: str, after: int | None = None) -> AsyncGenerator[TurnEvent]:
        """The events pushed to a customer outside their own turns, live, from any replica: staff
        replies and handoff notices. With `after` (an event id the client saw), what was pushed since
        is given first. Pub/sub is at most once, so after a Redis reconnect the log is read again."""
        seen = after or 0
        async with self.memory.bus.subscribe(conversation_id) as events:
            if after is not None:
                for event in await self._pushed_after(conversation_id, seen):
                    seen = max(seen, event.id or seen)
                    yield event
            async for data in events:
                if data == RECONNECTED:
                    for event in await self._pushed_after(conversation_id, seen):
                        seen = max(seen, event.id or seen)
                        yield event
                    continue
                if not data.get("pushed") or (data.get("id") or 0) <= seen:
                    continue
                event = event_from_dict(data)
                seen = max(seen, event.id or seen)
                yield event

    async def _pushed_after(self, conversation_id: str, after: int) -> list[TurnEvent]:
        return [
            event_from_dict({**data, "id": event_id})
            for event_id, data in await self.memory.sessions.after(conversation_id, after)
            if data.get("pushed")
        ]

    async def request_handoff(
        self,
        conversation_id: str | None,
        customer_id: str,
        channel: Any,
        language: Language,
        message_id: str | None = None,
    ) -> TurnStream:
        """The customer pressed "talk to a person": the same ticket, notice and staff summary as when
        they say it, without a model reading it. A turn of its own (locked, recorded, idempotent)."""
        label = render("service", language, "handoff_button")
        inbound = Inbound(
            text=label,
            customer_id=customer_id,
            channel=channel,
            conversation_id=conversation_id,
            language=language,
            **({"message_id": message_id} if message_id else {}),
        )
        conversation_id = inbound.conversation_id or _new_conversation_id(customer_id, inbound.message_id)
        exits = AsyncExitStack()
        await exits.enter_async_context(self.memory.locks.hold(conversation_id, self.settings.turn_lock_wait_s))
        try:
            await self.memory.repository.open_conversation(conversation_id, customer_id, channel, title=label)
            done = await self.memory.repository.find_turn(conversation_id, inbound.message_id)
            if done is not None:
                await exits.aclose()
                return await self._replay(conversation_id, done, language, None)
        except BaseException:
            await exits.aclose()
            raise
        stream = TurnStream(conversation_id, inbound.message_id, language)
        turn = _Turn(inbound=inbound, conversation_id=conversation_id, language=language, stream=stream, exits=exits)

        async def run() -> None:
            try:
                open_ticket = await self.memory.repository.open_ticket_of(conversation_id)
                if open_ticket is not None and not await self._handoff_policy(turn, open_ticket, label):
                    return
                await self._open_handoff(turn, label, "customer pressed 'talk to a person'")
            except Exception as exc:
                log.exception("handoff request failed in conversation %s", conversation_id)
                template = "turn_unavailable" if _is_unavailable(exc) else "turn_failed"
                await self._emit(
                    turn,
                    Error(
                        text=render("service", language, template), language=language, retryable=_is_unavailable(exc)
                    ),
                )
            finally:
                stream.close()
                await exits.aclose()

        self._spawn(run())
        return stream

    async def open_tickets(self, limit: int = 50) -> list[Ticket]:
        """Requests for a person that are waiting or being answered, oldest first."""
        return await self.memory.repository.tickets(OPEN_TICKET_STATUSES, limit=limit)

    async def _open_ticket(self, conversation_id: str) -> Ticket:
        ticket = await self.memory.repository.open_ticket_of(conversation_id)
        if ticket is None:
            if await self.memory.repository.get_conversation(conversation_id) is None:
                raise UnknownConversation(f"there is no conversation {conversation_id}")
            raise NoOpenTicket(f"conversation {conversation_id} has no open request for a person")
        return ticket

    async def take(self, conversation_id: str, staff: str, display_name: str | None = None) -> Ticket:
        """A staff member takes the request: the customer is told who joined, the assistant goes
        silent. Of two staff members (or the sweeper) racing, one wins; the other gets NoOpenTicket."""
        ticket = await self._open_ticket(conversation_id)
        if ticket.status == "taken":
            if ticket.staff == staff:
                return ticket
            raise NoOpenTicket(f"conversation {conversation_id} is already taken by {ticket.staff}")
        moved = await self.memory.repository.move_ticket(ticket.id, "taken", only_from=("requested",), staff=staff)
        if moved is None:
            raise NoOpenTicket(f"the request in conversation {conversation_id} was just taken or closed")
        kind = "handoff_taken" if display_name else "handoff_taken_anonymous"
        notice = Notice(
            kind="handoff_taken",
            text=render("service", moved.language, kind, staff=display_name or ""),
            language=moved.language,
        )
        await self._push(conversation_id, notice, staff=staff)
        await self.notifiers.changed(moved)
        return moved

    async def staff_message(
        self, conversation_id: str, text: str, staff: str | None = None, display_name: str | None = None
    ) -> TurnStream:
        """A staff member's answer, from any replica. The first one takes the ticket and resumes the
        paused turn, so it joins the conversation's own history; every one reaches the customer live
        (service.watch) and the transcript."""
        repository = self.memory.repository
        ticket = await self._open_ticket(conversation_id)
        cleaned = clean_text(text, self.settings.max_message_chars)
        redacted, _ = await self.context.guards.check_input(cleaned)
        message_id = uuid.uuid4().hex
        stream = TurnStream(conversation_id, message_id, ticket.language)
        exits = AsyncExitStack()
        await exits.enter_async_context(self.memory.locks.hold(conversation_id, self.settings.turn_lock_wait_s))

        async def deliver() -> None:
            try:
                config = self._config(conversation_id)
                snapshot = await self.graph.aget_state(config)
                if snapshot.interrupts:
                    await self.graph.ainvoke(Command(resume=redacted), config, context=self.context, durability="exit")
                if ticket.status == "requested":
                    moved = await repository.move_ticket(ticket.id, "taken", only_from=("requested",), staff=staff)
                    if moved is not None:
                        await self.notifiers.changed(moved)
                event = await self._push(
                    conversation_id, StaffMessage(text=redacted, staff=display_name or staff), staff
                )
                stream.put(event)
            except Exception as exc:
                log.exception("staff message failed in conversation %s", conversation_id)
                stream.put(
                    Error(text=render("service", "en", "turn_failed"), language="en", retryable=_is_unavailable(exc))
                )
            finally:
                stream.close()
                await exits.aclose()

        self._spawn(deliver())
        return stream

    async def hand_back(self, conversation_id: str, staff: str | None = None, resolved: bool = False) -> Ticket:
        """The staff member is done: the assistant answers the next message, with the whole
        conversation's context. The customer is told at once, on whichever replica they are."""
        ticket = await self._open_ticket(conversation_id)
        status: Literal["resolved", "returned"] = "resolved" if resolved else "returned"
        async with self.memory.locks.hold(conversation_id, self.settings.turn_lock_wait_s):
            moved = await self.memory.repository.move_ticket(
                ticket.id, status, only_from=OPEN_TICKET_STATUSES, staff=staff
            )
            if moved is None:
                raise NoOpenTicket(f"the request in conversation {conversation_id} was already closed")
            await self._push(conversation_id, self._notice(f"handoff_{status}", moved.language), staff=staff)
        await self.notifiers.changed(moved)
        return moved

    async def cancel_handoff(self, conversation_id: str, customer_id: str) -> Ticket:
        """The customer no longer wants a person: the assistant carries on, staff are told."""
        conversation = await self.memory.repository.get_conversation(conversation_id)
        if conversation is None or conversation.customer_id != customer_id:
            raise UnknownConversation(f"there is no conversation {conversation_id}")
        ticket = await self._open_ticket(conversation_id)
        moved = await self.memory.repository.move_ticket(ticket.id, "cancelled", only_from=OPEN_TICKET_STATUSES)
        if moved is None:
            raise NoOpenTicket(f"the request in conversation {conversation_id} was already closed")
        await self._push(conversation_id, self._notice("handoff_cancelled", moved.language))
        await self.notifiers.changed(moved)
        return moved

    # -- the timeout sweeper ----------------------------------------------------------------------
    async def sweep_handoffs(self) -> int:
        """Time out every request nobody took within HANDOFF_TIMEOUT_S: the customer is told at once
        (not only at their next message), in their language, and staff see the ticket close. Safe on
        every replica at once: move_ticket lets exactly one of them time each ticket out."""
        timed_out = 0
        for ticket in await self.memory.repository.tickets(("requested",), limit=500):
            if not self._overdue(ticket):
                break  # oldest first: the rest are younger
            moved = await self.memory.repository.move_ticket(ticket.id, "timed_out", only_from=("requested",))
            if moved is None:
                continue
            timed_out += 1
            await self._push(ticket.conversation_id, self._notice("handoff_timed_out", moved.language))
            await self.notifiers.changed(moved)
        return timed_out

    async def run_handoff_sweeper(self, every_s: float) -> None:
        """Sweep until cancelled; a store that does not answer is retried at the next round."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.sweep_handoffs()
            except Exception as exc:
                log.warning("handoff sweep failed: %s", type(exc).__name__)
