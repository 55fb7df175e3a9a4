"""Makes sure a browser signing in to the web chat carries a valid visitor cookie.

Chainlit's sign-in endpoints (POST /chat/auth/header, and the widget's POST /chat/auth/jwt with a
guest token) read who the visitor is from the request's cookies. A browser that has no valid
visitor cookie (a first visit, an expired or tampered cookie) gets a fresh one here: written into
the request as it reaches Chainlit, and set on the response, so the sign-in and the browser agree
on the same new visitor. Nothing else under /chat is touched.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from channels.web.identity import CUSTOMER_COOKIE, VisitorCookies, set_cookie_header

SIGN_IN_PATHS = frozenset({"/chat/auth/header", "/chat/auth/jwt"})


class VisitorCookieMiddleware:
    """Pure ASGI (no body buffering): only the headers of the sign-in requests change."""

    def __init__(self, app: ASGIApp, cookies: VisitorCookies, samesite: str, secure: bool) -> None:
        self.app = app
        self.cookies = cookies
        self.samesite = samesite
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in SIGN_IN_PATHS:
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or [])
        cookie = b"; ".join(value for name, value in headers if name == b"cookie").decode("latin-1")
        if self.cookies.from_cookie_header(cookie) is not None:
            await self.app(scope, receive, send)
            return
        _, value = self.cookies.mint()
        kept = [
            part for part in cookie.split(";") if part.strip() and not part.strip().startswith(CUSTOMER_COOKIE + "=")
        ]
        kept.append(f" {CUSTOMER_COOKIE}={value}")
        headers = [(name, raw) for name, raw in headers if name != b"cookie"]
        headers.append((b"cookie", ";".join(kept).strip().encode("latin-1")))
        set_cookie = set_cookie_header(value, self.cookies.max_age_s, self.samesite, self.secure).encode("latin-1")

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", set_cookie)]}
            await send(message)

        await self.app({**scope, "headers": headers}, receive, send_with_cookie)
