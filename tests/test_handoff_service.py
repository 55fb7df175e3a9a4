"""Live handoff in the turn service: every ticket move reaches the customer as it happens (through
service.watch, the path each channel's live connection uses) and every staff tool (a notifier),
in the customer's language; the timeout sweeper tells a waiting customer without waiting for their
next message; and a staff tool that fails never costs the customer an answer."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from graphs.events import HandoffRequested, Notice, Reply, StaffMessage, TurnEvent
from graphs.handoff import HandoffSummary
from graphs.runtime import Runtime
from graphs.service import NoOpenTicket, TurnService, UnknownConversation
from memory.records import Ticket
from prompts import render
from tests.test_turn_service import customer, inbound, service_with
from tools.toolkit import Toolkit


class RecordingNotifier:
    """A staff tool that keeps what it was told."""

    def __init__(self) -> None:
        self.opened: list[HandoffSummary] = []
        self.changed: list[Ticket] = []
        self.lines: list[tuple[str, str]] = []

    async def ticket_opened(self, summary: HandoffSummary) -> None:
        self.opened.append(summary)

    async def ticket_changed(self, ticket: Ticket) -> None:
        self.changed.append(ticket)

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        self.lines.append((ticket.id, text))


class BrokenNotifier(RecordingNotifier):
    async def ticket_opened(self, summary: HandoffSummary) -> None:
        raise ConnectionError("slack is down")

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        raise ConnectionError("slack is down")


def fresh_service(runtime: Runtime, **settings: float) -> tuple[TurnService, RecordingNotifier]:
    service = service_with(runtime, Toolkit, **settings)
    notifier = RecordingNotifier()
    service.add_notifier(notifier)
    return service, notifier


@asynccontextmanager
async def watching(service: TurnService, thread: str) -> AsyncIterator[asyncio.Queue[TurnEvent]]:
    """What a channel's live connection would receive, collected in the background."""
    seen: asyncio.Queue[TurnEvent] = asyncio.Queue()
    ready = asyncio.Event()

    async def read() -> None:
        stream = service.watch(thread)
        first = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0.05)  # the subscription is open once the generator runs
        ready.set()
        seen.put_nowait(await first)
        async for event in stream:
            seen.put_nowait(event)

    task = asyncio.create_task(read())
    await ready.wait()
    try:
        yield seen
    finally:
        task.cancel()


async def next_pushed(seen: asyncio.Queue[TurnEvent]) -> TurnEvent:
    return await asyncio.wait_for(seen.get(), timeout=5)


async def until_opened(notifier: RecordingNotifier) -> HandoffSummary:
    for _ in range(100):
        if notifier.opened:
            return notifier.opened[-1]
        await asyncio.sleep(0.02)
    raise AssertionError("staff were never told about the ticket")


async def test_staff_are_told_and_each_move_reaches_the_customer_live(runtime: Runtime) -> None:
    service, notifier = fresh_service(runtime)
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("장미 향 향수 추천해 주세요, 너무 달지 않은 걸로요", who, thread))
    asked = await service.say(inbound("직원분이랑 직접 얘기하고 싶어요", who, thread))
    assert isinstance(asked[-1], HandoffRequested)

    summary = await until_opened(notifier)
    assert (summary.conversation_id, summary.language, summary.customer_id) == (thread, "ko", who)
    assert summary.wants == "직원분이랑 직접 얘기하고 싶어요"
    assert [line.role for line in summary.last_messages][:2] == ["user", "assistant"]
    assert "장미" in summary.last_messages[0].text

    async with watching(service, thread) as pushed:
        waiting = await service.say(inbound("혹시 100ml도 있나요?", who, thread))
        assert isinstance(waiting[-1], Notice) and waiting[-1].kind == "handoff_waiting"
        assert notifier.lines[-1] == (summary.ticket_id, "혹시 100ml도 있나요?")

        taken = await service.take(thread, staff="U042", display_name="민아")
        assert taken.status == "taken" and taken.staff == "U042"
        joined = await next_pushed(pushed)
        assert isinstance(joined, Notice) and joined.kind == "handoff_taken" and joined.pushed
        assert joined.text == render("service", "ko", "handoff_taken", staff="민아")

        answer = await (
            await service.staff_message(thread, "네, 100ml 재고 있어요.", staff="U042", display_name="민아")
        ).collect()
        assert isinstance(answer[-1], StaffMessage)
        live = await next_pushed(pushed)
        assert isinstance(live, StaffMessage) and live.text == "네, 100ml 재고 있어요." and live.staff == "민아"

        back = await service.hand_back(thread, staff="U042")
        returned = await next_pushed(pushed)
        assert isinstance(returned, Notice) and returned.kind == "handoff_returned"
        assert returned.text == render("service", "ko", "handoff_returned")
    assert [t.status for t in notifier.changed] == ["taken", "returned"] and back.status == "returned"

    # In the history after a reload: the staff line and the notices, in order.
    lines = await runtime.memory.repository.transcript(thread)
    assert [m.role for m in lines][-3:] == ["assistant", "staff", "assistant"]
    assert lines[-2].content == "네, 100ml 재고 있어요."

    # Handed back, the assistant answers with the conversation's context.
    after = await service.say(inbound("그럼 더 저렴한 건요?", who, thread))
    assert isinstance(after[-1], Reply) and after[-1].language == "ko"


