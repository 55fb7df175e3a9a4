"""Memory benchmark: what the checkpoint, the stores and the lock add to a turn, in both modes.

Turns run through the real turn service on one catalog and one script of conversations (held-out
NLU utterances, Korean and English, eight turns per conversation, no hand-off requests: those
park a conversation), in three memory configurations that share the engine, the NLU and the
graph's code:

- baseline: the cheapest memory the service can run on: LangGraph's InMemorySaver, the
  in-process locks, session log and bus, and the SQLite repository on `:memory:` (no file);
- embedded: SQLite files in a scratch folder and the in-process twins (open_runtime's default);
- server: Postgres and Redis (a throwaway database `fragrance_bench_<random>` and a key prefix of
  this run, both removed at the end; or the servers given with --database-url / --redis-url).

The configurations are interleaved turn by turn, their order rotated every step, after a warm-up
that has every text seen once (query embeddings cached alike for all three). What memory adds is
the paired difference: a configuration's turn minus the baseline's turn on the same text at the
same place in the same conversation. Every memory call is also timed in place (repository,
checkpointer, lock, session log, bus): summed per store, and as the time at least one memory call
was in flight. LangGraph writes checkpoints in the background while the next node runs, so this
in-call time can exceed what a turn actually waits for.

Each conversation is a customer of its own, created before its first turn (a channel's identity
lookup is not part of the turn). A turn is timed from `say()` to its last event.

Round trips (server mode) are counted in a separate, untimed pass through TCP relays in front of
Postgres and Redis: a round trip is the client sending after it last heard from the server (what
the client waits on, pipelined requests counted once); Postgres connections are told apart by
their start-up packet (asyncpg: the repository, psycopg: the checkpointer), Redis commands by
their key. The relay also reads which SQL ran and counts the commits of transactions that wrote
(each waits for a WAL flush under synchronous_commit=on). Redis `INFO commandstats` is not used:
it counts the whole server (other clients, commands run inside Lua scripts), not this run's
round trips; `pg_stat_statements` is not loaded on this server. A calibration before and after
(`SELECT 1`, a committed one-row INSERT with and without the WAL flush, a Redis PING) says what
one exchange cost at the time: on a shared disk a flush ranges from 0.1 to several ms.

Finally a replica (`fragrance-ai serve` in server mode on FRAGRANCE_HOME's catalog) is started
three times: seconds from process start to the first 200 of /ready, and its resident memory
(VmRSS, peak VmHWM) once ready and after a few chat turns over REST.

Run: `fragrance-ai bench memory`.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import aiosqlite
import asyncpg
import httpx
import numpy as np
from langgraph.checkpoint.memory import InMemorySaver
from tqdm import tqdm

from agents.evaluation import DEFAULT_EVAL, load_eval
from bench.common import free_port, machine, percentiles
from core.errors import FragranceError
from core.settings import PROJECT_ROOT, Settings
from graphs.graph import build_graph
from graphs.inbound import Inbound
from graphs.runtime import open_runtime
from graphs.service import TurnService
from memory.backends import Memory, open_memory, redis_client
from memory.checkpointer import strict_serializer
from memory.events import LocalEventBus
from memory.locks import LocalConversationLocks
from memory.migrate import MIGRATIONS
from memory.ratelimit import RateLimiter
from memory.sessions import LocalSessionMemory
from memory.sqlite import SqliteRepository
from tools.search.engine import SearchEngine

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Where the throwaway database is created (and dropped) when no --database-url is given."""
REDIS_URL = "redis://127.0.0.1:6379/0"
TURNS_PER_CONVERSATION = 8
CONFIGURATIONS = ("baseline", "embedded", "server")
STORES = ("repository", "checkpointer", "locks", "sessions", "bus")
TARGET_SERVER_ADDS_P50_MS = 10.0
TARGET_READY_S = 5.0
TARGET_RSS_MB = 700.0

DESCRIPTIONS = {
    "baseline": "InMemorySaver, in-process locks/session log/bus, SQLite repository on :memory:",
    "embedded": "SQLite files (memory.sqlite3, conversations.sqlite3) in a scratch folder, in-process twins",
    "server": "Postgres (asyncpg repository, psycopg checkpointer) and Redis (locks, session log, bus)",
}


# -- the script of conversations ---------------------------------------------------------------
def conversation_scripts(turns: int, per_conversation: int = TURNS_PER_CONVERSATION) -> list[list[str]]:
    """`turns` utterances of the held-out NLU set as conversations of `per_conversation` turns, each
    in one language (Korean and English alternate), intents mixed (a fixed shuffle). Hand-off
    requests are left out: one parks its conversation, so its later turns would not run the graph."""
    items = [item for item in load_eval(DEFAULT_EVAL) if item["intent"] != "handoff"]
    pools = {lang: [i["text"] for i in items if i.get("language", "en") == lang] for lang in ("ko", "en")}
    for lang, pool in pools.items():
        random.Random(f"bench-memory-{lang}").shuffle(pool)
    scripts: list[list[str]] = []
    cursor = {"ko": 0, "en": 0}
    left = turns
    while left > 0:
        lang = ("ko", "en")[len(scripts) % 2]
        pool, size = pools[lang], min(per_conversation, left)
        scripts.append([pool[(cursor[lang] + k) % len(pool)] for k in range(size)])
        cursor[lang] += size
        left -= size
    return scripts


def schedule(scripts: list[list[str]]) -> list[tuple[int, str]]:
    """(conversation, text) in the order the turns run: first turns of every conversation, then
    second turns ..., as many customers talking at once would."""
    longest = max((len(s) for s in scripts), default=0)
    return [(c, script[k]) for k in range(longest) for c, script in enumerate(scripts) if k < len(script)]


