"""Long-term memory in Postgres (server mode): the `Repository` over an asyncpg pool.

The tables live in schema `fragrance` (the pool's search_path) and are created by memory/migrate.py,
never here, so that replicas starting together do not race on DDL. Transcript positions (`seq`) come
from `conversations.last_seq`, bumped under the conversation's row lock: dense and unique however
many processes write to one conversation.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, get_args
from uuid import uuid4

import asyncpg

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
    Role,
    SavedFormula,
    Ticket,
    TicketStatus,
    Turn,
    User,
    UserRole,
    jsonable,
)
from memory.repository import ConversationForbidden, DuplicateTurn, RecordNotFound, StoreUnavailable, UsernameTaken

SCHEMA = "fragrance"

# What "the database does not answer" looks like from asyncpg: refused or cut sockets and timeouts
# (OSError, TimeoutError included), a server shutting down or full, a database that does not exist.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidCatalogNameError,
)

PURGE_TIMEOUT_S = 600.0
"""A retention purge may delete a year of lines at once: it gets longer than the per-command timeout."""

_CONVERSATION = "id, customer_id, channel, title, created_at, updated_at"
_MESSAGE = "conversation_id, seq, role, content, message_id, payload, created_at"
_TICKET = "id, conversation_id, customer_id, status, reason, staff, created_at, updated_at, language"
_API_KEY = "id, name, prefix, key_hash, scopes, rate_limit, created_at, revoked_at, last_used_at"
_FORMULA = "id, customer_id, conversation_id, name, formula, created_at"
_OPEN = "('requested', 'taken')"
_USER = "id, username, password_hash, role, created_at, disabled_at"
_REFRESH = "jti, user_id, family, created_at, expires_at, revoked_at, replaced_by"


def unreachable(exc: BaseException) -> StoreUnavailable:
    """The sentence a person reads when the database does not answer."""
    detail = str(exc) or type(exc).__name__
    return StoreUnavailable(f"the database is not reachable: {detail}")


class PostgresRepository:
    """The `Repository` contract over an asyncpg pool; see memory/repository.py for each method."""

    def __init__(self, pool: asyncpg.Pool, timeout_s: float = 5.0) -> None:
        self._pool = pool
        self._timeout_s = timeout_s

    @classmethod
    async def open(cls, dsn: str, *, pool_size: int = 10, timeout_s: float = 5.0) -> PostgresRepository:
        """Connect a pool (one connection at once, up to `pool_size`); StoreUnavailable when the
        server does not answer within `timeout_s`."""
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_size,
                timeout=timeout_s,
                command_timeout=timeout_s,
                server_settings={"search_path": SCHEMA},
                init=_init_connection,
            )
        except _UNREACHABLE as exc:
            raise unreachable(exc) from exc
        return cls(pool, timeout_s)

    async def close(self) -> None:
        await self._pool.close()

    # -- connections ---------------------------------------------------------------------
    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection; driver failures become StoreUnavailable with a sentence."""
        try:
            async with self._pool.acquire(timeout=self._timeout_s) as conn:
                yield conn
        except _UNREACHABLE as exc:
            raise unreachable(exc) from exc
        except asyncpg.UndefinedTableError as exc:
            raise StoreUnavailable(
                f"the database has no {SCHEMA} tables yet: run the migrations (migrate_on_start): {exc}"
            ) from exc
        except asyncpg.InterfaceError as exc:
            if self._pool.is_closing():
                raise StoreUnavailable("the database connection pool is closed") from exc
            raise

    @asynccontextmanager
    async def _transaction(self, **options: Any) -> AsyncIterator[Any]:
        async with self._connection() as conn, conn.transaction(**options):
            yield conn

    # -- customers -----------------------------------------------------------------------
    async def customer_for(self, channel: Channel, external_id: str, api_key_id: str | None = None) -> Customer:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                "SELECT c.id, c.created_at FROM identities i JOIN customers c ON c.id = i.customer_id "
                "WHERE i.channel = $1 AND i.external_id = $2",
                channel,
                external_id,
            )
            if row is not None:
                return _customer(row)
            customer = Customer(id=_new_id(), created_at=_now())
            try:
                async with conn.transaction():
                    await conn.execute(
                        "INSERT INTO customers (id, created_at) VALUES ($1, $2)", customer.id, customer.created_at
                    )
                    won = await conn.fetchval(
                        "INSERT INTO identities (channel, external_id, customer_id, api_key_id, created_at) "
                        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (channel, external_id) DO NOTHING RETURNING 1",
                        channel,
                        external_id,
                        customer.id,
                        api_key_id,
                        customer.created_at,
                    )
                    if won is None:  # another process created this identity first: keep theirs
                        await conn.execute("DELETE FROM customers WHERE id = $1", customer.id)
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no API key {api_key_id!r}") from exc
            if won is not None:
                return customer
            row = await conn.fetchrow(
                "SELECT c.id, c.created_at FROM identities i JOIN customers c ON c.id = i.customer_id "
                "WHERE i.channel = $1 AND i.external_id = $2",
                channel,
                external_id,
            )
            return _customer(row)

    async def get_customer(self, customer_id: str) -> Customer | None:
        async with self._connection() as conn:
            row = await conn.fetchrow("SELECT id, created_at FROM customers WHERE id = $1", customer_id)
        return None if row is None else _customer(row)

    async def link_identity(self, customer_id: str, channel: Channel, external_id: str) -> None:
        async with self._connection() as conn:
            try:
                await conn.execute(
                    "INSERT INTO identities (channel, external_id, customer_id, created_at) VALUES ($1, $2, $3, $4) "
                    "ON CONFLICT (channel, external_id) DO UPDATE SET customer_id = EXCLUDED.customer_id",
                    channel,
                    external_id,
                    customer_id,
                    _now(),
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no customer {customer_id!r}") from exc

    async def preferences(self, customer_id: str) -> Preferences:
        async with self._connection() as conn:
            data = await conn.fetchval("SELECT data FROM preferences WHERE customer_id = $1", customer_id)
        return Preferences.from_dict(data)

    async def save_preferences(self, customer_id: str, preferences: Preferences) -> None:
        async with self._connection() as conn:
            try:
                await conn.execute(
                    "INSERT INTO preferences (customer_id, data, updated_at) VALUES ($1, $2, $3) "
                    "ON CONFLICT (customer_id) DO UPDATE SET data = EXCLUDED.data, updated_at = EXCLUDED.updated_at",
                    customer_id,
                    preferences.to_dict(),
                    _now(),
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no customer {customer_id!r}") from exc

    # -- conversations -------------------------------------------------------------------
    async def open_conversation(
        self, conversation_id: str, customer_id: str, channel: Channel, title: str | None = None
    ) -> Conversation:
        now = _now()
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO conversations (id, customer_id, channel, title, created_at, updated_at) "
                    f"VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (id) DO NOTHING RETURNING {_CONVERSATION}",
                    conversation_id,
                    customer_id,
                    channel,
                    title,
                    now,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no customer {customer_id!r}") from exc
            if row is None:
                row = await conn.fetchrow(f"SELECT {_CONVERSATION} FROM conversations WHERE id = $1", conversation_id)
        if row is None:
            raise RecordNotFound(f"the conversation {conversation_id!r} was deleted while it was opened")
        if row["customer_id"] != customer_id:
            raise ConversationForbidden("this conversation belongs to another customer")
        return _conversation(row)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_CONVERSATION} FROM conversations WHERE id = $1", conversation_id)
        return None if row is None else _conversation(row)

    async def conversations_of(self, customer_id: str, limit: int = 50) -> list[Conversation]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id = $1 "
                "ORDER BY updated_at DESC, id DESC LIMIT $2",
                customer_id,
                limit,
            )
        return [_conversation(row) for row in rows]

    async def conversations_of_api_key(self, api_key_id: str, limit: int = 50) -> list[Conversation]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id IN "
                "(SELECT customer_id FROM identities WHERE channel = 'api' AND api_key_id = $1) "
                "ORDER BY updated_at DESC, id DESC LIMIT $2",
                api_key_id,
                limit,
            )
        return [_conversation(row) for row in rows]

    async def api_key_owns(self, api_key_id: str, customer_id: str) -> bool:
        async with self._connection() as conn:
            owned = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM identities WHERE channel = 'api' AND api_key_id = $1 "
                "AND customer_id = $2)",
                api_key_id,
                customer_id,
            )
        return bool(owned)

    async def conversations_idle_since(self, before: datetime) -> list[str]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT id FROM conversations WHERE updated_at < $1 ORDER BY updated_at, id", _aware(before)
            )
        return [row["id"] for row in rows]

    # -- the transcript ------------------------------------------------------------------
    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT role, content, payload FROM messages WHERE conversation_id = $1 AND message_id = $2 "
                "ORDER BY seq",
                conversation_id,
                message_id,
            )
        return _turn(conversation_id, message_id, [(r["role"], r["content"], r["payload"]) for r in rows])

    async def record_turn(self, turn: Turn) -> None:
        if turn.reply_role == "user":
            raise ValueError("the answer of a turn is an assistant or staff line, not a user line")
        now = _now()
        async with self._transaction() as conn:
            last = await _bump_seq(conn, turn.conversation_id, 2, now)
            try:
                await conn.executemany(
                    f"INSERT INTO messages ({_MESSAGE}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    [
                        (turn.conversation_id, last - 1, "user", turn.user_text, turn.message_id, {}, now),
                        (
                            turn.conversation_id,
                            last,
                            turn.reply_role,
                            turn.reply_text,
                            turn.message_id,
                            turn.payload,
                            now,
                        ),
                    ],
                )
            except asyncpg.UniqueViolationError as exc:
                raise DuplicateTurn(f"message {turn.message_id!r} was already answered in this conversation") from exc

    async def add_message(
        self, conversation_id: str, role: str, content: str, payload: dict[str, Any] | None = None
    ) -> Message:
        if role not in get_args(Role):
            raise ValueError(f"a transcript line's role is one of {', '.join(get_args(Role))}, not {role!r}")
        now = _now()
        async with self._transaction() as conn:
            seq = await _bump_seq(conn, conversation_id, 1, now)
            row = await conn.fetchrow(
                f"INSERT INTO messages ({_MESSAGE}) VALUES ($1, $2, $3, $4, NULL, $5, $6) RETURNING {_MESSAGE}",
                conversation_id,
                seq,
                role,
                content,
                payload or {},
                now,
            )
        return _message(row)

    async def transcript(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_MESSAGE} FROM messages WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                conversation_id,
                after_seq,
                limit,
            )
        return [_message(row) for row in rows]

    # -- formulas, tickets ---------------------------------------------------------------
    async def save_formula(
        self, customer_id: str, conversation_id: str | None, name: str, formula: dict[str, Any]
    ) -> SavedFormula:
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO formulas ({_FORMULA}) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {_FORMULA}",
                    _new_id(),
                    customer_id,
                    conversation_id,
                    name,
                    formula,
                    _now(),
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(
                    f"there is no customer {customer_id!r} or conversation {conversation_id!r}"
                ) from exc
        return SavedFormula(**dict(row))

    async def formulas(self, customer_id: str) -> list[SavedFormula]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_FORMULA} FROM formulas WHERE customer_id = $1 ORDER BY created_at DESC, id", customer_id
            )
        return [SavedFormula(**dict(row)) for row in rows]

    async def open_ticket(
        self, conversation_id: str, customer_id: str, reason: str, language: Language = "en"
    ) -> Ticket:
        now = _now()
        async with self._transaction() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO tickets ({_TICKET}) VALUES ($1, $2, $3, 'requested', $4, NULL, $5, $5, $6) "
                    f"ON CONFLICT (conversation_id) WHERE status IN {_OPEN} DO NOTHING RETURNING {_TICKET}",
                    _new_id(),
                    conversation_id,
                    customer_id,
                    reason,
                    now,
                    language,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(
                    f"there is no conversation {conversation_id!r} of customer {customer_id!r}"
                ) from exc
            if row is None:
                row = await conn.fetchrow(
                    f"SELECT {_TICKET} FROM tickets WHERE conversation_id = $1 AND status IN {_OPEN}", conversation_id
                )
        return Ticket(**dict(row))

    async def open_ticket_of(self, conversation_id: str) -> Ticket | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"SELECT {_TICKET} FROM tickets WHERE conversation_id = $1 AND status IN {_OPEN}", conversation_id
            )
        return None if row is None else Ticket(**dict(row))

    async def set_ticket_status(self, ticket_id: str, status: TicketStatus, staff: str | None = None) -> Ticket:
        if status not in get_args(TicketStatus):
            raise ValueError(f"a ticket's status is one of {', '.join(get_args(TicketStatus))}, not {status!r}")
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"UPDATE tickets SET status = $2, staff = COALESCE($3, staff), updated_at = $4 "
                    f"WHERE id = $1 RETURNING {_TICKET}",
                    ticket_id,
                    status,
                    staff,
                    _now(),
                )
            except asyncpg.UniqueViolationError as exc:
                raise ValueError("the conversation already has another open ticket") from exc
        if row is None:
            raise RecordNotFound(f"there is no ticket {ticket_id!r}")
        return Ticket(**dict(row))

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_TICKET} FROM tickets WHERE id = $1", ticket_id)
        return None if row is None else Ticket(**dict(row))

    async def tickets(self, statuses: tuple[TicketStatus, ...], limit: int = 50) -> list[Ticket]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                f"SELECT {_TICKET} FROM tickets WHERE status = ANY($1::text[]) ORDER BY created_at, id LIMIT $2",
                list(statuses),
                limit,
            )
        return [Ticket(**dict(row)) for row in rows]

    async def move_ticket(
        self, ticket_id: str, status: TicketStatus, only_from: tuple[TicketStatus, ...], staff: str | None = None
    ) -> Ticket | None:
        if status not in get_args(TicketStatus):
            raise ValueError(f"a ticket's status is one of {', '.join(get_args(TicketStatus))}, not {status!r}")
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"UPDATE tickets SET status = $2, staff = COALESCE($3, staff), updated_at = $4 "
                f"WHERE id = $1 AND status = ANY($5::text[]) RETURNING {_TICKET}",
                ticket_id,
                status,
                staff,
                _now(),
                list(only_from),
            )
        return None if row is None else Ticket(**dict(row))

    async def link_ticket(self, ticket_id: str, kind: str, external_id: str) -> None:
        async with self._connection() as conn:
            try:
                await conn.execute(
                    "INSERT INTO ticket_links (ticket_id, kind, external_id) VALUES ($1, $2, $3) "
                    "ON CONFLICT (ticket_id, kind) DO UPDATE SET external_id = EXCLUDED.external_id",
                    ticket_id,
                    kind,
                    external_id,
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no ticket {ticket_id!r}") from exc

    async def ticket_by_link(self, kind: str, external_id: str) -> Ticket | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"SELECT {', '.join('t.' + c.strip() for c in _TICKET.split(','))} FROM tickets t "
                "JOIN ticket_links l ON l.ticket_id = t.id WHERE l.kind = $1 AND l.external_id = $2",
                kind,
                external_id,
            )
        return None if row is None else Ticket(**dict(row))

    async def ticket_links(self, ticket_id: str) -> dict[str, str]:
        async with self._connection() as conn:
            rows = await conn.fetch("SELECT kind, external_id FROM ticket_links WHERE ticket_id = $1", ticket_id)
        return {row["kind"]: row["external_id"] for row in rows}

    # -- API keys and the audit log ------------------------------------------------------
    async def create_api_key(
        self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...], rate_limit: str | None
    ) -> ApiKey:
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO api_keys (id, name, prefix, key_hash, scopes, rate_limit, created_at) "
                    f"VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_API_KEY}",
                    _new_id(),
                    name,
                    prefix,
                    key_hash,
                    list(scopes),
                    rate_limit,
                    _now(),
                )
            except asyncpg.UniqueViolationError as exc:
                raise ValueError(f"an API key with prefix {prefix!r} already exists") from exc
        return _api_key(row)

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_API_KEY} FROM api_keys WHERE prefix = $1", prefix)
        return None if row is None else _api_key(row)

    async def api_keys(self) -> list[ApiKey]:
        async with self._connection() as conn:
            rows = await conn.fetch(f"SELECT {_API_KEY} FROM api_keys ORDER BY created_at, id")
        return [_api_key(row) for row in rows]

    async def revoke_api_key(self, key_id: str) -> ApiKey | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(
                f"UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING {_API_KEY}",
                key_id,
                _now(),
            )
        return None if row is None else _api_key(row)

    async def touch_api_key(self, key_id: str) -> None:
        async with self._connection() as conn:
            await conn.execute("UPDATE api_keys SET last_used_at = $2 WHERE id = $1", key_id, _now())

    async def audit(
        self, actor: str, action: str, subject: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        async with self._connection() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES ($1, $2, $3, $4, $5)",
                _now(),
                actor,
                action,
                subject,
                detail or {},
            )

    async def audit_entries(self, subject: str | None = None, limit: int = 100) -> list[AuditEntry]:
        async with self._connection() as conn:
            rows = await conn.fetch(
                "SELECT id, at, actor, action, subject, detail FROM audit_log "
                "WHERE $1::text IS NULL OR subject = $1 ORDER BY id DESC LIMIT $2",
                subject,
                limit,
            )
        return [AuditEntry(**dict(row)) for row in rows]

    # -- staff and admin accounts, refresh tokens ----------------------------------------
    async def create_user(self, username: str, password_hash: str, role: UserRole) -> User:
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO users (id, username, password_hash, role, created_at) "
                    f"VALUES ($1, $2, $3, $4, $5) RETURNING {_USER}",
                    _new_id(),
                    username,
                    password_hash,
                    role,
                    _now(),
                )
            except asyncpg.UniqueViolationError as exc:
                raise UsernameTaken(f"there is already an account named {username!r}") from exc
        return User(**dict(row))

    async def get_user(self, user_id: str) -> User | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_USER} FROM users WHERE id = $1", user_id)
        return None if row is None else User(**dict(row))

    async def user_by_username(self, username: str) -> User | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_USER} FROM users WHERE username = $1", username)
        return None if row is None else User(**dict(row))

    async def users(self) -> list[User]:
        async with self._connection() as conn:
            rows = await conn.fetch(f"SELECT {_USER} FROM users ORDER BY created_at, id")
        return [User(**dict(row)) for row in rows]

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._connection() as conn:
            status = await conn.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)
        if status.endswith(" 0"):
            raise RecordNotFound(f"there is no account {user_id!r}")

    async def disable_user(self, user_id: str) -> User | None:
        now = _now()
        async with self._transaction() as conn:
            row = await conn.fetchrow(
                f"UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1 RETURNING {_USER}",
                user_id,
                now,
            )
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL", user_id, now
            )
        return None if row is None else User(**dict(row))

    async def create_refresh_token(self, jti: str, user_id: str, family: str, expires_at: datetime) -> RefreshToken:
        async with self._connection() as conn:
            try:
                row = await conn.fetchrow(
                    f"INSERT INTO refresh_tokens (jti, user_id, family, created_at, expires_at) "
                    f"VALUES ($1, $2, $3, $4, $5) RETURNING {_REFRESH}",
                    jti,
                    user_id,
                    family,
                    _now(),
                    _aware(expires_at),
                )
            except asyncpg.ForeignKeyViolationError as exc:
                raise RecordNotFound(f"there is no account {user_id!r}") from exc
        return RefreshToken(**dict(row))

    async def get_refresh_token(self, jti: str) -> RefreshToken | None:
        async with self._connection() as conn:
            row = await conn.fetchrow(f"SELECT {_REFRESH} FROM refresh_tokens WHERE jti = $1", jti)
        return None if row is None else RefreshToken(**dict(row))

    async def rotate_refresh_token(self, jti: str, new_jti: str, expires_at: datetime) -> RefreshToken | None:
        now = _now()
        async with self._transaction() as conn:
            old = await conn.fetchrow(
                "UPDATE refresh_tokens SET replaced_by = $2, revoked_at = $3 "
                "WHERE jti = $1 AND revoked_at IS NULL AND replaced_by IS NULL AND expires_at > $3 "
                "RETURNING user_id, family",
                jti,
                new_jti,
                now,
            )
            if old is None:
                return None
            row = await conn.fetchrow(
                f"INSERT INTO refresh_tokens (jti, user_id, family, created_at, expires_at) "
                f"VALUES ($1, $2, $3, $4, $5) RETURNING {_REFRESH}",
                new_jti,
                old["user_id"],
                old["family"],
                now,
                _aware(expires_at),
            )
        return RefreshToken(**dict(row))

    async def revoke_refresh_family(self, family: str) -> int:
        async with self._connection() as conn:
            status = await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = $2 WHERE family = $1 AND revoked_at IS NULL", family, _now()
            )
        return int(status.split()[-1])

    # -- data rights and retention -------------------------------------------------------
    async def export_customer(self, customer_id: str) -> dict[str, Any] | None:
        async with self._transaction(isolation="repeatable_read", readonly=True) as conn:  # one snapshot
            row = await conn.fetchrow("SELECT id, created_at FROM customers WHERE id = $1", customer_id)
            if row is None:
                return None
            identities = await conn.fetch(
                "SELECT channel, external_id, api_key_id, created_at FROM identities WHERE customer_id = $1 "
                "ORDER BY channel, external_id",
                customer_id,
            )
            preferences = await conn.fetchval("SELECT data FROM preferences WHERE customer_id = $1", customer_id)
            conversations = await conn.fetch(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id = $1 ORDER BY created_at, id", customer_id
            )
            messages = await conn.fetch(
                f"SELECT {_MESSAGE} FROM messages WHERE conversation_id IN "
                "(SELECT id FROM conversations WHERE customer_id = $1) ORDER BY conversation_id, seq",
                customer_id,
            )
            formulas = await conn.fetch(
                f"SELECT {_FORMULA} FROM formulas WHERE customer_id = $1 ORDER BY created_at, id", customer_id
            )
            tickets = await conn.fetch(
                f"SELECT {_TICKET} FROM tickets WHERE customer_id = $1 ORDER BY created_at, id", customer_id
            )
        lines: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            lines.setdefault(message["conversation_id"], []).append(jsonable(_message(message)))
        return {
            "customer": jsonable(_customer(row)),
            "identities": [
                {**dict(identity), "created_at": identity["created_at"].isoformat()} for identity in identities
            ],
            "preferences": Preferences.from_dict(preferences).to_dict(),
            "conversations": [
                {**jsonable(_conversation(conversation)), "messages": lines.get(conversation["id"], [])}
                for conversation in conversations
            ],
            "formulas": [jsonable(SavedFormula(**dict(formula))) for formula in formulas],
            "tickets": [jsonable(Ticket(**dict(ticket))) for ticket in tickets],
        }

    async def delete_customer(self, customer_id: str) -> list[str]:
        async with self._transaction() as conn:
            rows = await conn.fetch(
                "SELECT id FROM conversations WHERE customer_id = $1 ORDER BY id FOR UPDATE", customer_id
            )
            ids = [row["id"] for row in rows]
            await conn.execute("DELETE FROM messages WHERE conversation_id = ANY($1::text[])", ids)
            await conn.execute(
                "DELETE FROM tickets WHERE customer_id = $1 OR conversation_id = ANY($2::text[])", customer_id, ids
            )
            await conn.execute("DELETE FROM formulas WHERE customer_id = $1", customer_id)
            await conn.execute("DELETE FROM conversations WHERE customer_id = $1", customer_id)
            await conn.execute("DELETE FROM preferences WHERE customer_id = $1", customer_id)
            await conn.execute("DELETE FROM identities WHERE customer_id = $1", customer_id)
            await conn.execute("DELETE FROM customers WHERE id = $1", customer_id)
        return ids

    async def purge_transcripts(self, older_than: datetime) -> int:
        # The web chat's own copy of what was said (Chainlit's steps, their elements and feedback
        # cascade) goes by the same rule as the transcript.
        naive_utc = _aware(older_than).astimezone(UTC).replace(tzinfo=None)
        async with self._transaction() as conn:
            status = await conn.execute(
                "DELETE FROM messages WHERE created_at < $1", _aware(older_than), timeout=PURGE_TIMEOUT_S
            )
            steps = await conn.execute(
                'DELETE FROM chainlit."Step" WHERE "createdAt" < $1', naive_utc, timeout=PURGE_TIMEOUT_S
            )
        return int(status.split()[-1]) + int(steps.split()[-1])


