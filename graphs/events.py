"""What a turn sends back to a channel: typed events, the same for the terminal, REST, the web chat
and Slack. Channels render these; none of them sees a graph node or parses a reply's text.

Perfume cards and formulas travel as data here, so a channel can draw them its own way
(a Block Kit table, a web card) and the output guard's grounding check still holds: it is
made on these structures, not on the text.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class PerfumeCard(BaseModel):
    """A catalog perfume as the customer sees it; every field comes from the catalog."""

    model_config = ConfigDict(extra="ignore")

    id: str
    brand: str
    name: str
    year: int | None = None
    gender: str | None = None
    accords: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    top_notes: list[str] = Field(default_factory=list)
    heart_notes: list[str] = Field(default_factory=list)
    base_notes: list[str] = Field(default_factory=list)
    longevity: str | None = None
    sillage: str | None = None
    reason: str | None = Field(default=None, description="Why it matches, in the customer's language.")
    price: float | None = None
    currency: str | None = None
    size_ml: float | None = None
    stock: int | None = None
    sample_data: bool = Field(default=False, description="The shop fields (price, size, stock) are made up.")


class FormulaLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    pct: float = Field(description="% of the fragrance concentrate.")
    layer: str | None = None
    why: str | None = None


class AllergenLine(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    cas: str | None = None
    finished_pct: float | None = None


class FormulaCard(BaseModel):
    """A composed or checked formula with its verdict against the IFRA Standards and EU rules."""

    kind: Literal["composed", "checked"]
    name: str | None = None
    description: str | None = None
    concentration: str | None = None
    ingredients: list[FormulaLine]
    compliant: bool
    amendment: str
    violations: list[str] = Field(default_factory=list)
    allergens_to_declare: list[AllergenLine] = Field(default_factory=list)
    corrected: list[FormulaLine] | None = Field(default=None, description="A compliant version, when needed.")


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int | None = Field(default=None, description="Position in the conversation's event log (SSE id).")
    thread_id: str | None = Field(default=None, description="The conversation this event belongs to.")
    message_id: str | None = Field(default=None, description="The customer message this event answers.")
    pushed: bool = Field(
        default=False,
        description="Sent outside the customer's own turns (a staff reply, a handoff notice): "
        "channels show it as it arrives, from service.watch().",
    )


class Token(_Event):
    type: Literal["token"] = "token"
    text: str


class ToolStarted(_Event):
    type: Literal["tool_started"] = "tool_started"
    tool: str


class ToolFinished(_Event):
    type: Literal["tool_finished"] = "tool_finished"
    tool: str
    ok: bool


class Perfumes(_Event):
    type: Literal["perfumes"] = "perfumes"
    perfumes: list[PerfumeCard]


class Formula(_Event):
    type: Literal["formula"] = "formula"
    formula: FormulaCard


class HandoffRequested(_Event):
    type: Literal["handoff_requested"] = "handoff_requested"
    ticket_id: str
    text: str = Field(description="What the customer is told, in their language.")


class StaffMessage(_Event):
    type: Literal["staff_message"] = "staff_message"
    text: str
    staff: str | None = None


class Notice(_Event):
    """A word from the service itself about the conversation's state (a person is on the way, a
    person has it, nobody was free), in the customer's language."""

    type: Literal["notice"] = "notice"
    kind: Literal[
        "handoff_waiting",
        "handoff_with_staff",
        "handoff_taken",
        "handoff_returned",
        "handoff_resolved",
        "handoff_timed_out",
        "handoff_cancelled",
    ]
    text: str
    language: Literal["ko", "en"]


class Reply(_Event):
    """The turn's final answer; when the output guard replaced streamed tokens, `corrected` is true
    and `text` is what stands."""

    type: Literal["reply"] = "reply"
    text: str
    language: Literal["ko", "en"]
    intent: str | None = None
    corrected: bool = False


class Refused(_Event):
    """The message was not taken: too long, empty, unsafe. Nothing of it was stored."""

    type: Literal["refused"] = "refused"
    reason: Literal["too_long", "empty", "too_many"]
    text: str
    language: Literal["ko", "en"]
    retry_after_s: int | None = Field(default=None, description="With too_many: seconds until a message is taken.")


class Error(_Event):
    """The turn failed; the conversation is as it was before the message."""

    type: Literal["error"] = "error"
    text: str = Field(description="A short apology in the customer's language.")
    language: Literal["ko", "en"]
    retryable: bool = Field(description="True when a store was unreachable: try again shortly (HTTP 503).")


TurnEvent = Annotated[
    Token
    | ToolStarted
    | ToolFinished
    | Perfumes
    | Formula
    | HandoffRequested
    | StaffMessage
    | Notice
    | Reply
    | Refused
    | Error,
    Field(discriminator="type"),
]
_FINAL_TYPES = frozenset({"reply", "refused", "error", "handoff_requested", "staff_message", "notice"})


def is_final(event: TurnEvent) -> bool:
    """A turn's stream ends with one such event (a timed-out handoff's notice is followed by the reply)."""
    return event.type in _FINAL_TYPES and not (isinstance(event, Notice) and event.kind == "handoff_timed_out")


EVENT_ADAPTER: TypeAdapter[Any] = TypeAdapter(TurnEvent)


def event_from_dict(data: dict[str, Any]) -> TurnEvent:
    """An event read back from the session log or the transcript."""
    event: TurnEvent = EVENT_ADAPTER.validate_python(data)
    return event
