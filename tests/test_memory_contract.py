"""One contract for every memory backend: the same tests run embedded (SQLite and in-process twins)
and in server mode (a fresh Postgres database and a Redis namespace of this session, both real).

Each test makes its own customers and conversations (random ids), so tests share one opened
backend per mode and stay fast.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import operator
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypedDict
from uuid import uuid4

import asyncpg
import pytest
import pytest_asyncio
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langgraph.graph import END, START, StateGraph

from memory.backends import Memory, open_memory, redis_client
from memory.checkpointer import open_checkpointer, strict_serializer
from memory.events import RECONNECTED, LocalEventBus
from memory.locks import ConversationBusy, LocalConversationLocks, RedisConversationLocks
from memory.migrate import migrate
from memory.postgres import PostgresRepository
from memory.ratelimit import RateLimiter
from memory.records import Preferences, Turn
from memory.repository import ConversationForbidden, DuplicateTurn, RecordNotFound, StoreUnavailable
from memory.sessions import RedisSessionMemory, SessionUnavailable
from memory.sqlite import SqliteRepository
from tests.memory_support import REDIS_URL, Backend, fresh_database, redis_namespace, settings_for

CLOSED_PORT_DSN = "postgresql://postgres@127.0.0.1:1/postgres"
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def uid(label: str = "") -> str:
    return f"{label}{uuid4().hex}"


# -- the two backends ----------------------------------------------------------------------
@pytest_asyncio.fixture(scope="session", params=["embedded", "server"])
async def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Backend]:
    home = tmp_path_factory.mktemp(f"memory_{request.param}")
    if request.param == "embedded":
        settings = settings_for(home)
        async with open_memory(settings) as memory:
            yield Backend("embedded", settings, memory)
        return
    async with fresh_database() as dsn, redis_namespace() as (redis, prefix):
        settings = settings_for(home, database_url=dsn, redis_url=REDIS_URL)
        async with open_memory(settings, prefix=prefix) as memory:
            yield Backend("server", settings, memory, redis=redis, prefix=prefix)


server_only = pytest.mark.parametrize("backend", ["server"], indirect=True)


@dataclass
class Talk:
    customer_id: str
    conversation_id: str


async def new_talk(backend: Backend, channel: str = "web") -> Talk:
    repo = backend.memory.repository
    customer = await repo.customer_for(channel, uid("visitor-"))  # type: ignore[arg-type]
    conversation = await repo.open_conversation(uid("conv-"), customer.id, channel)  # type: ignore[arg-type]
    return Talk(customer.id, conversation.id)


# -- customers and identities --------------------------------------------------------------
async def test_customer_for_creates_once_per_identity(backend: Backend) -> None:
    repo = backend.memory.repository
    external = uid("visitor-")
    first = await repo.customer_for("web", external)
    again = await repo.customer_for("web", external)
    other_channel = await repo.customer_for("slack", external)
    assert again == first
    assert other_channel.id != first.id
    assert first.created_at.tzinfo is not None
    assert await repo.get_customer(first.id) == first
    assert await repo.get_customer(uid()) is None


async def test_customer_for_races_to_one_customer(backend: Backend) -> None:
    external = uid("visitor-")
    async with backend.other_repository() as other:
        repos = [backend.memory.repository, other] * 4
        customers = await asyncio.gather(*(repo.customer_for("web", external) for repo in repos))
    assert len({customer.id for customer in customers}) == 1


async def test_link_identity_attaches_and_moves(backend: Backend) -> None:
    repo = backend.memory.repository
    web = await repo.customer_for("web", uid("shop-login-"))
    api_identity = uid("client-user-")
    api = await repo.customer_for("api", api_identity)
    await repo.link_identity(web.id, "api", api_identity)
    assert await repo.customer_for("api", api_identity) == web
    with pytest.raises(RecordNotFound, match="no customer"):
        await repo.link_identity(uid(), "web", uid())
    assert api.id != web.id


async def test_preferences_round_trip(backend: Backend) -> None:
    repo = backend.memory.repository
    customer = await repo.customer_for("web", uid())
    assert await repo.preferences(customer.id) == Preferences()
    liked = Preferences(liked_notes=("vanilla", "바닐라"), disliked_accords=("oud",), budget_max=120.0, currency="EUR")
    await repo.save_preferences(customer.id, liked)
    assert await repo.preferences(customer.id) == liked
    changed = Preferences(liked_notes=("iris",), language="ko")
    await repo.save_preferences(customer.id, changed)
    assert await repo.preferences(customer.id) == changed
    with pytest.raises(RecordNotFound):
        await repo.save_preferences(uid(), liked)


# -- conversations -------------------------------------------------------------------------
async def test_open_conversation_is_idempotent_and_owned(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    again = await repo.open_conversation(talk.conversation_id, talk.customer_id, "web", title="ignored")
    assert again.customer_id == talk.customer_id and again.channel == "web" and again.title is None
    assert await repo.get_conversation(talk.conversation_id) == again
    assert await repo.get_conversation(uid()) is None
    stranger = await repo.customer_for("web", uid())
    with pytest.raises(ConversationForbidden, match="another customer"):
        await repo.open_conversation(talk.conversation_id, stranger.id, "web")
    with pytest.raises(RecordNotFound):
        await repo.open_conversation(uid(), uid(), "web")


async def test_conversations_newest_first(backend: Backend) -> None:
    repo = backend.memory.repository
    customer = await repo.customer_for("web", uid())
    ids = [uid("c1-"), uid("c2-"), uid("c3-")]
    for conversation_id in ids:
        await repo.open_conversation(conversation_id, customer.id, "web", title=f"about {conversation_id[:2]}")
    listed = await repo.conversations_of(customer.id)
    assert [c.id for c in listed] == ids[::-1]
    await repo.record_turn(Turn(ids[0], uid("m-"), "hello", "hi"))  # touches updated_at
    listed = await repo.conversations_of(customer.id, limit=2)
    assert [c.id for c in listed] == [ids[0], ids[2]]
    assert listed[0].updated_at > listed[0].created_at
    assert await repo.conversations_of(uid()) == []


async def test_conversations_of_api_key_and_ownership(backend: Backend) -> None:
    repo = backend.memory.repository
    key = await repo.create_api_key("shop backend", uid("p")[:12], "hash", ("chat",), None)
    other_key = await repo.create_api_key("other client", uid("p")[:12], "hash", ("chat",), None)
    mine = await repo.customer_for("api", uid("user-"), api_key_id=key.id)
    theirs = await repo.customer_for("api", uid("user-"), api_key_id=other_key.id)
    await repo.open_conversation(uid("a-"), mine.id, "api")
    await repo.open_conversation(uid("b-"), theirs.id, "api")
    listed = await repo.conversations_of_api_key(key.id)
    assert [c.customer_id for c in listed] == [mine.id]
    assert await repo.api_key_owns(key.id, mine.id)
    assert not await repo.api_key_owns(key.id, theirs.id)
    assert not await repo.api_key_owns(other_key.id, mine.id)
    with pytest.raises(RecordNotFound, match="API key"):
        await repo.customer_for("api", uid(), api_key_id=uid())


# -- the transcript ------------------------------------------------------------------------
async def test_record_and_find_turn(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    payload = {"events": [{"type": "cards", "items": [{"id": "p1", "name": "바닐라 향수"}]}]}
    turn = Turn(talk.conversation_id, "msg-1", "바닐라 향 추천해 주세요", "이 향수를 추천해요", payload=payload)
    await repo.record_turn(turn)
    assert await repo.find_turn(talk.conversation_id, "msg-1") == turn
    assert await repo.find_turn(talk.conversation_id, "msg-unknown") is None
    lines = await repo.transcript(talk.conversation_id)
    assert [(m.seq, m.role, m.content, m.message_id) for m in lines] == [
        (1, "user", turn.user_text, "msg-1"),
        (2, "assistant", turn.reply_text, "msg-1"),
    ]
    assert lines[0].payload == {} and lines[1].payload == payload
    assert all(line.created_at is not None and line.created_at.tzinfo is not None for line in lines)


async def test_repeated_message_id_is_a_duplicate_turn(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    await repo.record_turn(Turn(talk.conversation_id, "m", "q", "a"))
    with pytest.raises(DuplicateTurn, match="already answered"):
        await repo.record_turn(Turn(talk.conversation_id, "m", "q again", "a again"))
    assert len(await repo.transcript(talk.conversation_id)) == 2
    # Another conversation may reuse the id; a staff answer is a turn too.
    other = await new_talk(backend)
    await repo.record_turn(Turn(other.conversation_id, "m", "q", "a person answers", reply_role="staff"))
    found = await repo.find_turn(other.conversation_id, "m")
    assert found is not None and found.reply_role == "staff"
    with pytest.raises(RecordNotFound, match="no conversation"):
        await repo.record_turn(Turn(uid(), "m", "q", "a"))
    with pytest.raises(ValueError, match="not a user line"):
        await repo.record_turn(Turn(talk.conversation_id, "m2", "q", "a", reply_role="user"))


async def test_concurrent_turns_keep_seq_dense_and_unique(backend: Backend) -> None:
    talk = await new_talk(backend)
    async with backend.other_repository() as other:  # a second pool / connection, as another process
        repos = [backend.memory.repository, other] * 10
        await asyncio.gather(
            *(
                repo.record_turn(Turn(talk.conversation_id, f"m{i}", f"question {i}", f"answer {i}"))
                for i, repo in enumerate(repos)
            )
        )
        duplicates = await asyncio.gather(
            *(repo.record_turn(Turn(talk.conversation_id, "same", "q", "a")) for repo in repos[:6]),
            return_exceptions=True,
        )
    assert sum(result is None for result in duplicates) == 1
    assert all(isinstance(result, DuplicateTurn) for result in duplicates if result is not None)
    lines = await backend.memory.repository.transcript(talk.conversation_id)
    assert [line.seq for line in lines] == list(range(1, 43))
    for user, reply in zip(lines[::2], lines[1::2], strict=True):
        assert user.role == "user" and reply.role == "assistant"
        assert user.message_id == reply.message_id
        assert reply.content == user.content.replace("question", "answer") or user.message_id == "same"


async def test_add_message_and_transcript_window(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    await repo.record_turn(Turn(talk.conversation_id, "m1", "q", "a"))
    staff = await repo.add_message(talk.conversation_id, "staff", "I can help", {"staff": "mina"})
    assert (staff.seq, staff.role, staff.message_id, staff.payload) == (3, "staff", None, {"staff": "mina"})
    await repo.add_message(talk.conversation_id, "assistant", "notice")
    assert [m.seq for m in await repo.transcript(talk.conversation_id, after_seq=2)] == [3, 4]
    assert [m.seq for m in await repo.transcript(talk.conversation_id, after_seq=1, limit=2)] == [2, 3]
    with pytest.raises(ValueError, match="role"):
        await repo.add_message(talk.conversation_id, "robot", "x")
    with pytest.raises(RecordNotFound):
        await repo.add_message(uid(), "staff", "x")


# -- formulas and tickets ------------------------------------------------------------------
async def test_formulas(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    formula = {"name": "Rose Chypre", "ingredients": [{"material": "rose oil", "percent": 2.5}]}
    first = await repo.save_formula(talk.customer_id, talk.conversation_id, "Rose Chypre", formula)
    second = await repo.save_formula(talk.customer_id, None, "Plain", {"ingredients": []})
    assert first.formula == formula and first.conversation_id == talk.conversation_id
    assert [f.id for f in await repo.formulas(talk.customer_id)] == [second.id, first.id]
    assert (await repo.formulas(talk.customer_id))[1] == first
    with pytest.raises(RecordNotFound):
        await repo.save_formula(uid(), None, "x", {})


async def test_tickets(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    assert await repo.open_ticket_of(talk.conversation_id) is None
    ticket = await repo.open_ticket(talk.conversation_id, talk.customer_id, "asked for a person")
    assert (ticket.status, ticket.staff, ticket.reason) == ("requested", None, "asked for a person")
    assert await repo.open_ticket(talk.conversation_id, talk.customer_id, "again") == ticket
    assert await repo.open_ticket_of(talk.conversation_id) == ticket
    taken = await repo.set_ticket_status(ticket.id, "taken", staff="mina")
    assert (taken.status, taken.staff) == ("taken", "mina") and taken.updated_at >= ticket.updated_at
    resolved = await repo.set_ticket_status(ticket.id, "resolved")
    assert resolved.staff == "mina"
    assert await repo.open_ticket_of(talk.conversation_id) is None
    fresh = await repo.open_ticket(talk.conversation_id, talk.customer_id, "once more")
    assert fresh.id != ticket.id
    with pytest.raises(RecordNotFound):
        await repo.set_ticket_status(uid(), "taken")
    with pytest.raises(ValueError, match="status"):
        await repo.set_ticket_status(fresh.id, "lost")  # type: ignore[arg-type]
    with pytest.raises(RecordNotFound):
        await repo.open_ticket(uid(), talk.customer_id, "x")


async def test_concurrent_open_ticket_gives_one(backend: Backend) -> None:
    talk = await new_talk(backend)
    async with backend.other_repository() as other:
        tickets = await asyncio.gather(
            *(
                repo.open_ticket(talk.conversation_id, talk.customer_id, "help")
                for repo in [backend.memory.repository, other] * 3
            )
        )
    assert len({ticket.id for ticket in tickets}) == 1


async def test_ticket_queue_links_and_races(backend: Backend) -> None:
    """What live handoff needs: the language notices are written in, the open queue oldest first,
    a ticket's Slack thread both ways, and a move that only one of two racing replicas wins."""
    repo = backend.memory.repository
    first, second = await new_talk(backend), await new_talk(backend)
    older = await repo.open_ticket(first.conversation_id, first.customer_id, "person please", language="ko")
    newer = await repo.open_ticket(second.conversation_id, second.customer_id, "help")
    assert (older.language, newer.language) == ("ko", "en") and older.is_open
    assert await repo.get_ticket(older.id) == older and await repo.get_ticket(uid()) is None
    queue = [t.id for t in await repo.tickets(("requested", "taken"), limit=1000)]
    assert queue.index(older.id) < queue.index(newer.id)
    assert older.id not in [t.id for t in await repo.tickets(("resolved",), limit=1000)]

    await repo.link_ticket(older.id, "slack", "C1:1700.0001")
    await repo.link_ticket(older.id, "slack", "C1:1700.0002")  # re-posted: the newest place wins
    assert await repo.ticket_links(older.id) == {"slack": "C1:1700.0002"}
    assert await repo.ticket_by_link("slack", "C1:1700.0002") == older
    assert await repo.ticket_by_link("slack", "C1:1700.0001") is None
    with pytest.raises(RecordNotFound):
        await repo.link_ticket(uid(), "slack", "C1:1")

    async with backend.other_repository() as other:
        moves = await asyncio.gather(
            repo.move_ticket(older.id, "timed_out", only_from=("requested",)),
            other.move_ticket(older.id, "taken", only_from=("requested",), staff="mina"),
        )
    winners = [m for m in moves if m is not None]
    assert len(winners) == 1 and (await repo.get_ticket(older.id)) == winners[0]
    assert await repo.move_ticket(older.id, "cancelled", only_from=("requested",)) is None


