"""Live handoff end to end, as a shop runs it: two `serve` replicas on one Postgres and one Redis,
the Slack app configured on both (Slack's Web API answered by tests/slack_mock.py on loopback), and
a customer in real headless Chromium on replica A.

The customer asks for a person in the web chat; staff are notified in the Slack handoff channel; a
staff member's reply in that Slack thread is posted, correctly signed, to replica B's /slack/events
and appears in the customer's open page on A; "Return to assistant" pressed in Slack (again on B)
is shown to the customer, and the assistant answers the next message with the conversation's
context. A second customer's request that nobody takes times out as configured and the page says
so without the customer writing again.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser

from tests.browser_support import ChatPage, launch_chromium
from tests.conftest import StarterIndex
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace
from tests.server_support import Server, http_client, product_env, running
from tests.slack_mock import TEAM_ID, SlackMock
from tests.test_slack import BOT_TOKEN, HANDOFF_CHANNEL, HANDOFF_CHANNEL_ID, SECRET, STAFF, event_body, signed_headers
from tests.test_web_chat import home_copy

HANDOFF_TIMEOUT_S = 20.0
"""Long enough for the first ticket to be answered, short enough to watch the second time out."""
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[SlackMock]:
    mock = SlackMock()
    await mock.start()
    try:
        yield mock
    finally:
        await mock.stop()


@pytest.fixture(scope="module")
async def deployment(
    starter_index: StarterIndex, slack: SlackMock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Server, Server, str]]:
    async with fresh_database() as dsn, redis_namespace(REDIS_URL) as (_, prefix):
        env = product_env(
            home_copy(starter_index, tmp_path_factory, "handoff_e2e"),
            DATABASE_URL=dsn,
            REDIS_URL=REDIS_URL,
            REDIS_KEY_PREFIX=prefix,
            WEB_SECRET="e2e-web-" + "w" * 40,
            JWT_SECRET="e2e-jwt-" + "j" * 40,
            TURN_LOCK_WAIT_S="30",
            HANDOFF_TIMEOUT_S=str(HANDOFF_TIMEOUT_S),
            HANDOFF_SWEEP_S="0.5",
            FRAGRANCE_SLACK_BOT_TOKEN=BOT_TOKEN,
            FRAGRANCE_SLACK_SIGNING_SECRET=SECRET,
            FRAGRANCE_SLACK_HANDOFF_CHANNEL=HANDOFF_CHANNEL,
            FRAGRANCE_SLACK_API_URL=slack.api_url,
        )
        logs = tmp_path_factory.mktemp("handoff_e2e_logs")
        a, b = Server("e2e-a", env, logs), Server("e2e-b", env, logs)
        async with running(a, b):
            yield a, b, dsn


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as chromium:
        yield chromium


async def slack_thread_of(dsn: str, conversation_id: str, within_s: float = 30.0) -> tuple[str, str]:
    """The ticket of the conversation and the Slack message it was posted as ("CHANNEL:TS")."""
    deadline = time.monotonic() + within_s
    conn = await asyncpg.connect(dsn)
    try:
        while True:
            row = await conn.fetchrow(
                "SELECT t.id, l.external_id FROM fragrance.tickets t JOIN fragrance.ticket_links l "
                "ON l.ticket_id = t.id AND l.kind = 'slack' WHERE t.conversation_id = $1",
                conversation_id,
            )
            if row is not None:
                return str(row["id"]), str(row["external_id"])
            assert time.monotonic() < deadline, f"conversation {conversation_id} never reached the Slack channel"
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


async def last_assistant_line(dsn: str, conversation_id: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT content, payload FROM fragrance.messages WHERE conversation_id = $1 AND role = 'assistant' "
            "ORDER BY seq DESC LIMIT 1",
            conversation_id,
        )
    finally:
        await conn.close()
    assert row is not None
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"] or "{}")
    return {"content": row["content"], "payload": payload}


async def post_signed(client: httpx.AsyncClient, server: Server, body: str, content_type: str) -> None:
    response = await client.post(
        f"{server.url}/slack/events", content=body, headers=signed_headers(body, content_type=content_type)
    )
    assert response.status_code == 200, response.text


def thread_id_of(chat: ChatPage) -> str:
    return str(next(f.data["thread_id"] for f in chat.frames if f.event == "first_interaction"))


async def test_a_web_customer_asks_for_a_person_and_a_slack_reply_on_another_replica_reaches_the_browser(
    deployment: tuple[Server, Server, str], browser: Browser, slack: SlackMock
) -> None:
    a, b, dsn = deployment
    context = await browser.new_context(locale="ko-KR", viewport=VIEWPORT)  # type: ignore[arg-type]
    chat = await ChatPage.open(context, a.url, "e2e")
    main = chat.page.get_by_role("main")
    mark = len(chat.frames)
    await chat.say("가을 저녁에 어울리는 우디 향수 추천해 주세요")
    await chat.answered(mark)
    thread = thread_id_of(chat)

    mark = len(chat.frames)
    await chat.say("직원분이랑 직접 얘기하고 싶어요")
    await chat.answered(mark)
    ticket_id, link = await slack_thread_of(dsn, thread)
    channel, ts = link.split(":")
    assert channel == HANDOFF_CHANNEL_ID
    posted = [c for c in slack.of("chat.postMessage", channel=HANDOFF_CHANNEL) if ticket_id in json.dumps(c.args)]
    assert posted and "우디" in json.dumps(posted[0].args, ensure_ascii=False)  # the summary carries the request
    await chat.screenshot("asked-for-a-person")

    reply = "안녕하세요, 매장 직원 지윤이에요. 우디 향 중에 시향해 보실 만한 걸 골라 드릴게요."
    staff_event = {
        "type": "message",
        "channel_type": "channel",
        "channel": HANDOFF_CHANNEL_ID,
        "user": STAFF,
        "text": reply,
        "ts": f"{time.time():.6f}",
        "thread_ts": ts,
        "team": TEAM_ID,
    }
    async with http_client() as client:
        await post_signed(client, b, event_body(staff_event), "application/json")
        await main.get_by_text(reply).wait_for(timeout=30_000)
        await chat.screenshot("slack-reply-live")

        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "fragrance-shop"},
            "user": {"id": STAFF, "username": "jiyoon", "team_id": TEAM_ID},
            "api_app_id": "A0FRAGRANCE",
            "token": "unused",
            "container": {"type": "message", "message_ts": ts, "channel_id": HANDOFF_CHANNEL_ID},
            "trigger_id": "1.2.3",
            "channel": {"id": HANDOFF_CHANNEL_ID, "name": "fragrance-handoffs"},
            "message": {"type": "message", "ts": ts, "text": "ticket"},
            "response_url": slack.response_url(uuid.uuid4().hex),
            "actions": [
                {
                    "action_id": "handoff_return",
                    "block_id": f"handoff:{ticket_id}",
                    "value": ticket_id,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        await post_signed(client, b, urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")
    await main.get_by_text("직원이 대화를 다시 저에게 넘겨 주었어요", exact=False).wait_for(timeout=30_000)

    # Back with the assistant, a follow-up is read against the conversation: cheaper woody perfumes.
    mark = len(chat.frames)
    await chat.say("그럼 그 중에서 더 저렴한 걸로 보여 줄래요?")
    await chat.answered(mark)
    answered = await last_assistant_line(dsn, thread)
    kinds = [e.get("type") for e in answered["payload"].get("events", [])]
    assert "perfumes" in kinds and "reply" in kinds, answered
    await chat.screenshot("assistant-again")

    # After a reload the staff member's words are still in the conversation.
    await chat.goto("/chat")
    await main.get_by_text(reply).wait_for(timeout=30_000)
    await context.close()


async def test_a_request_nobody_takes_times_out_in_the_open_page(
    deployment: tuple[Server, Server, str], browser: Browser, slack: SlackMock
) -> None:
    _, b, dsn = deployment
    context = await browser.new_context(locale="en-US", viewport=VIEWPORT)  # type: ignore[arg-type]
    chat = await ChatPage.open(context, b.url, "e2e-timeout")
    main = chat.page.get_by_role("main")
    mark = len(chat.frames)
    await chat.say("Can I talk to a real person, please?")
    await chat.answered(mark)
    ticket_id, _ = await slack_thread_of(dsn, thread_id_of(chat))
    asked = time.monotonic()
    await main.get_by_text("no one from our staff is free right now", exact=False).wait_for(
        timeout=(HANDOFF_TIMEOUT_S + 30) * 1000
    )
    assert time.monotonic() - asked < HANDOFF_TIMEOUT_S + 30
    updated = await slack.wait_for(
        lambda: [c for c in slack.of("chat.update", channel=HANDOFF_CHANNEL_ID) if ticket_id in json.dumps(c.args)]
    )
    assert updated  # staff see the ticket closed as timed out
    await chat.screenshot("timed-out")
    await context.close()
