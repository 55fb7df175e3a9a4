"""Long-term memory in SQLite (the embedded mode): the `Repository` over aiosqlite.

One file, memory.sqlite3 in the embedded memory folder (settings.memory_dir, default FRAGRANCE_HOME),
in WAL mode so readers never wait for a writer. Each write is one `BEGIN IMMEDIATE`
transaction: SQLite takes its write lock at the start, so transcript
positions stay dense even with a second process on the same file (it waits up to the busy
timeout). One connection serves the process; an asyncio lock keeps one task's statements out of
another task's transaction on it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args
from uuid import uuid4

import aiosqlite

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

_CONVERSATION = "id, customer_id, channel, title, created_at, updated_at"
_MESSAGE = "conversation_id, seq, role, content, message_id, payload, created_at"
_TICKET = "id, conversation_id, customer_id, status, reason, staff, created_at, updated_at, language"
_API_KEY = "id, name, prefix, key_hash, scopes, rate_limit, created_at, revoked_at, last_used_at"
_FORMULA = "id, customer_id, conversation_id, name, formula, created_at"
_OPEN = "('requested', 'taken')"
_USER = "id, username, password_hash, role, created_at, disabled_at"
_REFRESH = "jti, user_id, family, created_at, expires_at, revoked_at, replaced_by"


class SqliteRepository:
    """The `Repository` contract over one aiosqlite connection; see memory/repository.py."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str, *, timeout_s: float = 5.0) -> SqliteRepository:
        """Open (and create the folder of) the database file; `timeout_s` is how long a write waits
        for another process's write. StoreUnavailable when the file cannot be opened."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = await aiosqlite.connect(path, timeout=timeout_s, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreUnavailable(f"the database is not reachable: cannot open {path}: {exc}") from exc
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=NORMAL")
            await conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            await conn.close()
            raise StoreUnavailable(f"the database is not reachable: cannot open {path}: {exc}") from exc
        return cls(conn, path)

    async def close(self) -> None:
        async with self._lock:
            await self._conn.close()

    # -- connection use ------------------------------------------------------------------
    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._lock:
            try:
                yield self._conn
            except sqlite3.OperationalError as exc:
                raise self._unavailable(exc) from exc
            except ValueError as exc:
                if "no active connection" not in str(exc):  # aiosqlite's word for a closed connection
                    raise
                raise StoreUnavailable(f"the database {self._path} is closed") from exc

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction, taking SQLite's write lock at once (BEGIN IMMEDIATE)."""
        async with self._reading() as conn:
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    def _unavailable(self, exc: sqlite3.OperationalError) -> StoreUnavailable:
        if "no such table" in str(exc):
            return StoreUnavailable(f"the database {self._path} has no tables yet: run the migrations: {exc}")
        return StoreUnavailable(f"the database is not reachable: {self._path}: {exc}")

    # -- customers -----------------------------------------------------------------------
    async def customer_for(self, channel: Channel, external_id: str, api_key_id: str | None = None) -> Customer:
        async with self._writing() as conn:
            row = await _one(
                conn,
                "SELECT c.id, c.created_at FROM identities i JOIN customers c ON c.id = i.customer_id "
                "WHERE i.channel = ? AND i.external_id = ?",
                channel,
                external_id,
            )
            if row is not None:
                return _customer(row)
            customer = Customer(id=_new_id(), created_at=_now())
            await conn.execute(
                "INSERT INTO customers (id, created_at) VALUES (?, ?)", (customer.id, _ts(customer.created_at))
            )
            try:
                await conn.execute(
                    "INSERT INTO identities (channel, external_id, customer_id, api_key_id, created_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (channel, external_id, customer.id, api_key_id, _ts(customer.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(f"there is no API key {api_key_id!r}") from exc
        return customer

    async def get_customer(self, customer_id: str) -> Customer | None:
        async with self._reading() as conn:
            row = await _one(conn, "SELECT id, created_at FROM customers WHERE id = ?", customer_id)
        return None if row is None else _customer(row)

    async def link_identity(self, customer_id: str, channel: Channel, external_id: str) -> None:
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO identities (channel, external_id, customer_id, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (channel, external_id) DO UPDATE SET customer_id = excluded.customer_id",
                    (channel, external_id, customer_id, _ts(_now())),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(f"there is no customer {customer_id!r}") from exc

    async def preferences(self, customer_id: str) -> Preferences:
        async with self._reading() as conn:
            row = await _one(conn, "SELECT data FROM preferences WHERE customer_id = ?", customer_id)
        return Preferences.from_dict(None if row is None else json.loads(row["data"]))

    async def save_preferences(self, customer_id: str, preferences: Preferences) -> None:
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO preferences (customer_id, data, updated_at) VALUES (?, ?, ?) "
                    "ON CONFLICT (customer_id) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
                    (customer_id, _json(preferences.to_dict()), _ts(_now())),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(f"there is no customer {customer_id!r}") from exc

    # -- conversations -------------------------------------------------------------------
    async def open_conversation(
        self, conversation_id: str, customer_id: str, channel: Channel, title: str | None = None
    ) -> Conversation:
        async with self._writing() as conn:
            row = await _one(conn, f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", conversation_id)
            if row is None:
                now = _ts(_now())
                try:
                    await conn.execute(
                        "INSERT INTO conversations (id, customer_id, channel, title, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (conversation_id, customer_id, channel, title, now, now),
                    )
                except sqlite3.IntegrityError as exc:
                    raise RecordNotFound(f"there is no customer {customer_id!r}") from exc
                row = await _one(conn, f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", conversation_id)
        assert row is not None
        if row["customer_id"] != customer_id:
            raise ConversationForbidden("this conversation belongs to another customer")
        return _conversation(row)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_CONVERSATION} FROM conversations WHERE id = ?", conversation_id)
        return None if row is None else _conversation(row)

    async def conversations_of(self, customer_id: str, limit: int = 50) -> list[Conversation]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id = ? "
                "ORDER BY updated_at DESC, id DESC LIMIT ?",
                (customer_id, limit),
            )
        return [_conversation(row) for row in rows]

    async def conversations_of_api_key(self, api_key_id: str, limit: int = 50) -> list[Conversation]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id IN "
                "(SELECT customer_id FROM identities WHERE channel = 'api' AND api_key_id = ?) "
                "ORDER BY updated_at DESC, id DESC LIMIT ?",
                (api_key_id, limit),
            )
        return [_conversation(row) for row in rows]

    async def api_key_owns(self, api_key_id: str, customer_id: str) -> bool:
        async with self._reading() as conn:
            row = await _one(
                conn,
                "SELECT 1 FROM identities WHERE channel = 'api' AND api_key_id = ? AND customer_id = ?",
                api_key_id,
                customer_id,
            )
        return row is not None

    async def conversations_idle_since(self, before: datetime) -> list[str]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id FROM conversations WHERE updated_at < ? ORDER BY updated_at, id", (_ts(before),)
            )
        return [row["id"] for row in rows]

    # -- the transcript ------------------------------------------------------------------
    async def find_turn(self, conversation_id: str, message_id: str) -> Turn | None:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                "SELECT role, content, payload FROM messages WHERE conversation_id = ? AND message_id = ? ORDER BY seq",
                (conversation_id, message_id),
            )
        user = next((row for row in rows if row["role"] == "user"), None)
        reply = next((row for row in rows if row["role"] != "user"), None)
        if user is None or reply is None:
            return None
        return Turn(
            conversation_id=conversation_id,
            message_id=message_id,
            user_text=user["content"],
            reply_text=reply["content"],
            reply_role=reply["role"],
            payload=json.loads(reply["payload"]),
        )

    async def record_turn(self, turn: Turn) -> None:
        if turn.reply_role == "user":
            raise ValueError("the answer of a turn is an assistant or staff line, not a user line")
        now = _ts(_now())
        async with self._writing() as conn:
            last = await _bump_seq(conn, turn.conversation_id, 2, now)
            try:
                await conn.executemany(
                    f"INSERT INTO messages ({_MESSAGE}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (turn.conversation_id, last - 1, "user", turn.user_text, turn.message_id, "{}", now),
                        (
                            turn.conversation_id,
                            last,
                            turn.reply_role,
                            turn.reply_text,
                            turn.message_id,
                            _json(turn.payload),
                            now,
                        ),
                    ],
                )
            except sqlite3.IntegrityError as exc:
                raise DuplicateTurn(f"message {turn.message_id!r} was already answered in this conversation") from exc

    async def add_message(
        self, conversation_id: str, role: str, content: str, payload: dict[str, Any] | None = None
    ) -> Message:
        if role not in get_args(Role):
            raise ValueError(f"a transcript line's role is one of {', '.join(get_args(Role))}, not {role!r}")
        now = _ts(_now())
        async with self._writing() as conn:
            seq = await _bump_seq(conn, conversation_id, 1, now)
            await conn.execute(
                f"INSERT INTO messages ({_MESSAGE}) VALUES (?, ?, ?, ?, NULL, ?, ?)",
                (conversation_id, seq, role, content, _json(payload or {}), now),
            )
            row = await _one(
                conn, f"SELECT {_MESSAGE} FROM messages WHERE conversation_id = ? AND seq = ?", conversation_id, seq
            )
        return _message(row)

    async def transcript(self, conversation_id: str, after_seq: int = 0, limit: int = 500) -> list[Message]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_MESSAGE} FROM messages WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (conversation_id, after_seq, limit),
            )
        return [_message(row) for row in rows]

    # -- formulas, tickets ---------------------------------------------------------------
    async def save_formula(
        self, customer_id: str, conversation_id: str | None, name: str, formula: dict[str, Any]
    ) -> SavedFormula:
        saved = SavedFormula(
            id=_new_id(),
            customer_id=customer_id,
            conversation_id=conversation_id,
            name=name,
            formula=json.loads(_json(formula)),
            created_at=_now(),
        )
        async with self._writing() as conn:
            try:
                await conn.execute(
                    f"INSERT INTO formulas ({_FORMULA}) VALUES (?, ?, ?, ?, ?, ?)",
                    (saved.id, customer_id, conversation_id, name, _json(formula), _ts(saved.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(
                    f"there is no customer {customer_id!r} or conversation {conversation_id!r}"
                ) from exc
        return saved

    async def formulas(self, customer_id: str) -> list[SavedFormula]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_FORMULA} FROM formulas WHERE customer_id = ? ORDER BY created_at DESC, id", (customer_id,)
            )
        return [_formula(row) for row in rows]

    async def open_ticket(
        self, conversation_id: str, customer_id: str, reason: str, language: Language = "en"
    ) -> Ticket:
        async with self._writing() as conn:
            row = await _one(
                conn, f"SELECT {_TICKET} FROM tickets WHERE conversation_id = ? AND status IN {_OPEN}", conversation_id
            )
            if row is None:
                ticket_id, now = _new_id(), _ts(_now())
                try:
                    await conn.execute(
                        f"INSERT INTO tickets ({_TICKET}) VALUES (?, ?, ?, 'requested', ?, NULL, ?, ?, ?)",
                        (ticket_id, conversation_id, customer_id, reason, now, now, language),
                    )
                except sqlite3.IntegrityError as exc:
                    raise RecordNotFound(
                        f"there is no conversation {conversation_id!r} of customer {customer_id!r}"
                    ) from exc
                row = await _one(conn, f"SELECT {_TICKET} FROM tickets WHERE id = ?", ticket_id)
        return _ticket(row)

    async def open_ticket_of(self, conversation_id: str) -> Ticket | None:
        async with self._reading() as conn:
            row = await _one(
                conn, f"SELECT {_TICKET} FROM tickets WHERE conversation_id = ? AND status IN {_OPEN}", conversation_id
            )
        return None if row is None else _ticket(row)

    async def set_ticket_status(self, ticket_id: str, status: TicketStatus, staff: str | None = None) -> Ticket:
        if status not in get_args(TicketStatus):
            raise ValueError(f"a ticket's status is one of {', '.join(get_args(TicketStatus))}, not {status!r}")
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "UPDATE tickets SET status = ?, staff = COALESCE(?, staff), updated_at = ? WHERE id = ?",
                    (status, staff, _ts(_now()), ticket_id),
                )
            except sqlite3.IntegrityError as exc:
                raise ValueError("the conversation already has another open ticket") from exc
            row = await _one(conn, f"SELECT {_TICKET} FROM tickets WHERE id = ?", ticket_id)
        if row is None:
            raise RecordNotFound(f"there is no ticket {ticket_id!r}")
        return _ticket(row)

    async def get_ticket(self, ticket_id: str) -> Ticket | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_TICKET} FROM tickets WHERE id = ?", ticket_id)
        return None if row is None else _ticket(row)

    async def tickets(self, statuses: tuple[TicketStatus, ...], limit: int = 50) -> list[Ticket]:
        marks = ", ".join("?" for _ in statuses) or "NULL"
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                f"SELECT {_TICKET} FROM tickets WHERE status IN ({marks}) ORDER BY created_at, id LIMIT ?",
                (*statuses, limit),
            )
        return [_ticket(row) for row in rows]

    async def move_ticket(
        self, ticket_id: str, status: TicketStatus, only_from: tuple[TicketStatus, ...], staff: str | None = None
    ) -> Ticket | None:
        if status not in get_args(TicketStatus):
            raise ValueError(f"a ticket's status is one of {', '.join(get_args(TicketStatus))}, not {status!r}")
        marks = ", ".join("?" for _ in only_from) or "NULL"
        async with self._writing() as conn:
            cursor = await conn.execute(
                "UPDATE tickets SET status = ?, staff = COALESCE(?, staff), updated_at = ? "
                f"WHERE id = ? AND status IN ({marks})",
                (status, staff, _ts(_now()), ticket_id, *only_from),
            )
            if cursor.rowcount == 0:
                return None
            row = await _one(conn, f"SELECT {_TICKET} FROM tickets WHERE id = ?", ticket_id)
        return _ticket(row)

    async def link_ticket(self, ticket_id: str, kind: str, external_id: str) -> None:
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO ticket_links (ticket_id, kind, external_id) VALUES (?, ?, ?) "
                    "ON CONFLICT (ticket_id, kind) DO UPDATE SET external_id = excluded.external_id",
                    (ticket_id, kind, external_id),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(f"there is no ticket {ticket_id!r}") from exc

    async def ticket_by_link(self, kind: str, external_id: str) -> Ticket | None:
        columns = ", ".join("t." + c.strip() for c in _TICKET.split(","))
        async with self._reading() as conn:
            row = await _one(
                conn,
                f"SELECT {columns} FROM tickets t JOIN ticket_links l ON l.ticket_id = t.id "
                "WHERE l.kind = ? AND l.external_id = ?",
                kind,
                external_id,
            )
        return None if row is None else _ticket(row)

    async def ticket_links(self, ticket_id: str) -> dict[str, str]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                "SELECT kind, external_id FROM ticket_links WHERE ticket_id = ?", (ticket_id,)
            )
        return {row["kind"]: row["external_id"] for row in rows}

    # -- API keys and the audit log ------------------------------------------------------
    async def create_api_key(
        self, name: str, prefix: str, key_hash: str, scopes: tuple[str, ...], rate_limit: str | None
    ) -> ApiKey:
        key = ApiKey(
            id=_new_id(),
            name=name,
            prefix=prefix,
            key_hash=key_hash,
            scopes=tuple(scopes),
            rate_limit=rate_limit,
            created_at=_now(),
        )
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, rate_limit, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (key.id, name, prefix, key_hash, _json(list(scopes)), rate_limit, _ts(key.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise ValueError(f"an API key with prefix {prefix!r} already exists") from exc
        return key

    async def api_key_by_prefix(self, prefix: str) -> ApiKey | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_API_KEY} FROM api_keys WHERE prefix = ?", prefix)
        return None if row is None else _api_key(row)

    async def api_keys(self) -> list[ApiKey]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(f"SELECT {_API_KEY} FROM api_keys ORDER BY created_at, id")
        return [_api_key(row) for row in rows]

    async def revoke_api_key(self, key_id: str) -> ApiKey | None:
        async with self._writing() as conn:
            await conn.execute(
                "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?", (_ts(_now()), key_id)
            )
            row = await _one(conn, f"SELECT {_API_KEY} FROM api_keys WHERE id = ?", key_id)
        return None if row is None else _api_key(row)

    async def touch_api_key(self, key_id: str) -> None:
        async with self._writing() as conn:
            await conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (_ts(_now()), key_id))

    async def audit(
        self, actor: str, action: str, subject: str | None = None, detail: dict[str, Any] | None = None
    ) -> None:
        async with self._writing() as conn:
            await conn.execute(
                "INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                (_ts(_now()), actor, action, subject, _json(detail or {})),
            )

    async def audit_entries(self, subject: str | None = None, limit: int = 100) -> list[AuditEntry]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id, at, actor, action, subject, detail FROM audit_log "
                "WHERE ? IS NULL OR subject = ? ORDER BY id DESC LIMIT ?",
                (subject, subject, limit),
            )
        return [
            AuditEntry(
                id=row["id"],
                at=_dt(row["at"]),
                actor=row["actor"],
                action=row["action"],
                subject=row["subject"],
                detail=json.loads(row["detail"]),
            )
            for row in rows
        ]

    # -- staff and admin accounts, refresh tokens ----------------------------------------
    async def create_user(self, username: str, password_hash: str, role: UserRole) -> User:
        user = User(id=_new_id(), username=username, password_hash=password_hash, role=role, created_at=_now())
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO users (id, username, password_hash, role, created_at) VALUES (?, ?, ?, ?, ?)",
                    (user.id, username, password_hash, role, _ts(user.created_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise UsernameTaken(f"there is already an account named {username!r}") from exc
        return user

    async def get_user(self, user_id: str) -> User | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_USER} FROM users WHERE id = ?", user_id)
        return None if row is None else _user(row)

    async def user_by_username(self, username: str) -> User | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_USER} FROM users WHERE username = ?", username)
        return None if row is None else _user(row)

    async def users(self) -> list[User]:
        async with self._reading() as conn:
            rows = await conn.execute_fetchall(f"SELECT {_USER} FROM users ORDER BY created_at, id")
        return [_user(row) for row in rows]

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        async with self._writing() as conn:
            cursor = await conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
            if cursor.rowcount == 0:
                raise RecordNotFound(f"there is no account {user_id!r}")

    async def disable_user(self, user_id: str) -> User | None:
        now = _ts(_now())
        async with self._writing() as conn:
            await conn.execute("UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?", (now, user_id))
            await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL", (now, user_id)
            )
            row = await _one(conn, f"SELECT {_USER} FROM users WHERE id = ?", user_id)
        return None if row is None else _user(row)

    async def create_refresh_token(self, jti: str, user_id: str, family: str, expires_at: datetime) -> RefreshToken:
        token = RefreshToken(
            jti=jti, user_id=user_id, family=family, created_at=_now(), expires_at=_dt(_ts(expires_at))
        )
        async with self._writing() as conn:
            try:
                await conn.execute(
                    "INSERT INTO refresh_tokens (jti, user_id, family, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    (jti, user_id, family, _ts(token.created_at), _ts(expires_at)),
                )
            except sqlite3.IntegrityError as exc:
                raise RecordNotFound(f"there is no account {user_id!r}") from exc
        return token

    async def get_refresh_token(self, jti: str) -> RefreshToken | None:
        async with self._reading() as conn:
            row = await _one(conn, f"SELECT {_REFRESH} FROM refresh_tokens WHERE jti = ?", jti)
        return None if row is None else _refresh_token(row)

    async def rotate_refresh_token(self, jti: str, new_jti: str, expires_at: datetime) -> RefreshToken | None:
        now = _ts(_now())
        async with self._writing() as conn:
            old = await _one(
                conn,
                "UPDATE refresh_tokens SET replaced_by = ?, revoked_at = ? "
                "WHERE jti = ? AND revoked_at IS NULL AND replaced_by IS NULL AND expires_at > ? "
                "RETURNING user_id, family",
                new_jti,
                now,
                jti,
                now,
            )
            if old is None:
                return None
            await conn.execute(
                "INSERT INTO refresh_tokens (jti, user_id, family, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (new_jti, old["user_id"], old["family"], now, _ts(expires_at)),
            )
            row = await _one(conn, f"SELECT {_REFRESH} FROM refresh_tokens WHERE jti = ?", new_jti)
        return _refresh_token(row)

    async def revoke_refresh_family(self, family: str) -> int:
        async with self._writing() as conn:
            cursor = await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL",
                (_ts(_now()), family),
            )
            return cursor.rowcount

    # -- data rights and retention -------------------------------------------------------
    async def export_customer(self, customer_id: str) -> dict[str, Any] | None:
        async with self._writing() as conn:  # one snapshot: no other write interleaves
            row = await _one(conn, "SELECT id, created_at FROM customers WHERE id = ?", customer_id)
            if row is None:
                return None
            identities = await conn.execute_fetchall(
                "SELECT channel, external_id, api_key_id, created_at FROM identities WHERE customer_id = ? "
                "ORDER BY channel, external_id",
                (customer_id,),
            )
            preferences = await _one(conn, "SELECT data FROM preferences WHERE customer_id = ?", customer_id)
            conversations = await conn.execute_fetchall(
                f"SELECT {_CONVERSATION} FROM conversations WHERE customer_id = ? ORDER BY created_at, id",
                (customer_id,),
            )
            messages = await conn.execute_fetchall(
                f"SELECT {_MESSAGE} FROM messages WHERE conversation_id IN "
                "(SELECT id FROM conversations WHERE customer_id = ?) ORDER BY conversation_id, seq",
                (customer_id,),
            )
            formulas = await conn.execute_fetchall(
                f"SELECT {_FORMULA} FROM formulas WHERE customer_id = ? ORDER BY created_at, id", (customer_id,)
            )
            tickets = await conn.execute_fetchall(
                f"SELECT {_TICKET} FROM tickets WHERE customer_id = ? ORDER BY created_at, id", (customer_id,)
            )
        lines: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            lines.setdefault(message["conversation_id"], []).append(jsonable(_message(message)))
        return {
            "customer": jsonable(_customer(row)),
            "identities": [
                {**dict(identity), "created_at": _dt(identity["created_at"]).isoformat()} for identity in identities
            ],
            "preferences": Preferences.from_dict(
                None if preferences is None else json.loads(preferences["data"])
            ).to_dict(),
            "conversations": [
                {**jsonable(_conversation(conversation)), "messages": lines.get(conversation["id"], [])}
                for conversation in conversations
            ],
            "formulas": [jsonable(_formula(formula)) for formula in formulas],
            "tickets": [jsonable(_ticket(ticket)) for ticket in tickets],
        }

    async def delete_customer(self, customer_id: str) -> list[str]:
        async with self._writing() as conn:
            rows = await conn.execute_fetchall(
                "SELECT id FROM conversations WHERE customer_id = ? ORDER BY id", (customer_id,)
            )
            ids = [row["id"] for row in rows]
            owned = "(SELECT id FROM conversations WHERE customer_id = ?)"
            await conn.execute(f"DELETE FROM messages WHERE conversation_id IN {owned}", (customer_id,))
            await conn.execute(
                f"DELETE FROM tickets WHERE customer_id = ? OR conversation_id IN {owned}", (customer_id, customer_id)
            )
            await conn.execute("DELETE FROM formulas WHERE customer_id = ?", (customer_id,))
            await conn.execute("DELETE FROM conversations WHERE customer_id = ?", (customer_id,))
            await conn.execute("DELETE FROM preferences WHERE customer_id = ?", (customer_id,))
            await conn.execute("DELETE FROM identities WHERE customer_id = ?", (customer_id,))
            await conn.execute("DELETE FROM customers WHERE id = ?", (customer_id,))
        return ids

    async def purge_transcripts(self, older_than: datetime) -> int:
        # The web chat's own copy of what was said (Chainlit's steps) goes by the same rule; its
        # createdAt is ISO 8601 UTC text, which sorts as time.
        stamp = older_than.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
        async with self._writing() as conn:
            cursor = await conn.execute("DELETE FROM messages WHERE created_at < ?", (_ts(older_than),))
            steps = await conn.execute('DELETE FROM "Step" WHERE "createdAt" < ?', (stamp,))
            return cursor.rowcount + steps.rowcount