# -- timing every memory call in place ----------------------------------------------------------
class Meter:
    """Time spent inside memory calls: per store (sums, which may overlap) and as the time at least
    one memory call was in flight (no double counting)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STORES, 0.0)
        self.calls: Counter[str] = Counter()
        self.busy_s = 0.0
        self._active = 0
        self._busy_since = 0.0

    def take(self) -> tuple[dict[str, float], float, Counter[str]]:
        """What was measured since the last take (milliseconds per store, busy ms, calls); resets."""
        taken = ({k: v * 1000 for k, v in self.seconds.items()}, self.busy_s * 1000, self.calls)
        self.seconds, self.calls, self.busy_s = dict.fromkeys(STORES, 0.0), Counter(), 0.0
        return taken

    def _enter(self) -> float:
        now = time.perf_counter()
        if self._active == 0:
            self._busy_since = now
        self._active += 1
        return now

    def _leave(self, store: str, name: str, started: float) -> None:
        now = time.perf_counter()
        self._active -= 1
        if self._active == 0:
            self.busy_s += now - self._busy_since
        self.seconds[store] += now - started
        self.calls[f"{store}.{name}"] += 1

    def timed(self, store: str, name: str, call: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            started = self._enter()
            try:
                return await call(*args, **kwargs)
            finally:
                self._leave(store, name, started)

        return timed_call

    def timed_iter(self, store: str, name: str, call: Callable[..., AsyncIterator[Any]]) -> Callable[..., Any]:
        async def timed_iteration(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            iterator = call(*args, **kwargs)
            while True:
                started = self._enter()
                try:
                    item = await anext(iterator)
                except StopAsyncIteration:
                    return
                finally:
                    self._leave(store, name, started)
                yield item

        return timed_iteration

    def timed_hold(self, hold: Callable[..., AbstractAsyncContextManager[None]]) -> Callable[..., Any]:
        """The lock's acquisition and release are timed; the turn it holds the lock for is not."""

        @asynccontextmanager
        async def timed(conversation_id: str, wait_s: float | None = None) -> AsyncIterator[None]:
            manager = hold(conversation_id, wait_s)
            started = self._enter()
            try:
                await manager.__aenter__()
            finally:
                self._leave("locks", "acquire", started)
            try:
                yield
            except BaseException as exc:
                started = self._enter()
                try:
                    if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
                        raise
                finally:
                    self._leave("locks", "release", started)
            else:
                started = self._enter()
                try:
                    await manager.__aexit__(None, None, None)
                finally:
                    self._leave("locks", "release", started)

        return timed


def instrument(memory: Memory, meter: Meter) -> None:
    """Time every call the turn service and LangGraph make into the memory's stores, by replacing
    the bound methods on the store objects themselves (the compiled graph keeps its checkpointer)."""
    repository = memory.repository
    for name, _ in inspect.getmembers(type(repository), inspect.iscoroutinefunction):
        if not name.startswith("_") and name != "close":
            setattr(repository, name, meter.timed("repository", name, getattr(repository, name)))
    saver = memory.checkpointer
    for name in ("aget_tuple", "aput", "aput_writes", "adelete_thread"):
        setattr(saver, name, meter.timed("checkpointer", name, getattr(saver, name)))
    setattr(saver, "alist", meter.timed_iter("checkpointer", "alist", saver.alist))  # noqa: B010
    for name in ("append", "after", "get", "put", "claim", "forget"):
        setattr(memory.sessions, name, meter.timed("sessions", name, getattr(memory.sessions, name)))
    setattr(memory.bus, "publish", meter.timed("bus", "publish", memory.bus.publish))  # noqa: B010
    setattr(memory.locks, "hold", meter.timed_hold(memory.locks.hold))  # noqa: B010


# -- the three memories -------------------------------------------------------------------------
@asynccontextmanager
async def baseline_memory(settings: Settings) -> AsyncIterator[Memory]:
    """The cheapest memory the turn service runs on: nothing leaves the process, nothing is a file."""
    conn = await aiosqlite.connect(":memory:", isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys=ON")
        for script in sorted((MIGRATIONS / "sqlite").glob("*.sql")):
            await conn.executescript(script.read_text(encoding="utf-8"))
        yield Memory(
            repository=SqliteRepository(conn, Path(":memory:")),
            checkpointer=InMemorySaver(serde=strict_serializer()),
            locks=LocalConversationLocks(wait_s=settings.turn_lock_wait_s),
            sessions=LocalSessionMemory(size=settings.event_log_size, ttl_s=settings.session_ttl_s),
            bus=LocalEventBus(),
            limiter=RateLimiter.in_memory(),
            server=False,
        )
    finally:
        await conn.close()


@dataclass
class ServerStores:
    """Where server mode runs: the DSN and Redis URL, this run's key prefix, and whether the
    database is a throwaway one (dropped at the end) or the caller's (only our rows are erased)."""

    database_url: str
    redis_url: str
    prefix: str
    throwaway: bool
    customers: list[str] = field(default_factory=list)


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@asynccontextmanager
async def server_stores(
    database_url: str | None = None, redis_url: str | None = None, admin_dsn: str = ADMIN_DSN
) -> AsyncIterator[ServerStores]:
    """A throwaway Postgres database (unless `database_url` is given) and a key prefix of this run
    on Redis; the database is dropped and every key under the prefix deleted on exit, on failure too."""
    redis_url = redis_url or REDIS_URL
    prefix = f"fragrance-bench-{uuid4().hex[:12]}:"
    redis = redis_client(redis_url)
    try:
        await redis.ping()
    except Exception as exc:
        await redis.aclose()
        raise FragranceError(f"Redis is not reachable at {redact(redis_url)}: {exc}") from exc
    admin = None
    name = None
    try:
        if database_url is None:
            try:
                admin = await asyncpg.connect(admin_dsn, timeout=10)
            except (OSError, asyncpg.PostgresError) as exc:
                raise FragranceError(f"Postgres is not reachable at {redact(admin_dsn)}: {exc}") from exc
            name = f"fragrance_bench_{uuid4().hex[:12]}"
            await admin.execute(f'CREATE DATABASE "{name}"')
            database_url = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))
        yield ServerStores(database_url, redis_url, prefix, throwaway=name is not None)
    finally:
        try:
            keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=500)]
            if keys:
                await redis.delete(*keys)
        finally:
            await redis.aclose()
            if admin is not None:
                try:
                    if name is not None:
                        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                finally:
                    await admin.close()


