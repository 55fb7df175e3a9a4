"""The product as deployed: `fragrance-ai serve` processes over real Postgres and Redis.

Two replicas (A and B) share a fresh database of this module and a Redis key prefix of its own;
API keys come from the real CLI (`fragrance-ai apikey create`); every request goes over loopback.
A second pair of replicas runs against a redis-server this module owns and reaches Postgres
through a TCP proxy it controls, so Redis can be restarted and the database "stopped" without
touching the shared servers. Embedded mode (SQLite and in-process stores) is checked with servers
and the terminal chat on copies of the starter home.

The same API in-process (embedded, httpx's ASGI transport) is in test_chat_api.py; what is here
needs several processes, a restart or a fault. When Postgres or Redis are down these tests fail
with a sentence saying how to start them; they never skip. The section numbers are issue 8's
quality gates; the sections run in an order that starts as few servers as possible.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from tests.conftest import CLI, PROJECT_ROOT, StarterIndex
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace
from tests.server_support import (
    RedisServer,
    Server,
    Sse,
    TcpProxy,
    bearer,
    create_api_key,
    database_values,
    file_values,
    holding,
    http_client,
    places_of,
    product_env,
    redis_values,
    running,
    sse_stream,
)

CHAT = "/api/v1/chat"
STREAM = "/api/v1/chat/stream"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
TURN_LOCK_WAIT_S = 30.0
"""Long enough that every concurrent turn of the serialisation test waits its turn instead of 409."""
FAULT_DATABASE_TIMEOUT_S = 1.5
"""DATABASE_TIMEOUT_S of the replicas behind the proxy: a database outage must answer within a few of these."""

# Personal data that must never be stored, logged or written anywhere, with the digit runs a
# careless normaliser would leave behind.
EMAIL = "minji.servermode@example.com"
PHONE_KR = "010-1234-5678"
PHONE_US = "+1 415 555 0199"
CARD = "4111 1111 1111 1111"
RAW_PERSONAL = [EMAIL, PHONE_KR, PHONE_US, CARD, "01012345678", "1234-5678", "4155550199", "415 555 0199"]
RAW_PERSONAL += ["4111111111111111", "1111 1111 1111", "minji.servermode"]


# -- the deployment ----------------------------------------------------------------------------------
@dataclass
class Replicas:
    a: Server
    b: Server


@dataclass
class FaultyDeployment:
    """Two replicas whose Redis is a private redis-server and whose Postgres is behind a proxy."""

    a: Server
    b: Server
    redis: RedisServer
    proxy: TcpProxy


HANDOFF_TIMEOUT_S = 8.0
"""Long enough for a staff member to sign in and answer, short enough to watch one time out."""


@pytest.fixture(scope="module")
async def database() -> AsyncIterator[str]:
    """A fresh Postgres database of this module (dropped at the end)."""
    async with fresh_database() as dsn:
        yield dsn


@pytest.fixture(scope="module")
async def redis_prefix() -> AsyncIterator[str]:
    """A Redis key prefix of this module on the shared Redis; its keys are deleted at the end."""
    async with redis_namespace(REDIS_URL) as (_client, prefix):
        yield prefix


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every server of this module writes its stdout and stderr."""
    return tmp_path_factory.mktemp("server_logs")


@pytest.fixture(scope="module")
def server_env(starter_index: StarterIndex, database: str, redis_prefix: str) -> dict[str, str]:
    return product_env(
        starter_index.home,
        database_url=database,
        redis_url=REDIS_URL,
        redis_key_prefix=redis_prefix,
        turn_lock_wait_s=str(TURN_LOCK_WAIT_S),
        handoff_timeout_s=str(HANDOFF_TIMEOUT_S),
        handoff_sweep_s="0.5",
        jwt_secret="server-mode-tests-" + "s" * 32,
    )


@pytest.fixture(scope="module")
def key(server_env: dict[str, str]) -> dict[str, str]:
    """A chat key made by `fragrance-ai apikey create tests` on the module's database (which the
    command also migrates, as an operator's first run does)."""
    return bearer(create_api_key(server_env))


@pytest.fixture(scope="module")
async def replicas(server_env: dict[str, str], key: dict[str, str], logs: Path) -> AsyncIterator[Replicas]:
    a, b = Server("replica-a", server_env, logs), Server("replica-b", server_env, logs)
    async with running(a, b) as ready:
        assert [r["mode"] for r in ready] == ["server", "server"], ready
        yield Replicas(a, b)


@pytest.fixture(scope="module")
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client() as http:
        yield http


def through(dsn: str, port: int) -> str:
    """The DSN with its host and port replaced by the proxy's."""
    parts = urlsplit(dsn)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"))