# -- helpers -------------------------------------------------------------------------------
async def _init_connection(conn: Any) -> None:
    """jsonb in and out as Python data (Korean text kept as is)."""
    await conn.set_type_codec(
        "jsonb", encoder=lambda value: json.dumps(value, ensure_ascii=False), decoder=json.loads, schema="pg_catalog"
    )


async def _bump_seq(conn: Any, conversation_id: str, count: int, now: datetime) -> int:
    """Reserve `count` transcript positions; the row lock holds until the transaction ends, so
    concurrent writers of one conversation queue here and positions stay dense."""
    last = await conn.fetchval(
        "UPDATE conversations SET last_seq = last_seq + $2, updated_at = GREATEST(updated_at, $3) "
        "WHERE id = $1 RETURNING last_seq",
        conversation_id,
        count,
        now,
    )
    if last is None:
        raise RecordNotFound(f"there is no conversation {conversation_id!r}")
    return int(last)


def _turn(conversation_id: str, message_id: str, lines: list[tuple[str, str, Any]]) -> Turn | None:
    user = next((line for line in lines if line[0] == "user"), None)
    reply = next((line for line in lines if line[0] != "user"), None)
    if user is None or reply is None:
        return None
    return Turn(
        conversation_id=conversation_id,
        message_id=message_id,
        user_text=user[1],
        reply_text=reply[1],
        reply_role="staff" if reply[0] == "staff" else "assistant",
        payload=reply[2] or {},
    )


def _customer(row: Any) -> Customer:
    return Customer(id=row["id"], created_at=row["created_at"])


def _conversation(row: Any) -> Conversation:
    return Conversation(**dict(row))


def _message(row: Any) -> Message:
    return Message(**dict(row))


def _api_key(row: Any) -> ApiKey:
    return ApiKey(**{**dict(row), "scopes": tuple(row["scopes"])})


def _new_id() -> str:
    return uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """A naive datetime is read as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
