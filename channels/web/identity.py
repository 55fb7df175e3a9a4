"""Who is typing in the web chat, without a login form.

A browser gets a signed, HttpOnly cookie naming one anonymous visitor ("anon:<random>"); a shop
whose customer is logged in on its own site passes that customer's id signed with a secret it
shares with us (a short JWT), so the same person's preferences follow them from any browser.
Either way the repository turns the identity into one product customer
(`customer_for("web", ...)`), and that customer's id is the Chainlit user's identifier: Chainlit
then refuses to open a thread whose author is someone else, and the turn service refuses a
conversation that belongs to another customer.

Nothing here trusts the client: a cookie that does not verify is treated as absent (the browser
becomes a new visitor), a shop token that does not verify is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import jwt
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core.settings import Settings

CUSTOMER_COOKIE = "fai_customer"
"""The anonymous visitor's cookie: its value is the signed visitor id, nothing else."""
COOKIE_PATH = "/chat"
ANONYMOUS = "anon:"
SHOP = "shop:"
_VISITOR = re.compile(r"anon:[0-9a-f]{32}")
_SHOP_ID = re.compile(r"[\x21-\x7e]{1,128}")  # printable ASCII, no spaces: an id, not a name
SHOP_TOKEN_MAX_LIFETIME_S = 24 * 3600
"""A shop token lives at most a day: it is minted per page view, not kept."""


@dataclass(frozen=True, slots=True)
class WebSecrets:
    """Keys derived from one secret, one per purpose, so a key leaked from one use signs nothing else."""

    cookie: str
    chainlit: str


def web_secrets(settings: Settings) -> WebSecrets:
    """WEB_SECRET, or the secret kept in FRAGRANCE_HOME (made on first use): replicas that share a
    home or a WEB_SECRET accept each other's cookies."""
    root = settings.web_secret or kept_secret(settings.fragrance_home / "web_secret")

    def derive(purpose: str) -> str:
        return hmac.new(root.encode(), f"fragrance-ai web {purpose}".encode(), hashlib.sha256).hexdigest()

    return WebSecrets(cookie=derive("customer cookie"), chainlit=derive("chainlit session"))


def kept_secret(path: Path) -> str:
    """The secret stored in `path` (mode 0600), made atomically on first use: two processes starting
    together on one home end up with the same secret."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the other process created it a moment ago and is writing it
            value = path.read_text(encoding="ascii").strip()
            if value:
                return value
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it and restart to make a new web secret") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    return value


class VisitorCookies:
    """The anonymous visitor's cookie: `itsdangerous` signs the visitor id with a timestamp, so a
    tampered or expired cookie reads as no cookie."""

    def __init__(self, secret: str, max_age_s: int) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt="fragrance-ai web visitor")
        self.max_age_s = max_age_s

    def mint(self) -> tuple[str, str]:
        """A new visitor: (visitor id, cookie value)."""
        visitor = ANONYMOUS + secrets.token_hex(16)
        return visitor, self._signer.dumps(visitor)

    def read(self, value: str | None) -> str | None:
        """The visitor id the cookie names, or None when it is missing, tampered with or too old."""
        if not value or len(value) > 512:
            return None
        try:
            visitor = self._signer.loads(value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is a BadSignature
            return None
        return visitor if isinstance(visitor, str) and _VISITOR.fullmatch(visitor) else None

    def from_cookie_header(self, header: str | None) -> str | None:
        return self.read(cookie_value(header, CUSTOMER_COOKIE))


class ShopTokens:
    """A logged-in shop customer, vouched for by the shop: a JWT signed with HS256 and the shared
    WEB_SHOP_SECRET, `{"sub": "<the shop's customer id>", "exp": <unix time>}` (see the README)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def read(self, token: str) -> str | None:
        """The shop's customer id, or None for a token that is malformed, forged, expired or meant
        to live longer than a day."""
        if len(token) > 2048:
            return None
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                options={"require": ["sub", "exp"]},
                leeway=30,
            )
        except jwt.PyJWTError:
            return None
        subject, expires = claims.get("sub"), claims.get("exp")
        if not isinstance(subject, str) or not _SHOP_ID.fullmatch(subject):
            return None
        if not isinstance(expires, int | float) or expires - time.time() > SHOP_TOKEN_MAX_LIFETIME_S:
            return None
        return SHOP + subject


def cookie_value(header: str | None, name: str) -> str | None:
    """One cookie's value from a Cookie header; a header that does not parse has none."""
    if not header:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(header)
    except Exception:  # http.cookies raises CookieError, and worse on odd input
        return None
    morsel = jar.get(name)
    return morsel.value if morsel is not None else None


def set_cookie_header(value: str, max_age_s: int, samesite: str, secure: bool) -> str:
    """The Set-Cookie line of the visitor cookie: HttpOnly (no script reads it), sent to /chat only."""
    parts = [f"{CUSTOMER_COOKIE}={value}", f"Max-Age={max_age_s}", f"Path={COOKIE_PATH}", "HttpOnly"]
    parts.append(f"SameSite={samesite.capitalize()}")
    if secure or samesite == "none":
        parts.append("Secure")
    return "; ".join(parts)