# -- API keys and audit --------------------------------------------------------------------
async def test_api_keys(backend: Backend) -> None:
    repo = backend.memory.repository
    prefix = uid()[:10]
    key = await repo.create_api_key("reporting", prefix, "sha256:abc", ("chat", "admin"), "10/minute")
    assert (key.scopes, key.rate_limit, key.revoked_at, key.last_used_at) == (
        ("chat", "admin"),
        "10/minute",
        None,
        None,
    )
    assert await repo.api_key_by_prefix(prefix) == key
    assert await repo.api_key_by_prefix(uid()) is None
    assert key in await repo.api_keys()
    with pytest.raises(ValueError, match="already exists"):
        await repo.create_api_key("copy", prefix, "other", (), None)
    await repo.touch_api_key(key.id)
    touched = await repo.api_key_by_prefix(prefix)
    assert touched is not None and touched.last_used_at is not None
    revoked = await repo.revoke_api_key(key.id)
    assert revoked is not None and revoked.revoked_at is not None
    again = await repo.revoke_api_key(key.id)
    assert again is not None and again.revoked_at == revoked.revoked_at
    assert await repo.revoke_api_key(uid()) is None
    await repo.touch_api_key(uid())  # unknown: nothing happens


async def test_audit_log(backend: Backend) -> None:
    repo = backend.memory.repository
    subject = uid("customer-")
    await repo.audit("cli", "customer.export", subject)
    await repo.audit("admin:mina", "customer.delete", subject, {"conversations": 2, "note": "요청"})
    await repo.audit("system", "transcripts.purge", None, {"lines": 3})
    entries = await repo.audit_entries(subject)
    assert [(e.actor, e.action) for e in entries] == [("admin:mina", "customer.delete"), ("cli", "customer.export")]
    assert entries[0].detail == {"conversations": 2, "note": "요청"} and entries[1].detail == {}
    assert entries[0].id > entries[1].id and entries[0].at.tzinfo is not None
    assert len(await repo.audit_entries(limit=2)) == 2
    assert (await repo.audit_entries(limit=1))[0].action == "transcripts.purge"


