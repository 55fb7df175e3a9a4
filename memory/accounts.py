"""Staff and admin accounts: passwords hashed with argon2id, sign-in, and refresh-token sessions.

People choose and remember passwords, so they get a slow, memory-hard hash (argon2-cffi's
defaults: argon2id, 64 MiB, 3 passes) whose parameters travel inside the stored hash; a hash made
with weaker parameters is replaced at the next successful sign-in. Hashing takes tens of
milliseconds of CPU: it runs in a worker thread, never on the event loop.

A sign-in starts a session: a family of refresh tokens in which each refresh replaces the token
presented by a new one. A replaced token presented again means it was copied (the legitimate
client already holds its successor), so the whole family is revoked and both copies must sign in
again (OAuth 2.0 Security BCP, refresh token rotation).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from core.errors import FragranceError
from memory.records import RefreshToken, User, UserRole
from memory.repository import Repository

ROLES: tuple[UserRole, ...] = get_args(UserRole)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
USERNAME_RULE = "2 to 64 characters: lowercase letters, digits, '.', '_' or '-', starting with a letter or digit"
MIN_PASSWORD = 12
MAX_PASSWORD = 256
"""Bounded: argon2 hashes any length, but a megabyte password is only a way to burn CPU."""

_hasher = PasswordHasher()
# Verified against when the username is unknown, so an unknown name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has: it only spends the same time")


class AccountError(FragranceError):
    """A bad username, password or role (CLI exit 2, HTTP 422)."""


class SignInRefused(FragranceError):
    """Wrong username or password, or a disabled account. `reason` is for the audit log only: a
    caller is told the same sentence for an unknown name and a wrong password."""

    def __init__(self, message: str, reason: Literal["unknown_user", "wrong_password", "disabled"]) -> None:
        super().__init__(message)
        self.reason = reason


class SessionRefused(FragranceError):
    """A refresh token that is unknown, expired, revoked or reused; or its account is disabled."""

    def __init__(self, message: str, reason: Literal["unknown", "expired", "revoked", "reused", "disabled"]) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Session:
    """The account and the refresh token now valid for it."""

    user: User
    token: RefreshToken


def check_username(username: str) -> str:
    """The username as stored (lowercase); AccountError with the rule otherwise."""
    name = username.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(f"the username {username!r} is not valid: use {USERNAME_RULE}")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"the password is too long: use at most {MAX_PASSWORD} characters")
    return password


def check_role(role: str) -> UserRole:
    if role not in ROLES:
        raise AccountError(f"the role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    return await asyncio.to_thread(_verify, password_hash, password)


# -- accounts --------------------------------------------------------------------------------
async def add_user(repository: Repository, username: str, password: str, role: str, actor: str) -> User:
    """Create an account (audited as user.add by `actor`); AccountError for a bad username,
    password or role, UsernameTaken when the name is in use."""
    name, checked_role = check_username(username), check_role(role)
    user = await repository.create_user(name, await hash_password(check_password(password)), checked_role)
    await repository.audit(actor, "user.add", name, {"role": checked_role})
    return user


async def disable_user(repository: Repository, username: str, actor: str) -> User | None:
    """Disable the account and end its sessions at once (audited as user.disable); None when
    there is no such account. Its access tokens stop working at their next request."""
    user = await repository.user_by_username(username.strip().lower())
    if user is None:
        return None
    disabled = await repository.disable_user(user.id)
    await repository.audit(actor, "user.disable", user.username)
    return disabled


async def sign_in(repository: Repository, username: str, password: str) -> User:
    """The account when the password is right and the account enabled; SignInRefused otherwise.
    A hash with outdated parameters is replaced now that the password is known."""
    user = await repository.user_by_username(username.strip().lower())
    if user is None:
        await verify_password(_DUMMY_HASH, password)
        raise SignInRefused("the username or password is wrong", "unknown_user")
    if not await verify_password(user.password_hash, password):
        raise SignInRefused("the username or password is wrong", "wrong_password")
    if user.disabled_at is not None:
        raise SignInRefused("this account is disabled: ask an administrator", "disabled")
    if _hasher.check_needs_rehash(user.password_hash):
        await repository.set_password_hash(user.id, await hash_password(password))
    return user


# -- sessions: refresh-token families ----------------------------------------------------------
def new_token_id() -> str:
    return uuid.uuid4().hex


async def start_session(repository: Repository, user: User, lifetime: timedelta) -> RefreshToken:
    """The first refresh token of a new family."""
    return await repository.create_refresh_token(new_token_id(), user.id, new_token_id(), datetime.now(UTC) + lifetime)


async def rotate_session(repository: Repository, jti: str, lifetime: timedelta) -> Session:
    """Exchange a live refresh token for its successor. A token already replaced is a reuse: the
    family is revoked and SessionRefused(reason="reused") raised."""
    token = await repository.rotate_refresh_token(jti, new_token_id(), datetime.now(UTC) + lifetime)
    if token is None:
        raise await _why_not_live(repository, jti)
    user = await repository.get_user(token.user_id)
    if user is None or user.disabled_at is not None:
        await repository.revoke_refresh_family(token.family)
        raise SessionRefused("this account is disabled: ask an administrator", "disabled")
    return Session(user=user, token=token)


async def _why_not_live(repository: Repository, jti: str) -> SessionRefused:
    old = await repository.get_refresh_token(jti)
    if old is None:
        return SessionRefused("the session is not known: sign in again", "unknown")
    if old.replaced_by is not None:
        await repository.revoke_refresh_family(old.family)
        return SessionRefused(
            "this refresh token was already used, so the session was ended for safety: sign in again", "reused"
        )
    if old.revoked_at is not None:
        return SessionRefused("the session was ended: sign in again", "revoked")
    return SessionRefused("the session expired: sign in again", "expired")


async def end_session(repository: Repository, jti: str) -> RefreshToken | None:
    """Revoke the token's whole family (sign-out); the token as it was, None when unknown."""
    token = await repository.get_refresh_token(jti)
    if token is not None:
        await repository.revoke_refresh_family(token.family)
    return token
