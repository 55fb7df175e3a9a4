"""The Slack app for staff, end to end on the wire: requests signed with the signing secret are posted to
POST /slack/events of the real app (its real lifespan, real Postgres and Redis), and Slack's Web API is
answered by tests/slack_mock.py on loopback, which records every call.

Two app instances share one database and one Redis namespace, as two replicas would: a retried event
reaches both, a staff reply lands on one while the customer's turn ran on the other. Instance B also
connects Socket Mode to the mock's websocket.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from redis.asyncio import Redis
from slack_sdk.signature import SignatureVerifier

from channels.rest.app import create_app
from channels.slack.blocks import formula_blocks, limited, perfumes_blocks
from core.settings import Settings
from graphs.events import (
    AllergenLine,
    FormulaCard,
    FormulaLine,
    HandoffRequested,
    Notice,
    Reply,
    StaffMessage,
    TurnEvent,
)
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from graphs.service import TurnService
from tests.conftest import StarterIndex
from tests.memory_support import fresh_database, redis_namespace
from tests.slack_mock import BOT_ID, BOT_USER_ID, TEAM_ID, Call, SlackMock
from tools.search.engine import SearchEngine

SECRET = f"signing-{uuid.uuid4().hex}"
BOT_TOKEN = f"xoxb-test-{uuid.uuid4().hex[:12]}"
APP_TOKEN = f"xapp-test-{uuid.uuid4().hex[:12]}"
HANDOFF_CHANNEL, HANDOFF_CHANNEL_ID = "#fragrance-handoffs", "C0HANDOFF"
SHOP_CHANNEL = "C0SHOP"
STAFF = "U0STAFF"
EVENTS = "/slack/events"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass
class Replica:
    app: FastAPI
    http: httpx.AsyncClient

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    @property
    def service(self) -> TurnService:
        return self.runtime.require_service()


@dataclass
class Stores:
    dsn: str
    redis: Redis
    prefix: str


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[SlackMock]:
    mock = SlackMock()
    await mock.start()
    try:
        yield mock
    finally:
        await mock.stop()


@pytest.fixture(scope="module")
async def stores() -> AsyncIterator[Stores]:
    """A fresh Postgres database and a Redis key prefix of this module alone."""
    async with fresh_database() as dsn, redis_namespace() as (redis, prefix):
        yield Stores(dsn=dsn, redis=redis, prefix=prefix)


def slack_settings(starter_index: StarterIndex, stores: Stores, slack: SlackMock, home: Any, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "ollama_base_url": None,
        "database_url": stores.dsn,
        "redis_url": "redis://127.0.0.1:6379/0",
        "redis_key_prefix": stores.prefix,
        "memory_dir": home,
        "turn_lock_wait_s": 5.0,
        "fragrance_slack_bot_token": SecretStr(BOT_TOKEN),
        "fragrance_slack_signing_secret": SecretStr(SECRET),
        "fragrance_slack_app_token": None,
        "fragrance_slack_handoff_channel": HANDOFF_CHANNEL,
        "fragrance_slack_api_url": slack.api_url,
        "fragrance_slack_language": "en",
    }
    return starter_index.settings.model_copy(update=values | extra)


async def _replica(settings: Settings, engine: SearchEngine) -> AsyncIterator[Replica]:
    app = create_app(settings, engine=engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://replica") as http,
    ):
        yield Replica(app=app, http=http)


@pytest.fixture(scope="module")
async def replica_a(
    starter_index: StarterIndex, stores: Stores, slack: SlackMock, engine: SearchEngine, tmp_path_factory: Any
) -> AsyncIterator[Replica]:
    """HTTP mode."""
    settings = slack_settings(starter_index, stores, slack, tmp_path_factory.mktemp("slack_a"))
    async for replica in _replica(settings, engine):
        yield replica


@pytest.fixture(scope="module")
async def replica_b(
    starter_index: StarterIndex,
    stores: Stores,
    slack: SlackMock,
    engine: SearchEngine,
    tmp_path_factory: Any,
    replica_a: Replica,
) -> AsyncIterator[Replica]:
    """HTTP mode and Socket Mode, on the same database and Redis as A."""
    settings = slack_settings(
        starter_index, stores, slack, tmp_path_factory.mktemp("slack_b"), fragrance_slack_app_token=SecretStr(APP_TOKEN)
    )
    async for replica in _replica(settings, engine):
        yield replica


# -- signed requests ----------------------------------------------------------------------------------
def signed_headers(
    body: str, *, secret: str = SECRET, timestamp: int | None = None, content_type: str = "application/json"
) -> dict[str, str]:
    at = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=at, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": at, "X-Slack-Signature": signature, "Content-Type": content_type}


def event_body(event: dict[str, Any], event_id: str | None = None) -> str:
    return json.dumps(
        {
            "token": "unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0FRAGRANCE",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )


async def post_event(
    replica: Replica, event: dict[str, Any], event_id: str | None = None, retry: int | None = None
) -> httpx.Response:
    body = event_body(event, event_id)
    headers = signed_headers(body)
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    started = time.monotonic()
    response = await replica.http.post(EVENTS, content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 3.0  # acknowledged at once; the turn runs after
    return response


def new_ts() -> str:
    return f"{time.time():.6f}"


def mention(text: str, ts: str | None = None, thread_ts: str | None = None, user: str = STAFF) -> dict[str, Any]:
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts or new_ts(),
        "channel": SHOP_CHANNEL,
        "team": TEAM_ID,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def direct(text: str, channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel_type": "im",
        "user": STAFF,
        "text": text,
        "ts": new_ts(),
        "channel": channel,
        "team": TEAM_ID,
    } | extra


async def command(replica: Replica, slack: SlackMock, text: str) -> dict[str, Any]:
    """Run /fragrance and return what it answered through the response URL; the HTTP answer (the ack)
    comes within Slack's three seconds."""
    name = uuid.uuid4().hex
    body = urlencode(
        {
            "token": "unused",
            "team_id": TEAM_ID,
            "channel_id": SHOP_CHANNEL,
            "user_id": STAFF,
            "command": "/fragrance",
            "text": text,
            "response_url": slack.response_url(name),
            "trigger_id": "1.2.3",
            "api_app_id": "A0FRAGRANCE",
        }
    )
    started = time.monotonic()
    response = await replica.http.post(
        EVENTS, content=body, headers=signed_headers(body, content_type="application/x-www-form-urlencoded")
    )
    assert response.status_code == 200, response.text
    assert time.monotonic() - started < 3.0
    (answer,) = await slack.wait_for(lambda: [r for r in slack.responses if r["name"] == name])
    return answer


