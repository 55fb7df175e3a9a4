"""The long-term memory's interface: one repository, two adapters (Postgres through asyncpg in
server mode, SQLite in the embedded mode), held to the same contract tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from core.errors import FragranceError
from memory.records import (
    ApiKey,
    AuditEntry,
    Channel,
    Conversation,
    Customer,
    Language,
    Message,
    Preferences,
    RefreshToken,
    SavedFormula,
    Ticket,
    TicketStatus,
    Turn,
    User,
    UserRole,
)


class StoreUnavailable(FragranceError):
    """The database does not answer (server stopped, network cut): the turn fails with 503."""


class ConversationForbidden(FragranceError):
    """The conversation exists and belongs to another customer."""


class DuplicateTurn(FragranceError):
    """A turn with this message id was already recorded in this conversation."""


class RecordNotFound(FragranceError):
    """A write names a customer, conversation, ticket or API key that does not exist."""


class UsernameTaken(FragranceError):
    """An account with this username exists already (a disabled one included)."""


class Repository(Protocol):
    """Every method is async and raises StoreUnavailable when the database cannot be reached."""

    async def close(self) -> None: ...

    # -- customers and their identities per channel --------------------------------------
    async def customer_for(self, channel: Channel, external_id: str, api_key_id: str | None = None) -> Customer:
        """The customer behind (channel, external_id), created on first sight. `api_key_id` records
        which API key's client an "api" identity belongs to (a key sees only its own customers)."""
        ...

    async def get_customer(self, customer_id: str) -> Customer | None: ...

    async def link_identity(self, customer_id: str, channel: Channel, external_id: str) -> None:
        """Attach another channel's identity to an existing customer (a shop's logged-in id on the web
        and the same person's API identity); moves it if it pointed elsewhere."""
        ...

    async def preferences(self, customer_id: str) -> Preferences:
        """Empty Preferences for a customer who stated none."""
        ...

    async def save_preferences(self, customer_id: str, preferences: Preferences) -> None: ...

    # -- conversations and the redacted transcript ---------------------------------------
    async def open_conversation(
        self, conversation_id: str, customer_id: str, channel: Channel, title: str | None = None
    ) -> Conversation:
        """Create the conversation or return it; ConversationForbidden when it is another customer's."""
        ...

    async def get_conversation(self, conversation_id: str) -> Conversation | None: ...

    async def conversations_of(self, customer_id: str, limit: int = 50) -> list[Conversation]:
        """Newest first (updated_at)."""
        ...

    async def conversations_of_api_key(self, api_key_id: str, limit: int = 50) -> list[Conversation]:
        """Conversations of every customer whose "api" identity belongs to this key, newest first."""
        ...

    async def api_key_owns(self, api_key_id: str, customer_id: str) -> bool:
        """Whether the customer has an "api" identity of this key (a key sees only its own customers)."""
        ...

    async def conversations_idle_since(self, before: datetime) -> list[str]:
        """Ids of conversations not updated since `before` (retention: their checkpoints go too)."""
        ...

    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        """The recorded turn answering this message id, if any (idempotent retries)."""
        ...

    async def record_turn(self, turn: Turn) -> None:
        """Append the user line and its answer in one transaction and touch updated_at;
        DuplicateTurn when this message id is already recorded."""
        ...

    async def add_message(
        self, conversation_id: str, role: str, content: str, payload: dict[str, Any] | None = None
    ) -> Message:
        """A line outside a turn (a staff message, a notice); returns it with its seq."""
        ...

    async def transcript(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]: ...

    # -- formulas, handoff tickets --------------------------------------------------------
    async def save_formula(
        self, customer_id: str, conversation_id: str | None, name: str, formula: dict[str, Any]
    ) -> SavedFormula: ...

    async def formulas(self, customer_id: str) -> list[SavedFormula]: ...

    async def open_ticket(
        self, conversation_id: str, customer_id: str, reason: str, language: Language = "en"
    ) -> Ticket:
        """A new ticket, or the conversation's open one (requested|taken) when it has one."""
        ...

    async def open_ticket_of(self, conversation_id: str) -> Ticket | None: ...

    async def get_ticket(self, ticket_id: str) -> Ticket | None: ...

    async def tickets(self, statuses: tuple[TicketStatus, ...], limit: int = 50) -> list[Ticket]:
        """Tickets in any of these statuses, oldest first (staff work the queue from its head)."""
        ...

    async def set_ticket_status(self, ticket_id: str, status: TicketStatus, staff: str | None = None) -> Ticket: ...

    async def move_ticket(
        self, ticket_id: str, status: TicketStatus, only_from: tuple[TicketStatus, ...], staff: str | None = None
    ) -> Ticket | None:
        """Set the status only if the ticket is still in one of `only_from`, in one statement: of two
        replicas racing (the timeout sweeper and a staff member taking it), exactly one wins. None: it
        had already moved (or does not exist)."""
        ...

    async def link_ticket(self, ticket_id: str, kind: str, external_id: str) -> None:
        """Remember where a staff tool shows the ticket (kind "slack": "CHANNEL:TS" of its thread)."""
        ...

    async def ticket_by_link(self, kind: str, external_id: str) -> Ticket | None: ...

    async def ticket_links(self, ticket_id: str) -> dict[str, str]:
        """kind -> external id."""
        ...

    # -- API keys and the audit log -------------------------------------------------------
    async def create_api_key(
        self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...], rate_limit: str | None
    ) -> ApiKey: ...

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None: ...

    async def api_keys(self) -> list[ApiKey]: ...

    async def revoke_api_key(self, key_id: str) -> ApiKey | None:
        """None when there is no such key."""
        ...

    async def touch_api_key(self, key_id: str) -> None:
        """Set last_used_at."""
        ...

    async def audit(
        self, actor: str, action: str, subject: str | None = None, detail: dict[str, Any] | None = None
    ) -> None: ...

    async def audit_entries(self, subject: str | None = None, limit: int = 100) -> list[AuditEntry]: ...

    # -- staff and admin accounts, refresh tokens ------------------------------------------
    async def create_user(self, username: str, password_hash: str, role: UserRole) -> User:
        """UsernameTaken when the username is in use (usernames are never reused)."""
        ...

    async def get_user(self, user_id: str) -> User | None: ...

    async def user_by_username(self, username: str) -> User | None: ...

    async def users(self) -> list[User]:
        """Every account, oldest first."""
        ...

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Replace the stored hash (a rehash with stronger parameters, a new password)."""
        ...

    async def disable_user(self, user_id: str) -> User | None:
        """Set disabled_at (an earlier one is kept) and revoke every refresh token of the account,
        in one transaction; None when there is no such account."""
        ...

    async def create_refresh_token(self, jti: str, user_id: str, family: str, expires_at: datetime) -> RefreshToken:
        """RecordNotFound when the account does not exist."""
        ...

    async def get_refresh_token(self, jti: str) -> RefreshToken | None: ...

    async def rotate_refresh_token(self, jti: str, new_jti: str, expires_at: datetime) -> RefreshToken | None:
        """In one transaction, when the token is live (not revoked, not replaced, not expired): mark
        it replaced by `new_jti` and add `new_jti` to its family; returns the new token. None when it
        was not live, also for the loser of two concurrent rotations of one token."""
        ...

    async def revoke_refresh_family(self, family: str) -> int:
        """Revoke every live token of the family (sign-out, reuse detected); returns how many."""
        ...

    # -- data rights and retention --------------------------------------------------------
    async def export_customer(self, customer_id: str) -> dict[str, Any] | None:
        """Everything held about the customer as JSON-able data (customer, identities, preferences,
        conversations with their transcripts, formulas, tickets); None when unknown."""
        ...

    async def delete_customer(self, customer_id: str) -> list[str]:
        """Delete every row about the customer (identities, preferences, conversations, messages,
        formulas, tickets) in one transaction; returns the deleted conversation ids so the caller
        can drop their checkpoints and session data. Audit rows stay."""
        ...

    async def purge_transcripts(self, older_than: datetime) -> int:
        """Delete transcript lines created before `older_than`, and the web chat's own history
        (Chainlit's steps) of the same age; returns how many rows went."""
        ...