def server_settings(settings: Settings, stores: ServerStores, *, migrate: bool = True) -> Settings:
    return settings.model_copy(
        update={
            "database_url": stores.database_url,
            "redis_url": stores.redis_url,
            "redis_key_prefix": stores.prefix,
            "migrate_on_start": migrate,
        }
    )


async def erase_customers(memory: Memory, customers: list[str]) -> None:
    """On a database that is not ours: remove the benchmark's customers, their transcripts and threads."""
    for customer_id in customers:
        for conversation_id in await memory.repository.delete_customer(customer_id):
            await memory.checkpointer.adelete_thread(conversation_id)


# -- counting round trips -----------------------------------------------------------------------
_SSL_REQUEST, _GSS_REQUEST, _CANCEL_REQUEST = 80877103, 80877104, 80877102


def _sql_words(query: bytes) -> str:
    return " ".join(query.decode("utf-8", "replace").split())[:72] or "(empty query)"


_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")


class PostgresStream:
    """The client's side of a Postgres connection, parsed just enough to count: which store the
    connection serves (its start-up parameters), the messages the client sends, the SQL each
    Query or Bind runs (prepared statements are named in Parse and run by name in Bind), and the
    commits of transactions that wrote (each waits for a WAL flush under synchronous_commit=on):
    an explicit BEGIN ... COMMIT, or the implicit transaction of writes up to a Sync or of a
    simple Query outside BEGIN."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._started = False
        self._prepared: dict[bytes, str] = {}
        self._explicit = False  # inside BEGIN ... COMMIT
        self._wrote = False  # the open transaction (explicit or implicit) wrote
        self.store = "other"

    def _committed(self, kind: str, sql: str | None) -> bool:
        """Whether this message ends a transaction that wrote."""
        verb = (sql or "").split(" ", 1)[0].rstrip(";").upper()
        if kind == "S":
            ended = self._wrote and not self._explicit
            self._wrote = self._wrote and self._explicit
            return ended
        if kind not in ("Q", "B"):
            return False
        if verb in ("BEGIN", "START"):
            self._explicit, self._wrote = True, False
            return False
        if verb in ("COMMIT", "END", "ROLLBACK", "ABORT"):
            ended = self._wrote and verb in ("COMMIT", "END")
            self._explicit = self._wrote = False
            return ended
        if verb in _WRITES:  # (a data-modifying WITH is not seen as a write: none runs in a turn)
            if kind == "Q" and not self._explicit:
                return True
            self._wrote = True
        return False

    def feed(self, data: bytes) -> list[tuple[str, str, str | None]]:
        """(store, kind, SQL) of the complete messages in `data`: kind "connect" for start-up and
        authentication, else the message type ("Q" a simple query, "S" a Sync ending an
        extended-protocol batch, "B" a Bind running a statement ...)."""
        self._buffer += data
        messages: list[tuple[str, str, str | None]] = []
        while True:
            if not self._started:
                if len(self._buffer) < 8:
                    break
                length = int.from_bytes(self._buffer[:4], "big")
                if len(self._buffer) < length:
                    break
                code = int.from_bytes(self._buffer[4:8], "big")
                if code not in (_SSL_REQUEST, _GSS_REQUEST, _CANCEL_REQUEST):
                    words = bytes(self._buffer[8:length]).split(b"\0")
                    params = dict(zip(words[::2], words[1::2], strict=False))
                    if b"langgraph" in params.get(b"options", b""):
                        self.store = "checkpointer"
                    elif params.get(b"search_path") == b"fragrance":
                        self.store = "repository"
                    self._started = True
                del self._buffer[:length]
                messages.append(("connect", "connect", None))
                continue
            if len(self._buffer) < 5:
                break
            length = int.from_bytes(self._buffer[1:5], "big")
            if len(self._buffer) < 1 + length:
                break
            kind = chr(self._buffer[0])
            body = bytes(self._buffer[5 : 1 + length])
            del self._buffer[: 1 + length]
            sql = None
            if kind == "Q":
                sql = _sql_words(body.split(b"\0", 1)[0])
            elif kind == "P":
                name, _, rest = body.partition(b"\0")
                self._prepared[name] = _sql_words(rest.split(b"\0", 1)[0])
            elif kind == "B":
                sql = self._prepared.get(body.split(b"\0", 2)[1], "(unknown statement)")
            if kind == "p":
                messages.append(("connect", "connect", None))
                continue
            messages.append((self.store, kind, sql))
            if self._committed(kind, sql):
                messages.append((self.store, "commit", None))
        return messages


class RedisStream:
    """The client's side of a Redis connection: each command (RESP array) and the store its key
    belongs to."""

    def __init__(self, prefix: str) -> None:
        self._buffer = bytearray()
        self._prefix = prefix

    def feed(self, data: bytes) -> list[tuple[str, str, str | None]]:
        """(store, command name, None) of the complete commands in `data`."""
        self._buffer += data
        commands: list[tuple[str, str, str | None]] = []
        while (command := self._command()) is not None:
            name = command[0].upper().decode("ascii", "replace") if command else ""
            commands.append((self._store(command), name, None))
        return commands

    def _command(self) -> list[bytes] | None:
        buffer = self._buffer
        end = buffer.find(b"\r\n")
        if end < 0:
            return None
        if buffer[:1] != b"*":  # an inline command
            args = bytes(buffer[:end]).split()
            del buffer[: end + 2]
            return args
        count, pos, args = int(buffer[1:end]), end + 2, []
        for _ in range(count):
            end = buffer.find(b"\r\n", pos)
            if end < 0:
                return None
            length = int(buffer[pos + 1 : end])
            if len(buffer) < end + 2 + length + 2:
                return None
            args.append(bytes(buffer[end + 2 : end + 2 + length]))
            pos = end + 2 + length + 2
        del buffer[:pos]
        return args

    def _store(self, args: list[bytes]) -> str:
        name = args[0].upper() if args else b""
        if name in (b"CLIENT", b"HELLO", b"AUTH", b"SELECT"):
            return "connect"
        if name in (b"EVALSHA", b"EVAL"):
            key = args[3] if len(args) > 3 and args[2] != b"0" else b""
        else:
            key = args[1] if len(args) > 1 else b""
        text = key.decode("utf-8", "replace")
        for marker, store in (("lock:", "locks"), ("events:", "sessions"), ("kv:", "sessions"), ("bus:", "bus")):
            if text.startswith(self._prefix + marker):
                return store
        return "other"


class CountingRelay:
    """A TCP relay in front of Postgres or Redis that counts, per store, the round trips (the client
    sending after it last heard from the server), the messages or commands, and the bytes."""

    def __init__(self, kind: Literal["postgres", "redis"], host: str, port: int, prefix: str = "") -> None:
        self.kind = kind
        self._upstream = (host, port)
        self._prefix = prefix
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.traffic: Counter[str] = Counter()

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    def reset(self) -> None:
        self.counts = defaultdict(Counter)
        self.traffic = Counter()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.counts["connect"]["connections"] += 1
        stream = PostgresStream() if self.kind == "postgres" else RedisStream(self._prefix)
        waiting = False  # the client has sent and not heard back yet
        unattributed = False  # a round trip began whose first message is not parsed yet
        try:
            server_r, server_w = await asyncio.open_connection(*self._upstream)
        except OSError:
            client_w.close()
            return

        async def up() -> None:
            nonlocal waiting, unattributed
            while data := await client_r.read(65536):
                if not waiting:
                    waiting = unattributed = True
                for store, kind, sql in stream.feed(data):
                    counts = self.counts[store]
                    counts[f"message {kind}"] += 1
                    if sql is not None:
                        counts[f"sql {sql}"] += 1
                    if unattributed:
                        counts["round_trips"] += 1
                        unattributed = False
                self.traffic["bytes_up"] += len(data)
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def down() -> None:
            nonlocal waiting
            while data := await server_r.read(65536):
                waiting = False
                self.traffic["bytes_down"] += len(data)
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        try:
            await asyncio.gather(up(), down())
        except OSError:
            pass
        finally:
            for writer in (server_w, client_w):
                with contextlib.suppress(Exception):
                    writer.close()
            if task is not None:
                self._tasks.discard(task)


def _host_port(url: str, default_port: int) -> tuple[str, int] | None:
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme in ("rediss", "unix"):
        return None
    return parts.hostname, parts.port or default_port


def _through(url: str, port: int, *, postgres: bool) -> str:
    """The same URL with the relay's address (and no TLS to Postgres, so the relay can read it)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    query = dict(parse_qsl(parts.query))
    if postgres:
        query["sslmode"] = "disable"
    return urlunsplit(parts._replace(netloc=netloc, query=urlencode(query)))


