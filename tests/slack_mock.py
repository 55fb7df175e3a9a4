"""A small stand-in for Slack on loopback: its Web API, response URLs and a Socket Mode websocket.

A real HTTP server (aiohttp) on 127.0.0.1 that the product's Slack client talks to over the wire, the
way Bolt tests itself: it answers auth.test, chat.postMessage, chat.update, chat.postEphemeral,
chat.getPermalink, users.info and apps.connections.open, records every call, and serves the websocket
Socket Mode connects to, so a test can push an envelope and read the app's acknowledgement. Nothing
here reaches the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

TEAM_ID = "T0FRAGRANCE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
CHANNEL_IDS = {"#fragrance-handoffs": "C0HANDOFF"}
"""Channel names the mock resolves to ids, as Slack answers chat.postMessage with the channel's id."""


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)


class SlackMock:
    """Start with `await mock.start()`, point FRAGRANCE_SLACK_API_URL at `mock.api_url`, stop at the end."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.sockets: list[web.WebSocketResponse] = []
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.base_url}/respond/{name}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # users.info and other readers use GET
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        for socket in self.sockets:
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what a test reads ----------------------------------------------------------------------------
    def of(self, method: str, **match: Any) -> list[Call]:
        """Recorded calls of `method` whose arguments hold every `match` value."""
        return [c for c in self.calls if c.method == method and all(c.args.get(k) == v for k, v in match.items())]

    async def wait_for(self, found: Callable[[], list[Any]], count: int = 1, within_s: float = 60.0) -> list[Any]:
        """Wait until `found()` returns at least `count` items; fails with what was recorded."""
        deadline = time.monotonic() + within_s
        async with self._changed:
            while len(items := found()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [
                        (c.method, {k: c.args.get(k) for k in ("channel", "thread_ts", "text")}) for c in self.calls
                    ]
                    raise AssertionError(f"waited {within_s:g} s for {count} item(s), got {len(items)}; calls: {seen}")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=left)
        return items

    async def quiet(self, seconds: float = 1.0) -> None:
        """Let background listeners run (used before asserting that nothing more was posted)."""
        await asyncio.sleep(seconds)

    async def push(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode envelope to every connected app."""
        for socket in self.sockets:
            await socket.send_str(json.dumps(envelope))

    # -- the wire ---------------------------------------------------------------------------------------
    async def _record(self, **kinds: Any) -> None:
        async with self._changed:
            for kind, item in kinds.items():
                getattr(self, kind).append(item)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args |= await request.json()
        elif request.method == "POST":
            args |= dict(await request.post())
        for key in ("blocks", "attachments"):  # form-encoded calls send these as JSON text
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") or args.get("token")
        answer = self._answer(method, args)
        await self._record(calls=Call(method=method, args=args, token=token))
        return web.json_response(answer)

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fragrance-shop.slack.com/",
                "team": "Fragrance Shop",
                "user": "fragrance",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in ("chat.postMessage", "chat.update"):
            channel = CHANNEL_IDS.get(str(args.get("channel")), str(args.get("channel")))
            ts = str(args.get("ts") or f"{1_700_000_000 + next(self._ts)}.000100")
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text"), "ts": ts}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ts)}.000200"}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts", "")).replace(".", "")
            return {"ok": True, "permalink": f"https://fragrance-shop.slack.com/archives/{args.get('channel')}/p{ts}"}
        if method == "users.info":
            user = str(args.get("user"))
            return {
                "ok": True,
                "user": {"id": user, "real_name": f"Staff {user}", "profile": {"display_name": "Jiyoon"}},
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        return {"ok": True}

    async def _respond(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(responses={"name": request.match_info["name"], **body})
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.sockets.append(socket)
        await socket.send_str(json.dumps({"type": "hello", "num_connections": len(self.sockets)}))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                await self._record(socket_acks=json.loads(message.data))
        self.sockets.remove(socket)
        return socket
