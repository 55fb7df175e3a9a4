"""Signed tokens for staff and admin sign-in, with pyjwt: a short access token sent as
`Authorization: Bearer`, and a refresh token that lives in an HttpOnly cookie.

Both are HS256 JWTs under one server secret, told apart by their audience so neither can stand
in for the other. The access token is checked by signature and expiry alone (15 minutes keeps a
stolen one short-lived); the refresh token also names a row of the refresh_tokens table (its
`jti`), so it can be rotated, revoked and caught when reused (memory/accounts.py).

The secret is the JWT_SECRET setting; without it one is made on first use and kept in
FRAGRANCE_HOME/jwt_secret (mode 0600), so a restart keeps everyone signed in.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import stat
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from core.errors import FragranceError
from core.settings import Settings
from memory.records import RefreshToken, User, UserRole

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "fragrance-ai"
ACCESS_AUDIENCE = "fragrance-ai:access"
REFRESH_AUDIENCE = "fragrance-ai:refresh"
SECRET_FILE = "jwt_secret"
MIN_SECRET_CHARS = 32
MAX_TOKEN_CHARS = 2048
"""Longer than any token this server signs: a bigger one is refused before it is parsed."""


class TokenRejected(FragranceError):
    """A token that is malformed, forged, of the wrong kind, or expired (HTTP 401)."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    username: str
    role: UserRole
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RefreshClaims:
    jti: str
    user_id: str
    expires_at: datetime


def signing_secret(settings: Settings) -> str:
    """JWT_SECRET, or the one kept in FRAGRANCE_HOME (made now, atomically, when missing)."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if settings.database_url or settings.redis_url:
        log.warning(
            "JWT_SECRET is not set: tokens are signed with FRAGRANCE_HOME/jwt_secret, so a replica with another "
            "FRAGRANCE_HOME refuses them; set JWT_SECRET on every replica"
        )
    return _home_secret(settings.fragrance_home)


def _home_secret(home: Path) -> str:
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        scratch = home / f".{SECRET_FILE}.{uuid.uuid4().hex}"
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(scratch, path)  # atomic, and fails when another process made it first: theirs is kept
        except FileExistsError:
            pass
        finally:
            scratch.unlink()
        log.info("made a new token signing secret in %s", path)
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s was readable by other users; it is now mode 0600", path)
        path.chmod(0o600)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise FragranceError(f"{path} holds a secret shorter than {MIN_SECRET_CHARS} characters: delete it")
    return secret


class TokenIssuer:
    """Mints and reads the two kinds of token; also derives the CSRF signing key, so no second
    secret needs keeping."""

    def __init__(self, secret: str, *, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._secret = secret
        self.access_ttl = timedelta(seconds=access_ttl_s)
        self.refresh_ttl = timedelta(seconds=refresh_ttl_s)
        self.csrf_key = hashlib.sha256(b"fragrance-ai csrf\x00" + secret.encode()).hexdigest()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenIssuer:
        return cls(
            signing_secret(settings),
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
        )

    def access(self, user: User, *, now: datetime | None = None) -> tuple[str, datetime]:
        """An access token for the account and when it expires; `now` is for tests that need a
        token minted in the past."""
        issued = now or datetime.now(UTC)
        expires = issued + self.access_ttl
        claims = {
            "iss": ISSUER,
            "aud": ACCESS_AUDIENCE,
            "sub": user.id,
            "name": user.username,
            "role": user.role,
            "iat": issued,
            "exp": expires,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM), expires

    def refresh(self, token: RefreshToken) -> str:
        claims = {
            "iss": ISSUER,
            "aud": REFRESH_AUDIENCE,
            "sub": token.user_id,
            "jti": token.jti,
            "iat": token.created_at,
            "exp": token.expires_at,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def read_access(self, token: str) -> AccessClaims:
        claims = self._decode(token, ACCESS_AUDIENCE, "access token", ("sub", "name", "role"))
        if claims["role"] not in ("staff", "admin"):
            raise TokenRejected("the access token is not valid: sign in again")
        return AccessClaims(
            user_id=str(claims["sub"]),
            username=str(claims["name"]),
            role=claims["role"],
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def read_refresh(self, token: str, *, allow_expired: bool = False) -> RefreshClaims:
        """`allow_expired`: for signing out, where an expired session is still worth closing."""
        claims = self._decode(token, REFRESH_AUDIENCE, "session", ("sub", "jti"), verify_exp=not allow_expired)
        return RefreshClaims(
            jti=str(claims["jti"]),
            user_id=str(claims["sub"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )

    def _decode(
        self, token: str, audience: str, what: str, required: tuple[str, ...], *, verify_exp: bool = True
    ) -> dict[str, Any]:
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenRejected(f"the {what} is not valid: sign in again")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "iss", "aud", *required], "verify_exp": verify_exp},
            )
        except jwt.ExpiredSignatureError:
            if what == "access token":
                raise TokenRejected(
                    "the access token has expired: get a new one from POST /api/v1/auth/refresh, or sign in again",
                    expired=True,
                ) from None
            raise TokenRejected(f"the {what} has expired: sign in again", expired=True) from None
        except jwt.InvalidTokenError:
            raise TokenRejected(f"the {what} is not valid: sign in again") from None
        return claims