# -- data rights and retention -------------------------------------------------------------
async def _everything(backend: Backend) -> Talk:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    await repo.link_identity(talk.customer_id, "slack", uid("U"))
    await repo.save_preferences(talk.customer_id, Preferences(liked_notes=("musk",)))
    await repo.record_turn(Turn(talk.conversation_id, "m1", "hello", "hi", payload={"events": [{"type": "final"}]}))
    await repo.save_formula(talk.customer_id, talk.conversation_id, "mine", {"ingredients": []})
    await repo.open_ticket(talk.conversation_id, talk.customer_id, "a person please")
    return talk


async def test_export_customer(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await _everything(backend)
    data = await repo.export_customer(talk.customer_id)
    assert data is not None
    json.dumps(data)  # JSON-able as it is
    assert set(data) == {"customer", "identities", "preferences", "conversations", "formulas", "tickets"}
    assert data["customer"]["id"] == talk.customer_id
    assert sorted(identity["channel"] for identity in data["identities"]) == ["slack", "web"]
    assert data["preferences"]["liked_notes"] == ["musk"]
    [conversation] = data["conversations"]
    assert conversation["id"] == talk.conversation_id
    assert [(m["seq"], m["role"], m["content"]) for m in conversation["messages"]] == [
        (1, "user", "hello"),
        (2, "assistant", "hi"),
    ]
    assert [f["name"] for f in data["formulas"]] == ["mine"]
    assert [t["status"] for t in data["tickets"]] == ["requested"]
    assert await repo.export_customer(uid()) is None


async def test_delete_customer_keeps_the_audit(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await _everything(backend)
    second = await repo.open_conversation(uid("conv-"), talk.customer_id, "web")
    slack_identity = (await repo.export_customer(talk.customer_id) or {})["identities"]
    await repo.audit("cli", "customer.export", talk.customer_id)
    deleted = await repo.delete_customer(talk.customer_id)
    assert sorted(deleted) == sorted([talk.conversation_id, second.id])
    assert await repo.get_customer(talk.customer_id) is None
    assert await repo.get_conversation(talk.conversation_id) is None
    assert await repo.transcript(talk.conversation_id) == []
    assert await repo.formulas(talk.customer_id) == []
    assert await repo.open_ticket_of(talk.conversation_id) is None
    assert await repo.preferences(talk.customer_id) == Preferences()
    assert await repo.export_customer(talk.customer_id) is None
    assert [e.action for e in await repo.audit_entries(talk.customer_id)] == ["customer.export"]
    slack = next(identity for identity in slack_identity if identity["channel"] == "slack")
    reborn = await repo.customer_for("slack", slack["external_id"])
    assert reborn.id != talk.customer_id
    assert await repo.delete_customer(uid()) == []


async def test_purge_transcripts_and_idle_conversations(backend: Backend) -> None:
    repo = backend.memory.repository
    talk = await new_talk(backend)
    before = datetime.now(UTC) - timedelta(seconds=1)
    await repo.record_turn(Turn(talk.conversation_id, "m1", "old question", "old answer"))
    assert await repo.purge_transcripts(datetime(2000, 1, 1, tzinfo=UTC)) == 0
    assert talk.conversation_id not in await repo.conversations_idle_since(before)
    after = datetime.now(UTC) + timedelta(seconds=1)
    assert talk.conversation_id in await repo.conversations_idle_since(after)
    assert await repo.purge_transcripts(after) >= 2
    assert await repo.transcript(talk.conversation_id) == []
    # Positions go on after a purge: a new line never reuses an old seq.
    line = await repo.add_message(talk.conversation_id, "staff", "still here")
    assert line.seq == 3


async def test_purge_also_ages_out_the_web_chats_own_history(backend: Backend) -> None:
    """Chainlit keeps its own copy of what was said (steps); retention applies to it too."""
    talk = await new_talk(backend)
    user, thread, step = uid(), uid(), uid()
    old, now = "2001-01-01T00:00:00.000", datetime.now(UTC).replace(tzinfo=None)
    if backend.server:
        conn = await asyncpg.connect(backend.settings.database_url)
        try:
            await conn.execute('INSERT INTO chainlit."User" (id, identifier) VALUES ($1, $2)', user, talk.customer_id)
            await conn.execute('INSERT INTO chainlit."Thread" (id, "userId") VALUES ($1, $2)', thread, user)
            for sid, at in ((step, datetime(2001, 1, 1)), (uid(), now)):
                await conn.execute(
                    'INSERT INTO chainlit."Step" (id, "threadId", type, "createdAt", "startTime", "endTime") '
                    "VALUES ($1, $2, 'user_message', $3, $3, $3)",
                    sid,
                    thread,
                    at,
                )
            await backend.memory.repository.purge_transcripts(datetime(2002, 1, 1, tzinfo=UTC))
            left = [r["id"] for r in await conn.fetch('SELECT id FROM chainlit."Step" WHERE "threadId" = $1', thread)]
        finally:
            await conn.close()
    else:
        import sqlite3

        path = backend.settings.embedded_memory_dir / "memory.sqlite3"
        with sqlite3.connect(path) as db:
            db.execute('INSERT INTO "User" (id, identifier) VALUES (?, ?)', (user, talk.customer_id))
            db.execute('INSERT INTO "Thread" (id, "userId") VALUES (?, ?)', (thread, user))
            for sid, stamp in ((step, old), (uid(), now.isoformat(timespec="milliseconds"))):
                db.execute(
                    'INSERT INTO "Step" (id, "threadId", type, "createdAt", "startTime", "endTime") '
                    "VALUES (?, ?, 'user_message', ?, ?, ?)",
                    (sid, thread, stamp, stamp, stamp),
                )
        await backend.memory.repository.purge_transcripts(datetime(2002, 1, 1, tzinfo=UTC))
        with sqlite3.connect(path) as db:
            left = [r[0] for r in db.execute('SELECT id FROM "Step" WHERE "threadId" = ?', (thread,))]
    assert len(left) == 1 and step not in left


# -- unreachable stores --------------------------------------------------------------------
async def test_unreachable_database_is_store_unavailable(backend: Backend, tmp_path: Path) -> None:
    if backend.server:
        with pytest.raises(StoreUnavailable, match="the database is not reachable"):
            await PostgresRepository.open(CLOSED_PORT_DSN, timeout_s=2)
        closed = settings_for(tmp_path, database_url=CLOSED_PORT_DSN, database_timeout_s=1)
        with pytest.raises(StoreUnavailable, match="the database is not reachable"):
            await migrate(closed)
        with pytest.raises(StoreUnavailable, match="the database is not reachable"):
            async with open_checkpointer(closed):
                pass
    else:
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder")
        with pytest.raises(StoreUnavailable, match="the database is not reachable"):
            await SqliteRepository.open(blocker / "memory.sqlite3")
        with pytest.raises(StoreUnavailable, match="the database is not reachable"):
            await migrate(settings_for(blocker))


async def test_closed_repository_is_store_unavailable(backend: Backend) -> None:
    async with backend.other_repository() as other:
        await other.close()
        with pytest.raises(StoreUnavailable):
            await other.get_customer(uid())


async def test_unreachable_redis_is_session_unavailable(tmp_path: Path) -> None:
    client = redis_client(CLOSED_PORT_REDIS)
    try:
        sessions = RedisSessionMemory(client, size=10, ttl_s=60)
        with pytest.raises(SessionUnavailable, match="not reachable"):
            await sessions.append("c", {"type": "token"})
        with pytest.raises(SessionUnavailable):
            await RateLimiter.on_redis(CLOSED_PORT_REDIS, client).hit("k", "1/second")
    finally:
        await client.aclose()
    with pytest.raises(SessionUnavailable, match="not reachable"):
        async with open_memory(settings_for(tmp_path, redis_url=CLOSED_PORT_REDIS)):
            pass


# -- migrations ----------------------------------------------------------------------------
MIGRATIONS = Path(__file__).resolve().parent.parent / "memory" / "migrations"


async def test_migrations_are_idempotent(backend: Backend) -> None:
    report = await migrate(backend.settings)
    assert report.applied == ()
    assert "0001.initial" in report.already
    assert report.backend == ("postgres" if backend.server else "sqlite")


async def test_migrations_run_concurrently_on_a_fresh_database(backend: Backend, tmp_path: Path) -> None:
    if backend.server:
        async with fresh_database() as dsn:
            settings = settings_for(tmp_path, database_url=dsn)
            reports = await asyncio.gather(*(migrate(settings) for _ in range(3)))
            conn = await asyncpg.connect(dsn)
            try:
                tables = {
                    (row["table_schema"], row["table_name"])
                    for row in await conn.fetch("SELECT table_schema, table_name FROM information_schema.tables")
                }
            finally:
                await conn.close()
        assert {("fragrance", "messages"), ("fragrance", "audit_log"), ("langgraph", "checkpoints")} <= tables
    else:
        settings = settings_for(tmp_path / "fresh")
        reports = await asyncio.gather(*(migrate(settings) for _ in range(3)))
        repository = await SqliteRepository.open(settings.embedded_memory_dir / "memory.sqlite3")
        try:
            assert await repository.api_keys() == []
        finally:
            await repository.close()
    applied = [migration for report in reports for migration in report.applied]
    dialect = "postgres" if backend.server else "sqlite"
    shipped = sorted(path.name.removesuffix(".sql") for path in (MIGRATIONS / dialect).glob("*.sql"))
    assert sorted(applied) == shipped  # each applied by exactly one process, the others found it applied
    assert sum(bool(report.already) for report in reports) == 2


# -- the LangGraph checkpointer ------------------------------------------------------------
class GraphState(TypedDict, total=False):
    message: str
    transcript: Annotated[list[dict[str, str]], operator.add]
    steps: list[Any]
    carried: dict[str, Any]
    reply: str


def tiny_graph(checkpointer: Any) -> Any:
    async def answer(state: GraphState) -> dict[str, Any]:
        call = {"name": "search", "args": {"query": state["message"], "top_k": 3}, "id": "call-1"}
        return {
            "reply": f"about {state['message']}",
            "transcript": [{"role": "user", "content": state["message"]}],
            "steps": [
                SystemMessage("plan"),
                HumanMessage(state["message"]),
                AIMessage("", tool_calls=[call]),
                ToolMessage('{"hits": 3}', tool_call_id="call-1"),
            ],
            "carried": {"query": state["message"], "prices": [12.5, None], "nested": {"ok": True}},
        }

    builder = StateGraph(GraphState)
    builder.add_node("answer", answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=checkpointer)


async def test_checkpoints_survive_a_restart(backend: Backend) -> None:
    config = {"configurable": {"thread_id": uid("thread-")}}
    first = await tiny_graph(backend.memory.checkpointer).ainvoke({"message": "바닐라"}, config)
    async with open_checkpointer(backend.settings) as fresh:  # a new pool / connection: a restarted process
        snapshot = await tiny_graph(fresh).aget_state(config)
        assert snapshot.values == first
        assert isinstance(snapshot.values["steps"][2], AIMessage)
        assert snapshot.values["steps"][2].tool_calls[0]["args"] == {"query": "바닐라", "top_k": 3}
        second = await tiny_graph(fresh).ainvoke({"message": "iris"}, config)
        assert [line["content"] for line in second["transcript"]] == ["바닐라", "iris"]
        await fresh.adelete_thread(config["configurable"]["thread_id"])
        assert (await tiny_graph(fresh).aget_state(config)).values == {}


@dataclass
class NotAllowed:
    secret: str


def test_strict_serializer_rebuilds_only_allowed_types() -> None:
    serde = strict_serializer()
    message = AIMessage("hi", tool_calls=[{"name": "t", "args": {}, "id": "1"}])
    assert serde.loads_typed(serde.dumps_typed(message)) == message
    assert serde.loads_typed(serde.dumps_typed({"when": datetime(2026, 1, 1, tzinfo=UTC)}))["when"].year == 2026
    assert not isinstance(serde.loads_typed(serde.dumps_typed(NotAllowed("x"))), NotAllowed)


# -- conversation locks --------------------------------------------------------------------
async def test_second_holder_waits_then_is_busy(backend: Backend) -> None:
    locks = backend.locks(wait_s=0.3)
    conversation = uid()
    async with locks.hold(conversation):
        started = time.monotonic()
        with pytest.raises(ConversationBusy, match="still answering"):
            async with locks.hold(conversation):
                pytest.fail("two holders at once")
        assert time.monotonic() - started >= 0.25
        async with locks.hold(uid(), wait_s=0):  # another conversation is free
            pass


async def test_released_lock_is_taken_at_once(backend: Backend) -> None:
    locks = backend.locks(wait_s=0.5)
    conversation = uid()
    async with locks.hold(conversation):
        pass
    started = time.monotonic()
    async with locks.hold(conversation, wait_s=0):
        assert time.monotonic() - started < 0.25


async def test_two_lock_objects_serialise_one_conversation(backend: Backend) -> None:
    conversation = uid()
    spans: list[tuple[float, float]] = []
    async with backend.other_redis() as peer_redis:
        first = backend.locks(wait_s=3)
        second = first
        if peer_redis is not None:  # a second replica: its own client and lock object
            second = RedisConversationLocks(peer_redis, wait_s=3, lease_s=1.0, prefix=backend.prefix)

        async def turn(locks: Any) -> None:
            async with locks.hold(conversation):
                entered = time.monotonic()
                await asyncio.sleep(0.1)
                spans.append((entered, time.monotonic()))

        await asyncio.gather(turn(first), turn(second), turn(first), turn(second))
    spans.sort()
    assert len(spans) == 4
    assert all(earlier[1] <= later[0] for earlier, later in itertools.pairwise(spans))


async def test_lease_is_extended_while_the_turn_runs(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    locks = backend.locks(wait_s=0.0, lease_s=0.4)
    conversation = uid()
    with caplog.at_level(logging.WARNING, logger="memory.locks"):
        async with locks.hold(conversation):
            await asyncio.sleep(0.9)  # more than two leases: only the renewals keep it
            with pytest.raises(ConversationBusy):
                async with locks.hold(conversation, wait_s=0):
                    pass
        async with locks.hold(conversation, wait_s=0):
            pass
    assert not [record for record in caplog.records if record.name == "memory.locks"]


@server_only  # an in-process lock has no lease to lose
async def test_lost_lease_warns_and_does_not_raise(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    assert backend.redis is not None
    locks = backend.locks(wait_s=0.0, lease_s=0.3)
    conversation = uid()
    with caplog.at_level(logging.WARNING, logger="memory.locks"):
        async with locks.hold(conversation):
            await backend.redis.delete(f"{backend.prefix}lock:{conversation}")  # as if the lease ran out
            await asyncio.sleep(0.15)
    assert any("lost" in record.getMessage() or "ran out" in record.getMessage() for record in caplog.records)


def test_local_locks_drop_unused_conversations() -> None:
    async def scenario() -> int:
        locks = LocalConversationLocks(wait_s=0.05)
        for _ in range(3):
            async with locks.hold(uid()):
                pass
        conversation = uid()
        async with locks.hold(conversation):
            with pytest.raises(ConversationBusy):
                async with locks.hold(conversation):
                    pass
            assert len(locks) == 1
        return len(locks)

    assert asyncio.run(scenario()) == 0


# -- session memory ------------------------------------------------------------------------
async def test_event_log_ids_filter_and_bound(backend: Backend) -> None:
    sessions = backend.sessions(size=10)
    conversation, other = uid(), uid()
    ids = [await sessions.append(conversation, {"type": "token", "text": f"t{i}"}) for i in range(15)]
    assert ids == list(range(1, 16))
    assert await sessions.append(other, {"type": "final"}) == 1
    kept = await sessions.after(conversation, 0)
    assert [event_id for event_id, _ in kept] == list(range(6, 16))
    assert kept[0][1] == {"type": "token", "text": "t5"}
    assert [event_id for event_id, _ in await sessions.after(conversation, 13)] == [14, 15]
    assert await sessions.after(conversation, 15) == []
    await sessions.forget(conversation)
    assert await sessions.after(conversation, 0) == []
    assert await sessions.after(other, 0) == [(1, {"type": "final"})]
    assert await sessions.append(conversation, {"type": "token"}) == 1


async def test_concurrent_appends_get_distinct_ids(backend: Backend) -> None:
    sessions = backend.sessions(size=100)
    conversation = uid()
    ids = await asyncio.gather(*(sessions.append(conversation, {"n": n}) for n in range(30)))
    assert sorted(ids) == list(range(1, 31))
    assert [event["n"] for event_id, event in sorted(await sessions.after(conversation, 0))] == [
        n for _, n in sorted(zip(ids, range(30), strict=True))
    ]


async def test_working_memory_and_claim(backend: Backend) -> None:
    sessions = backend.sessions()
    key = uid("running:")
    assert await sessions.get(key) is None
    await sessions.put(key, {"at": 1.5, "parts": ("a", "b"), "말": "값"})
    assert await sessions.get(key) == {"at": 1.5, "parts": ["a", "b"], "말": "값"}  # JSON semantics in both
    await sessions.put(key, {"at": 2})
    assert await sessions.get(key) == {"at": 2}
    event = uid("slack-event:")
    claims = await asyncio.gather(*(sessions.claim(event, 60) for _ in range(5)))
    assert claims.count(True) == 1
    assert await sessions.claim(event, 60) is False
    assert await sessions.claim(uid("slack-event:"), 60) is True
    if backend.redis is not None:  # the TTLs are set in Redis
        assert 0 < await backend.redis.ttl(f"{backend.prefix}kv:{key}") <= 600
        assert 0 < await backend.redis.ttl(f"{backend.prefix}claim:{event}") <= 60


# -- event bus -----------------------------------------------------------------------------
async def _next(events: Any) -> dict[str, Any]:
    result: dict[str, Any] = await asyncio.wait_for(anext(events), 3.0)
    return result


async def test_bus_fans_out_per_conversation(backend: Backend) -> None:
    bus = backend.bus()
    conversation, other = uid(), uid()
    async with (
        bus.subscribe(conversation) as first,
        bus.subscribe(conversation) as second,
        bus.subscribe(other) as elsewhere,
    ):
        for n in range(3):
            await bus.publish(conversation, {"type": "token", "n": n, "text": "향"})
        await bus.publish(other, {"type": "sentinel"})
        for events in (first, second):
            assert [await _next(events) for _ in range(3)] == [
                {"type": "token", "n": n, "text": "향"} for n in range(3)
            ]
        assert await _next(elsewhere) == {"type": "sentinel"}
        # A timed-out wait (as a reader polling with wait_for does) loses nothing and ends nothing.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(first), 0.05)
        await bus.publish(conversation, {"type": "final"})
        assert await _next(first) == {"type": "final"}
    if isinstance(bus, LocalEventBus):
        assert len(bus) == 0


@server_only  # in-process queues have no connection to lose
async def test_subscriber_survives_a_lost_connection(backend: Backend) -> None:
    assert backend.redis is not None
    conversation = uid()
    async with backend.other_redis() as peer_redis:
        assert peer_redis is not None
        bus = backend.bus(peer_redis)
        publisher = backend.bus()
        async with bus.subscribe(conversation) as events:
            await publisher.publish(conversation, {"n": 1})
            assert await _next(events) == {"n": 1}
            name = peer_redis.connection_pool.connection_kwargs["client_name"]
            clients = await backend.redis.client_list(_type="pubsub")
            ours = [client["id"] for client in clients if client.get("name") == name]
            assert ours, "the subscriber's connection is listed"
            for client_id in ours:  # only this test's subscriber, never the other users of the server
                await backend.redis.execute_command("CLIENT", "KILL", "ID", client_id)
            assert await _next(events) == RECONNECTED
            await publisher.publish(conversation, {"n": 2})
            assert await _next(events) == {"n": 2}


# -- rate limits ---------------------------------------------------------------------------
async def test_rate_limiter_allows_then_refuses(backend: Backend) -> None:
    limiter = backend.memory.limiter
    key = uid("apikey:")
    decisions = [await limiter.hit(key, "3/minute") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions[:3]] == [2, 1, 0]
    assert decisions[0].retry_after_s == 0
    assert 0 < decisions[3].retry_after_s <= 60
    assert (await limiter.hit(uid("apikey:"), "3/minute")).allowed  # keys are counted apart
    with pytest.raises(ValueError, match="not a rate limit"):
        await limiter.hit(key, "lots")


# -- opening everything --------------------------------------------------------------------
async def test_memory_reports_its_mode(backend: Backend) -> None:
    memory: Memory = backend.memory
    assert memory.server is backend.server
    assert isinstance(memory.locks, LocalConversationLocks) is (not backend.server)


@server_only
async def test_database_without_redis_warns_single_process(
    backend: Backend, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(tmp_path, database_url=backend.settings.database_url)
    with caplog.at_level(logging.WARNING, logger="memory.backends"):
        async with open_memory(settings) as memory:
            assert memory.server
            assert isinstance(memory.locks, LocalConversationLocks)
            talk = await new_talk(Backend("server", settings, memory))
            assert await memory.repository.get_conversation(talk.conversation_id) is not None
    assert any("single process" in record.getMessage() for record in caplog.records)