async def test_the_talk_to_a_person_button_and_a_customer_who_changes_their_mind(runtime: Runtime) -> None:
    service, notifier = fresh_service(runtime)
    who = await customer(runtime)
    stream = await service.request_handoff(None, who, "web", "en")
    events = await stream.collect()
    thread = stream.conversation_id
    assert isinstance(events[-1], HandoffRequested) and events[-1].text == render("service", "en", "handoff")
    assert (await until_opened(notifier)).language == "en"
    # Pressed again (a double click): still one ticket, and the customer hears a person is on the way.
    again = await (await service.request_handoff(thread, who, "web", "en")).collect()
    assert isinstance(again[-1], Notice) and again[-1].kind == "handoff_waiting"
    assert len(await service.open_tickets(limit=1000)) >= 1

    someone_else = await customer(runtime)
    with pytest.raises(UnknownConversation):
        await service.cancel_handoff(thread, someone_else)
    async with watching(service, thread) as pushed:
        cancelled = await service.cancel_handoff(thread, who)
        notice = await next_pushed(pushed)
    assert cancelled.status == "cancelled" and notifier.changed[-1].status == "cancelled"
    assert isinstance(notice, Notice) and notice.kind == "handoff_cancelled"
    with pytest.raises(NoOpenTicket):
        await service.cancel_handoff(thread, who)
    with pytest.raises(NoOpenTicket):
        await service.take(thread, staff="U1")
    reply = await service.say(inbound("Recommend a woody perfume", who, thread))
    assert isinstance(reply[-1], Reply)


async def test_two_staff_members_racing_for_one_request(runtime: Runtime) -> None:
    service, _ = fresh_service(runtime)
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("Can I speak to a human?", who, thread))
    results = await asyncio.gather(
        service.take(thread, staff="U1"), service.take(thread, staff="U2"), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, Ticket)]
    lost = [r for r in results if isinstance(r, NoOpenTicket)]
    assert len(won) == 1 and len(lost) == 1
    assert await service.take(thread, staff=won[0].staff or "") == won[0]  # taking one's own again is fine


async def test_the_sweeper_tells_a_waiting_customer_in_their_language(runtime: Runtime) -> None:
    service, notifier = fresh_service(runtime, handoff_timeout_s=2.0)
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("사람이랑 상담하고 싶어요", who, thread))
    async with watching(service, thread) as pushed:
        await service.sweep_handoffs()  # (older requests of other tests may go; this one is not overdue yet)
        still = await runtime.memory.repository.open_ticket_of(thread)
        assert still is not None and still.status == "requested"
        await asyncio.sleep(2.1)
        sweeper = asyncio.create_task(service.run_handoff_sweeper(0.05))
        try:
            notice = await next_pushed(pushed)
        finally:
            sweeper.cancel()
    assert isinstance(notice, Notice) and notice.kind == "handoff_timed_out" and notice.language == "ko"
    assert notice.text == render("service", "ko", "handoff_timed_out")
    assert notifier.changed[-1].status == "timed_out"
    assert await runtime.memory.repository.open_ticket_of(thread) is None
    reply = await service.say(inbound("장미 향수 추천해 주세요", who, thread))
    assert isinstance(reply[-1], Reply)


async def test_watch_gives_what_a_reconnecting_client_missed(runtime: Runtime) -> None:
    service, _ = fresh_service(runtime)
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("I'd like to talk to a person", who, thread))
    first = await (await service.staff_message(thread, "Hello, Mina here.", staff="mina")).collect()
    seen_id = first[-1].id
    assert seen_id is not None
    await (await service.staff_message(thread, "Are you still there?", staff="mina")).collect()
    stream = service.watch(thread, after=seen_id)
    missed = await asyncio.wait_for(anext(stream), timeout=5)
    await stream.aclose()
    assert isinstance(missed, StaffMessage) and missed.text == "Are you still there?"


async def test_a_failing_staff_tool_never_costs_the_customer_an_answer(runtime: Runtime) -> None:
    service = service_with(runtime, Toolkit)
    service.add_notifier(BrokenNotifier())
    who, thread = await customer(runtime), uuid.uuid4().hex
    asked = await service.say(inbound("Can I talk to someone from the shop?", who, thread))
    assert isinstance(asked[-1], HandoffRequested)
    waiting = await service.say(inbound("Hello?", who, thread))
    assert isinstance(waiting[-1], Notice) and waiting[-1].kind == "handoff_waiting"
