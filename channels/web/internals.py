"""Every use of Chainlit's internal (undocumented) API, in one place, for chainlit 2.12.0.

Chainlit has no public way to reach a live browser session from outside one of its handlers (a
staff reply arriving from Slack), to reset its data layer between two app lifetimes in one
process, to check the origin of its websocket or refuse long-polling, to mark its session cookie Secure without
SameSite=None, or to serve its page from a route of the product. These few functions do it;
tests/test_web_chat.py exercises each, so an upgrade that moves them fails there first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import chainlit.auth.cookie
import chainlit.data
import chainlit.server
from chainlit.context import init_ws_context
from chainlit.session import WebsocketSession, ws_sessions_id
from fastapi import Request, Response

T = TypeVar("T")


def live_sessions(thread_id: str) -> list[WebsocketSession]:
    """The browser sessions of this process that have the thread open now."""
    return [session for session in list(ws_sessions_id.values()) if session.thread_id == thread_id]


def session_by_id(session_id: str) -> WebsocketSession | None:
    return ws_sessions_id.get(session_id)


async def in_session(session: WebsocketSession, work: Callable[[], Awaitable[T]]) -> T:
    """Run `work` as if inside one of the session's handlers: in a task of its own, whose context
    (Chainlit keeps the session in a context variable) is the session's, so `cl.Message(...).send()`
    reaches that browser and is saved in its thread's history."""

    async def run() -> T:
        init_ws_context(session)
        return await work()

    return await asyncio.create_task(run())


async def chat_page(request: Request) -> Response:
    """Chainlit's own HTML page (its catch-all route), for a route of the product's that decides
    first whether to send the browser elsewhere."""
    response: Response = await chainlit.server.serve(request)
    return response


def reset_data_layer() -> None:
    """Forget the data layer Chainlit built, so the next use asks the product's hook again (a new
    app lifetime in the same process: its own settings, its own database)."""
    chainlit.data._data_layer = None
    chainlit.data._data_layer_initialized = False


def check_socket_origins(allowed: Callable[[str | None, dict[str, Any]], bool]) -> None:
    """Chainlit creates its socket server with CORS checks off (any site could open a socket with a
    customer's cookies); `allowed(origin, environ)` decides instead."""
    chainlit.server.sio.eio.cors_allowed_origins = allowed


def websocket_only() -> None:
    """The socket server accepts the websocket transport only (config.toml's `transports` tells the
    chat page, `window.transports` the widget; this holds for any client): no long-polling sessions
    for a load balancer to pin."""
    chainlit.server.sio.eio.transports = ["websocket"]


def set_cors_origins(origins: list[str]) -> None:
    """The origins Chainlit's HTTP CORS middleware accepts (read per request from this list)."""
    chainlit.server.config.project.allow_origins[:] = origins


def secure_session_cookie(secure: bool) -> None:
    """Chainlit marks its session cookie Secure only with SameSite=None; a shop on HTTPS wants it
    Secure with Lax too."""
    chainlit.auth.cookie._cookie_secure = secure or chainlit.auth.cookie._cookie_samesite == "none"
