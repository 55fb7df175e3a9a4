"""The chat API for programs: a turn as one JSON answer or as server-sent events, and the key's threads.

A thin adapter over the turn service: it turns the request into an `Inbound` message for the
customer the key speaks for, and the service's events into JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from channels.rest.deps import ChatKey, RuntimeDep, ServiceDep
from channels.rest.schemas import ErrorOut
from graphs.events import Error, Formula, FormulaCard, HandoffRequested, Notice, PerfumeCard, Perfumes, Refused
from graphs.events import Reply as ReplyEvent
from graphs.events import StaffMessage as StaffEvent
from graphs.inbound import Inbound
from graphs.service import TurnStream
from memory.records import ApiKey

router = APIRouter(tags=["chat"])

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
ThreadId = Annotated[str, Path(pattern=ID_PATTERN, description="A thread id from a chat answer.")]


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"message": "상큼한 봄 향수 추천해 주세요", "customer": "shop-customer-1842"},
                {"message": "Something cheaper?", "thread_id": "9f2c0d4e1a7b4c3e8d5f6a7b8c9d0e1f", "language": "en"},
            ]
        },
    )

    message: str = Field(
        min_length=1,
        max_length=20000,
        description="The customer's words, Korean or English. Over the server's limit (2,000 characters by "
        "default) the answer is 422 with a sentence; it is never cut.",
    )
    thread_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description="Continue this conversation; omit it to start a new one."
    )
    language: Literal["ko", "en"] | None = Field(default=None, description="Answer in this language.")
    customer: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.:@-]{1,128}$",
        description="Your own reference for the person talking (their preferences follow it across threads). "
        "Opaque to us; do not send an e-mail address. Omit it and the key itself is the customer.",
    )
    message_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Idempotency key: a retried request with the same id gets the same answer, not a second "
        "turn (also accepted as the Idempotency-Key header). Needed to resume a stream with Last-Event-ID.",
    )


class ChatResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "thread_id": "9f2c0d4e1a7b4c3e8d5f6a7b8c9d0e1f",
                    "message_id": "msg-0001",
                    "reply": "말씀하신 조건에 맞는 향수 5개를 골라 봤어요:\n1. Atelier Cologne Orange Sanguine ...",
                    "language": "ko",
                    "intent": "recommend",
                    "perfumes": [
                        {
                            "id": "ST0101",
                            "brand": "Atelier Cologne",
                            "name": "Orange Sanguine",
                            "year": 2010,
                            "accords": ["citrus", "fresh", "fruity"],
                            "reason": "일치: 시트러스 어코드",
                            "price": 200000,
                            "currency": "KRW",
                            "size_ml": 100,
                            "stock": 0,
                            "sample_data": True,
                        }
                    ],
                    "formulas": [],
                    "handoff_ticket": None,
                    "staff": False,
                }
            ]
        }
    )

    thread_id: str
    message_id: str
    reply: str = Field(description="The answer, in the customer's language.")
    language: Literal["ko", "en"]
    intent: str | None = None
    perfumes: list[PerfumeCard] = Field(default_factory=list, description="Catalog perfumes the answer shows.")
    formulas: list[FormulaCard] = Field(default_factory=list, description="Formulas with their IFRA/EU verdicts.")
    handoff_ticket: str | None = Field(default=None, description="Set when a person was asked to join.")
    staff: bool = Field(default=False, description="True when the answer is a staff member's words.")


class ThreadOut(BaseModel):
    thread_id: str
    channel: str
    title: str | None
    created_at: str
    updated_at: str


class MessageOut(BaseModel):
    seq: int
    role: Literal["user", "assistant", "staff"]
    content: str = Field(description="As stored: personal data redacted.")
    created_at: str | None
    perfumes: list[PerfumeCard] = Field(default_factory=list)
    formulas: list[FormulaCard] = Field(default_factory=list)


class HandoffOut(BaseModel):
    thread_id: str
    ticket_id: str
    status: Literal["requested", "taken", "returned", "resolved", "timed_out", "cancelled"]
    text: str | None = Field(default=None, description="What the customer is told, in their language.")


class TranscriptOut(BaseModel):
    thread_id: str
    messages: list[MessageOut]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No key, a malformed, unknown or revoked key."},
    403: {"model": ErrorOut, "description": "The key lacks the scope."},
    404: {"model": ErrorOut, "description": "No such thread for this key."},
    409: {"model": ErrorOut, "description": "Another turn of this thread is running; retry shortly."},
    422: {"model": ErrorOut, "description": "The request does not validate, or the message is too long or empty."},
    429: {"model": ErrorOut, "description": "Rate limit of the key exceeded; see Retry-After."},
    503: {"model": ErrorOut, "description": "A store is unreachable or the catalog is loading; nothing was lost."},
}


async def _inbound(body: ChatRequest, key: ApiKey, runtime: RuntimeDep, idempotency_key: str | None) -> Inbound:
    if len(body.message) > runtime.settings.max_message_chars:
        raise HTTPException(
            status_code=422,
            detail=f"message is {len(body.message)} characters long; the limit is {runtime.settings.max_message_chars}",
        )
    customer = await runtime.memory.repository.customer_for(
        "api", f"{key.id}:{body.customer or '-'}", api_key_id=key.id
    )
    inbound = Inbound(
        text=body.message,
        customer_id=customer.id,
        channel="api",
        conversation_id=body.thread_id,
        language=body.language,
    )
    message_id = body.message_id or idempotency_key
    return replace(inbound, message_id=message_id) if message_id is not None else inbound


async def _start(
    body: ChatRequest,
    key: ChatKey,
    runtime: RuntimeDep,
    service: ServiceDep,
    idempotency_key: Annotated[str | None, Header(pattern=ID_PATTERN)] = None,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**63 - 1)] = None,
) -> TurnStream:
    """Start the turn before any byte of the answer is sent, so a busy thread, another key's thread
    or a store that is down is a proper status code, also for a stream."""
    inbound = await _inbound(body, key, runtime, idempotency_key)
    return await service.start(inbound, last_event_id=last_event_id)


StartedTurn = Annotated[TurnStream, Depends(_start)]


@router.post(
    "/chat",
    response_model=ChatResponse,
    responses=ERRORS | {500: {"model": ErrorOut, "description": "The turn failed; the thread is as it was."}},
    summary="One turn of the conversation",
)
async def chat(turn: StartedTurn) -> ChatResponse | JSONResponse:
    """Send the customer's message; get the answer with the perfume cards and formulas it shows.
    Omit `thread_id` to start a conversation and keep the one returned for the next message."""
    answer = ChatResponse(thread_id=turn.conversation_id, message_id=turn.message_id, reply="", language=turn.language)
    async for event in turn:
        if isinstance(event, Perfumes):
            answer.perfumes = event.perfumes
        elif isinstance(event, Formula):
            answer.formulas.append(event.formula)
        elif isinstance(event, ReplyEvent):
            answer.reply, answer.language, answer.intent = event.text, event.language, event.intent
        elif isinstance(event, HandoffRequested):
            answer.reply, answer.handoff_ticket = event.text, event.ticket_id
        elif isinstance(event, Notice):
            answer.reply = f"{answer.reply}\n{event.text}".strip()
        elif isinstance(event, StaffEvent):
            answer.reply, answer.staff = event.text, True
        elif isinstance(event, Refused):
            if event.reason == "too_many":
                return JSONResponse(
                    status_code=429,
                    content={"message": event.text, "detail": event.reason},
                    headers={"Retry-After": str(event.retry_after_s or 1)},
                )
            return JSONResponse(status_code=422, content={"message": event.text, "detail": event.reason})
        elif isinstance(event, Error):
            return JSONResponse(status_code=503 if event.retryable else 500, content={"message": event.text})
    return answer


@router.post(
    "/chat/stream",
    response_class=EventSourceResponse,
    responses=ERRORS,
    summary="One turn as server-sent events",
)
async def chat_stream(turn: StartedTurn) -> AsyncIterator[ServerSentEvent]:
    """The turn's events as they happen: `token` (a model's reply as it is written), `tool_started`,
    `tool_finished`, `perfumes`, `formula`, `handoff_requested`, `staff_message`, `notice`, then
    `reply` (or `refused` / `error`). Each event has an id; a client that loses the connection
    sends the same request (same `message_id`) with `Last-Event-ID` and gets what it missed."""
    async for event in turn:
        yield ServerSentEvent(
            data=event.model_dump(mode="json"),
            event=event.type,
            id=str(event.id) if event.id is not None else None,
        )


def _iso(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


async def _owned(thread_id: ThreadId, key: ChatKey, runtime: RuntimeDep) -> str:
    """The customer of the key's thread, checked before any byte of a stream is sent; another key's
    thread is answered like a missing one."""
    repository = runtime.memory.repository
    conversation = await repository.get_conversation(thread_id)
    if conversation is None or not await repository.api_key_owns(key.id, conversation.customer_id):
        raise HTTPException(status_code=404, detail=f"there is no thread {thread_id} for this API key")
    return conversation.customer_id


ThreadCustomer = Annotated[str, Depends(_owned)]


@router.get("/threads", response_model=list[ThreadOut], responses=ERRORS, summary="The key's conversations")
async def threads(key: ChatKey, runtime: RuntimeDep) -> list[ThreadOut]:
    """Newest first: the conversations of every customer this key has spoken for."""
    found = await runtime.memory.repository.conversations_of_api_key(key.id)
    return [
        ThreadOut(
            thread_id=c.id,
            channel=c.channel,
            title=c.title,
            created_at=_iso(c.created_at),
            updated_at=_iso(c.updated_at),
        )
        for c in found
    ]


@router.get("/threads/{thread_id}", response_model=TranscriptOut, responses=ERRORS, summary="A thread's transcript")
async def thread(thread_id: ThreadId, _customer: ThreadCustomer, runtime: RuntimeDep) -> TranscriptOut:
    """The redacted transcript, with the perfume cards and formulas each answer showed."""
    repository = runtime.memory.repository
    messages = []
    for m in await repository.transcript(thread_id):
        events = m.payload.get("events", []) if m.payload else []
        messages.append(
            MessageOut(
                seq=m.seq,
                role=m.role,
                content=m.content,
                created_at=_iso(m.created_at) if m.created_at else None,
                perfumes=[p for e in events if e.get("type") == "perfumes" for p in e["perfumes"]],
                formulas=[e["formula"] for e in events if e.get("type") == "formula"],
            )
        )
    return TranscriptOut(thread_id=thread_id, messages=messages)


@router.get(
    "/threads/{thread_id}/events",
    response_class=EventSourceResponse,
    responses=ERRORS,
    summary="Live events of a thread outside its turns",
)
async def thread_events(
    thread_id: ThreadId,
    _customer: ThreadCustomer,
    service: ServiceDep,
    last_event_id: Annotated[int | None, Header(ge=0, le=2**63 - 1)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """Stays open and sends what reaches the customer between their own turns: `staff_message` (a
    person's answer) and `notice` (a person joined, handed back, closed the request, or nobody was
    free in time), from whichever server produced it. Reconnect with `Last-Event-ID` to get what
    was sent while the connection was down."""
    async for event in service.watch(thread_id, after=last_event_id):
        yield ServerSentEvent(data=event.model_dump(mode="json"), event=event.type, id=str(event.id))


@router.post(
    "/threads/{thread_id}/handoff",
    response_model=HandoffOut,
    responses=ERRORS,
    summary="Ask for a person",
)
async def request_person(
    thread_id: ThreadId, customer_id: ThreadCustomer, runtime: RuntimeDep, service: ServiceDep
) -> HandoffOut:
    """The "talk to a person" button: staff are notified with a summary; follow
    `/threads/{thread_id}/events` for their answer. Asking again while a request is open changes nothing."""
    conversation = await runtime.memory.repository.get_conversation(thread_id)
    preferences = await runtime.memory.repository.preferences(customer_id)
    language: Literal["ko", "en"] = "ko" if preferences.language == "ko" else "en"
    events = await (
        await service.request_handoff(thread_id, customer_id, conversation.channel if conversation else "api", language)
    ).collect()
    for event in events:
        if isinstance(event, Error):
            raise HTTPException(status_code=503 if event.retryable else 500, detail=event.text)
    ticket = await runtime.memory.repository.open_ticket_of(thread_id)
    if ticket is None:  # timed out at this very request and the assistant carried on
        raise HTTPException(status_code=409, detail="the request for a person could not be kept open; ask again")
    text = next((e.text for e in reversed(events) if isinstance(e, HandoffRequested | Notice)), None)
    return HandoffOut(thread_id=thread_id, ticket_id=ticket.id, status=ticket.status, text=text)


@router.delete(
    "/threads/{thread_id}/handoff",
    response_model=HandoffOut,
    responses=ERRORS,
    summary="Cancel the request for a person",
)
async def cancel_person(thread_id: ThreadId, customer_id: ThreadCustomer, service: ServiceDep) -> HandoffOut:
    """The customer changed their mind: the assistant carries on and staff see the request cancelled.
    409 when there is no open request."""
    ticket = await service.cancel_handoff(thread_id, customer_id)
    return HandoffOut(thread_id=thread_id, ticket_id=ticket.id, status=ticket.status)