async def press(
    replica: Replica, slack: SlackMock, action_id: str, ticket_id: str, message_ts: str, user: str = STAFF
) -> str:
    """Press a button of the ticket's message; returns the name of its response URL."""
    name = uuid.uuid4().hex
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "fragrance-shop"},
        "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
        "api_app_id": "A0FRAGRANCE",
        "token": "unused",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": HANDOFF_CHANNEL_ID},
        "trigger_id": "1.2.3",
        "channel": {"id": HANDOFF_CHANNEL_ID, "name": "fragrance-handoffs"},
        "message": {"type": "message", "ts": message_ts, "text": "ticket"},
        "response_url": slack.response_url(name),
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"handoff:{ticket_id}",
                "value": ticket_id,
                "type": "button",
                "action_ts": new_ts(),
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    response = await replica.http.post(
        EVENTS, content=body, headers=signed_headers(body, content_type="application/x-www-form-urlencoded")
    )
    assert response.status_code == 200, response.text
    return name


def replies_in(slack: SlackMock, channel: str, thread_ts: str) -> list[Call]:
    return slack.of("chat.postMessage", channel=channel, thread_ts=thread_ts)


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Every text of a message's blocks, in order."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def conversation_in(blocks: list[dict[str, Any]]) -> str:
    found = re.search(r"Conversation `([0-9a-f]{32})`|대화 `([0-9a-f]{32})`", block_text(blocks))
    assert found, block_text(blocks)
    return found.group(1) or found.group(2)