# -- helpers -------------------------------------------------------------------------------
async def _one(conn: aiosqlite.Connection, sql: str, *params: Any) -> Any:
    async with conn.execute(sql, params) as cursor:
        return await cursor.fetchone()


async def _bump_seq(conn: aiosqlite.Connection, conversation_id: str, count: int, now: str) -> int:
    """Reserve `count` transcript positions inside the caller's write transaction."""
    row = await _one(
        conn,
        "UPDATE conversations SET last_seq = last_seq + ?, updated_at = MAX(updated_at, ?) WHERE id = ? "
        "RETURNING last_seq",
        count,
        now,
        conversation_id,
    )
    if row is None:
        raise RecordNotFound(f"there is no conversation {conversation_id!r}")
    return int(row[0])


def _customer(row: Any) -> Customer:
    return Customer(id=row["id"], created_at=_dt(row["created_at"]))


def _conversation(row: Any) -> Conversation:
    return Conversation(
        id=row["id"],
        customer_id=row["customer_id"],
        channel=row["channel"],
        title=row["title"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
    )


def _message(row: Any) -> Message:
    return Message(
        conversation_id=row["conversation_id"],
        seq=row["seq"],
        role=row["role"],
        content=row["content"],
        message_id=row["message_id"],
        payload=json.loads(row["payload"]),
        created_at=_dt(row["created_at"]),
    )


def _formula(row: Any) -> SavedFormula:
    return SavedFormula(
        id=row["id"],
        customer_id=row["customer_id"],
        conversation_id=row["conversation_id"],
        name=row["name"],
        formula=json.loads(row["formula"]),
        created_at=_dt(row["created_at"]),
    )


def _ticket(row: Any) -> Ticket:
    return Ticket(
        id=row["id"],
        conversation_id=row["conversation_id"],
        customer_id=row["customer_id"],
        status=row["status"],
        reason=row["reason"],
        staff=row["staff"],
        created_at=_dt(row["created_at"]),
        updated_at=_dt(row["updated_at"]),
        language=row["language"],
    )


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        key_hash=row["key_hash"],
        scopes=tuple(json.loads(row["scopes"])),
        rate_limit=row["rate_limit"],
        created_at=_dt(row["created_at"]),
        revoked_at=None if row["revoked_at"] is None else _dt(row["revoked_at"]),
        last_used_at=None if row["last_used_at"] is None else _dt(row["last_used_at"]),
    )


def _user(row: Any) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        password_hash=row["password_hash"],
        role=row["role"],
        created_at=_dt(row["created_at"]),
        disabled_at=None if row["disabled_at"] is None else _dt(row["disabled_at"]),
    )


def _refresh_token(row: Any) -> RefreshToken:
    return RefreshToken(
        jti=row["jti"],
        user_id=row["user_id"],
        family=row["family"],
        created_at=_dt(row["created_at"]),
        expires_at=_dt(row["expires_at"]),
        revoked_at=None if row["revoked_at"] is None else _dt(row["revoked_at"]),
        replaced_by=row["replaced_by"],
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _new_id() -> str:
    return uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(moment: datetime) -> str:
    """UTC with a fixed width (microseconds always written), so text order is time order;
    a naive datetime is read as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)
