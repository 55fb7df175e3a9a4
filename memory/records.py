"""What the long-term memory holds, as typed records passed between the stores and the turn service.

Every text field here is already redacted: the turn service redacts a message before any of
these records is built, so no store ever sees what a customer typed raw.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

Channel = Literal["web", "slack", "api", "cli"]
Role = Literal["user", "assistant", "staff"]
Language = Literal["ko", "en"]
TicketStatus = Literal["requested", "taken", "returned", "resolved", "timed_out", "cancelled"]
OPEN_TICKET_STATUSES: tuple[TicketStatus, ...] = ("requested", "taken")


@dataclass(frozen=True, slots=True)
class Customer:
    """A person, whatever channel they come through; the id is opaque (never an e-mail)."""

    id: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Preferences:
    """What a customer told us they like and dislike, learned in any of their conversations and
    used by search and composition in every later one."""

    liked_notes: tuple[str, ...] = ()
    disliked_notes: tuple[str, ...] = ()
    liked_accords: tuple[str, ...] = ()
    disliked_accords: tuple[str, ...] = ()
    budget_max: float | None = None
    currency: str | None = None
    language: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "liked_notes": list(self.liked_notes),
            "disliked_notes": list(self.disliked_notes),
            "liked_accords": list(self.liked_accords),
            "disliked_accords": list(self.disliked_accords),
            "budget_max": self.budget_max,
            "currency": self.currency,
            "language": self.language,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Preferences:
        data = data or {}
        return cls(
            liked_notes=tuple(data.get("liked_notes") or ()),
            disliked_notes=tuple(data.get("disliked_notes") or ()),
            liked_accords=tuple(data.get("liked_accords") or ()),
            disliked_accords=tuple(data.get("disliked_accords") or ()),
            budget_max=data.get("budget_max"),
            currency=data.get("currency"),
            language=data.get("language"),
        )


@dataclass(frozen=True, slots=True)
class Conversation:
    """One thread: its id is the LangGraph thread id and the Chainlit thread id."""

    id: str
    customer_id: str
    channel: Channel
    title: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Message:
    """One line of the redacted transcript."""

    conversation_id: str
    seq: int
    """Position in the conversation, from 1."""
    role: Role
    content: str
    message_id: str | None
    """For a user line and the reply to it: the client's message id (idempotency key)."""
    payload: dict[str, Any] = field(default_factory=dict)
    """Structured parts of an assistant line: perfume cards, formulas (JSON-able)."""
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One completed turn, written in one transaction: the customer's line and the answer."""

    conversation_id: str
    message_id: str
    user_text: str
    reply_text: str
    reply_role: Role = "assistant"
    payload: dict[str, Any] = field(default_factory=dict)
    """{"events": [...]} the turn's final events as JSON, so a retried message id replays them."""


@dataclass(frozen=True, slots=True)
class SavedFormula:
    id: str
    customer_id: str
    conversation_id: str | None
    name: str
    formula: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Ticket:
    """A request for a person: requested -> taken -> returned | resolved | timed_out | cancelled."""

    id: str
    conversation_id: str
    customer_id: str
    status: TicketStatus
    reason: str
    staff: str | None
    created_at: datetime
    updated_at: datetime
    language: Language = "en"
    """The customer's language when they asked: the notices the ticket causes are written in it."""

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_TICKET_STATUSES


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API client's key: only its hash is stored; `prefix` is the public part used to find it."""

    id: str
    name: str
    prefix: str
    key_hash: str
    scopes: tuple[str, ...]
    rate_limit: str | None
    """A `limits` rate string ("60/minute"); None: the settings' default."""
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    """Who: "apikey:<id>", "cli", "admin:<name>", "system"."""
    action: str
    """What: "apikey.create", "apikey.use", "customer.export", "customer.delete", "transcripts.purge" ..."""
    subject: str | None
    detail: dict[str, Any]


UserRole = Literal["staff", "admin"]


@dataclass(frozen=True, slots=True)
class User:
    """A staff member or administrator who signs in with a password (customers never do)."""

    id: str
    username: str
    password_hash: str
    """argon2id, in the PHC string format (the parameters travel with the hash)."""
    role: UserRole
    created_at: datetime
    disabled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class RefreshToken:
    """One issued refresh token, by its JWT id. A sign-in starts a family; each refresh replaces
    the presented token by a new one of the same family."""

    jti: str
    user_id: str
    family: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    replaced_by: str | None = None
    """The jti of its successor once it was used to refresh: presented again, it is a reuse."""


def jsonable(record: Any) -> dict[str, Any]:
    """A record as JSON-able data (datetimes as ISO 8601 text, tuples as lists): exports and logs
    read the same shape from every adapter."""
    return {key: _jsonable_value(value) for key, value in asdict(record).items()}


def _jsonable_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_jsonable_value(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable_value(item) for key, item in value.items()}
    return value