# -- Block Kit limits ----------------------------------------------------------------------------------
def test_a_long_formula_stays_within_block_kit_limits() -> None:
    lines = [FormulaLine(name=f"Material number {i} with a long name", pct=0.5, layer="heart") for i in range(200)]
    card = FormulaCard(
        kind="checked",
        ingredients=lines,
        compliant=False,
        amendment="IFRA 51st Amendment",
        violations=[f"rule {i}" for i in range(80)],
        allergens_to_declare=[AllergenLine(name=f"allergen {i}", cas="91-64-5", finished_pct=0.01) for i in range(90)],
        corrected=lines,
    )
    blocks = formula_blocks(card, "ko") + perfumes_blocks([], "ko")
    assert len(blocks) < 50 and len(limited(blocks * 12, "ko")) == 50
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= 3000 and text.count("```") % 2 == 0, text[-200:]


# -- the endpoint ---------------------------------------------------------------------------------------
async def test_url_verification_is_answered(replica_a: Replica) -> None:
    body = json.dumps({"token": "unused", "challenge": "a-challenge-3f9", "type": "url_verification"})
    response = await replica_a.http.post(EVENTS, content=body, headers=signed_headers(body))
    assert response.status_code == 200 and response.json() == {"challenge": "a-challenge-3f9"}


