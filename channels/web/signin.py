"""Signing a browser in to the web chat as one product customer, without a login form.

Two ways in, both ending in Chainlit's own session cookie for a Chainlit user whose identifier is
the customer's id:
- the chat page (POST /chat/auth/header, Chainlit's header sign-in): the anonymous visitor cookie
  (channels/web/visitor.py makes sure there is a valid one) names the visitor;
- the widget on a shop's page (POST /chat/auth/jwt with `Authorization: Bearer <token>`, which
  Chainlit's copilot sends): a token the shop signed names its logged-in customer, or the token
  "guest" signs in the anonymous visitor. This route replaces Chainlit's own /auth/jwt, which would
  trust any user a holder of Chainlit's secret describes.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chainlit.auth import create_jwt, decode_jwt, get_token_from_cookies, set_auth_cookie
from chainlit.types import Pagination, ThreadFilter
from chainlit.user import User
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import Headers

from channels.web import state
from channels.web.identity import SHOP
from channels.web.render import words
from memory.repository import StoreUnavailable

log = logging.getLogger(__name__)

GUEST_TOKEN = "guest"
RESUME_WITHIN = timedelta(days=7)
"""A conversation younger than this is where a returning customer lands."""


async def user_for(external_id: str) -> User:
    """The Chainlit user of the customer behind a web identity (created on first sight)."""
    web = state.current()
    customer = await web.runtime.memory.repository.customer_for("web", external_id)
    kind = "shop" if external_id.startswith(SHOP) else "guest"
    return User(
        identifier=customer.id, display_name=words("en", "guest") if kind == "guest" else None, metadata={"kind": kind}
    )


async def from_headers(headers: Headers) -> User | None:
    """Chainlit's header sign-in: the visitor the (verified) cookie names, None without one."""
    visitor = state.current().visitors.from_cookie_header(headers.get("cookie"))
    return None if visitor is None else await user_for(visitor)


async def sign_in_with_token(request: Request) -> Response:
    """POST /chat/auth/jwt: a shop's signed customer, or the guest visitor; 401 with a sentence for
    anything else."""
    web = state.current()
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return JSONResponse(status_code=401, content={"message": "send the shop's token as Authorization: Bearer"})
    if token == GUEST_TOKEN:
        external_id = web.visitors.from_cookie_header(request.headers.get("cookie"))
    else:
        external_id = web.shop.read(token) if web.shop is not None else None
    if external_id is None:
        return JSONResponse(
            status_code=401, content={"message": "the token is not valid: sign it with WEB_SHOP_SECRET"}
        )
    try:
        user = await user_for(external_id)
    except StoreUnavailable as exc:
        return JSONResponse(status_code=503, content={"message": str(exc)})
    try:  # Chainlit's own bookkeeping of its user; history waits for it, sign-in does not
        await web.history.create_user(user)
    except Exception as exc:
        log.warning("could not record the chat user: %s", type(exc).__name__)
    response = JSONResponse({"success": True})
    set_auth_cookie(request, response, create_jwt(user))
    return response


def session_identifier(request: Request) -> str | None:
    """The customer id the browser's chat session names (Chainlit's signed cookie), if it is valid."""
    token = get_token_from_cookies(dict(request.cookies))
    if not token:
        return None
    try:
        return decode_jwt(token).identifier
    except Exception:  # expired, forged, or signed before WEB_SECRET changed
        return None


async def customer_exists(customer_id: str) -> bool:
    return await state.current().runtime.memory.repository.get_customer(customer_id) is not None


async def latest_thread(customer_id: str) -> str | None:
    """The id of the customer's most recent conversation, when it is recent."""
    history = state.current().history
    try:
        user = await history.get_user(customer_id)
        if user is None:
            return None
        page = await history.list_threads(Pagination(first=1), ThreadFilter(userId=user.id))
    except Exception as exc:  # a history that does not answer: the start page
        log.warning("no conversation to resume: %s", type(exc).__name__)
        return None
    if not page.data:
        return None
    thread = page.data[0]
    updated = datetime.fromisoformat(thread["createdAt"])  # the layer reports updatedAt as createdAt
    return thread["id"] if datetime.now() - updated < RESUME_WITHIN else None