def summarise_counts(relay: CountingRelay, turns: int) -> dict[str, Any]:
    """Per turn: round trips, and statements (Postgres: simple Queries plus Syncs, and what SQL ran)
    or commands (Redis, by name) by store, bytes; and the connection set-up that happened in the
    window (not per turn)."""
    by_store: dict[str, Any] = {}
    for store, counts in sorted(relay.counts.items()):
        if store == "connect":
            by_store[store] = {"connections": counts["connections"], "round_trips": counts["round_trips"]}
            continue
        entry: dict[str, Any] = {"round_trips_per_turn": counts["round_trips"] / turns}
        if relay.kind == "postgres":
            entry["statements_per_turn"] = (counts["message Q"] + counts["message S"]) / turns
            entry["write_commits_per_turn"] = counts["message commit"] / turns
            entry["sql_runs_per_turn"] = {
                key[4:]: n / turns for key, n in counts.most_common() if key.startswith("sql ")
            }
        else:
            entry["commands_per_turn"] = {
                key[8:]: n / turns for key, n in counts.most_common() if key.startswith("message ")
            }
        by_store[store] = entry
    per_turn = sum(c["round_trips"] for store, c in relay.counts.items() if store != "connect")
    return {
        "round_trips_per_turn": per_turn / turns,
        "by_store": by_store,
        "bytes_up_per_turn": relay.traffic["bytes_up"] / turns,
        "bytes_down_per_turn": relay.traffic["bytes_down"] / turns,
    }


async def calibrate(stores: ServerStores, repeats: int = 200) -> dict[str, Any]:
    """What one exchange costs on these servers, to read the counts by: a Postgres `SELECT 1`, a
    one-row INSERT committed with and without waiting for the WAL flush (synchronous_commit on /
    off, this session only; on the throwaway database only), a Redis PING. Medians in ms."""

    async def median_ms(call: Callable[[], Awaitable[Any]]) -> float:
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - started) * 1000)
        return statistics.median(samples)

    out: dict[str, Any] = {}
    conn = await asyncpg.connect(stores.database_url, timeout=10)
    try:
        out["postgres_synchronous_commit"] = await conn.fetchval("SHOW synchronous_commit")
        out["postgres_select_1_ms"] = await median_ms(lambda: conn.fetchval("SELECT 1"))
        if stores.throwaway:
            await conn.execute("CREATE TABLE bench_probe (id bigserial PRIMARY KEY, v text)")
            insert = "INSERT INTO bench_probe (v) VALUES ('x')"
            for setting in ("on", "off"):
                await conn.execute(f"SET synchronous_commit = {setting}")
                out[f"postgres_insert_commit_ms_synchronous_commit_{setting}"] = await median_ms(
                    lambda: conn.execute(insert)
                )
            await conn.execute("DROP TABLE bench_probe")
    finally:
        await conn.close()
    redis = redis_client(stores.redis_url)
    try:
        out["redis_ping_ms"] = await median_ms(redis.ping)
    finally:
        await redis.aclose()
    return out


