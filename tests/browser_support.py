"""Real headless Chromium on the web chat, for tests/test_web_chat.py.

- `launch_chromium()`: Debian's /usr/bin/chromium driven by Playwright (its own browser download
  is not used), headless, with the flags the design notes list.
- `ChatPage`: one browser tab on /chat: waits for the chat to be ready, sends messages, presses
  buttons, records the socket frames the page receives (so a test can see tokens arrive before
  the final message) and saves screenshots of the whole conversation under `SCREENSHOTS`.
- `ConsultantModel`: a loopback stand-in for Ollama's /api/chat that streams the service role's
  reply in small pieces, written only from the tool results in its prompt (the output guard checks
  it like any model's); the intent and orchestrator roles get HTTP 500, so the embedded roles plan
  the turn. Ollama cannot run here; this is the model at the wire, nothing inside the product.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from playwright.async_api import Browser, BrowserContext, Page, WebSocket, async_playwright

from tests.conftest import CLI, PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = PROJECT_ROOT / "tests" / "artifacts" / "screenshots"
"""Where the browser tests save what the customer saw (ignored by git)."""
READY_S = 60.0
ANSWER_S = 90.0
"""A turn on two shared cores with the embedded roles: a few seconds alone, much more under load."""


# -- the browser -------------------------------------------------------------------------------------
@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package", pytrace=False)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Frame:
    at: float
    event: str
    data: Any


@dataclass
class ChatPage:
    """One tab on the web chat, as a customer uses it."""

    page: Page
    base_url: str
    name: str
    frames: list[Frame] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    @classmethod
    async def open(cls, context: BrowserContext, base_url: str, name: str, path: str = "/chat") -> ChatPage:
        chat = cls(page=await context.new_page(), base_url=base_url, name=name)
        chat.page.on("websocket", chat._listen)
        await chat.goto(path)
        return chat

    def _listen(self, socket: WebSocket) -> None:
        def received(payload: str | bytes) -> None:
            text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
            match = re.match(r"^42(\[.*)$", text, re.DOTALL)  # a socket.io event: 42["name", data]
            if match:
                with contextlib.suppress(ValueError):
                    name, *data = json.loads(match.group(1))
                    self.frames.append(Frame(time.monotonic(), name, data[0] if data else None))

        socket.on("framereceived", received)

    async def goto(self, path: str) -> None:
        mark = len(self.frames)
        await self.page.goto(self.base_url + path)
        await self.ready(mark)

    async def ready(self, since: int = 0) -> None:
        """The composer is there and the socket is connected (the page signed in on its own; Chainlit
        ends the connection's setup with a task_end)."""
        await self.page.locator("#chat-input").wait_for(state="visible", timeout=READY_S * 1000)
        deadline = time.monotonic() + READY_S
        while not any(f.event == "task_end" for f in self.frames[since:]):
            if time.monotonic() > deadline:
                pytest.fail(f"{self.name}: the chat's socket did not connect within {READY_S:g} s")
            await self.page.wait_for_timeout(100)

    def events(self, name: str) -> list[Frame]:
        return [frame for frame in self.frames if frame.event == name]

    async def say(self, text: str) -> None:
        box = self.page.locator("#chat-input")
        await box.fill(text)
        await box.press("Enter")

    async def press(self, label: str) -> None:
        await self.page.get_by_role("button", name=label, exact=True).last.click()

    async def answered(self, since: int, within: float = ANSWER_S) -> list[Frame]:
        """Wait until an answer started after frame number `since` stands (a final assistant message,
        not a streaming one) and its cards and buttons have landed; the frames it brought."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(_final_answer(frame) for frame in self.frames[since:]):
                settled = len(self.frames)
                await self.page.wait_for_timeout(800)  # elements and buttons follow the message
                if len(self.frames) == settled:
                    return self.frames[since:]
                continue
            await self.page.wait_for_timeout(100)
        pytest.fail(f"{self.name}: no answer within {within:g} s; frames: {[f.event for f in self.frames[since:]]}")

    async def record_growth(self) -> None:
        """From now on, sample the length of the newest assistant message every 30 ms (what the
        customer sees grow while a reply streams)."""
        await self.page.evaluate(
            """() => { window.__growth = []; clearInterval(window.__growthTimer);
                 window.__growthTimer = setInterval(() => {
                   const steps = document.querySelectorAll('[data-step-type="assistant_message"]');
                   const last = steps[steps.length - 1];
                   window.__growth.push([steps.length, last ? last.innerText.length : 0]);
                 }, 30); }"""
        )

    async def growth(self) -> list[tuple[int, int]]:
        samples = await self.page.evaluate(
            "() => { clearInterval(window.__growthTimer); return window.__growth || []; }"
        )
        return [(int(count), int(length)) for count, length in samples]

    async def screenshot(self, label: str) -> Path:
        """What the customer sees: the latest question at the top of the chat and its answer below
        it (where Chainlit's own scrolling puts a new exchange)."""
        await self.page.evaluate(
            """() => { const asked = document.querySelectorAll('[data-step-type="user_message"]');
                 const last = asked[asked.length - 1];
                 if (last) last.scrollIntoView({block: 'start'}); }"""
        )
        await self.page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}-{len(self.shots) + 1:02d}-{label}.png"
        await self.page.screenshot(path=str(path))
        self.shots.append(path)
        return path


def _final_answer(frame: Frame) -> bool:
    data = frame.data if isinstance(frame.data, dict) else {}
    return (
        frame.event in ("new_message", "update_message")
        and data.get("type") == "assistant_message"
        and not data.get("streaming")
        and bool(data.get("output"))
    )


# -- the model at the wire ---------------------------------------------------------------------------
_RESULTS = re.compile(r"\(JSON\):\s*")


def _results(system: str) -> list[dict[str, Any]]:
    """The tool results the service prompt carries (the last JSON block), as far as they parse."""
    found = list(_RESULTS.finditer(system))
    if not found:
        return []
    text = system[found[-1].end() :]
    with contextlib.suppress(ValueError):
        value, _ = json.JSONDecoder().raw_decode(text)
        return value if isinstance(value, list) else []
    return []


def _perfumes(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for result in results:
        output = result.get("output") or {}
        for item in output.get("results") or output.get("perfumes") or []:
            if isinstance(item, dict) and item.get("brand") and item.get("name"):
                out.append((str(item["brand"]), str(item["name"])))
    return out


def _amendment(results: list[dict[str, Any]]) -> str | None:
    for result in results:
        output = result.get("output") or {}
        amendment = (output.get("validation") or output).get("amendment") if isinstance(output, dict) else None
        if amendment:
            return str(amendment)
    return None


def consultant_reply(system: str) -> str:
    """A short, warm reply naming only what the results hold, in the prompt's language."""
    results = _results(system)
    korean = "도구 결과" in system
    perfumes = _perfumes(results)
    amendment = _amendment(results)
    if perfumes:
        names = [f"{brand} {name}" for brand, name in perfumes[:2]]
        if korean:
            return (
                f"{names[0]}부터 추천드려요"
                + (f", {names[1]}도 잘 어울려요" if len(names) > 1 else "")
                + ". 아래 카드에서 노트, 지속력, 가격을 확인해 보세요."
            )
        return (
            f"I'd start with {names[0]}"
            + (f", and {names[1]} is a close second" if len(names) > 1 else "")
            + ". The cards below show their notes, how long they last and the shop's price."
        )
    if amendment:
        if korean:
            return f"포뮬러를 정리했어요. {amendment} 기준으로 검증했고, 사용 전에 꼭 패치 테스트를 해 주세요."
        return f"Here is the formula, checked against the {amendment}. Please patch-test before use."
    return "말씀하신 내용을 확인했어요." if korean else "Thanks, I've noted that."


class ConsultantModel:
    """Ollama's /api/chat on loopback: the service role streams `consultant_reply` in pieces of a few
    characters, `delay_s` apart; every other role gets HTTP 500 (the product falls back to its
    embedded roles)."""

    def __init__(self, service_tag: str = "mistral:7b", delay_s: float = 0.06) -> None:
        self.service_tag = service_tag
        self.delay_s = delay_s
        self.replies: list[str] = []
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                if self.path != "/api/chat" or body.get("model") != model.service_tag:
                    self.send_response(500)
                    self.send_header("content-type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"error": "this stand-in only writes replies"}')
                    return
                system = next((m.get("content", "") for m in body.get("messages", []) if m.get("role") == "system"), "")
                reply = consultant_reply(system)
                model.replies.append(reply)
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.end_headers()
                for start in range(0, len(reply), 6):
                    line = {
                        "model": model.service_tag,
                        "message": {"role": "assistant", "content": reply[start : start + 6]},
                    }
                    self.wfile.write((json.dumps({**line, "done": False}, ensure_ascii=False) + "\n").encode())
                    self.wfile.flush()
                    time.sleep(model.delay_s)
                done = {"model": model.service_tag, "message": {"role": "assistant", "content": ""}, "done": True}
                self.wfile.write((json.dumps({**done, "done_reason": "stop"}) + "\n").encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ConsultantModel:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- staff ------------------------------------------------------------------------------------------
def add_staff(env: dict[str, str], username: str, password: str) -> None:
    """`fragrance-ai user add NAME --role staff`, as an operator does it."""
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


# -- a chat client without a browser -------------------------------------------------------------------
class SocketChat:
    """Signs in over HTTP as the chat page does (POST /chat/auth/header, cookies kept), then talks
    over Chainlit's socket.io endpoint like the page: for what needs no browser."""

    def __init__(self, base_url: str, cookies: dict[str, str] | None = None) -> None:
        self.base_url = base_url
        self.http = httpx.AsyncClient(base_url=base_url, trust_env=False, timeout=60.0, cookies=cookies)
        self.socket = socketio.AsyncClient(reconnection=False)
        self.session_id = str(uuid.uuid4())
        self.frames: list[Frame] = []
        self.thread_id: str | None = None

        @self.socket.on("*")
        async def received(event: str, data: Any = None) -> None:
            self.frames.append(Frame(time.monotonic(), event, data))
            if event == "first_interaction" and isinstance(data, dict):
                self.thread_id = data.get("thread_id")

    async def sign_in(self) -> httpx.Response:
        return await self.http.post("/chat/auth/header")

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.http.cookies.jar if c.name == name), None)

    async def identifier(self) -> str:
        me = await self.http.get("/chat/user")
        assert me.status_code == 200, me.text
        return str(me.json()["identifier"])

    async def connect(self, thread_id: str | None = None, origin: str | None = None) -> None:
        headers = {"Cookie": "; ".join(f"{c.name}={c.value}" for c in self.http.cookies.jar)}
        if origin is not None:
            headers["Origin"] = origin
        auth = {
            "sessionId": self.session_id,
            "clientType": "webapp",
            "threadId": thread_id,
            "userEnv": "{}",
            "chatProfile": None,
        }
        await self.socket.connect(
            self.base_url,
            socketio_path="/chat/ws/socket.io",
            transports=["websocket"],
            headers=headers,
            auth=auth,
            wait_timeout=20,
        )
        await self.socket.emit("connection_successful")
        self.thread_id = thread_id or self.thread_id

    async def say(self, text: str) -> int:
        """Send a message as the page does; the frame count before it (for `answered`)."""
        mark = len(self.frames)
        step = {
            "id": str(uuid.uuid4()),
            "threadId": self.thread_id or "",
            "output": text,
            "name": "customer",
            "type": "user_message",
            "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        await self.socket.emit("client_message", {"message": step, "fileReferences": None})
        return mark

    async def answered(self, since: int, within: float = ANSWER_S) -> list[Frame]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if any(_final_answer(frame) for frame in self.frames[since:]):
                settled = len(self.frames)
                await asyncio.sleep(0.8)
                if len(self.frames) == settled:
                    return self.frames[since:]
                continue
            await asyncio.sleep(0.1)
        pytest.fail(f"no answer on the socket within {within:g} s; frames: {[f.event for f in self.frames[since:]]}")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.socket.disconnect()
        await self.http.aclose()
