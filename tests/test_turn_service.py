"""The turn service's own promises, on the session's runtime (embedded stores): a failed turn
leaves the conversation as it was, turns of one conversation run one at a time, a message id in
flight is followed rather than run twice, and the handoff policy."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from typing import Any

import pytest

from graphs.events import Error, HandoffRequested, Notice, Refused, Reply, StaffMessage, ToolStarted, TurnEvent
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from graphs.service import NoOpenTicket, TurnService
from memory.locks import ConversationBusy
from prompts import render
from tools.toolkit import Toolkit


class ExplodingToolkit(Toolkit):
    """The catalog search fails mid-turn, as a broken index or a bug would."""

    async def search_perfumes(
        self, query: str, top_k: int = 5, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        raise RuntimeError("the index went away")


class SlowToolkit(Toolkit):
    """A search that takes a while, so a second turn arrives while the first runs."""

    async def search_perfumes(
        self, query: str, top_k: int = 5, filters: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        await asyncio.sleep(0.6)
        return await super().search_perfumes(query, top_k, filters)


def service_with(runtime: Runtime, toolkit_class: type[Toolkit], **settings: Any) -> TurnService:
    base = runtime.require_service()
    toolkit = toolkit_class(base.context.toolkit.engine, base.context.toolkit.perfumery, base.context.toolkit.composer)
    context = dataclasses.replace(base.context, toolkit=toolkit)
    return TurnService(base.graph, context, base.memory, base.settings.model_copy(update=settings))


async def customer(runtime: Runtime) -> str:
    return (await runtime.memory.repository.customer_for("cli", f"turns-{uuid.uuid4().hex[:8]}")).id


def inbound(text: str, customer_id: str, thread: str, message_id: str | None = None) -> Inbound:
    made = Inbound(text=text, customer_id=customer_id, channel="cli", conversation_id=thread)
    return dataclasses.replace(made, message_id=message_id) if message_id else made


async def state_of(service: TurnService, thread: str) -> dict[str, Any]:
    return dict((await service.graph.aget_state({"configurable": {"thread_id": thread}})).values)


async def test_a_failed_turn_apologises_and_leaves_the_conversation_as_it_was(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    service = runtime.require_service()
    who, thread = await customer(runtime), f"fail-{uuid.uuid4().hex[:8]}"
    await service.say(inbound("Recommend a fresh citrus perfume for summer", who, thread))
    before = await state_of(service, thread)
    lines_before = await runtime.memory.repository.transcript(thread)

    broken = service_with(runtime, ExplodingToolkit)
    with caplog.at_level(logging.ERROR, logger="graphs.service"):
        events = await broken.say(inbound("Something cheaper, and woody", who, thread))
    error = events[-1]
    assert isinstance(error, Error) and not error.retryable
    assert error.text == render("service", "en", "turn_failed")
    assert await state_of(service, thread) == before, "the failed turn changed the thread's state"
    assert await runtime.memory.repository.transcript(thread) == lines_before
    assert thread in caplog.text and "RuntimeError" in caplog.text
    assert "cheaper" not in caplog.text, "the customer's words reached the log"

    # The conversation goes on from where it was: the refinement still refines the first search.
    events = await service.say(inbound("something cheaper", who, thread))
    assert isinstance(events[-1], Reply)
    after = await state_of(service, thread)
    assert after["carried"]["last_filters"]["price_max"] < min(before["carried"]["shown_prices"])


async def test_a_korean_failure_apologises_in_korean(runtime: Runtime) -> None:
    broken = service_with(runtime, ExplodingToolkit)
    events = await broken.say(inbound("상큼한 여름 향수 추천해 주세요", await customer(runtime), uuid.uuid4().hex))
    assert isinstance(events[-1], Error) and events[-1].text == render("service", "ko", "turn_failed")


async def test_turns_of_one_conversation_run_one_at_a_time(runtime: Runtime) -> None:
    slow = service_with(runtime, SlowToolkit, turn_lock_wait_s=5.0)
    who, thread = await customer(runtime), uuid.uuid4().hex
    first, second = await asyncio.gather(
        slow.say(inbound("Recommend a woody perfume", who, thread)),
        slow.say(inbound("Recommend a rose perfume", who, thread)),
    )
    assert isinstance(first[-1], Reply) and isinstance(second[-1], Reply)
    lines = await runtime.memory.repository.transcript(thread)
    assert [m.role for m in lines] == ["user", "assistant", "user", "assistant"]
    assert [m.seq for m in lines] == [1, 2, 3, 4]
    assert len((await state_of(slow, thread))["transcript"]) == 4


async def test_a_second_turn_that_waits_too_long_is_refused_as_busy(runtime: Runtime) -> None:
    slow = service_with(runtime, SlowToolkit, turn_lock_wait_s=0.1)
    who, thread = await customer(runtime), uuid.uuid4().hex
    running = await slow.start(inbound("Recommend a woody perfume", who, thread))
    with pytest.raises(ConversationBusy):
        await slow.start(inbound("Recommend a rose perfume", who, thread))
    assert isinstance((await running.collect())[-1], Reply)


async def test_a_message_id_in_flight_is_followed_not_run_twice(runtime: Runtime) -> None:
    slow = service_with(runtime, SlowToolkit, turn_lock_wait_s=0.1)
    who, thread = await customer(runtime), uuid.uuid4().hex
    original = await slow.start(inbound("Recommend a woody perfume", who, thread, message_id="same"))
    retried = await slow.start(inbound("Recommend a woody perfume", who, thread, message_id="same"))
    first, again = await asyncio.gather(original.collect(), retried.collect())
    assert [e.type for e in again] == [e.type for e in first]
    assert again[-1] == first[-1]
    assert len(await runtime.memory.repository.transcript(thread)) == 2


async def test_refused_messages_store_nothing(runtime: Runtime) -> None:
    service = runtime.require_service()
    who, thread = await customer(runtime), uuid.uuid4().hex
    (empty,) = await service.say(inbound("\u200b\x00 \n", who, thread))
    assert isinstance(empty, Refused) and empty.reason == "empty"
    (long,) = await service.say(inbound("장미 " * 1500, who, thread))
    assert isinstance(long, Refused) and long.reason == "too_long" and "4500자" in long.text
    assert await runtime.memory.repository.get_conversation(thread) is None
    assert await state_of(service, thread) == {}


# -- handoff ---------------------------------------------------------------------------------------
def kinds(events: list[TurnEvent]) -> list[str]:
    return [e.type for e in events]


async def test_the_handoff_policy_from_request_to_hand_back(runtime: Runtime) -> None:
    service = runtime.require_service()
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("Recommend a fresh citrus perfume for summer", who, thread))
    asked = await service.say(inbound("Can I talk to a real person please?", who, thread))
    assert kinds(asked) == ["handoff_requested"] and isinstance(asked[0], HandoffRequested)
    assert "staff" in asked[0].text and "/staff" not in asked[0].text
    ticket = await runtime.memory.repository.open_ticket_of(thread)
    assert ticket is not None and ticket.status == "requested"

    # Before anyone takes it, the assistant stays silent and says a person is on the way.
    waiting = await service.say(inbound("Hello? Is anyone there?", who, thread))
    assert isinstance(waiting[-1], Notice) and waiting[-1].kind == "handoff_waiting"

    answered = await (await service.staff_message(thread, "Hi, this is Mina. How can I help?", staff="mina")).collect()
    assert isinstance(answered[-1], StaffMessage) and answered[-1].staff == "mina"
    ticket = await runtime.memory.repository.open_ticket_of(thread)
    assert ticket is not None and ticket.status == "taken" and ticket.staff == "mina"

    # While the staff member has it, the customer's words go to them, not to the assistant.
    held = await service.say(inbound("something cheaper please", who, thread))
    assert isinstance(held[-1], Notice) and held[-1].kind == "handoff_with_staff"
    assert not any(isinstance(e, ToolStarted) for e in held)

    returned = await service.hand_back(thread, staff="mina")
    assert returned.status == "returned" and await runtime.memory.repository.open_ticket_of(thread) is None
    # Back with the assistant, the conversation's context is there: "cheaper" refines the citrus search.
    back = await service.say(inbound("something cheaper please", who, thread))
    assert isinstance(back[-1], Reply)
    state = await state_of(service, thread)
    assert "citrus" in state["carried"]["last_query"] and "price_max" in state["carried"]["last_filters"]
    roles = [m.role for m in await runtime.memory.repository.transcript(thread)]
    assert roles.count("staff") == 1 and roles.count("user") == 5


async def test_a_request_nobody_takes_times_out_and_the_assistant_carries_on(runtime: Runtime) -> None:
    service = runtime.require_service()
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("직원이랑 얘기하고 싶어요", who, thread))
    impatient = service_with(runtime, Toolkit, handoff_timeout_s=0.01)
    await asyncio.sleep(0.05)
    events = await impatient.say(inbound("장미 향수 추천해 주세요", who, thread))
    assert kinds(events)[0] == "notice" and isinstance(events[0], Notice) and events[0].kind == "handoff_timed_out"
    assert events[0].text == render("service", "ko", "handoff_timed_out")
    assert isinstance(events[-1], Reply) and events[-1].language == "ko"
    assert await runtime.memory.repository.open_ticket_of(thread) is None


async def test_staff_cannot_write_into_a_conversation_without_a_request(runtime: Runtime) -> None:
    service = runtime.require_service()
    who, thread = await customer(runtime), uuid.uuid4().hex
    await service.say(inbound("hello", who, thread))
    with pytest.raises(NoOpenTicket):
        await service.staff_message(thread, "hi")
    with pytest.raises(NoOpenTicket):
        await service.hand_back(thread)


async def test_one_customer_one_rate_whichever_channel(runtime: Runtime) -> None:
    """The customer's messages are counted together across channels; over the rate the message is
    refused with a sentence in their language, and nothing of it is stored."""
    service = service_with(runtime, Toolkit, customer_rate_limit="2/minute")
    who, thread = await customer(runtime), uuid.uuid4().hex
    web = Inbound(text="장미 향수 추천해 주세요", customer_id=who, channel="web", conversation_id=thread)
    api = Inbound(text="더 저렴한 걸로요", customer_id=who, channel="api", conversation_id=thread)
    assert isinstance((await service.say(web))[-1], Reply)
    assert isinstance((await service.say(api))[-1], Reply)
    refused = await service.say(Inbound(text="하나 더요", customer_id=who, channel="web", conversation_id=thread))
    assert isinstance(refused[-1], Refused) and refused[-1].reason == "too_many"
    assert refused[-1].retry_after_s and 0 < refused[-1].retry_after_s <= 60
    assert refused[-1].text == render("service", "ko", "too_many", seconds=refused[-1].retry_after_s)
    assert len(await runtime.memory.repository.transcript(thread)) == 4  # the refused message left no line
    other = await customer(runtime)
    assert isinstance((await service.say(inbound("Recommend a rose perfume", other, uuid.uuid4().hex)))[-1], Reply)
