"""The customers' web chat (Chainlit at /chat) as deployed: real `fragrance-ai serve` processes, real
headless Chromium (Debian's, driven by Playwright), python-socketio where no browser is needed.

The embedded server of this module (SQLite in its home, no DATABASE_URL) reaches a loopback
stand-in for Ollama that streams the service role's replies (tests/browser_support.py), so the
browser sees tokens arrive; the intent and orchestrator roles fall back to the embedded ones. A
server-mode server (Postgres and Redis) checks the history in schema `chainlit`, its survival
across a restart and its erasure with the customer.

Screenshots of what the customer saw are saved under tests/artifacts/screenshots/ (ignored by git);
the issue's closing note describes them.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
import socketio
from playwright.async_api import Browser
from starlette.testclient import TestClient

from channels.rest.app import create_app
from tests.browser_support import (
    ChatPage,
    ConsultantModel,
    SocketChat,
    add_staff,
    launch_chromium,
)
from tests.conftest import StarterIndex
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace
from tests.server_support import Server, http_client, product_env, run_cli, running
from tools.search.engine import SearchEngine

SHOP_SECRET = "shop-secret-for-the-web-chat-tests-0123456789"
SHOP_ORIGIN = "https://shop.example"
STAFF_PASSWORD = "correct horse battery staple"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
VIEWPORT = {"width": 1280, "height": 900}


# -- the servers -----------------------------------------------------------------------------------
def home_copy(starter: StarterIndex, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    home = tmp_path_factory.mktemp(name) / "home"
    shutil.copytree(starter.home, home)
    return home


def web_env(home: Path, **settings: str | None) -> dict[str, str]:
    return product_env(
        home,
        WEB_SHOP_SECRET=SHOP_SECRET,
        WEB_ALLOWED_ORIGINS=SHOP_ORIGIN,
        TURN_LOCK_WAIT_S="30",
        **settings,
    )


@pytest.fixture(scope="module")
def model() -> Any:
    with ConsultantModel() as stand_in:
        yield stand_in


@pytest.fixture(scope="module")
def embedded_env(
    starter_index: StarterIndex, tmp_path_factory: pytest.TempPathFactory, model: ConsultantModel
) -> dict[str, str]:
    home = home_copy(starter_index, tmp_path_factory, "web_embedded")
    # Chainlit would register a Slack app of its own at /chat/slack/events with these set: it must not.
    return web_env(
        home,
        OLLAMA_BASE_URL=model.url,
        OLLAMA_TIMEOUT_S="20",
        BREAKER_FAILURES="1000",
        SLACK_BOT_TOKEN="xoxb-not-the-chats",
        SLACK_SIGNING_SECRET="not-the-chats-either",
    )


@pytest.fixture(scope="module")
async def server(embedded_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Server]:
    web = Server("web", embedded_env, tmp_path_factory.mktemp("web_logs"))
    async with running(web):
        yield web


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as chromium:
        yield chromium


async def customer_page(browser: Browser, server: Server, locale: str, name: str) -> ChatPage:
    """A new customer (a fresh browser profile) on /chat, in the given locale: the harness the
    handoff tests build on."""
    context = await browser.new_context(locale=locale, viewport=VIEWPORT)  # type: ignore[arg-type]
    return await ChatPage.open(context, server.url, name)


def streamed_before_final(frames: list[Any]) -> tuple[int, bool]:
    """How many tokens arrived, and whether they all came before the message that stands."""
    tokens = [f for f in frames if f.event == "stream_token"]
    finals = [
        f
        for f in frames
        if f.event == "new_message" and f.data.get("type") == "assistant_message" and not f.data.get("streaming")
    ]
    return len(tokens), bool(tokens and finals and max(t.at for t in tokens) <= finals[-1].at)


def grew(samples: list[tuple[int, int]], before: int) -> list[int]:
    """The lengths the new assistant message showed while it grew (distinct, in order)."""
    lengths: list[int] = []
    for count, length in samples:
        if count == before + 1 and length and (not lengths or length != lengths[-1]):
            lengths.append(length)
    return lengths


async def assistant_count(chat: ChatPage) -> int:
    return await chat.page.locator('[data-step-type="assistant_message"]').count()


# -- 1. conversations in the browser ---------------------------------------------------------------
async def test_a_korean_conversation_streams_shows_cards_answers_a_button_and_survives_a_reload(
    browser: Browser, server: Server
) -> None:
    chat = await customer_page(browser, server, "ko-KR", "ko")
    page = chat.page
    main = page.get_by_role("main")
    assert await page.locator("#chat-input").get_attribute("placeholder") == "원하는 향을 편하게 말씀해 주세요…"
    await page.get_by_role("button", name="여름 시트러스").wait_for()
    await chat.screenshot("start")

    before = await assistant_count(chat)
    await chat.record_growth()
    mark = len(chat.frames)
    await chat.say("데이트할 때 뿌릴 로맨틱한 향수 있을까요?")
    frames = await chat.answered(mark)
    tokens, ordered = streamed_before_final(frames)
    assert tokens >= 5 and ordered, [f.event for f in frames]
    assert len(grew(await chat.growth(), before)) >= 3, "the reply did not visibly grow while it streamed"
    cards = page.locator('[data-testid="perfume-card"]')
    assert await cards.count() >= 3
    first_card = await cards.first.inner_text()
    assert "예시 데이터" in first_card and "원" in first_card, first_card
    answer = await page.locator('[data-step-type="assistant_message"]').last.inner_text()
    assert HANGUL.search(answer) and "추천" in answer, answer
    await chat.screenshot("cards")

    mark = len(chat.frames)
    await chat.press("더 가볍게")
    await chat.answered(mark)
    await main.get_by_text("좀 더 가벼운 향으로 보여 주세요.", exact=True).wait_for()
    assert await page.get_by_role("button", name="더 가볍게", exact=True).count() == 1, "old buttons stay"
    assert await cards.count() >= 6
    await chat.screenshot("lighter")

    await chat.goto("/chat")  # a reload of the chat's address lands in this conversation
    assert "/chat/thread/" in page.url, page.url
    await main.get_by_text("데이트할 때 뿌릴 로맨틱한 향수 있을까요?", exact=True).wait_for()
    await main.get_by_text("좀 더 가벼운 향으로 보여 주세요.", exact=True).wait_for()
    assert await cards.count() >= 6, "the cards did not come back with the history"
    await page.get_by_role("button", name="더 가볍게", exact=True).wait_for()  # the last answer's buttons too
    await chat.screenshot("after-reload")
    await page.context.close()


async def test_an_english_conversation_composes_a_formula_and_survives_a_reload(
    browser: Browser, server: Server
) -> None:
    chat = await customer_page(browser, server, "en-US", "en")
    page = chat.page
    main = page.get_by_role("main")
    assert await page.locator("#chat-input").get_attribute("placeholder") == "Describe the scent you're looking for…"
    await page.get_by_role("button", name="Fresh for summer").wait_for()

    mark = len(chat.frames)
    await chat.say("A fresh citrus perfume for summer, nothing too sweet")
    frames = await chat.answered(mark)
    assert streamed_before_final(frames)[1], [f.event for f in frames]
    assert await page.locator('[data-testid="perfume-card"]').count() >= 3
    assert "Sample data" in await page.locator('[data-testid="perfume-card"]').first.inner_text()
    await chat.screenshot("cards")

    mark = len(chat.frames)
    await chat.say("Compose a light floral perfume for spring with rose and bergamot")
    await chat.answered(mark)
    table = page.locator('[data-testid="formula-table"]').last
    await table.wait_for()
    verdict = await table.locator('[data-testid="formula-verdict"]').inner_text()
    assert "IFRA" in verdict, verdict
    text = await table.inner_text()
    assert "Allergens to declare on the label" in text and "Material" in text, text
    await chat.screenshot("formula")

    await chat.goto("/chat")
    assert "/chat/thread/" in page.url, page.url
    await main.get_by_text("A fresh citrus perfume for summer, nothing too sweet", exact=True).wait_for()
    await page.locator('[data-testid="formula-table"]').last.wait_for()
    await chat.screenshot("after-reload")
    await page.context.close()


async def test_a_staff_reply_appears_in_the_open_browser_and_stays_in_its_history(
    browser: Browser, server: Server, embedded_env: dict[str, str]
) -> None:
    """The customer presses "talk to a person"; a staff member answers through the REST staff API
    (signed in with an account made by `fragrance-ai user add`); the reply appears in the open page
    without the customer doing anything (service.watch -> channels/web/live.py -> internals), and
    is there after a reload."""
    await asyncio.to_thread(add_staff, embedded_env, "mina", STAFF_PASSWORD)
    chat = await customer_page(browser, server, "en-US", "handoff")
    page = chat.page
    main = page.get_by_role("main")
    mark = len(chat.frames)
    await chat.say("A woody perfume for autumn evenings")
    await chat.answered(mark)
    thread_id = next(f.data["thread_id"] for f in chat.frames if f.event == "first_interaction")

    mark = len(chat.frames)
    await chat.press("Talk to a person")
    await chat.answered(mark)
    await main.get_by_text("I'd like to talk to a person.", exact=True).wait_for()
    await chat.screenshot("asked-for-a-person")

    async with http_client() as client:
        signed = await client.post(
            f"{server.url}/api/v1/auth/login", json={"username": "mina", "password": STAFF_PASSWORD}
        )
        assert signed.status_code == 200, signed.text
        staff = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        reply = "Hello, I'm Mina from the shop. Would you like to try the two woody ones on your skin?"
        sent = await client.post(
            f"{server.url}/api/v1/handoffs/{thread_id}/messages", json={"text": reply}, headers=staff
        )
        assert sent.status_code == 200, sent.text
    await main.get_by_text(reply, exact=True).wait_for(timeout=30_000)
    pushed = [f.data for f in chat.events("new_message") if reply in f.data.get("output", "")]
    assert pushed and pushed[0]["name"] == "staff", pushed  # drawn with the staff avatar
    assert pushed[0]["output"].startswith("**mina** · shop staff"), pushed
    await chat.screenshot("staff-reply")

    await chat.goto("/chat")
    await main.get_by_text(reply, exact=True).wait_for()
    await chat.screenshot("staff-reply-after-reload")
    await page.context.close()


async def test_the_demo_shop_page_embeds_the_widget_and_it_answers(browser: Browser, server: Server) -> None:
    """/demo embeds the widget exactly as the README's snippet does: it signs in as a guest
    (POST /chat/auth/jwt), talks over a websocket only, and draws the cards inside the widget."""
    context = await browser.new_context(locale="ko-KR", viewport=VIEWPORT)  # type: ignore[arg-type]
    page = await context.new_page()
    polled: list[str] = []
    page.on("request", lambda request: polled.append(request.url) if "transport=polling" in request.url else None)
    chat = ChatPage(page=page, base_url=server.url, name="demo")
    page.on("websocket", chat._listen)
    await page.goto(f"{server.url}/demo")
    await page.locator("#chainlit-copilot-button").click()
    await chat.ready()
    mark = len(chat.frames)
    await chat.say("여름에 뿌릴 상큼한 시트러스 향수 추천해 주세요")
    await chat.answered(mark)
    assert await page.locator('[data-testid="perfume-card"]').count() >= 3
    assert not polled, polled
    await chat.screenshot("widget")
    await context.close()


# -- 2. identity, ownership and the shop-fit configuration, without a browser -------------------------
def shop_token(sub: str, lifetime_s: int = 600, secret: str = SHOP_SECRET) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + lifetime_s}, secret, algorithm="HS256")


def set_cookie(response: httpx.Response, name: str) -> str | None:
    return next((line for line in response.headers.get_list("set-cookie") if line.startswith(name + "=")), None)


async def test_the_visitor_cookie_is_signed_http_only_and_a_tampered_one_is_a_new_customer(server: Server) -> None:
    first = SocketChat(server.url)
    try:
        signed_in = await first.sign_in()
        assert signed_in.status_code == 200, signed_in.text
        line = set_cookie(signed_in, "fai_customer")
        assert line is not None and "HttpOnly" in line and "Path=/chat" in line and "SameSite=Lax" in line, line
        session = set_cookie(signed_in, "fai_chat_session")
        assert session is not None and "HttpOnly" in session, session
        customer = await first.identifier()
        visitor = first.cookie("fai_customer")
        assert visitor is not None and "anon" not in visitor  # signed, not readable as the id it names

        again = SocketChat(server.url, cookies={"fai_customer": visitor})
        try:
            response = await again.sign_in()
            assert response.status_code == 200 and set_cookie(response, "fai_customer") is None
            assert await again.identifier() == customer, "the same cookie names the same customer"
        finally:
            await again.close()

        tampered = visitor[:-3] + ("xyz" if not visitor.endswith("xyz") else "abc")
        forged = SocketChat(server.url, cookies={"fai_customer": tampered})
        try:
            response = await forged.sign_in()
            assert response.status_code == 200 and set_cookie(response, "fai_customer") is not None
            assert await forged.identifier() != customer, "a tampered cookie must not name the customer"
        finally:
            await forged.close()
    finally:
        await first.close()


async def test_a_shop_signed_customer_is_one_customer_and_bad_tokens_are_refused(server: Server) -> None:
    """The widget's sign-in (POST /chat/auth/jwt, the route that replaces Chainlit's own)."""

    async def sign_in(token: str) -> tuple[httpx.Response, str | None]:
        async with httpx.AsyncClient(base_url=server.url, trust_env=False) as client:
            response = await client.post("/chat/auth/jwt", headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 200:
                return response, None
            return response, str((await client.get("/chat/user")).json()["identifier"])

    first, shop_customer = await sign_in(shop_token("shop-customer-42"))
    assert first.status_code == 200 and shop_customer, first.text
    _, again = await sign_in(shop_token("shop-customer-42"))
    assert again == shop_customer, "the shop's customer is one customer on every sign-in"
    guest, anonymous = await sign_in("guest")
    assert guest.status_code == 200 and anonymous not in (None, shop_customer)

    for bad in (
        shop_token("shop-customer-42", secret="someone-else-entirely-0123456789abcdef"),
        shop_token("shop-customer-42", lifetime_s=-120),
        shop_token("shop-customer-42", lifetime_s=3 * 86400),
        shop_token("has spaces"),
        "not-a-token",
    ):
        refused, nobody = await sign_in(bad)
        assert refused.status_code == 401 and refused.json()["message"] and nobody is None, (bad, refused.text)
        assert "fai_chat_session" not in refused.cookies


async def test_nobody_opens_another_customers_thread(server: Server, embedded_env: dict[str, str]) -> None:
    owner, other = SocketChat(server.url), SocketChat(server.url)
    try:
        await owner.sign_in()
        await owner.connect()
        await owner.answered(await owner.say("시트러스 향수 추천해 주세요"))
        thread_id = owner.thread_id
        assert thread_id

        await other.sign_in()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await other.connect(thread_id=thread_id)  # Chainlit refuses to resume someone else's thread
        seen = await other.http.get(f"/chat/project/thread/{thread_id}")
        assert seen.status_code in (401, 403, 404), seen.text
        listed = await other.http.post("/chat/project/threads", json={"pagination": {"first": 20}, "filter": {}})
        assert thread_id not in listed.text

        # A conversation the Chainlit history does not know (started over the REST API by another
        # client) is still refused: the turn service checks whose conversation it is.
        stranger = SocketChat(server.url)
        try:
            await stranger.sign_in()
            rest_thread = await rest_conversation(server, embedded_env)
            await stranger.connect(thread_id=rest_thread)
            frames = await stranger.answered(await stranger.say("hello again"))
            texts = [f.data.get("output", "") for f in frames if isinstance(f.data, dict)]
            assert any("isn't available" in text for text in texts), texts
        finally:
            await stranger.close()
    finally:
        await owner.close()
        await other.close()


async def rest_conversation(server: Server, env: dict[str, str]) -> str:
    done = await asyncio.to_thread(run_cli, ["apikey", "create", "web-chat-tests", "--rate-limit", "1000/minute"], env)
    key = re.search(r"^(fai_\S+)$", done.stdout, re.MULTILINE)
    assert key, done.stdout + done.stderr[-2000:]
    async with http_client() as client:
        answer = await client.post(
            f"{server.url}/api/v1/chat",
            json={"message": "A rose perfume, please", "customer": "rest-customer"},
            headers={"Authorization": f"Bearer {key.group(1)}"},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["thread_id"])


async def test_the_chat_is_configured_for_a_shop(server: Server) -> None:
    """Websocket only, no uploads, no editing, CORS and socket origins limited to the configured
    shop (internals.set_cors_origins, check_socket_origins), and a forged button refused."""
    async with http_client() as client:
        page = await client.get(f"{server.url}/chat/")
        assert 'window.transports = ["websocket"]' in page.text
        for origin, allowed in ((SHOP_ORIGIN, True), ("https://evil.example", False)):
            preflight = await client.options(
                f"{server.url}/chat/project/settings",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
            )
            assert (preflight.headers.get("access-control-allow-origin") == origin) is allowed, preflight.headers

    async with http_client() as client:  # long-polling is refused, whatever the client asks for
        polling = await client.get(f"{server.url}/chat/ws/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert polling.status_code == 400, polling.text
        slack = await client.post(
            f"{server.url}/chat/slack/events", json={"type": "url_verification", "challenge": "x"}
        )
        assert slack.status_code in (404, 405), "Chainlit's own Slack app answered"

    evil = SocketChat(server.url)
    customer = SocketChat(server.url)
    try:
        await evil.sign_in()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await evil.connect(origin="https://evil.example")
        await customer.sign_in()
        settings = (await customer.http.get("/chat/project/settings?language=en-US")).json()
        assert settings["features"]["spontaneous_file_upload"]["enabled"] is False
        assert settings["features"]["edit_message"] is False
        await customer.connect(origin=server.url)
        await customer.answered(await customer.say("A citrus perfume for summer"))

        upload = await customer.http.post(
            "/chat/project/file",
            params={"session_id": customer.session_id},
            files={"file": ("notes.txt", b"hello", "text/plain")},
        )
        assert upload.status_code == 400, upload.text

        mark = len(customer.frames)
        forged = {"name": "without", "payload": {"note": "Unobtainium"}, "label": "x", "id": "forged", "forId": "x"}
        pressed = await customer.http.post(
            "/chat/project/action", json={"sessionId": customer.session_id, "action": forged}
        )
        assert pressed.status_code == 200, pressed.text
        await asyncio.sleep(1.0)
        texts = [f.data.get("output", "") for f in customer.frames[mark:] if isinstance(f.data, dict)]
        assert any("earlier answer" in text for text in texts), texts
        assert not any(f.event == "stream_start" for f in customer.frames[mark:]), "a forged button ran a turn"
    finally:
        await evil.close()
        await customer.close()


def sqlite_chat_rows(database: Path, customer_id: str) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        user = 'SELECT id FROM "User" WHERE identifier = ?'
        threads = f'SELECT id FROM "Thread" WHERE "userId" IN ({user})'
        return {
            "User": conn.execute(f"SELECT count(*) FROM ({user})", (customer_id,)).fetchone()[0],
            "Thread": conn.execute(f"SELECT count(*) FROM ({threads})", (customer_id,)).fetchone()[0],
            "Step": conn.execute(
                f'SELECT count(*) FROM "Step" WHERE "threadId" IN ({threads})', (customer_id,)
            ).fetchone()[0],
            "Element": conn.execute(
                f'SELECT count(*) FROM "Element" WHERE "threadId" IN ({threads})', (customer_id,)
            ).fetchone()[0],
        }


async def test_the_chat_history_keeps_nothing_a_customer_typed_raw(
    server: Server, embedded_env: dict[str, str]
) -> None:
    """Chainlit stores the customer's message step, names the thread after the first message and keeps
    feedback comments on its own: personal data is redacted in all of them too."""
    email, phone, card = "mina.kim@example.com", "010-4821-7730", "4111 1111 1111 1111"
    chat = SocketChat(server.url)
    try:
        await chat.sign_in()
        await chat.connect()
        frames = await chat.answered(await chat.say(f"장미 향수 추천해 주세요. 연락은 {email}, {phone}, 카드 {card}"))
        answer = next(f.data for f in reversed(frames) if f.event == "new_message")
        liked = await chat.http.put(
            "/chat/feedback",
            json={"sessionId": chat.session_id, "feedback": {"forId": answer["id"], "value": 1, "comment": email}},
        )
        assert liked.status_code == 200, liked.text
        await asyncio.sleep(1.5)  # Chainlit writes its history in the background
    finally:
        await chat.close()
    database = Path(embedded_env["FRAGRANCE_HOME"]) / "memory.sqlite3"

    def stored() -> str:
        with sqlite3.connect(database) as db:
            rows = [
                str(row) for table in ("Thread", "Step", "Feedback") for row in db.execute(f'SELECT * FROM "{table}"')
            ]
        return "\n".join(rows)

    held = await asyncio.to_thread(stored)
    assert "[email]" in held and "[phone]" in held, "the message step is not stored redacted"
    for raw in (email, phone, card, "4821-7730", "1111 1111"):
        assert raw not in held, f"{raw!r} is stored raw in the chat history"


async def test_erasing_a_customer_erases_their_chat_history_in_the_embedded_mode(
    server: Server, embedded_env: dict[str, str]
) -> None:
    """`fragrance-ai customer delete` reaches the chat history (it cascades from the customer); the
    page left open is told its chat ended, and the browser then starts as a new customer."""
    chat = SocketChat(server.url)
    try:
        await chat.sign_in()
        customer = await chat.identifier()
        await chat.connect()
        await chat.answered(await chat.say("A vanilla perfume for winter evenings"))
        await asyncio.sleep(1.0)  # Chainlit writes its history in the background
        database = Path(embedded_env["FRAGRANCE_HOME"]) / "memory.sqlite3"
        rows = await asyncio.to_thread(sqlite_chat_rows, database, customer)
        assert rows["User"] == 1 and rows["Thread"] == 1 and rows["Step"] >= 2 and rows["Element"] >= 1, rows

        erased = await asyncio.to_thread(run_cli, ["customer", "delete", customer, "--yes"], embedded_env)
        assert erased.returncode == 0, erased.stdout + erased.stderr[-2000:]
        assert await asyncio.to_thread(sqlite_chat_rows, database, customer) == dict.fromkeys(rows, 0)

        frames = await chat.answered(await chat.say("And something fresher?"))
        said = [f.data.get("output", "") for f in frames if isinstance(f.data, dict)]
        assert any("its data was deleted" in text for text in said), said
        page = await chat.http.get("/chat", follow_redirects=False)
        assert page.status_code == 200 and 'fai_chat_session=""' in page.headers.get("set-cookie", ""), page.headers
        chat.http.cookies.delete("fai_chat_session")
        await chat.sign_in()
        assert await chat.identifier() != customer, "an erased customer came back"
    finally:
        await chat.close()


def test_chainlit_is_mounted_once_per_process_and_each_app_lifetime_has_its_own_history(
    starter_index: StarterIndex, engine: SearchEngine, tmp_path: Path
) -> None:
    """Two apps in one process, as other test modules build them: the second shares the Chainlit
    mount of the first, and each app's lifespan gives the chat a data layer of its own, on its own
    database (internals.reset_data_layer), gone when the app stops."""
    import chainlit.data

    identities = []
    for name in ("first", "second"):
        settings = starter_index.settings.model_copy(
            update={"memory_dir": tmp_path / name, "database_url": None, "redis_url": None, "ollama_base_url": None}
        )
        with TestClient(create_app(settings, engine=engine)) as client:
            assert client.post("/chat/auth/header").status_code == 200
            identities.append(client.get("/chat/user").json()["identifier"])
        with sqlite3.connect(tmp_path / name / "memory.sqlite3") as conn:
            assert [row[0] for row in conn.execute('SELECT identifier FROM "User"')] == [identities[-1]]
        assert chainlit.data._data_layer is None, "the app's data layer outlived its app"
    assert identities[0] != identities[1]


# -- 3. server mode: the history in Postgres, across a restart, and its erasure -------------------------
async def chainlit_rows(dsn: str, customer_id: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        user = 'SELECT id FROM chainlit."User" WHERE identifier = $1'
        threads = f'SELECT id FROM chainlit."Thread" WHERE "userId" IN ({user})'
        steps = f'SELECT id FROM chainlit."Step" WHERE "threadId" IN ({threads})'
        return {
            "User": await conn.fetchval(f"SELECT count(*) FROM ({user}) u", customer_id),
            "Thread": await conn.fetchval(f"SELECT count(*) FROM ({threads}) t", customer_id),
            "Step": await conn.fetchval(f"SELECT count(*) FROM ({steps}) s", customer_id),
            "Element": await conn.fetchval(
                f'SELECT count(*) FROM chainlit."Element" WHERE "threadId" IN ({threads})', customer_id
            ),
            "Feedback": await conn.fetchval(
                f'SELECT count(*) FROM chainlit."Feedback" WHERE "stepId" IN ({steps})', customer_id
            ),
        }
    finally:
        await conn.close()


async def test_server_mode_keeps_the_history_in_postgres_across_a_restart_and_erases_it_with_the_customer(
    starter_index: StarterIndex, tmp_path_factory: pytest.TempPathFactory
) -> None:
    async with fresh_database() as dsn, redis_namespace(REDIS_URL) as (_, prefix):
        home = home_copy(starter_index, tmp_path_factory, "web_server_mode")
        env = web_env(home, DATABASE_URL=dsn, REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=prefix, WEB_SECRET="w" * 48)
        replica = Server("web-pg", env, tmp_path_factory.mktemp("web_pg_logs"))
        async with running(replica):
            chat = SocketChat(replica.url)
            try:
                await chat.sign_in()
                customer = await chat.identifier()
                await chat.connect()
                frames = await chat.answered(await chat.say("여름에 뿌릴 시트러스 향수 추천해 주세요"))
                answer = next(f.data for f in reversed(frames) if f.event == "new_message")
                cookies = {c.name: c.value or "" for c in chat.http.cookies.jar}
                thread_id = chat.thread_id
                assert thread_id
                liked = await chat.http.put(
                    "/chat/feedback",
                    json={
                        "sessionId": chat.session_id,
                        "feedback": {"forId": answer["id"], "value": 1, "comment": None},
                    },
                )
                assert liked.status_code == 200, liked.text

                # Talk to a person, and a staff reply pushed through Redis reaches this session live.
                mark = len(chat.frames)
                person = {"name": "person", "payload": {}, "label": "x", "id": str(uuid.uuid4()), "forId": answer["id"]}
                pressed = await chat.http.post(
                    "/chat/project/action", json={"sessionId": chat.session_id, "action": person}
                )
                assert pressed.status_code == 200, pressed.text
                await chat.answered(mark)
                await asyncio.to_thread(add_staff, env, "jun", STAFF_PASSWORD)
                async with http_client() as client:
                    signed = await client.post(
                        f"{replica.url}/api/v1/auth/login", json={"username": "jun", "password": STAFF_PASSWORD}
                    )
                    staff = {"Authorization": f"Bearer {signed.json()['access_token']}"}
                    sent = await client.post(
                        f"{replica.url}/api/v1/handoffs/{thread_id}/messages",
                        json={"text": "안녕하세요, 매장 직원 준입니다."},
                        headers=staff,
                    )
                    assert sent.status_code == 200, sent.text
                deadline = time.monotonic() + 30
                while not any("매장 직원 준입니다" in str(f.data) for f in chat.frames[mark:]):
                    assert time.monotonic() < deadline, [f.event for f in chat.frames[mark:]]
                    await asyncio.sleep(0.2)
            finally:
                await chat.close()
            await asyncio.sleep(1.0)  # Chainlit writes its history in the background
            rows = await chainlit_rows(dsn, customer)
            assert rows["User"] == 1 and rows["Thread"] == 1 and rows["Step"] >= 2, rows
            assert rows["Element"] >= 1 and rows["Feedback"] == 1, rows

            await replica.restart()
            async with httpx.AsyncClient(base_url=replica.url, trust_env=False, cookies=cookies) as client:
                back = await client.get("/chat", follow_redirects=False)
                assert back.status_code == 307 and back.headers["location"] == f"/chat/thread/{thread_id}"
                thread = (await client.get(f"/chat/project/thread/{thread_id}")).json()
            kinds = [step["type"] for step in thread["steps"]]
            assert "user_message" in kinds and "assistant_message" in kinds, kinds
            cards = [e for e in thread["elements"] if e["name"] == "PerfumeCards"]
            assert cards and cards[0]["props"]["cards"], thread["elements"]

            erased = await asyncio.to_thread(run_cli, ["customer", "delete", customer, "--yes"], env)
            assert erased.returncode == 0, erased.stdout + erased.stderr[-2000:]
            assert await chainlit_rows(dsn, customer) == dict.fromkeys(rows, 0)
