"""The handoff queue for signed-in staff: see who asked for a person, take a conversation, answer
the customer, hand it back to the assistant or close it.

A thin adapter over the turn service's handoff methods, like the Slack buttons: the customer sees
a reply or a notice live on whichever replica holds their connection. Every action is audited
with the staff member's name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from channels.rest.deps import RuntimeDep, ServiceDep
from channels.rest.routes.chat import ID_PATTERN
from channels.rest.schemas import ErrorOut
from channels.rest.security import Principal, StaffPrincipal
from graphs.events import Error, StaffMessage
from memory.records import Ticket, TicketStatus

router = APIRouter(prefix="/handoffs", tags=["handoffs"])
ConversationId = Annotated[str, Path(pattern=ID_PATTERN, description="The conversation (thread) id of the ticket.")]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Not signed in, or the access token expired."},
    403: {"model": ErrorOut, "description": "Not a staff member's or administrator's sign-in."},
    404: {"model": ErrorOut, "description": "No such conversation."},
    409: {"model": ErrorOut, "description": "No open request for a person, or another staff member has it."},
    422: {"model": ErrorOut, "description": "The request does not validate, or the message is too long or empty."},
    429: {"model": ErrorOut, "description": "Rate limit of the account exceeded; see Retry-After."},
    503: {"model": ErrorOut, "description": "A store is unreachable or the catalog is loading."},
}


class TicketOut(BaseModel):
    ticket_id: str
    conversation_id: str
    customer_id: str
    status: TicketStatus
    reason: str
    staff: str | None = Field(description="Who has the conversation, once taken.")
    language: str = Field(description="The customer's language.")
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, ticket: Ticket) -> TicketOut:
        return cls(
            ticket_id=ticket.id,
            conversation_id=ticket.conversation_id,
            customer_id=ticket.customer_id,
            status=ticket.status,
            reason=ticket.reason,
            staff=ticket.staff,
            language=ticket.language,
            created_at=ticket.created_at.isoformat(),
            updated_at=ticket.updated_at.isoformat(),
        )


class StaffReply(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"text": "안녕하세요, 제가 도와드릴게요."}]}
    )

    text: str = Field(
        min_length=1,
        max_length=20000,
        description="What the customer reads, in their language. Over the server's message limit the answer is 422.",
    )


class Delivered(BaseModel):
    conversation_id: str
    event_id: int | None = Field(
        description="The event's id in the conversation's log (what the customer's stream sees)."
    )
    text: str = Field(description="As stored and shown: personal data redacted.")
    staff: str | None


async def _audit(runtime: RuntimeDep, principal: Principal, action: str, conversation_id: str) -> None:
    await runtime.memory.repository.audit(principal.actor, action, conversation_id)


@router.get("", response_model=list[TicketOut], responses=ERRORS, summary="Open requests for a person")
async def open_tickets(
    principal: StaffPrincipal,
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, oldest first.")] = 50,
) -> list[TicketOut]:
    """Requests waiting for someone, and conversations a staff member has, oldest first."""
    return [TicketOut.of(ticket) for ticket in await service.open_tickets(limit=limit)]


@router.post(
    "/{conversation_id}/messages",
    response_model=Delivered,
    responses=ERRORS | {500: {"model": ErrorOut, "description": "The message could not be delivered."}},
    summary="Answer the customer",
)
async def reply(
    conversation_id: ConversationId,
    body: StaffReply,
    principal: StaffPrincipal,
    runtime: RuntimeDep,
    service: ServiceDep,
) -> Delivered | JSONResponse:
    """The customer sees the message at once and in their history. The first message takes the
    conversation if nobody had; while a person has it the assistant stays silent."""
    stream = await service.staff_message(conversation_id, body.text, staff=principal.name)
    delivered: Delivered | None = None
    async for event in stream:
        if isinstance(event, StaffMessage):
            delivered = Delivered(
                conversation_id=conversation_id, event_id=event.id, text=event.text, staff=event.staff
            )
        elif isinstance(event, Error):
            return JSONResponse(status_code=503 if event.retryable else 500, content={"message": event.text})
    if delivered is None:
        return JSONResponse(status_code=500, content={"message": "the message was not delivered"})
    await _audit(runtime, principal, "handoff.reply", conversation_id)
    return delivered


async def _move(
    action: Literal["take", "return", "resolve"],
    conversation_id: str,
    principal: Principal,
    runtime: RuntimeDep,
    service: ServiceDep,
) -> TicketOut:
    if action == "take":
        ticket = await service.take(conversation_id, principal.name)
    else:
        ticket = await service.hand_back(conversation_id, principal.name, resolved=action == "resolve")
    await _audit(runtime, principal, f"handoff.{action}", conversation_id)
    return TicketOut.of(ticket)


@router.post("/{conversation_id}/take", response_model=TicketOut, responses=ERRORS, summary="Take the conversation")
async def take(
    conversation_id: ConversationId, principal: StaffPrincipal, runtime: RuntimeDep, service: ServiceDep
) -> TicketOut:
    """The customer is told a person joined; the assistant goes silent. 409 when someone else has it."""
    return await _move("take", conversation_id, principal, runtime, service)


@router.post(
    "/{conversation_id}/return", response_model=TicketOut, responses=ERRORS, summary="Hand back to the assistant"
)
async def hand_back(
    conversation_id: ConversationId, principal: StaffPrincipal, runtime: RuntimeDep, service: ServiceDep
) -> TicketOut:
    """The assistant answers the customer's next message, with the whole conversation's context."""
    return await _move("return", conversation_id, principal, runtime, service)


@router.post("/{conversation_id}/resolve", response_model=TicketOut, responses=ERRORS, summary="Close as resolved")
async def resolve(
    conversation_id: ConversationId, principal: StaffPrincipal, runtime: RuntimeDep, service: ServiceDep
) -> TicketOut:
    """The request is done; the assistant carries on with the customer's next message."""
    return await _move("resolve", conversation_id, principal, runtime, service)