# -- running turns ------------------------------------------------------------------------------
@dataclass
class Config:
    """One memory configuration: its turn service, its meter, what it measured. Each conversation
    is a customer of its own (one customer switching language every turn would rewrite their
    preferences every turn), created before its first turn, outside the timing."""

    name: str
    service: TurnService
    meter: Meter
    customers: dict[str, str] = field(default_factory=dict)
    samples_ms: list[float] = field(default_factory=list)
    busy_ms: list[float] = field(default_factory=list)
    store_ms: dict[str, list[float]] = field(default_factory=lambda: {s: [] for s in STORES})
    calls: Counter[str] = field(default_factory=Counter)

    async def turn(self, conversation_id: str, text: str, *, record: bool = True) -> float:
        if conversation_id not in self.customers:
            customer = await self.service.memory.repository.customer_for("cli", f"bench-{conversation_id}")
            self.customers[conversation_id] = customer.id
        inbound = Inbound(
            text=text, customer_id=self.customers[conversation_id], channel="cli", conversation_id=conversation_id
        )
        self.meter.take()
        started = time.perf_counter()
        await self.service.say(inbound)
        elapsed = (time.perf_counter() - started) * 1000  # what the customer waits for: the last event
        await self.service.close()  # the turn's own tail (the lock's release) is measured, not timed
        per_store, busy, calls = self.meter.take()
        if record:
            self.samples_ms.append(elapsed)
            self.busy_ms.append(busy)
            for store in STORES:
                self.store_ms[store].append(per_store[store])
            self.calls.update(calls)
        return elapsed


async def _config(name: str, memory: Memory, runtime_service: TurnService, settings: Settings) -> Config:
    meter = Meter()
    instrument(memory, meter)
    service = TurnService(build_graph(memory.checkpointer), runtime_service.context, memory, settings)
    return Config(name=name, service=service, meter=meter)


def _report(config: Config, baseline: Config | None) -> dict[str, Any]:
    turns = len(config.samples_ms)
    out: dict[str, Any] = {
        "description": DESCRIPTIONS[config.name],
        "turns": turns,
        "latency_ms": percentiles(config.samples_ms),
        "memory_call_ms": percentiles(config.busy_ms),
        "memory_call_ms_by_store": {
            store: {**percentiles(samples), "sum_per_turn_mean": float(np.mean(samples))}
            for store, samples in config.store_ms.items()
        },
        "calls_per_turn": {name: count / turns for name, count in sorted(config.calls.items())},
        "samples_ms": config.samples_ms,
        "memory_call_samples_ms": config.busy_ms,
    }
    if baseline is not None:
        added = [a - b for a, b in zip(config.samples_ms, baseline.samples_ms, strict=True)]
        out["adds_ms"] = percentiles(added)
        out["adds_samples_ms"] = added
        out["p50_minus_baseline_p50_ms"] = out["latency_ms"]["p50"] - float(np.percentile(baseline.samples_ms, 50))
        out["p95_minus_baseline_p95_ms"] = out["latency_ms"]["p95"] - float(np.percentile(baseline.samples_ms, 95))
    return out