@pytest.fixture(scope="module")
async def faulty(
    starter_index: StarterIndex,
    database: str,
    redis_prefix: str,
    key: dict[str, str],
    logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[FaultyDeployment]:
    upstream = urlsplit(database)
    redis = RedisServer(tmp_path_factory.mktemp("private_redis"))
    proxy = TcpProxy((upstream.hostname or "127.0.0.1", upstream.port or 5432))
    try:
        redis.start()
        proxy.start()
        env = product_env(
            starter_index.home,
            database_url=through(database, proxy.port),
            redis_url=redis.url,
            redis_key_prefix=redis_prefix,
            database_timeout_s=str(FAULT_DATABASE_TIMEOUT_S),
            turn_lock_wait_s="10",
        )
        a, b = Server("fault-a", env, logs), Server("fault-b", env, logs)
        async with running(a, b):
            yield FaultyDeployment(a=a, b=b, redis=redis, proxy=proxy)
    finally:
        proxy.stop()
        redis.kill()


@pytest.fixture(scope="module")
def catalog_notes(starter_rows: dict[str, dict[str, str]]) -> dict[str, set[str]]:
    """Every starter perfume's notes (top, heart, base) as the catalog lists them, by id."""
    return {
        pid: {note.strip() for column in ("top_notes", "middle_notes", "base_notes") for note in row[column].split(",")}
        for pid, row in starter_rows.items()
    }


def copied_home(starter: StarterIndex, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the ingested starter home (catalog, index, model cache) for embedded runs."""
    home = tmp_path_factory.mktemp(name) / "home"
    shutil.copytree(starter.home, home)
    return home


# -- talking to a server ---------------------------------------------------------------------------------
async def chat(
    client: httpx.AsyncClient, server: Server, key: dict[str, str], body: dict[str, Any], status: int = 200
) -> Any:
    response = await client.post(f"{server.url}{CHAT}", json=body, headers=key)
    assert response.status_code == status, (
        f"{server.name}: POST {CHAT} {body.get('message', '')[:80]!r} answered {response.status_code}, "
        f"expected {status}: {response.text[:600]}"
    )
    return response.json()


async def chat_retrying(
    client: httpx.AsyncClient, server: Server, key: dict[str, str], body: dict[str, Any], attempts: int = 6
) -> Any:
    """A turn right after a store came back: a 503 is retried (a second apart, a few times); any
    other status fails at once."""
    response = None
    for _ in range(attempts):
        response = await client.post(f"{server.url}{CHAT}", json=body, headers=key)
        if response.status_code != 503:
            break
        await asyncio.sleep(1.0)
    assert response is not None and response.status_code == 200, (
        f"{server.name}: {body['message']!r} still failed after {attempts} tries: "
        f"{response.status_code if response else None} {response.text[:600] if response else ''}"
    )
    return response.json()


async def transcript(client: httpx.AsyncClient, server: Server, key: dict[str, str], thread_id: str) -> list[Any]:
    response = await client.get(f"{server.url}/api/v1/threads/{thread_id}", headers=key)
    assert response.status_code == 200, f"{server.name}: transcript of {thread_id}: {response.text[:600]}"
    messages: list[Any] = response.json()["messages"]
    return messages


async def first_events(
    client: httpx.AsyncClient, server: Server, key: dict[str, str], body: dict[str, Any], count: int
) -> list[Sse]:
    """Start a stream, read `count` events, and drop the connection (leaving the blocks closes it)."""
    seen: list[Sse] = []
    async with client.stream("POST", f"{server.url}{STREAM}", json=body, headers=key) as response:
        assert response.status_code == 200, (await response.aread())[:600]
        assert response.headers["content-type"].startswith("text/event-stream")
        async with contextlib.aclosing(sse_stream(response)) as events:
            async for event in events:
                seen.append(event)
                if len(seen) == count:
                    break
    assert len(seen) == count and seen[-1].event != "reply", [e.event for e in seen]
    assert all(e.id is not None for e in seen), "events must carry ids to resume from"
    return seen


async def stream_after(
    client: httpx.AsyncClient, server: Server, key: dict[str, str], body: dict[str, Any], last_event_id: int
) -> list[Sse]:
    """The same request again with `Last-Event-ID`: every event it sends."""
    headers = {**key, "Last-Event-ID": str(last_event_id)}
    async with client.stream("POST", f"{server.url}{STREAM}", json=body, headers=headers) as response:
        assert response.status_code == 200, (await response.aread())[:600]
        return [event async for event in sse_stream(response)]


def assert_whole_turns(lines: list[Any], thread_id: str) -> None:
    """Dense seq, and every user line followed by its answer: nothing interleaved, nothing half-written."""
    seqs = [m["seq"] for m in lines]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"thread {thread_id}: seq not dense: {seqs}"
    roles = [m["role"] for m in lines]
    assert roles == ["user", "assistant"] * (len(lines) // 2) and len(lines) % 2 == 0, (
        f"thread {thread_id}: not whole turns (user line then its answer): {roles}"
    )


def cheaper_than(shown: list[Any], price: float) -> list[str]:
    """The cards that are NOT cheaper than `price`."""
    return [f"{c['brand']} {c['name']} ({c['price']})" for c in shown if c.get("price") is None or c["price"] >= price]


def new_id(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:16]}"


# -- 1. replicas share the conversation ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("opening", "refinement", "language"),
    [
        ("여름에 쓸 상큼한 시트러스 향수 추천해 주세요", "더 저렴한 걸로", "ko"),
        ("Could you recommend a fresh citrus perfume for summer?", "Something cheaper?", "en"),
    ],
    ids=["ko", "en"],
)
async def test_a_conversation_alternating_between_replicas_keeps_its_context(
    replicas: Replicas,
    client: httpx.AsyncClient,
    key: dict[str, str],
    opening: str,
    refinement: str,
    language: str,
) -> None:
    first, second = (replicas.a, replicas.b) if language == "ko" else (replicas.b, replicas.a)
    shown = await chat(client, first, key, {"message": opening})
    assert shown["language"] == language and shown["perfumes"], f"{first.name} recommended nothing: {shown}"
    cheapest = min(card["price"] for card in shown["perfumes"])

    cheaper = await chat(client, second, key, {"message": refinement, "thread_id": shown["thread_id"]})
    assert cheaper["thread_id"] == shown["thread_id"]
    assert cheaper["language"] == language, f"{second.name} answered in {cheaper['language']}: {cheaper['reply']}"
    assert cheaper["perfumes"], f"{second.name} lost the context: {refinement!r} showed nothing: {cheaper['reply']}"
    dearer = cheaper_than(cheaper["perfumes"], cheapest)
    assert not dearer, (
        f"{second.name} did not refine {first.name}'s search: cheapest shown was {cheapest}, now also {dearer}"
    )
    if language == "ko":
        assert HANGUL.search(cheaper["reply"]), cheaper["reply"]
    lines = await transcript(client, first, key, shown["thread_id"])
    assert [m["content"] for m in lines if m["role"] == "user"] == [opening, refinement]
    assert_whole_turns(lines, shown["thread_id"])


# -- 2. concurrent turns are serialised, none lost -----------------------------------------------------------
async def test_concurrent_turns_on_one_thread_across_replicas_are_serialised_and_none_is_lost(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    thread_id, customer = new_id("concurrent"), new_id("concurrent-customer")
    messages = [
        "Recommend a fresh citrus perfume for summer",
        "장미 향수 추천해 주세요",
        "Recommend a woody perfume for autumn",
        "겨울에 쓸 따뜻한 앰버 향수 추천해 주세요",
        "Tell me about Creed Aventus",
        "Recommend a musky perfume for the office",
    ]
    targets = [replicas.a, replicas.b] * (len(messages) // 2)
    bodies = [
        {"message": m, "thread_id": thread_id, "customer": customer, "message_id": new_id(f"turn{i}")}
        for i, m in enumerate(messages)
    ]
    responses = await asyncio.gather(
        *(
            client.post(f"{server.url}{CHAT}", json=body, headers=key)
            for server, body in zip(targets, bodies, strict=True)
        )
    )
    answers: dict[str, str] = {}
    for server, body, response in zip(targets, bodies, responses, strict=True):
        assert response.status_code in (200, 409), f"{server.name}: {response.status_code} {response.text[:600]}"
        if response.status_code == 409:
            assert "still answering" in response.json()["message"], response.text
        else:
            assert response.json()["thread_id"] == thread_id
            answers[body["message"]] = response.json()["reply"]
    statuses = [r.status_code for r in responses]
    assert len(answers) == len(messages), (
        f"with TURN_LOCK_WAIT_S={TURN_LOCK_WAIT_S:g} every turn should have waited its turn: {statuses}"
    )

    lines = await transcript(client, replicas.b, key, thread_id)
    assert len(lines) == 2 * len(answers), f"{len(answers)} turns accepted, transcript has {len(lines)} lines"
    assert_whole_turns(lines, thread_id)
    for question, answer in zip(lines[::2], lines[1::2], strict=True):
        assert question["content"] in answers, f"a user line nobody sent: {question['content']!r}"
        assert answer["content"] == answers[question["content"]], (
            f"the answer recorded after {question['content']!r} is not the one its request received"
        )
    assert sorted(m["content"] for m in lines[::2]) == sorted(answers)


# -- 3. a retried message id runs once, on any replica ---------------------------------------------------------
async def test_a_retried_message_id_runs_once_across_replicas(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    a, b = replicas.a, replicas.b
    opening = await chat(client, a, key, {"message": "Recommend a woody perfume for autumn"})
    thread_id = opening["thread_id"]

    retried = {"message": "Something cheaper?", "thread_id": thread_id, "message_id": new_id("retry")}
    first = await chat(client, a, key, retried)
    again = await chat(client, b, key, retried)
    assert again == first, f"the retry on {b.name} did not replay {a.name}'s answer:\n{first}\n{again}"

    together = {"message": "Recommend a rose perfume for spring", "thread_id": thread_id, "message_id": new_id("both")}
    both = await asyncio.gather(*(client.post(f"{s.url}{CHAT}", json=together, headers=key) for s in (a, b)))
    assert [r.status_code for r in both] == [200, 200], [r.text[:300] for r in both]
    assert both[0].json() == both[1].json(), "the same message id sent to both replicas at once got two answers"

    lines = await transcript(client, b, key, thread_id)
    users = [m["content"] for m in lines if m["role"] == "user"]
    assert users == [
        opening_message := "Recommend a woody perfume for autumn",
        retried["message"],
        together["message"],
    ], f"each message id must be one user line (opening {opening_message!r}): {users}"
    assert_whole_turns(lines, thread_id)
    assert lines[3]["content"] == first["reply"] and lines[5]["content"] == both[0].json()["reply"]


async def test_a_retried_first_message_without_a_thread_id_runs_once_across_replicas(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str], database: str
) -> None:
    """The request that starts a conversation has no thread id yet; when its answer is lost the
    client can only send the same request again (as the README shows for a stream). It must get
    the same answer in the same thread, not a second conversation with a second turn."""
    a, b = replicas.a, replicas.b
    customer = new_id("first-retry")
    body = {"message": "Recommend a woody perfume for autumn", "customer": customer, "message_id": new_id("first")}
    first = await chat(client, a, key, body)
    again = await chat(client, b, key, body)
    together = {"message": "장미 향수 추천해 주세요", "customer": customer, "message_id": new_id("first-both")}
    both = await asyncio.gather(*(client.post(f"{s.url}{CHAT}", json=together, headers=key) for s in (a, b)))
    assert [r.status_code for r in both] == [200, 200], [r.text[:300] for r in both]
    # The README's stream: the same request again, with the id of the last event seen.
    streamed = {"message": "Compose a fresh citrus EDT for summer", "message_id": new_id("first-stream")}
    seen = await first_events(client, a, key, streamed, 2)
    last = seen[-1].id or 0
    rest = await stream_after(client, b, key, streamed, last)

    runs = await turns_of(database, [body["message_id"], together["message_id"], streamed["message_id"]])
    assert again["thread_id"] == first["thread_id"] and again == first, (
        f"the retry of a conversation's first message on {b.name} started another conversation "
        f"({first['thread_id']} then {again['thread_id']}) instead of replaying the answer"
    )
    assert both[0].json() == both[1].json(), "the first message sent to both replicas at once ran twice"
    assert {e.data["thread_id"] for e in seen + rest} == {seen[0].data["thread_id"]}, (
        "the stream sent again with Last-Event-ID ran in another conversation"
    )
    assert [e.id for e in rest] == list(range(last + 1, last + 1 + len(rest))) and rest[-1].event == "reply", (
        f"after Last-Event-ID {last} expected the rest of the turn, got {[(e.id, e.event) for e in rest]}"
    )
    assert runs == {body["message_id"]: 1, together["message_id"]: 1, streamed["message_id"]: 1}, (
        f"user lines per message id (each must run once): {runs}"
    )


async def turns_of(dsn: str, message_ids: list[str]) -> dict[str, int]:
    """How many user lines each message id has in the whole database (any conversation)."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT message_id, count(*) AS n FROM fragrance.messages WHERE role = 'user' AND message_id = ANY($1) "
            "GROUP BY message_id",
            message_ids,
        )
    finally:
        await conn.close()
    return {row["message_id"]: row["n"] for row in rows}


# -- 4. a dropped stream resumes on the other replica ----------------------------------------------------------
async def test_a_stream_dropped_on_one_replica_resumes_on_the_other_with_last_event_id(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    a, b = replicas.a, replicas.b
    # A new conversation: the client learns its thread id from the events.
    body = {"message": "Could you recommend a fresh citrus perfume for summer?", "message_id": new_id("sse-msg")}
    seen = await first_events(client, a, key, body, 2)
    last = seen[-1].id or 0
    body["thread_id"] = seen[0].data["thread_id"]

    rest = await stream_after(client, b, key, body, last)
    assert rest and rest[-1].event == "reply", f"{b.name} did not finish the turn: {[e.event for e in rest]}"
    assert [e.id for e in rest] == list(range(last + 1, last + 1 + len(rest))), (
        f"after Last-Event-ID {last} expected the following ids, got {[e.id for e in rest]}"
    )
    assert [e.event for e in rest].count("reply") == 1
    # The whole turn, replayed from its start: exactly what A sent plus what B sent.
    whole = await stream_after(client, b, key, body, 0)
    assert [(e.id, e.event) for e in whole] == [(e.id, e.event) for e in seen + rest]
    assert whole[-1].data == rest[-1].data
    assert {(e.data["thread_id"], e.data["message_id"]) for e in seen + rest} == {
        (body["thread_id"], body["message_id"])
    }
    # A client that saw the reply and reconnects anyway (as EventSource does when a stream ends)
    # is owed nothing more.
    again = await stream_after(client, a, key, body, rest[-1].id or 0)
    assert again == [], f"after the reply's id the stream sent {[(e.id, e.event) for e in again]} again"
    lines = await transcript(client, a, key, body["thread_id"])
    assert [m["role"] for m in lines] == ["user", "assistant"], "the resumed turn ran more than once"
    assert lines[1]["content"] == rest[-1].data["text"]


# -- 7. a customer's dislike holds in their next conversation, on the other replica ------------------------------
@pytest.mark.parametrize(
    ("dislike", "recommend", "compose"),
    [
        (
            "바닐라는 싫어요, 우디 향수 추천해 주세요",
            "겨울에 쓸 따뜻한 앰버 향수 추천해 주세요",
            "구르망 향수를 조향해 주세요",
        ),
        (
            "no vanilla please, a woody perfume",
            "Recommend a warm amber perfume for winter",
            "Compose a gourmand perfume for me",
        ),
    ],
    ids=["ko", "en"],
)
async def test_a_dislike_stated_on_one_replica_holds_in_the_customers_new_conversation_on_the_other(
    replicas: Replicas,
    client: httpx.AsyncClient,
    key: dict[str, str],
    catalog_notes: dict[str, set[str]],
    dislike: str,
    recommend: str,
    compose: str,
) -> None:
    a, b = replicas.a, replicas.b
    customer, stranger = new_id("pref"), new_id("stranger")

    def vanilla_perfumes(cards: list[Any]) -> list[str]:
        return [f"{c['brand']} {c['name']}" for c in cards if "Vanilla" in catalog_notes[c["id"]]]

    def vanilla_lines(formulas: list[Any]) -> list[str]:
        lines = [line for f in formulas for line in f["ingredients"] + (f.get("corrected") or [])]
        return [line["name"] for line in lines if "vanil" in line["name"].lower()]

    stated = await chat(client, a, key, {"message": dislike, "customer": customer})
    assert stated["perfumes"] and not vanilla_perfumes(stated["perfumes"]), stated["reply"]

    later = await chat(client, b, key, {"message": recommend, "customer": customer})
    assert later["thread_id"] != stated["thread_id"]
    assert later["perfumes"], f"{b.name} recommended nothing: {later['reply']}"
    assert not vanilla_perfumes(later["perfumes"]), (
        f"the dislike stated on {a.name} was ignored on {b.name}: {vanilla_perfumes(later['perfumes'])}"
    )
    formula = await chat(client, b, key, {"message": compose, "customer": customer})
    assert formula["formulas"], f"{compose!r} composed nothing: {formula['reply']}"
    assert not vanilla_lines(formula["formulas"]), f"the formula uses {vanilla_lines(formula['formulas'])}"

    # Another customer of the same key is not bound by it (so the checks above can fail).
    other = await chat(client, b, key, {"message": recommend, "customer": stranger})
    assert vanilla_perfumes(other["perfumes"]), "the dislike leaked to another customer (or the query shows no vanilla)"
    other_formula = await chat(client, a, key, {"message": compose, "customer": stranger})
    assert vanilla_lines(other_formula["formulas"]), "another customer's formula avoids vanilla too"


# -- 8. bad input through REST leaves nothing raw anywhere ---------------------------------------------------------
async def test_bad_input_through_rest_is_refused_or_cleaned_and_nothing_raw_is_kept_anywhere(
    replicas: Replicas,
    client: httpx.AsyncClient,
    key: dict[str, str],
    database: str,
    redis_prefix: str,
    logs: Path,
    starter_index: StarterIndex,
) -> None:
    a, b = replicas.a, replicas.b
    refused_marker = new_id("refusedmarker")
    personal = f"{EMAIL} {PHONE_KR} {PHONE_US} {CARD}"

    # Personal data in an accepted message: answered, stored redacted.
    ko = (
        f"제 이메일은 {EMAIL}이고 전화는 {PHONE_KR}, 미국 번호는 {PHONE_US}, 카드는 {CARD}예요. 장미 향수 추천해 주세요"
    )
    answer = await chat(client, a, key, {"message": ko, "customer": "bad-input"})
    stored = (await transcript(client, b, key, answer["thread_id"]))[0]["content"]
    assert all(tag in stored for tag in ("[email]", "[phone]", "[card]")), stored
    assert stored.count("[phone]") == 2, f"both phone numbers must be redacted: {stored}"

    # The same in a stream, on the other replica.
    body = {"message": f"Reach me at {EMAIL} or {PHONE_US}, card {CARD}. Recommend a woody perfume", "language": "en"}
    async with client.stream("POST", f"{b.url}{STREAM}", json=body, headers=key) as response:
        assert response.status_code == 200
        streamed = [event async for event in sse_stream(response)]
    assert streamed and streamed[-1].event == "reply", [e.event for e in streamed]

    # Control characters are cleaned away; what is stored is the cleaned, redacted text.
    raw = f'{{"message": "rose\\u0000 perfume\\u001b[31m for spring\\u200b? \\u0007 call {PHONE_KR}"}}'
    response = await client.post(f"{a.url}{CHAT}", content=raw, headers={**key, "content-type": "application/json"})
    assert response.status_code == 200, response.text
    stored = (await transcript(client, a, key, response.json()["thread_id"]))[0]["content"]
    assert stored == "rose perfume[31m for spring?  call [phone]", repr(stored)

    # Refused with a sentence, nothing stored: 100,000 characters, over the server's limit, invalid
    # UTF-8 bytes, a lone surrogate (what broken bytes become), only control characters.
    huge = f"{refused_marker} {personal} " + "향" * 100_000
    response = await client.post(f"{a.url}{CHAT}", json={"message": huge}, headers=key)
    assert response.status_code == 422 and "20000 characters" in response.json()["message"], response.text[:600]
    long = f"{refused_marker} {personal} " + "x" * 5000
    response = await client.post(f"{b.url}{CHAT}", json={"message": long}, headers=key)
    assert response.status_code == 422, response.text[:600]
    assert f"message is {len(long)} characters long; the limit is 2000" in response.json()["message"]
    invalid = f'{{"message": "rose \xff\xfe perfume {refused_marker} {personal}"}}'.encode("latin-1")
    response = await client.post(f"{a.url}{CHAT}", content=invalid, headers={**key, "content-type": "application/json"})
    assert 400 <= response.status_code < 500 and response.json()["message"], response.text[:600]
    surrogate = f'{{"message": "rose\\ud800 perfume {refused_marker} {personal}"}}'
    response = await client.post(
        f"{b.url}{CHAT}", content=surrogate, headers={**key, "content-type": "application/json"}
    )
    assert response.status_code == 422 and "unicode" in response.json()["message"].lower(), response.text[:600]
    response = await client.post(f"{a.url}{CHAT}", json={"message": "\x00\x01\u200b"}, headers=key)
    assert response.status_code == 422 and response.json()["detail"] == "empty", response.text[:600]
    assert "text" in response.json()["message"], response.text[:600]

    # Afterwards: nothing raw in the database (LangGraph's checkpoint blobs as bytes included), in
    # any Redis value of the module's prefix, in any server's log, or in any file of the home.
    rows = await database_values(database)
    keys = await redis_values(REDIS_URL, redis_prefix)
    files = list(file_values(logs, starter_index.home))
    needles = [*RAW_PERSONAL, refused_marker]
    found = holding(rows, needles) + holding(keys, needles) + holding(files, needles)
    assert not found, "raw personal data (or a refused message) was kept:\n" + "\n".join(found)
    # The scans did read what the turns stored: redacted lines in the transcript and the checkpoints,
    # the turns' events in Redis, the servers' logs.
    tables = {place.rsplit(".", 1)[0] for place in places_of(rows, "[email]")}
    assert "fragrance.messages" in tables and any(t.startswith("langgraph.") for t in tables), (
        f"the scan did not see the redacted message in the transcript and the checkpoints: {tables}"
    )
    assert any(":events:" in place for place, _ in keys), "no event log of the prefix was read from Redis"
    assert any(path.endswith(".stderr.log") and data for path, data in files), "no server log was read"


# -- 5. a restarted process continues the conversation ---------------------------------------------------------------
async def test_a_conversation_continues_on_a_freshly_started_replica(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    a, b = replicas.a, replicas.b
    ko = await chat(client, b, key, {"message": "여름에 쓸 상큼한 시트러스 향수 추천해 주세요"})
    en = await chat(client, b, key, {"message": "Could you recommend a fresh citrus perfume for summer?"})
    old_pid = b.pid
    b.stop()
    # The other replica serves meanwhile.
    assert (await chat(client, a, key, {"message": "Recommend a rose perfume"}))["perfumes"]
    b.start()
    ready = await b.wait_ready()
    assert b.pid != old_pid and ready["mode"] == "server"

    for shown, refinement in ((ko, "더 저렴한 걸로"), (en, "Something cheaper?")):
        cheaper = await chat(client, b, key, {"message": refinement, "thread_id": shown["thread_id"]})
        assert cheaper["perfumes"], f"the restarted {b.name} lost the context of {shown['thread_id']}: {cheaper}"
        dearer = cheaper_than(cheaper["perfumes"], min(c["price"] for c in shown["perfumes"]))
        assert not dearer, f"after the restart {refinement!r} did not refine the earlier search: {dearer}"
        assert_whole_turns(await transcript(client, a, key, shown["thread_id"]), shown["thread_id"])


async def test_an_embedded_server_restarted_on_the_same_home_continues_a_conversation(
    starter_index: StarterIndex, client: httpx.AsyncClient, logs: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = copied_home(starter_index, tmp_path_factory, "embedded_restart")
    env = product_env(home)  # no DATABASE_URL, no REDIS_URL: SQLite and in-process stores in the home
    key = bearer(create_api_key(env))
    first = Server("embedded-1", env, logs)
    async with running(first) as (ready,):
        assert ready["mode"] == "embedded", ready
        shown = await chat(client, first, key, {"message": "여름에 쓸 상큼한 시트러스 향수 추천해 주세요"})
    assert first.process is None
    second = Server("embedded-2", env, logs, port=first.port)
    async with running(second):
        cheaper = await chat(client, second, key, {"message": "더 저렴한 걸로", "thread_id": shown["thread_id"]})
        lines = await transcript(client, second, key, shown["thread_id"])
    assert cheaper["perfumes"], f"the second process lost the conversation: {cheaper['reply']}"
    dearer = cheaper_than(cheaper["perfumes"], min(c["price"] for c in shown["perfumes"]))
    assert not dearer, f"the refinement after the restart did not refine: {dearer}"
    assert [m["role"] for m in lines] == ["user", "assistant", "user", "assistant"]
    assert (home / "memory.sqlite3").is_file() and (home / "conversations.sqlite3").is_file()


# -- 6. faults: Redis restarted, Postgres gone and back --------------------------------------------------------------
async def test_turns_continue_when_redis_restarts_mid_conversation_and_nothing_recorded_is_lost(
    faulty: FaultyDeployment, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    a, b = faulty.a, faulty.b
    opening = "Could you recommend a fresh citrus perfume for summer?"
    shown = await chat(client, a, key, {"message": opening})
    thread_id = shown["thread_id"]
    try:
        faulty.redis.kill()
        started = time.monotonic()
        down = await client.post(
            f"{b.url}{CHAT}", json={"message": "Something cheaper?", "thread_id": thread_id}, headers=key
        )
        took = time.monotonic() - started
        assert down.status_code == 503 and "redis" in down.json()["message"].lower(), (
            f"with Redis down a turn must be 503 with a sentence: {down.status_code} {down.text[:600]}"
        )
        assert took < 15, f"the 503 took {took:.1f} s"
    finally:
        if faulty.redis.process is None:
            faulty.redis.start()

    cheaper = await chat_retrying(client, b, key, {"message": "Something cheaper?", "thread_id": thread_id})
    assert cheaper["perfumes"] and not cheaper_than(cheaper["perfumes"], min(c["price"] for c in shown["perfumes"])), (
        f"after Redis came back the refinement lost its context: {cheaper['reply']}"
    )
    last = await chat_retrying(
        client, a, key, {"message": "Recommend a woody perfume for autumn", "thread_id": thread_id}
    )
    assert last["perfumes"], last["reply"]

    lines = await transcript(client, b, key, thread_id)
    assert [m["content"] for m in lines if m["role"] == "user"] == [
        opening,
        "Something cheaper?",
        "Recommend a woody perfume for autumn",
    ], "the transcript lost or duplicated a turn across the Redis restart"
    assert_whole_turns(lines, thread_id)
    assert [m["content"] for m in lines[1::2]] == [shown["reply"], cheaper["reply"], last["reply"]]


async def test_a_database_outage_is_a_prompt_503_and_the_conversation_carries_on_when_it_is_back(
    faulty: FaultyDeployment, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    a, b = faulty.a, faulty.b
    opening = "여름에 쓸 상큼한 시트러스 향수 추천해 주세요"
    shown = await chat(client, a, key, {"message": opening})
    thread_id = shown["thread_id"]
    bound = 4 * FAULT_DATABASE_TIMEOUT_S + 2
    try:
        faulty.proxy.stop()
        for server in (a, b):
            started = time.monotonic()
            response = await client.post(
                f"{server.url}{CHAT}", json={"message": "더 저렴한 걸로", "thread_id": thread_id}, headers=key
            )
            took = time.monotonic() - started
            assert response.status_code == 503, (
                f"{server.name}: with the database down a turn must be 503, got {response.status_code}: "
                f"{response.text[:600]}"
            )
            assert "database" in response.json()["message"], response.text[:600]
            assert took < bound, (
                f"{server.name}: the 503 took {took:.1f} s (DATABASE_TIMEOUT_S={FAULT_DATABASE_TIMEOUT_S})"
            )
        # A stream is refused with the status too (not a 200 that breaks off), and so is the transcript.
        stream = await client.post(
            f"{b.url}{STREAM}", json={"message": "더 저렴한 걸로", "thread_id": thread_id}, headers=key
        )
        assert stream.status_code == 503 and "database" in stream.json()["message"], stream.text[:600]
        read = await client.get(f"{a.url}/api/v1/threads/{thread_id}", headers=key)
        assert read.status_code == 503 and "database" in read.json()["message"], read.text[:600]
    finally:
        if not faulty.proxy.listening:
            faulty.proxy.start()

    cheaper = await chat_retrying(client, b, key, {"message": "더 저렴한 걸로", "thread_id": thread_id})
    assert cheaper["perfumes"] and not cheaper_than(cheaper["perfumes"], min(c["price"] for c in shown["perfumes"])), (
        f"after the database came back the refinement lost its context: {cheaper['reply']}"
    )
    lines = await transcript(client, a, key, thread_id)
    assert [m["content"] for m in lines if m["role"] == "user"] == [opening, "더 저렴한 걸로"], (
        "the failed turns left something in the transcript (or a turn is missing)"
    )
    assert_whole_turns(lines, thread_id)


# -- 9. the terminal chat's bad input --------------------------------------------------------------------------------
async def test_the_terminal_chat_answers_bad_input_with_a_sentence_and_keeps_nothing_raw(
    starter_index: StarterIndex, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = copied_home(starter_index, tmp_path_factory, "terminal_chat")
    lines = [
        b"\xff\xfe rose perfume \xc3\x28 for spring, mail " + EMAIL.encode() + b"\n",
        f"\x00\x1b[31m woody perfume\x07 for autumn, call {PHONE_KR}\n".encode(),
        f"{CARD} {PHONE_US} ".encode() + b"x" * 5000 + b"\n",
        b"\x00\x01\x02\n",
        f"my card is {CARD} and my number {PHONE_US}, recommend a vanilla perfume\n".encode(),
        b"/quit\n",
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "chat", "--customer", "terminal-tester"],
        input=b"".join(lines),
        cwd=PROJECT_ROOT,
        env=product_env(home),
        capture_output=True,
        timeout=240,
    )
    out, err = done.stdout.decode("utf-8", "replace"), done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, f"exit {done.returncode}; stderr:\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    answers = [a.strip() for a in out.split("ai> ")[1:]]
    assert len(answers) == len(lines) - 1, f"expected one answer per line, got {len(answers)}:\n{out[-3000:]}"
    for answer in answers:
        assert re.match(r"[A-Za-z\uac00-\ud7a3\"]", answer) and len(answer.split()) >= 4, f"not a sentence: {answer!r}"
    assert re.search(r"\b50\d\d\b", answers[2]) and "2000" in answers[2], f"no reason given: {answers[2]!r}"
    found = holding(file_values(home), RAW_PERSONAL)
    assert not found, "the terminal chat kept raw personal data:\n" + "\n".join(found)
    assert (home / "memory.sqlite3").is_file(), "the conversation was not stored at all"


# -- live handoff across replicas ---------------------------------------------------------------------------
async def pushed_events(
    client: httpx.AsyncClient, server: Server, key: dict[str, str], thread_id: str, into: list[Sse], until: str
) -> None:
    """Follow a thread's live events on `server` until a notice of kind `until` arrives."""
    async with client.stream("GET", f"{server.url}/api/v1/threads/{thread_id}/events", headers=key) as response:
        assert response.status_code == 200, (await response.aread())[:600]
        async with contextlib.aclosing(sse_stream(response)) as events:
            async for event in events:
                into.append(event)
                if event.event == "notice" and event.data["kind"] == until:
                    return


def staff_account(env: dict[str, str], username: str, password: str) -> None:
    done = subprocess.run(
        [*CLI, "user", "add", username, "--role", "staff", "--password-stdin"],
        cwd=PROJECT_ROOT,
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]


async def test_a_staff_reply_on_one_replica_reaches_the_customer_on_the_other_live(
    replicas: Replicas, client: httpx.AsyncClient, key: dict[str, str], server_env: dict[str, str]
) -> None:
    """The customer follows their thread on replica A; a staff member signed in on replica B answers
    and hands back; A's stream shows both as they happen, and the assistant then answers with the
    conversation's context. A request nobody takes is timed out by the sweeper and the customer
    is told without writing again."""
    staff_account(server_env, "mina", "correct horse battery staple")
    signed = await client.post(
        f"{replicas.b.url}/api/v1/auth/login", json={"username": "mina", "password": "correct horse battery staple"}
    )
    assert signed.status_code == 200, signed.text
    staff = {"Authorization": f"Bearer {signed.json()['access_token']}"}

    first = await chat(
        client, replicas.a, key, {"message": "여름에 쓸 시트러스 향수 추천해 주세요", "customer": "live-1"}
    )
    thread = first["thread_id"]
    asked = await chat(
        client, replicas.a, key, {"message": "직원분과 직접 상담하고 싶어요", "thread_id": thread, "customer": "live-1"}
    )
    assert asked["handoff_ticket"], asked
    queue = await client.get(f"{replicas.b.url}/api/v1/handoffs", headers=staff)
    assert thread in [t["conversation_id"] for t in queue.json()], queue.text

    seen: list[Sse] = []
    follower = asyncio.create_task(pushed_events(client, replicas.a, key, thread, seen, until="handoff_returned"))
    await asyncio.sleep(1.0)
    answered = await client.post(
        f"{replicas.b.url}/api/v1/handoffs/{thread}/messages",
        json={"text": "안녕하세요, 민아입니다. 도와드릴게요."},
        headers=staff,
    )
    assert answered.status_code == 200, answered.text
    returned = await client.post(f"{replicas.b.url}/api/v1/handoffs/{thread}/return", headers=staff)
    assert returned.status_code == 200, returned.text
    await asyncio.wait_for(follower, timeout=30)
    assert [e.event for e in seen] == ["staff_message", "notice"], [(e.event, e.data) for e in seen]
    assert seen[0].data["text"] == "안녕하세요, 민아입니다. 도와드릴게요."
    assert re.search(r"[\uac00-\ud7a3]", seen[1].data["text"])

    after = await chat(
        client, replicas.a, key, {"message": "더 저렴한 걸로 보여 주세요", "thread_id": thread, "customer": "live-1"}
    )
    assert after["perfumes"] and after["language"] == "ko", after
    lines = await transcript(client, replicas.b, key, thread)
    assert "staff" in [m["role"] for m in lines]

    # Nobody takes this one: the sweeper of one of the replicas times it out and A's stream hears it.
    other = await chat(client, replicas.b, key, {"message": "Can I talk to a person, please?", "customer": "live-2"})
    assert other["handoff_ticket"], other
    waited: list[Sse] = []
    started = time.monotonic()
    await asyncio.wait_for(
        pushed_events(client, replicas.a, key, other["thread_id"], waited, until="handoff_timed_out"),
        timeout=HANDOFF_TIMEOUT_S + 20,
    )
    assert waited[-1].data["language"] == "en" and "staff" in waited[-1].data["text"]
    assert time.monotonic() - started < HANDOFF_TIMEOUT_S + 15