async def test_a_bad_signature_or_a_stale_timestamp_is_refused(replica_a: Replica, slack: SlackMock) -> None:
    event = mention("a fresh citrus for summer")
    body = event_body(event)
    for headers in (
        signed_headers(body, secret="not-the-secret"),
        signed_headers(body, timestamp=int(time.time()) - 600),  # correctly signed, ten minutes old
        {"Content-Type": "application/json"},
    ):
        response = await replica_a.http.post(EVENTS, content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert "signature" in response.json()["message"]
    await slack.quiet(1.0)
    assert not replies_in(slack, SHOP_CHANNEL, event["ts"])


async def test_an_oversized_body_is_refused_before_bolt(replica_a: Replica) -> None:
    body = json.dumps({"type": "event_callback", "pad": "x" * 300_000})
    response = await replica_a.http.post(EVENTS, content=body, headers=signed_headers(body))
    assert response.status_code == 413 and "at most" in response.json()["message"]


async def test_without_slack_settings_there_is_no_slack_route(starter_index: StarterIndex) -> None:
    app = create_app(starter_index.settings.model_copy(update={"fragrance_slack_bot_token": None}))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://plain") as http:
        body = json.dumps({"type": "url_verification", "challenge": "c"})
        response = await http.post(EVENTS, content=body, headers=signed_headers(body))
    assert response.status_code == 404 and "message" in response.json()
    assert EVENTS not in json.dumps(app.openapi())


async def test_a_half_made_slack_configuration_stops_the_start(
    starter_index: StarterIndex, engine: SearchEngine, tmp_path_factory: Any
) -> None:
    settings = starter_index.settings.model_copy(
        update={
            "memory_dir": tmp_path_factory.mktemp("half_slack"),
            "ollama_base_url": None,
            "database_url": None,
            "redis_url": None,
            "fragrance_slack_bot_token": SecretStr(BOT_TOKEN),
            "fragrance_slack_signing_secret": None,
            "fragrance_slack_app_token": None,
        }
    )
    app = create_app(settings, engine=engine)
    with pytest.raises(Exception, match="FRAGRANCE_SLACK_SIGNING_SECRET"):
        async with app.router.lifespan_context(app):
            pass


# -- mentions and direct messages --------------------------------------------------------------------------
async def test_a_mention_is_answered_in_its_thread_and_a_follow_up_continues_it(
    replica_a: Replica, slack: SlackMock
) -> None:
    first = mention("a fresh citrus perfume for summer, I don't like musk")
    await post_event(replica_a, first)
    (reply,) = await slack.wait_for(lambda: replies_in(slack, SHOP_CHANNEL, first["ts"]))
    assert reply.token == BOT_TOKEN
    shown = block_text(reply.args["blocks"])
    catalog = replica_a.runtime.engine
    assert catalog is not None
    ids = re.findall(r"`([^`\s]+)`", shown)
    perfume_ids = [i for i in ids if catalog.get(i) is not None]
    assert len(perfume_ids) >= 3, shown  # staff see catalog ids on the cards
    assert "Intent: `recommend`" in shown
    assert re.search(r"Stated preferences: .*Avoids: .*musk", shown, re.IGNORECASE), shown
    conversation = conversation_in(reply.args["blocks"])

    follow_up = mention("something cheaper please", thread_ts=first["ts"])
    await post_event(replica_a, follow_up)
    answers = await slack.wait_for(lambda: replies_in(slack, SHOP_CHANNEL, first["ts"]), count=2)
    assert conversation_in(answers[1].args["blocks"]) == conversation
    transcript = await replica_a.runtime.memory.repository.transcript(conversation)
    assert [m.role for m in transcript] == ["user", "assistant", "user", "assistant"]
    stored = await replica_a.runtime.memory.repository.get_conversation(conversation)
    assert stored is not None and stored.channel == "slack"


async def test_a_direct_message_is_answered_in_a_thread_in_its_language(replica_a: Replica, slack: SlackMock) -> None:
    dm = direct("여름에 쓸 상큼한 시트러스 향수 추천해 주세요", channel="D0STAFF")
    await post_event(replica_a, dm)
    (reply,) = await slack.wait_for(lambda: replies_in(slack, "D0STAFF", dm["ts"]))
    shown = block_text(reply.args["blocks"])
    assert HANGUL.search(reply.args["text"]) and "밝힌 선호" in shown and "대화 `" in shown


async def test_a_formula_in_a_mention_comes_back_as_a_table_with_its_verdict(
    replica_a: Replica, slack: SlackMock
) -> None:
    ask = mention("Check my formula: Bergamot Oil 10%, Hedione 40%, Iso E Super 30%, coumarin 5%, Galaxolide 15%")
    await post_event(replica_a, ask)
    (reply,) = await slack.wait_for(lambda: replies_in(slack, SHOP_CHANNEL, ask["ts"]))
    shown = block_text(reply.args["blocks"])
    assert "```" in shown and "Hedione" in shown
    assert "Compliant" in shown or "Not compliant" in shown
    assert "Allergens to declare" in shown and "Coumarin" in shown


async def test_the_bot_ignores_its_own_messages_and_other_bots(replica_a: Replica, slack: SlackMock) -> None:
    own = direct("Here are five perfumes", channel="D0OWN", user=BOT_USER_ID, bot_id=BOT_ID)
    other = direct("deploy finished", channel="D0OWN", subtype="bot_message", bot_id="B0OTHER")
    del other["user"]
    edited = direct("a citrus", channel="D0OWN", subtype="message_changed")
    for event in (own, other, edited):
        await post_event(replica_a, event)
    await slack.quiet(3.0)
    assert not slack.of("chat.postMessage", channel="D0OWN")


async def test_a_retried_event_gets_one_reply_also_on_another_replica(
    replica_a: Replica, replica_b: Replica, slack: SlackMock, stores: Stores
) -> None:
    event = mention("a woody perfume for autumn evenings")
    event_id = f"Ev{uuid.uuid4().hex[:10].upper()}"
    await asyncio.gather(
        post_event(replica_a, event, event_id),
        post_event(replica_a, event, event_id, retry=1),
        post_event(replica_b, event, event_id, retry=2),
    )
    await slack.wait_for(lambda: replies_in(slack, SHOP_CHANNEL, event["ts"]))
    await slack.quiet(4.0)
    assert len(replies_in(slack, SHOP_CHANNEL, event["ts"])) == 1
    claim = f"{stores.prefix}claim:slack:event:{event_id}"
    assert await stores.redis.exists(claim) and 3500 < await stores.redis.ttl(claim) <= 3600


async def test_socket_mode_receives_an_event_and_acknowledges_it(replica_b: Replica, slack: SlackMock) -> None:
    await slack.wait_for(lambda: slack.sockets, within_s=30)
    event = mention("a vanilla gourmand for winter")
    envelope_id = uuid.uuid4().hex
    await slack.push(
        {
            "envelope_id": envelope_id,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": json.loads(event_body(event)),
        }
    )
    await slack.wait_for(lambda: [a for a in slack.socket_acks if a.get("envelope_id") == envelope_id])
    (reply,) = await slack.wait_for(lambda: replies_in(slack, SHOP_CHANNEL, event["ts"]))
    assert "Conversation `" in block_text(reply.args["blocks"])
    assert any(c.args.get("app_token") == APP_TOKEN or c.token == APP_TOKEN for c in slack.of("apps.connections.open"))


# -- the slash command --------------------------------------------------------------------------------------
async def test_search_answers_with_cards_ids_and_scores(replica_a: Replica, slack: SlackMock) -> None:
    answer = await command(replica_a, slack, "search fresh citrus for summer without musk")
    assert answer["response_type"] == "ephemeral"
    shown = block_text(answer["blocks"])
    assert answer["blocks"][0]["type"] == "header" and "fresh citrus" in shown
    assert shown.count("Match score") == 5 and "Understood:" in shown
    catalog = replica_a.runtime.engine
    assert catalog is not None
    assert len([i for i in re.findall(r"`([^`\s]+)`", shown) if catalog.get(i) is not None]) == 5


async def test_compose_answers_with_a_formula_table_and_its_verdict(replica_a: Replica, slack: SlackMock) -> None:
    answer = await command(replica_a, slack, "compose a fresh citrus EDT for summer")
    shown = block_text(answer["blocks"])
    table = re.search(r"```\n(.*?)```", shown, re.DOTALL)
    assert table is not None
    rows = [line for line in table.group(1).splitlines()[2:] if line.strip()]
    assert len(rows) >= 5 and abs(sum(float(r.split()[0]) for r in rows) - 100) < 0.2
    assert ":white_check_mark: *Compliant*" in shown and "Brief as read:" in shown and "citrus" in shown


async def test_validate_answers_with_the_verdict_limits_and_allergens(replica_a: Replica, slack: SlackMock) -> None:
    answer = await command(replica_a, slack, "validate Bergamot Oil 10%, Hedione 40%, coumarin 5%, Oakmoss 5%")
    shown = block_text(answer["blocks"])
    assert ":x: *Not compliant*" in shown
    assert "What breaks a rule" in shown and "Limit %" in shown and "Found %" in shown
    assert "Allergens to declare" in shown and "Coumarin" in shown
    assert "Corrected formula" in shown or "correct" in shown.lower()


async def test_help_and_unknown_words_get_the_usage(replica_a: Replica, slack: SlackMock) -> None:
    plain = await command(replica_a, slack, "")
    assert "/fragrance search" in block_text(plain["blocks"])
    unknown = await command(replica_a, slack, "dance")
    assert "dance" in block_text(unknown["blocks"]) and "/fragrance validate" in block_text(unknown["blocks"])
    korean = await command(replica_a, slack, "검증")
    assert HANGUL.search(block_text(korean["blocks"]))


def posted_about(slack: SlackMock, ticket_id: str) -> list[Call]:
    """The handoff channel's messages about this ticket."""
    return [c for c in slack.of("chat.postMessage", channel=HANDOFF_CHANNEL) if ticket_id in json.dumps(c.args)]


async def slack_link(repository: Any, ticket_id: str) -> str:
    """The ticket's message ("CHANNEL:TS"), linked once Slack answered the post."""
    deadline = time.monotonic() + 10
    while (link := (await repository.ticket_links(ticket_id)).get("slack")) is None:
        assert time.monotonic() < deadline, f"ticket {ticket_id} was never linked to its Slack message"
        await asyncio.sleep(0.05)
    return str(link)


# -- handoff ----------------------------------------------------------------------------------------------------
async def watch_for(service: TurnService, conversation: str, kind: type[TurnEvent]) -> TurnEvent:
    async for event in service.watch(conversation):
        if isinstance(event, kind):
            return event
    raise AssertionError("the watch ended")


async def test_handoff_from_notification_to_staff_reply_to_hand_back(
    replica_a: Replica, replica_b: Replica, slack: SlackMock
) -> None:
    service_a = replica_a.service
    repository = replica_a.runtime.memory.repository
    customer = await repository.customer_for("web", f"visitor-{uuid.uuid4().hex[:8]}")
    first = await service_a.say(Inbound("I'm looking for a rose perfume for my wedding", customer.id, "web"))
    conversation = first[-1].thread_id
    assert conversation is not None
    asked = await service_a.say(
        Inbound("Can I talk to a real person please?", customer.id, "web", conversation_id=conversation)
    )
    assert isinstance(asked[-1], HandoffRequested)
    ticket_id = asked[-1].ticket_id

    # Staff are told in the handoff channel: summary, buttons, and the ticket linked to the message.
    (posted,) = await slack.wait_for(lambda: posted_about(slack, ticket_id))
    shown = block_text(posted.args["blocks"])
    assert "A customer asks for a person" in shown and "real person" in shown and "rose perfume" in shown
    actions = [b for b in posted.args["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["handoff_take", "handoff_return", "handoff_close"]
    channel, ts = (await slack_link(repository, ticket_id)).split(":")
    assert channel == HANDOFF_CHANNEL_ID

    # While nobody has it, the customer's lines go into the ticket's thread.
    await service_a.say(Inbound("It's for a June wedding <!channel>", customer.id, "web", conversation_id=conversation))
    (line,) = await slack.wait_for(lambda: replies_in(slack, HANDOFF_CHANNEL_ID, ts))
    shown = block_text(line.args["blocks"])
    assert "June wedding" in shown and "<!channel>" not in shown and "&lt;!channel&gt;" in shown  # shown, not obeyed

    # A staff reply in the thread, received by replica B, reaches the customer's live stream on A.
    watching = asyncio.ensure_future(watch_for(service_a, conversation, StaffMessage))
    await asyncio.sleep(0.5)
    reply = {
        "type": "message",
        "channel_type": "channel",
        "channel": HANDOFF_CHANNEL_ID,
        "user": STAFF,
        "text": "Congratulations! I'm Jiyoon; let me suggest a few rose perfumes.",
        "ts": new_ts(),
        "thread_ts": ts,
        "team": TEAM_ID,
    }
    await post_event(replica_b, reply)
    staff_said = await asyncio.wait_for(watching, timeout=30)
    assert isinstance(staff_said, StaffMessage) and "Jiyoon" in staff_said.text and staff_said.staff == "Jiyoon"
    transcript = await repository.transcript(conversation)
    assert transcript[-1].role == "staff" and "rose perfumes" in transcript[-1].content
    assert not replies_in(slack, SHOP_CHANNEL, reply["ts"])  # the bot did not answer the staff member itself

    # The first reply took the ticket: its message now says who has it, without the Take button.
    (taken,) = await slack.wait_for(lambda: slack.of("chat.update", channel=HANDOFF_CHANNEL_ID, ts=ts))
    assert f"<@{STAFF}>" in block_text(taken.args["blocks"]) and "with a person" in block_text(taken.args["blocks"])
    actions = [b for b in taken.args["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["handoff_return", "handoff_close"]
    ticket = await repository.get_ticket(ticket_id)
    assert ticket is not None and ticket.status == "taken" and ticket.staff == f"slack:{STAFF}"

    # /fragrance handoffs lists it with a link to its thread.
    listed = await command(replica_a, slack, "handoffs")
    assert ticket_id in block_text(listed["blocks"]) and f"/archives/{HANDOFF_CHANNEL_ID}/p" in block_text(
        listed["blocks"]
    )

    # "Return to assistant": the message shows it, the customer is told, the assistant answers again.
    await press(replica_b, slack, "handoff_return", ticket_id, ts)
    updates = await slack.wait_for(lambda: slack.of("chat.update", channel=HANDOFF_CHANNEL_ID, ts=ts), count=2)
    assert "back with the assistant" in block_text(updates[-1].args["blocks"])
    assert not [b for b in updates[-1].args["blocks"] if b["type"] == "actions"]
    after = await service_a.say(
        Inbound("Recommend a rose perfume, please", customer.id, "web", conversation_id=conversation)
    )
    assert isinstance(after[-1], Reply) and after[-1].text  # the assistant, not a "staff will answer" notice

    # A late reply in the closed ticket's thread reaches nobody, and the staff member is told so.
    late = reply | {"ts": new_ts(), "text": "one more thing"}
    await post_event(replica_a, late)
    (told,) = await slack.wait_for(lambda: slack.of("chat.postEphemeral", channel=HANDOFF_CHANNEL_ID, thread_ts=ts))
    assert told.args["user"] == STAFF and "closed" in told.args["text"]
    assert "one more thing" not in (await repository.transcript(conversation))[-1].content


async def test_take_and_close_buttons_move_the_ticket(replica_a: Replica, replica_b: Replica, slack: SlackMock) -> None:
    service_a = replica_a.service
    repository = replica_a.runtime.memory.repository
    customer = await repository.customer_for("web", f"visitor-{uuid.uuid4().hex[:8]}")
    asked = await (await service_a.request_handoff(None, customer.id, "web", "ko")).collect()
    handoff = next(e for e in asked if isinstance(e, HandoffRequested))
    conversation = handoff.thread_id
    assert conversation is not None
    await slack.wait_for(
        lambda: [
            c for c in slack.of("chat.postMessage", channel=HANDOFF_CHANNEL) if handoff.ticket_id in json.dumps(c.args)
        ]
    )
    _, ts = (await slack_link(repository, handoff.ticket_id)).split(":")

    watching = asyncio.ensure_future(watch_for(service_a, conversation, Notice))
    await asyncio.sleep(0.5)
    await press(replica_b, slack, "handoff_take", handoff.ticket_id, ts)
    taken_notice = await asyncio.wait_for(watching, timeout=30)
    assert isinstance(taken_notice, Notice) and HANGUL.search(taken_notice.text)  # the customer's language
    ticket = await repository.get_ticket(handoff.ticket_id)
    assert ticket is not None and ticket.status == "taken" and ticket.staff == f"slack:{STAFF}"

    # A colleague pressing Take on the same message is told it is taken already.
    late_take = await press(replica_a, slack, "handoff_take", handoff.ticket_id, ts, user="U0COLLEAGUE")
    (told,) = await slack.wait_for(lambda: [r for r in slack.responses if r["name"] == late_take])
    assert told["response_type"] == "ephemeral" and told["replace_original"] is False

    await press(replica_a, slack, "handoff_close", handoff.ticket_id, ts)
    updates = await slack.wait_for(lambda: slack.of("chat.update", channel=HANDOFF_CHANNEL_ID, ts=ts), count=2)
    assert "closed" in block_text(updates[-1].args["blocks"])
    ticket = await repository.get_ticket(handoff.ticket_id)
    assert ticket is not None and ticket.status == "resolved"
