"""The REST chat API in-process (httpx's ASGI transport, the app's real lifespan, embedded stores):
keys, turns, streams, retries, threads, bad input, and the admin data-rights endpoints.

The same API across real Postgres, Redis and two server processes is in test_server_mode.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from channels.rest.app import create_app
from core.settings import Settings
from graphs.runtime import Runtime
from memory.apikeys import mint
from tests.conftest import StarterIndex
from tools.search.engine import SearchEngine

CHAT = "/api/v1/chat"
STREAM = "/api/v1/chat/stream"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
EMAIL, PHONE, CARD = "jane.roe@example.org", "010-9876-5432", "4012 8888 8888 1881"


@pytest.fixture(scope="module")
def chat_settings(starter_index: StarterIndex, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return starter_index.settings.model_copy(
        update={
            "ollama_base_url": None,
            "database_url": None,
            "redis_url": None,
            "memory_dir": tmp_path_factory.mktemp("chat_api_memory"),
            "turn_lock_wait_s": 0.3,
        }
    )


@pytest.fixture(scope="module")
async def app(chat_settings: Settings, engine: SearchEngine) -> AsyncIterator[FastAPI]:
    app = create_app(chat_settings, engine=engine)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="module")
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


async def new_key(app: FastAPI, *scopes: str, rate_limit: str | None = None) -> dict[str, str]:
    minted = await mint(runtime_of(app).memory.repository, "tests", scopes or ("chat",), rate_limit)
    return {"Authorization": f"Bearer {minted.secret}", "X-Key-Id": minted.record.id}


@pytest.fixture(scope="module")
async def key(app: FastAPI) -> dict[str, str]:
    return await new_key(app, "chat")


async def chat(client: httpx.AsyncClient, key: dict[str, str], body: dict[str, Any], status: int = 200) -> Any:
    response = await client.post(CHAT, json=body, headers=key)
    assert response.status_code == status, response.text
    return response.json()


def files_holding(folder: Path, secrets: list[str]) -> list[str]:
    """Every (file, secret) where a file under `folder` holds one of the raw strings (SQLite, WAL, logs)."""
    return [
        f"{secret} in {path}"
        for path in folder.rglob("*")
        if path.is_file()
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]


def sse_events(text: str) -> list[dict[str, Any]]:
    """The events of a text/event-stream body: {"id", "event", "data"} each."""
    events = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            name, _, value = line.partition(": ")
            fields[name] = value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            events.append(fields)
    return events


# -- a conversation --------------------------------------------------------------------------------
async def test_a_korean_conversation_continues_in_its_thread(client: httpx.AsyncClient, key: dict[str, str]) -> None:
    first = await chat(client, key, {"message": "여름에 쓸 상큼한 시트러스 향수 추천해 주세요"})
    assert first["language"] == "ko" and HANGUL.search(first["reply"])
    assert first["intent"] == "recommend" and len(first["perfumes"]) == 5
    for card in first["perfumes"]:
        assert card["brand"] in first["reply"] and card["name"] in first["reply"]
    cheaper = await chat(client, key, {"message": "더 저렴한 걸로 보여 주세요", "thread_id": first["thread_id"]})
    assert cheaper["thread_id"] == first["thread_id"]
    before = min(c["price"] for c in first["perfumes"])
    assert cheaper["perfumes"] and all(c["price"] < before for c in cheaper["perfumes"])


async def test_a_formula_travels_as_data_with_its_verdict(client: httpx.AsyncClient, key: dict[str, str]) -> None:
    answer = await chat(client, key, {"message": "Compose a fresh citrus EDT for summer, please", "language": "en"})
    (formula,) = answer["formulas"]
    assert formula["kind"] == "composed" and formula["compliant"] is True
    assert abs(sum(line["pct"] for line in formula["ingredients"]) - 100) < 0.05
    assert formula["amendment"] in answer["reply"]


async def test_a_retried_message_id_is_answered_once(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    body = {"message": "Recommend a woody perfume for autumn", "message_id": "retry-1"}
    first = await chat(client, key, body)
    again = await chat(client, key, {**body, "thread_id": first["thread_id"]})
    assert again == first
    transcript = await runtime_of(app).memory.repository.transcript(first["thread_id"])
    assert [m.role for m in transcript] == ["user", "assistant"]
    # The header works the same.
    headers = {**key, "Idempotency-Key": "retry-2"}
    one = await client.post(CHAT, json={"message": "rose perfume?", "thread_id": first["thread_id"]}, headers=headers)
    two = await client.post(CHAT, json={"message": "rose perfume?", "thread_id": first["thread_id"]}, headers=headers)
    assert one.json() == two.json()
    assert len(await runtime_of(app).memory.repository.transcript(first["thread_id"])) == 4


# -- streams -----------------------------------------------------------------------------------------
async def test_a_stream_sends_typed_events_with_ids_and_resumes_after_last_event_id(
    client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    body = {"message": "Could you recommend a fresh citrus perfume for summer?", "message_id": "stream-1"}
    response = await client.post(STREAM, json=body, headers=key)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    kinds = [e["event"] for e in events]
    assert kinds == ["tool_started", "tool_finished", "perfumes", "reply"], kinds
    ids = [int(e["id"]) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert events[-1]["data"]["text"] and len(events[2]["data"]["perfumes"]) == 5
    # Every event names its thread and the message it answers.
    assert {e["data"]["message_id"] for e in events} == {"stream-1"}
    (thread_id,) = {e["data"]["thread_id"] for e in events}

    # The connection dropped after the first two events: the same request with Last-Event-ID gets the rest.
    resumed = await client.post(
        STREAM, json={**body, "thread_id": thread_id}, headers={**key, "Last-Event-ID": str(ids[1])}
    )
    rest = sse_events(resumed.text)
    assert [e["event"] for e in rest] == kinds[2:]
    assert [int(e["id"]) for e in rest] == ids[2:]
    assert rest[-1]["data"] == events[-1]["data"]


# -- threads and who may see them ----------------------------------------------------------------------
async def test_threads_list_and_transcript_belong_to_their_key(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    answer = await chat(client, key, {"message": "Tell me about Creed Aventus", "customer": "shopper-7"})
    listed = (await client.get("/api/v1/threads", headers=key)).json()
    assert answer["thread_id"] in [t["thread_id"] for t in listed]
    transcript = (await client.get(f"/api/v1/threads/{answer['thread_id']}", headers=key)).json()
    roles = [m["role"] for m in transcript["messages"]]
    assert roles == ["user", "assistant"] and transcript["messages"][1]["perfumes"][0]["name"] == "Aventus"

    other = await new_key(app, "chat")
    others = (await client.get("/api/v1/threads", headers=other)).json()
    assert answer["thread_id"] not in [t["thread_id"] for t in others]
    hidden = await client.get(f"/api/v1/threads/{answer['thread_id']}", headers=other)
    assert hidden.status_code == 404 and "no thread" in hidden.json()["message"]
    # Writing into another key's thread is refused the same way, and nothing is added to it.
    refused = await client.post(CHAT, json={"message": "hello", "thread_id": answer["thread_id"]}, headers=other)
    assert refused.status_code == 404, refused.text
    assert len((await client.get(f"/api/v1/threads/{answer['thread_id']}", headers=key)).json()["messages"]) == 2


async def test_a_dislike_follows_the_customer_into_a_new_thread(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str], engine: SearchEngine
) -> None:
    await chat(client, key, {"message": "I'd like a woody perfume, but no vanilla please", "customer": "shopper-9"})
    later = await chat(client, key, {"message": "Recommend a warm amber perfume for winter", "customer": "shopper-9"})
    assert later["perfumes"]
    for card in later["perfumes"]:
        perfume = engine.get(card["id"])
        assert perfume is not None and "Vanilla" not in perfume.notes, card["name"]
    formula = await chat(client, key, {"message": "Compose a gourmand perfume for me", "customer": "shopper-9"})
    assert formula["formulas"] and all("Vanilla" not in line["name"] for line in formula["formulas"][0]["ingredients"])
    # Another customer of the same key is not bound by it.
    stranger = await chat(client, key, {"message": "Recommend a warm amber perfume for winter", "customer": "other-1"})
    assert any("Vanilla" in (engine.get(c["id"]).notes or []) for c in stranger["perfumes"])  # type: ignore[union-attr]


# -- keys, scopes, limits ------------------------------------------------------------------------------
async def test_requests_without_a_good_key_are_401(app: FastAPI, client: httpx.AsyncClient) -> None:
    missing = await client.post(CHAT, json={"message": "hi"})
    assert missing.status_code == 401 and "API key" in missing.json()["message"]
    malformed = await client.post(CHAT, json={"message": "hi"}, headers={"Authorization": "Bearer nope"})
    assert malformed.status_code == 401 and "malformed" in malformed.json()["message"]
    forged = "fai_0123456789ab_" + "x" * 43
    assert (await client.post(CHAT, json={"message": "hi"}, headers={"X-API-Key": forged})).status_code == 401
    revoked = await new_key(app, "chat")
    await runtime_of(app).memory.repository.revoke_api_key(revoked["X-Key-Id"])
    answer = await client.post(CHAT, json={"message": "hi"}, headers=revoked)
    assert answer.status_code == 401 and "revoked" in answer.json()["message"]


async def test_a_key_without_the_scope_is_403(app: FastAPI, client: httpx.AsyncClient) -> None:
    admin_only = await new_key(app, "admin")
    response = await client.post(CHAT, json={"message": "hi"}, headers=admin_only)
    assert response.status_code == 403 and "'chat' scope" in response.json()["message"]
    chat_only = await new_key(app, "chat")
    assert (await client.get("/api/v1/admin/customers/abc/export", headers=chat_only)).status_code == 403


async def test_a_key_over_its_rate_limit_gets_429_with_retry_after(app: FastAPI, client: httpx.AsyncClient) -> None:
    limited = await new_key(app, "chat", rate_limit="2/minute")
    for _ in range(2):
        assert (await client.get("/api/v1/threads", headers=limited)).status_code == 200
    refused = await client.get("/api/v1/threads", headers=limited)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60 and "too many requests" in refused.json()["message"]


async def test_every_use_of_a_key_is_audited(app: FastAPI, client: httpx.AsyncClient) -> None:
    audited = await new_key(app, "chat")
    await client.get("/api/v1/threads", headers=audited)
    entries = await runtime_of(app).memory.repository.audit_entries(limit=20)
    assert any(
        e.actor == f"apikey:{audited['X-Key-Id']}" and e.action == "apikey.use" and e.subject == "GET /api/v1/threads"
        for e in entries
    )


# -- bad input -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"message": "x" * 2001}, "2001 characters"),
        ({"message": ""}, "message"),
        ({"message": "hi", "thread_id": "../../etc"}, "thread_id"),
        ({"message": "hi", "customer": "a" * 200}, "customer"),
        ({"message": "hi", "language": "fr"}, "language"),
        ({"message": "hi", "extra": 1}, "extra"),
        ({"message": "\x00\x01\u200b"}, "empty"),
    ],
    ids=["too_long", "empty", "bad_thread", "long_customer", "language", "extra_field", "only_control_chars"],
)
async def test_bad_requests_are_422_with_a_sentence(
    client: httpx.AsyncClient, key: dict[str, str], body: dict[str, Any], fragment: str
) -> None:
    response = await client.post(CHAT, json=body, headers=key)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["message"].lower() or fragment in json.dumps(response.json())


async def test_control_characters_are_cleaned_and_broken_text_is_refused(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    raw = '{"message": "rose\\u0000 perfume\\u001b[31m for spring\\u200b?\\ufffd"}'
    response = await client.post(CHAT, content=raw, headers={**key, "content-type": "application/json"})
    assert response.status_code == 200, response.text
    transcript = await runtime_of(app).memory.repository.transcript(response.json()["thread_id"])
    assert transcript[0].content == "rose perfume[31m for spring?"
    # A lone surrogate is what a client's broken bytes become: refused with a sentence, nothing stored.
    broken = '{"message": "rose perfume\\ud800 for spring"}'
    response = await client.post(CHAT, content=broken, headers={**key, "content-type": "application/json"})
    assert response.status_code == 422 and "unicode" in response.json()["message"]
    invalid_utf8 = b'{"message": "rose \xff\xfe perfume"}'
    response = await client.post(CHAT, content=invalid_utf8, headers={**key, "content-type": "application/json"})
    assert response.status_code == 400 and "parsing the body" in response.json()["message"]


async def test_personal_data_never_reaches_a_store(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str], chat_settings: Settings
) -> None:
    message = f"제 이메일은 {EMAIL}, 전화는 {PHONE}, 카드는 {CARD}이에요. 장미 향수 추천해 주세요"
    answer = await chat(client, key, {"message": message})
    stored = await runtime_of(app).memory.repository.transcript(answer["thread_id"])
    assert "[email]" in stored[0].content and "[phone]" in stored[0].content and "[card]" in stored[0].content
    found = files_holding(chat_settings.embedded_memory_dir, [EMAIL, PHONE, CARD, "9876-5432", "8888 1881"])
    assert not found, found


# -- admin: data rights ------------------------------------------------------------------------------------
async def test_admin_exports_and_erases_a_customer_everywhere(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    answer = await chat(client, key, {"message": "no oud for me, recommend a woody perfume", "customer": "leaving-1"})
    memory = runtime_of(app).memory
    conversation = await memory.repository.get_conversation(answer["thread_id"])
    assert conversation is not None
    admin = await new_key(app, "admin")
    exported = await client.get(f"/api/v1/admin/customers/{conversation.customer_id}/export", headers=admin)
    assert exported.status_code == 200
    data = exported.json()
    assert "Oud" in json.dumps(data["preferences"]) and data["conversations"][0]["messages"]

    erased = await client.delete(f"/api/v1/admin/customers/{conversation.customer_id}", headers=admin)
    assert erased.status_code == 200 and erased.json()["conversations"] == [answer["thread_id"]]
    assert await memory.repository.get_customer(conversation.customer_id) is None
    assert await memory.repository.transcript(answer["thread_id"]) == []
    assert await memory.checkpointer.aget_tuple({"configurable": {"thread_id": answer["thread_id"]}}) is None
    assert await memory.sessions.after(answer["thread_id"], 0) == []
    entries = await memory.repository.audit_entries(subject=conversation.customer_id)
    assert {"customer.export", "customer.delete"} <= {e.action for e in entries}
    again = await client.delete(f"/api/v1/admin/customers/{conversation.customer_id}", headers=admin)
    assert again.status_code == 404


async def test_the_openapi_document_describes_the_chat_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/api/v1/chat"]["post"]
    assert {"401", "403", "404", "409", "422", "429", "503"} <= set(post["responses"])
    body = spec["components"]["schemas"]["ChatRequest"]
    assert body["properties"]["message"]["maxLength"] == 20000 and body.get("examples")
    assert "/api/v1/chat/stream" in spec["paths"] and "/api/v1/threads/{thread_id}" in spec["paths"]


async def test_a_program_asks_for_a_person_and_cancels(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    """The REST twin of the web chat's button: ask for a person (once, however often it is pressed),
    see the staff line in the transcript, and cancel a later request. Live delivery over
    `/threads/{id}/events` across replicas is in test_server_mode.py (the in-process transport
    buffers a response until it ends)."""
    answer = await chat(client, key, {"message": "가벼운 시트러스 향수 추천해 주세요", "customer": "handoff-1"})
    thread = answer["thread_id"]
    asked = await client.post(f"/api/v1/threads/{thread}/handoff", headers=key)
    assert asked.status_code == 200, asked.text
    assert asked.json()["status"] == "requested" and HANGUL.search(asked.json()["text"])
    again = await client.post(f"/api/v1/threads/{thread}/handoff", headers=key)
    assert again.json()["ticket_id"] == asked.json()["ticket_id"]

    service = runtime_of(app).require_service()
    await (
        await service.staff_message(thread, "안녕하세요, 직원 민아입니다.", staff="U1", display_name="민아")
    ).collect()
    await service.hand_back(thread, staff="U1")
    lines = (await client.get(f"/api/v1/threads/{thread}", headers=key)).json()["messages"]
    assert [m["role"] for m in lines][-2:] == ["staff", "assistant"]
    assert lines[-2]["content"] == "안녕하세요, 직원 민아입니다." and HANGUL.search(lines[-1]["content"])

    await client.post(f"/api/v1/threads/{thread}/handoff", headers=key)
    cancelled = await client.delete(f"/api/v1/threads/{thread}/handoff", headers=key)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    conflict = await client.delete(f"/api/v1/threads/{thread}/handoff", headers=key)
    assert conflict.status_code == 409 and "no open request" in conflict.json()["message"]

    other = await new_key(app, "chat")
    for method, path in (("POST", "handoff"), ("DELETE", "handoff"), ("GET", "events")):
        refused = await client.request(method, f"/api/v1/threads/{thread}/{path}", headers=other)
        assert refused.status_code == 404, (method, path, refused.text)


async def test_a_customer_over_their_rate_gets_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, key: dict[str, str]
) -> None:
    """The customer's own rate (shared with the web chat and Slack) answers 429 with Retry-After and a
    sentence in their language; the message is not stored."""
    service = runtime_of(app).require_service()
    shipped = service.settings
    service.settings = shipped.model_copy(update={"customer_rate_limit": "1/minute"})
    try:
        first = await chat(client, key, {"message": "시트러스 향수 추천해 주세요", "customer": "rate-1"})
        refused = await client.post(
            CHAT, json={"message": "하나 더요", "customer": "rate-1", "thread_id": first["thread_id"]}, headers=key
        )
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 60 and HANGUL.search(refused.json()["message"])
        other = await client.post(CHAT, json={"message": "Rose perfumes?", "customer": "rate-2"}, headers=key)
        assert other.status_code == 200, other.text  # another customer of the same key has their own rate
    finally:
        service.settings = shipped
    lines = (await client.get(f"/api/v1/threads/{first['thread_id']}", headers=key)).json()["messages"]
    assert [m["role"] for m in lines] == ["user", "assistant"]
