"""The web chat in the product's FastAPI app: Chainlit mounted at /chat with the product's sign-in,
origins and cookies, the demo shop page at /demo, and the part of the app's lifespan that opens and
closes what the chat serves with (Chainlit's own lifespan never runs when it is mounted).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from channels.web import boot
from channels.web.identity import ShopTokens, VisitorCookies, web_secrets
from channels.web.visitor import VisitorCookieMiddleware
from core.settings import Settings
from graphs.runtime import Runtime
from tools.search.lexicon import default_lexicon

CHAT_PATH = "/chat"
_APP_MODULE = Path(__file__).resolve().with_name("chainlit_app.py")
_DEMO_PAGE = Path(__file__).resolve().with_name("demo.html")
_mounted = False


def allowed_origins(settings: Settings) -> list[str]:
    return [origin.strip().rstrip("/") for origin in settings.web_allowed_origins.split(",") if origin.strip()]


def origin_allowed(origins: list[str], origin: str | None, environ: dict[str, Any]) -> bool:
    """A socket may be opened from the app's own pages (the origin's host is the one the request was
    sent to) or from a configured shop origin; from nowhere else."""
    if not origin:
        return True  # not a browser: the Origin header is what browsers add, and cookies need a browser
    if origin.rstrip("/") in origins:
        return True
    host = environ.get("HTTP_X_FORWARDED_HOST") or environ.get("HTTP_HOST") or ""
    return bool(host) and urlsplit(origin).netloc == host.split(",")[0].strip()


def mount_web_chat(app: FastAPI, settings: Settings) -> None:
    """Mount the chat on `app` (Chainlit itself is mounted once per process; a second app in the same
    process, as in tests, shares it)."""
    global _mounted
    secrets = web_secrets(settings)
    boot.prepare(settings, secrets.chainlit)
    from chainlit.server import app as chainlit_app
    from chainlit.utils import mount_chainlit

    from channels.web import internals, signin

    visitors = VisitorCookies(secrets.cookie, settings.web_customer_days * 86400)
    app.state.web_visitors = visitors
    app.add_middleware(
        VisitorCookieMiddleware,
        cookies=visitors,
        samesite=settings.web_cookie_samesite,
        secure=settings.web_cookie_secure,
    )
    # Before the mount, so these answer instead of Chainlit's own routes.
    app.add_api_route(f"{CHAT_PATH}/auth/jwt", signin.sign_in_with_token, methods=["POST"], include_in_schema=False)
    for path in (CHAT_PATH, f"{CHAT_PATH}/"):
        app.add_api_route(path, chat_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/demo", demo_page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    origins = allowed_origins(settings)
    internals.set_cors_origins(origins)
    internals.check_socket_origins(functools.partial(origin_allowed, origins))
    internals.websocket_only()
    internals.secure_session_cookie(settings.web_cookie_secure)
    if _mounted:
        app.mount(CHAT_PATH, chainlit_app)
    else:
        mount_chainlit(app, target=str(_APP_MODULE), path=CHAT_PATH)
        _mounted = True


async def chat_page(request: Request) -> Response:
    """GET /chat: a customer who comes back (a reload, a later visit) lands in their latest
    conversation, as it was; the chat's "new chat" button starts another. A first visit gets the
    chat's start page, and so does a browser whose customer was erased: its chat session is ended
    (the page then signs in a new visitor)."""
    from channels.web import internals, signin

    customer_id = signin.session_identifier(request)
    if customer_id is not None:
        if not await signin.customer_exists(customer_id):
            page = await internals.chat_page(request)
            page.delete_cookie(boot.SESSION_COOKIE, path="/")
            return page
        thread_id = await signin.latest_thread(customer_id)
        if thread_id is not None:
            return RedirectResponse(f"{CHAT_PATH}/thread/{thread_id}", status_code=307)
    return await internals.chat_page(request)


async def demo_page() -> HTMLResponse:
    """A shop page with the chat widget on it, as a shop would embed it (README, "The web chat")."""
    return HTMLResponse(_DEMO_PAGE.read_text(encoding="utf-8"))


@asynccontextmanager
async def open_web_chat(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    """What the chat serves with, for the app's lifetime: its history on the product's database,
    the live follow of open conversations, the sign-in's keys."""
    from channels.web import internals, state, turns
    from channels.web.history import open_history
    from channels.web.live import LiveThreads

    settings = runtime.settings
    internals.reset_data_layer()
    history = open_history(settings)
    live = LiveThreads(runtime.service, turns.show_pushed)
    chat = state.WebChat(
        settings=settings,
        runtime=runtime,
        visitors=app.state.web_visitors,
        shop=ShopTokens(settings.web_shop_secret) if settings.web_shop_secret else None,
        history=history,
        lexicon=runtime.engine.lexicon if runtime.engine is not None else default_lexicon(),
        live=live,
    )
    state.open_chat(chat)
    try:
        yield
    finally:
        state.close_chat(chat)
        await live.close()
        await history.close()
        internals.reset_data_layer()
