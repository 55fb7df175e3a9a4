"""The staff handoff routes through the real app (server mode: real Postgres and Redis): a customer
of the chat API asks for a person, a signed-in staff member sees the request, takes it, answers,
and hands the conversation back; every move is audited with the staff member's name."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.auth_support import bearer, browser, key_headers, new_user, runtime_of, server_app, sign_in
from tests.conftest import StarterIndex
from tools.search.engine import SearchEngine

HANDOFFS = "/api/v1/handoffs"


@pytest.fixture(scope="module")
async def app(starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[FastAPI]:
    async with server_app(starter_index.settings, engine, max_message_chars=300) as app:
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as http:
        yield http


async def customer_asks_for_a_person(client: httpx.AsyncClient, key: dict[str, str], text: str) -> str:
    answer = await client.post("/api/v1/chat", json={"message": text}, headers=key)
    assert answer.status_code == 200, answer.text
    assert answer.json()["handoff_ticket"], answer.json()
    thread: str = answer.json()["thread_id"]
    return thread


async def staff_headers(app: FastAPI, client: httpx.AsyncClient, role: str = "staff") -> tuple[str, dict[str, str]]:
    user = await new_user(app, role)
    return user.username, bearer(await sign_in(client, user))


async def test_staff_take_answer_and_hand_back_a_conversation(app: FastAPI, client: httpx.AsyncClient) -> None:
    key = await key_headers(app, "chat")
    thread = await customer_asks_for_a_person(client, key, "사람이랑 상담하고 싶어요")
    name, staff = await staff_headers(app, client)

    queue = await client.get(HANDOFFS, headers=staff)
    assert queue.status_code == 200
    (ticket,) = [t for t in queue.json() if t["conversation_id"] == thread]
    assert ticket["status"] == "requested" and ticket["language"] == "ko" and ticket["staff"] is None

    taken = await client.post(f"{HANDOFFS}/{thread}/take", headers=staff)
    assert taken.status_code == 200 and taken.json()["status"] == "taken" and taken.json()["staff"] == name
    rival_name, rival = await staff_headers(app, client)
    clash = await client.post(f"{HANDOFFS}/{thread}/take", headers=rival)
    assert clash.status_code == 409 and f"already taken by {name}" in clash.json()["message"]

    said = await client.post(
        f"{HANDOFFS}/{thread}/messages", json={"text": "안녕하세요, 제가 도와드릴게요."}, headers=staff
    )
    assert said.status_code == 200, said.text
    assert said.json()["text"] == "안녕하세요, 제가 도와드릴게요." and said.json()["event_id"] is not None

    transcript = (await client.get(f"/api/v1/threads/{thread}", headers=key)).json()["messages"]
    assert [m["content"] for m in transcript if m["role"] == "staff"] == ["안녕하세요, 제가 도와드릴게요."]

    back = await client.post(f"{HANDOFFS}/{thread}/return", headers=staff)
    assert back.status_code == 200 and back.json()["status"] == "returned"
    again = await client.post(f"{HANDOFFS}/{thread}/resolve", headers=staff)
    assert again.status_code == 409 and "no open request" in again.json()["message"]
    assert all(t["conversation_id"] != thread for t in (await client.get(HANDOFFS, headers=staff)).json())

    entries = await runtime_of(app).memory.repository.audit_entries(subject=thread)
    assert [(e.actor, e.action) for e in reversed(entries)] == [
        (f"user:{name}", "handoff.take"),
        (f"user:{name}", "handoff.reply"),
        (f"user:{name}", "handoff.return"),
    ]
    assert rival_name not in {e.actor for e in entries}


async def test_a_first_reply_takes_the_request_and_resolve_closes_it(app: FastAPI, client: httpx.AsyncClient) -> None:
    thread = await customer_asks_for_a_person(client, await key_headers(app, "chat"), "Can I talk to a person?")
    name, admin = await staff_headers(app, client, "admin")
    said = await client.post(f"{HANDOFFS}/{thread}/messages", json={"text": "Hi, I'm here."}, headers=admin)
    assert said.status_code == 200 and said.json()["staff"] == name
    queue = (await client.get(HANDOFFS, headers=admin, params={"limit": 200})).json()
    assert next(t for t in queue if t["conversation_id"] == thread)["status"] == "taken"
    done = await client.post(f"{HANDOFFS}/{thread}/resolve", headers=admin)
    assert done.status_code == 200 and done.json()["status"] == "resolved"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("post", "/no-such-thread/take", None, 404, "there is no conversation no-such-thread"),
        ("post", "/no-such-thread/messages", {"text": "hi"}, 404, "there is no conversation"),
        ("post", "/bad%20id/take", None, 422, "conversation_id"),
        ("post", "/x/messages", {"text": ""}, 422, "text"),
        ("post", "/x/messages", {"text": "hi", "html": "<b>"}, 422, "html"),
        ("get", "?limit=0", None, 422, "limit"),
    ],
)
async def test_bad_requests_get_a_sentence(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str, body: Any, status: int, message: str
) -> None:
    _, staff = await staff_headers(app, client)
    response = await client.request(method, HANDOFFS + path, json=body, headers=staff)
    assert response.status_code == status and message in response.json()["message"], response.text


async def test_a_conversation_nobody_asked_about_and_a_long_reply(app: FastAPI, client: httpx.AsyncClient) -> None:
    key = await key_headers(app, "chat")
    plain = await client.post("/api/v1/chat", json={"message": "a woody perfume for autumn"}, headers=key)
    thread = plain.json()["thread_id"]
    _, staff = await staff_headers(app, client)
    nobody = await client.post(f"{HANDOFFS}/{thread}/take", headers=staff)
    assert nobody.status_code == 409 and "no open request for a person" in nobody.json()["message"]
    asked = await customer_asks_for_a_person(client, key, "I want to speak to a human, please")
    long = await client.post(f"{HANDOFFS}/{asked}/messages", json={"text": "x" * 301}, headers=staff)
    assert long.status_code == 422 and "300" in long.json()["message"]