async def measure_turns(
    settings: Settings,
    turns: int,
    *,
    stores: ServerStores,
    engine: SearchEngine | None = None,
    count_turns: int | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Time `turns` turns in each configuration, interleaved, then count server mode's round trips
    over `count_turns` more (default: the same number) through counting relays."""
    scripts = conversation_scripts(turns)
    steps = schedule(scripts)
    run = uuid4().hex[:8]
    calibration_before = await calibrate(stores)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        embedded_settings = settings.model_copy(
            update={"database_url": None, "redis_url": None, "memory_dir": Path(scratch), "ollama_base_url": None}
        )
        async with (
            open_runtime(embedded_settings, engine=engine, models=None) as runtime,
            baseline_memory(embedded_settings) as base_memory,
            open_memory(server_settings(embedded_settings, stores), prefix=stores.prefix) as server_memory,
        ):
            service = runtime.require_service()
            catalog_perfumes = runtime.engine.index.size if runtime.engine is not None else 0
            configs = {
                "baseline": await _config("baseline", base_memory, service, embedded_settings),
                "embedded": await _config("embedded", runtime.memory, service, embedded_settings),
                "server": await _config("server", server_memory, service, embedded_settings),
            }
            # Warm-up: every text once (its query embedding cached for all three alike), then a
            # conversation in each configuration (pools connected, scripts loaded, statements prepared).
            distinct = list(dict.fromkeys(text for _, text in steps))
            for n, text in enumerate(tqdm(distinct, desc="warm-up", unit="turn", disable=not progress)):
                await configs["baseline"].turn(f"warm-{run}-{n // TURNS_PER_CONVERSATION}", text, record=False)
            for config in configs.values():
                for text in scripts[0]:
                    await config.turn(f"warm-{config.name}-{run}", text, record=False)
            try:
                bar = tqdm(total=len(steps) * 3, desc="turns, 3 memories", unit="turn", disable=not progress)
                for n, (conversation, text) in enumerate(steps):
                    order = CONFIGURATIONS[n % 3 :] + CONFIGURATIONS[: n % 3]
                    for name in order:
                        await configs[name].turn(f"{name}-{run}-{conversation}", text)
                        bar.update()
                bar.close()
                counted = await count_round_trips(
                    server_settings(embedded_settings, stores, migrate=False),
                    stores,
                    service,
                    scripts if count_turns is None else conversation_scripts(count_turns),
                    run,
                    progress,
                )
            finally:
                stores.customers += configs["server"].customers.values()
                if not stores.throwaway:
                    await erase_customers(server_memory, stores.customers)
    if counted is not None:
        counted["calibration"] = {"before": calibration_before, "after": await calibrate(stores)}
    baseline = configs["baseline"]
    return {
        "catalog_perfumes": catalog_perfumes,
        "conversations": len(scripts),
        "turns_per_conversation": TURNS_PER_CONVERSATION,
        "configurations": {name: _report(c, None if name == "baseline" else baseline) for name, c in configs.items()},
        "round_trips": counted,
    }


async def count_round_trips(
    settings: Settings,
    stores: ServerStores,
    runtime_service: TurnService,
    scripts: list[list[str]],
    run: str,
    progress: bool,
) -> dict[str, Any] | None:
    """Server mode again, untimed, with its connections through counting relays."""
    postgres = _host_port(stores.database_url, 5432)
    redis = _host_port(stores.redis_url, 6379)
    if postgres is None or redis is None:
        return None  # a Unix socket or TLS: nothing a plain relay can read
    pg_relay = CountingRelay("postgres", *postgres)
    redis_relay = CountingRelay("redis", *redis, prefix=stores.prefix)
    relayed = settings.model_copy(
        update={
            "database_url": _through(stores.database_url, await pg_relay.start(), postgres=True),
            "redis_url": _through(stores.redis_url, await redis_relay.start(), postgres=False),
        }
    )
    steps = schedule(scripts)
    try:
        async with open_memory(relayed, prefix=stores.prefix) as memory:
            config = await _config("server", memory, runtime_service, settings)
            try:
                for text in scripts[0]:
                    await config.turn(f"count-warm-{run}", text, record=False)
                pg_relay.reset()
                redis_relay.reset()
                for conversation, text in tqdm(steps, desc="round trips", unit="turn", disable=not progress):
                    await config.turn(f"count-{run}-{conversation}", text)
            finally:
                stores.customers += config.customers.values()
            counted = {
                "turns": len(steps),
                "postgres": summarise_counts(pg_relay, len(steps)),
                "redis": summarise_counts(redis_relay, len(steps)),
                "memory_calls_per_turn": {name: n / len(steps) for name, n in sorted(config.calls.items())},
            }
    finally:
        await pg_relay.close()
        await redis_relay.close()
    counted["what_is_counted"] = (
        "A round trip is the client sending after it last heard from the server (requests pipelined "
        "before an answer count once), counted by a TCP relay in a separate untimed pass. Postgres "
        "connections are told apart by their start-up packet (asyncpg: repository; psycopg: "
        "checkpointer); statements are simple Queries plus extended-protocol Syncs. Redis commands "
        "are attributed by key (lock: locks; events:/kv: sessions; bus: bus). 'connect' rows are "
        "connection set-up in the window, not per turn."
    )
    return counted


# -- a replica: readiness and resident memory -------------------------------------------------------
def _proc_status(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM of a process, in MB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


async def _mint_key(settings: Settings, stores: ServerStores) -> str:
    from memory.apikeys import mint

    async with open_memory(server_settings(settings, stores), prefix=stores.prefix) as memory:
        minted = await mint(memory.repository, "bench-memory", ("chat",), "100000/minute")
    return minted.secret


@dataclass
class Replica:
    proc: subprocess.Popen[bytes]
    url: str
    ready_s: float


def start_replica(settings: Settings, stores: ServerStores, log_path: Path) -> Replica:
    """`fragrance-ai serve` in server mode on FRAGRANCE_HOME's catalog; returns it once /ready
    answers 200, with the seconds from process start."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k.upper() != "OLLAMA_BASE_URL"}
    env.update(
        FRAGRANCE_HOME=str(settings.fragrance_home),
        DATABASE_URL=stores.database_url,
        REDIS_URL=stores.redis_url,
        REDIS_KEY_PREFIX=stores.prefix,
        LOG_LEVEL="warning",
    )
    with log_path.open("ab") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "channels.cli.main", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=2) as client:
        while time.perf_counter() - started < 300:
            if proc.poll() is not None:
                raise FragranceError(f"the replica exited: {log_path.read_text(errors='replace')[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(f"{url}/ready").status_code == 200:
                    return Replica(proc, url, time.perf_counter() - started)
            time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise FragranceError("the replica did not become ready within 300 s")


def measure_replica(
    settings: Settings, stores: ServerStores, *, starts: int, turns: int, progress: bool = True
) -> dict[str, Any]:
    """Start a replica `starts` times: readiness, RSS once ready and after `turns` REST chat turns."""
    key = asyncio.run(_mint_key(settings, stores))
    texts = [text for script in conversation_scripts(turns) for text in script][:turns]
    samples = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-replica-") as scratch:
        for start in tqdm(range(starts), desc="replica starts", unit="start", disable=not progress):
            replica = start_replica(settings, stores, Path(scratch) / f"replica-{start}.log")
            proc = replica.proc
            try:
                at_ready = _proc_status(proc.pid)
                thread_id: str | None = None
                errors, latencies = 0, []
                with httpx.Client(
                    base_url=replica.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
                ) as client:
                    mode = client.get("/ready").json().get("mode")
                    for n, text in enumerate(texts):
                        if n % TURNS_PER_CONVERSATION == 0:
                            thread_id = None
                        body = {"message": text, "customer": "bench-memory"}
                        if thread_id is not None:
                            body["thread_id"] = thread_id
                        began = time.perf_counter()
                        response = client.post("/api/v1/chat", json=body)
                        latencies.append((time.perf_counter() - began) * 1000)
                        if response.status_code == 200:
                            thread_id = response.json()["thread_id"]
                        else:
                            errors += 1
                after = _proc_status(proc.pid)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            samples.append(
                {
                    "ready_s": replica.ready_s,
                    "mode": mode,
                    "rss_mb_ready": at_ready["VmRSS"],
                    "hwm_mb_ready": at_ready["VmHWM"],
                    "turns": len(texts),
                    "errors": errors,
                    "turn_ms": percentiles(latencies) if latencies else None,
                    "rss_mb_after_turns": after["VmRSS"],
                    "hwm_mb_after_turns": after["VmHWM"],
                }
            )
    if not stores.throwaway:
        asyncio.run(_erase_replica_customer(settings, stores, key))
    return {
        "starts": samples,
        "ready_s": statistics.median(s["ready_s"] for s in samples),
        "rss_mb_ready": statistics.median(s["rss_mb_ready"] for s in samples),
        "rss_mb_after_turns": statistics.median(s["rss_mb_after_turns"] for s in samples),
        "hwm_mb_after_turns": statistics.median(s["hwm_mb_after_turns"] for s in samples),
        "what_is_measured": "process start (Popen) to the first 200 of GET /ready, polled every 50 ms; VmRSS "
        "and VmHWM from /proc/PID/status once ready and after the REST turns; medians of the starts",
    }


async def _erase_replica_customer(settings: Settings, stores: ServerStores, key: str) -> None:
    async with open_memory(server_settings(settings, stores, migrate=False), prefix=stores.prefix) as memory:
        record = await memory.repository.api_key_by_prefix(key.split("_")[1])
        if record is None:
            return
        customer = await memory.repository.customer_for("api", f"{record.id}:bench-memory", api_key_id=record.id)
        await erase_customers(memory, [customer.id])
        await memory.repository.revoke_api_key(record.id)


# -- the whole benchmark --------------------------------------------------------------------------
def run_memory_benchmark(
    settings: Settings,
    *,
    turns: int,
    out_dir: Path,
    database_url: str | None = None,
    redis_url: str | None = None,
    replica_starts: int = 3,
    replica_turns: int = 24,
) -> dict[str, Any]:
    """Everything: turns in three memories, round trips, replica start-ups; JSON, PNG and a summary."""

    async def measured() -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
        async with server_stores(database_url, redis_url) as stores:
            turns_result = await measure_turns(settings, turns, stores=stores)
            used = {
                "fragrance_home": str(settings.fragrance_home),
                "database": (
                    f"throwaway database on {redact(stores.database_url)} (dropped at the end)"
                    if stores.throwaway
                    else redact(stores.database_url)
                ),
                "redis": f"{redact(stores.redis_url)}, key prefix {stores.prefix} (deleted at the end)",
                "database_pool_size": settings.database_pool_size,
                "event_log_size": settings.event_log_size,
                "turns_per_configuration": turns,
                "replica_starts": replica_starts,
                "replica_turns": replica_turns,
                "models": "embedded roles (no model server)",
            }
            replica = None
            if replica_starts:
                replica = await asyncio.to_thread(
                    measure_replica, settings, stores, starts=replica_starts, turns=replica_turns
                )
        return turns_result, replica, used

    turns_result, replica, used = asyncio.run(measured())
    result = assemble(turns_result, replica, used)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "memory.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    plot(result, out_dir / "memory.png")
    print(json.dumps(summary(result), indent=2, ensure_ascii=False))
    print(f"wrote {out_dir / 'memory.json'} and {out_dir / 'memory.png'}")
    return result


def assemble(turns_result: dict[str, Any], replica: dict[str, Any] | None, used: dict[str, Any]) -> dict[str, Any]:
    server = turns_result["configurations"]["server"]
    verdict: dict[str, Any] = {
        "server_adds_p50_ms": server["adds_ms"]["p50"],
        "server_adds_target_ms": TARGET_SERVER_ADDS_P50_MS,
        "server_adds_holds": server["adds_ms"]["p50"] <= TARGET_SERVER_ADDS_P50_MS,
    }
    if replica is not None:
        verdict.update(
            ready_s=replica["ready_s"],
            ready_target_s=TARGET_READY_S,
            ready_holds=replica["ready_s"] <= TARGET_READY_S,
            rss_mb=replica["rss_mb_after_turns"],
            rss_target_mb=TARGET_RSS_MB,
            rss_holds=replica["rss_mb_after_turns"] <= TARGET_RSS_MB,
        )
    return {
        "benchmark": "memory",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "catalog_perfumes": turns_result["catalog_perfumes"],
        "settings": used,
        "targets": {
            "server_adds_p50_ms": TARGET_SERVER_ADDS_P50_MS,
            "replica_ready_s": TARGET_READY_S,
            "replica_rss_mb": TARGET_RSS_MB,
        },
        "verdict": verdict,
        **turns_result,
        "replica": replica,
    }


def summary(result: dict[str, Any]) -> dict[str, Any]:
    def rounded(values: dict[str, float], keys: tuple[str, ...] = ("p50", "p95")) -> dict[str, float]:
        return {k: round(values[k], 2) for k in keys}

    configs = result["configurations"]
    out: dict[str, Any] = {"catalog_perfumes": result["catalog_perfumes"]}
    for name, config in configs.items():
        entry = {"turn_ms": rounded(config["latency_ms"]), "inside_memory_calls_ms": rounded(config["memory_call_ms"])}
        if "adds_ms" in config:
            entry["adds_vs_baseline_ms"] = rounded(config["adds_ms"])
        out[name] = entry
    counted = result.get("round_trips")
    if counted:
        out["round_trips_per_turn"] = {
            server: {
                "total": round(counted[server]["round_trips_per_turn"], 2),
                **{
                    store: round(v["round_trips_per_turn"], 2)
                    for store, v in counted[server]["by_store"].items()
                    if store != "connect"
                },
            }
            for server in ("postgres", "redis")
        }
        out["postgres_write_commits_per_turn"] = {
            store: round(v["write_commits_per_turn"], 2)
            for store, v in counted["postgres"]["by_store"].items()
            if "write_commits_per_turn" in v
        }
        out["calibration_ms"] = {
            when: {k: round(v, 3) if isinstance(v, float) else v for k, v in probe.items()}
            for when, probe in counted.get("calibration", {}).items()
        }
    if result.get("replica"):
        replica = result["replica"]
        out["replica"] = {
            "ready_s": round(replica["ready_s"], 2),
            "rss_mb_ready": round(replica["rss_mb_ready"], 1),
            "rss_mb_after_turns": round(replica["rss_mb_after_turns"], 1),
            "hwm_mb_after_turns": round(replica["hwm_mb_after_turns"], 1),
        }
    out["verdict"] = result["verdict"]
    return out


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = result["configurations"]
    colors = {"baseline": "tab:gray", "embedded": "tab:blue", "server": "tab:orange"}
    fig = plt.figure(figsize=(15, 9))
    grid = fig.add_gridspec(2, 3)
    cdf = fig.add_subplot(grid[0, :2])
    for name, config in configs.items():
        samples = np.sort(np.asarray(config["samples_ms"]))
        p50 = config["latency_ms"]["p50"]
        label = f"{name}: p50 {p50:.1f} ms, p95 {config['latency_ms']['p95']:.1f} ms"
        cdf.plot(samples, np.linspace(0, 1, samples.size), label=label, color=colors[name])
    worst = max(float(np.percentile(c["samples_ms"], 99)) for c in configs.values())
    cdf.set_xlim(0, worst * 1.1)
    cdf.set_xlabel("turn latency through the turn service (ms)")
    cdf.set_ylabel("share of turns")
    cdf.set_title(f"Turn latency by memory ({configs['baseline']['turns']} interleaved turns each)")
    cdf.legend(loc="lower right")
    cdf.grid(alpha=0.3)

    adds = fig.add_subplot(grid[0, 2])
    names = [n for n in configs if "adds_ms" in configs[n]]
    x = np.arange(len(names))
    for offset, pct, color in ((-0.2, "p50", "tab:cyan"), (0.2, "p95", "tab:purple")):
        values = [configs[n]["adds_ms"][pct] for n in names]
        bars = adds.bar(x + offset, values, width=0.4, label=f"added, {pct}", color=color)
        adds.bar_label(bars, fmt="%.1f", fontsize=8)
    adds.axhline(
        TARGET_SERVER_ADDS_P50_MS, color="tab:red", linestyle="--", linewidth=1, label="target: server p50 ≤ 10 ms"
    )
    adds.axhline(0, color="black", linewidth=0.5)
    adds.set_xticks(x, names)
    adds.set_ylabel("ms over the baseline (paired turns)")
    adds.set_title("What memory adds to a turn")
    adds.legend(fontsize=8)

    stores = fig.add_subplot(grid[1, 0])
    bottom = np.zeros(len(configs))
    palette = ("tab:olive", "tab:red", "tab:green", "tab:brown", "tab:pink")
    for store, color in zip(STORES, palette, strict=True):
        means = np.array([c["memory_call_ms_by_store"][store]["sum_per_turn_mean"] for c in configs.values()])
        stores.bar(list(configs), means, bottom=bottom, label=store, color=color)
        bottom += means
    counted = result.get("round_trips")
    if counted:
        postgres, redis = counted["postgres"]["round_trips_per_turn"], counted["redis"]["round_trips_per_turn"]
        commits = sum(v.get("write_commits_per_turn", 0) for v in counted["postgres"]["by_store"].values())
        trips = f"per turn: {postgres:.0f} Postgres + {redis:.0f} Redis\nround trips, {commits:.0f} WAL-flushed commits"
        stores.annotate(trips, (2, bottom[2]), ha="center", va="bottom", fontsize=8)
        stores.set_ylim(0, bottom.max() * 1.3)
    stores.set_ylabel("ms per turn inside memory calls (mean)")
    stores.set_title("Time inside memory calls, by store (calls overlap)")
    stores.legend(fontsize=8)

    replica = result.get("replica")
    ready = fig.add_subplot(grid[1, 1])
    rss = fig.add_subplot(grid[1, 2])
    if replica:
        starts = [f"start {n + 1}" for n in range(len(replica["starts"]))]
        bars = ready.bar(starts, [s["ready_s"] for s in replica["starts"]], color="tab:green")
        ready.bar_label(bars, fmt="%.1f s", fontsize=8)
        ready.axhline(TARGET_READY_S, color="tab:red", linestyle="--", linewidth=1, label="target ≤ 5 s")
        ready.set_ylabel("process start to /ready 200 (s)")
        ready.legend(fontsize=8, loc="lower right")
        x = np.arange(len(starts))
        for offset, key, label in (
            (-0.27, "rss_mb_ready", "RSS when ready"),
            (0.0, "rss_mb_after_turns", f"RSS after {replica['starts'][0]['turns']} turns"),
            (0.27, "hwm_mb_after_turns", "peak (VmHWM)"),
        ):
            bars = rss.bar(x + offset, [s[key] for s in replica["starts"]], width=0.27, label=label)
            rss.bar_label(bars, fmt="%.0f", fontsize=7)
        rss.axhline(TARGET_RSS_MB, color="tab:red", linestyle="--", linewidth=1, label="target ≤ 700 MB")
        rss.set_xticks(x, starts)
        rss.set_ylabel("MB")
        rss.legend(fontsize=8, loc="lower right")
    else:
        for axis in (ready, rss):
            axis.text(0.5, 0.5, "replica not measured", ha="center", va="center", transform=axis.transAxes)
    ready.set_title("Replica readiness (server mode)")
    rss.set_title("Replica resident memory")
    fig.suptitle(
        f"Memory benchmark: {result['catalog_perfumes']} perfumes, {result['machine']['cpus']} CPUs, "
        f"embedded roles, {result['when']}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
