"""Staff and admin accounts and their refresh-token sessions, on both memory backends: the
repository contract (embedded SQLite, and a fresh real Postgres database) and memory/accounts.py
over it (argon2 hashing, sign-in, rotation with reuse detection)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
import pytest_asyncio
from argon2 import PasswordHasher

from memory import accounts
from memory.backends import open_memory
from memory.repository import RecordNotFound, Repository, UsernameTaken
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace, settings_for

PASSWORD = "correct horse battery staple"
HOUR = timedelta(hours=1)


@pytest_asyncio.fixture(scope="module", params=["embedded", "server"])
async def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Repository]:
    home = tmp_path_factory.mktemp(f"accounts_{request.param}")
    if request.param == "embedded":
        async with open_memory(settings_for(home)) as memory:
            yield memory.repository
        return
    async with (
        fresh_database() as dsn,
        redis_namespace() as (_, prefix),
        open_memory(settings_for(home, database_url=dsn, redis_url=REDIS_URL), prefix=prefix) as memory,
    ):
        yield memory.repository


def name(label: str = "user") -> str:
    return f"{label}-{uuid4().hex[:12]}"


# -- the repository contract -----------------------------------------------------------------
async def test_users_are_created_found_listed_and_unique(repo: Repository) -> None:
    username = name("alice")
    user = await repo.create_user(username, "hash-1", "staff")
    assert user.role == "staff" and user.disabled_at is None and user.created_at.tzinfo is not None
    assert await repo.get_user(user.id) == user
    assert await repo.user_by_username(username) == user
    assert await repo.user_by_username(name("nobody")) is None and await repo.get_user(uuid4().hex) is None
    with pytest.raises(UsernameTaken, match=f"already an account named '{username}'"):
        await repo.create_user(username, "hash-2", "admin")
    later = await repo.create_user(name("bob"), "hash-3", "admin")
    listed = [u.id for u in await repo.users()]
    assert listed.index(user.id) < listed.index(later.id)


async def test_password_hash_is_replaced(repo: Repository) -> None:
    user = await repo.create_user(name(), "old", "staff")
    await repo.set_password_hash(user.id, "new")
    assert (await repo.get_user(user.id)).password_hash == "new"  # type: ignore[union-attr]
    with pytest.raises(RecordNotFound):
        await repo.set_password_hash(uuid4().hex, "x")


async def test_disabling_keeps_the_first_time_and_revokes_every_token(repo: Repository) -> None:
    user = await repo.create_user(name(), "h", "staff")
    tokens = [
        await repo.create_refresh_token(uuid4().hex, user.id, family, datetime.now(UTC) + HOUR) for family in "ab"
    ]
    disabled = await repo.disable_user(user.id)
    assert disabled is not None and disabled.disabled_at is not None
    again = await repo.disable_user(user.id)
    assert again is not None and again.disabled_at == disabled.disabled_at
    for token in tokens:
        assert (await repo.get_refresh_token(token.jti)).revoked_at is not None  # type: ignore[union-attr]
    assert await repo.disable_user(uuid4().hex) is None


async def test_refresh_tokens_rotate_once(repo: Repository) -> None:
    user = await repo.create_user(name(), "h", "staff")
    first = await repo.create_refresh_token(uuid4().hex, user.id, "fam-" + uuid4().hex, datetime.now(UTC) + HOUR)
    assert first.expires_at > datetime.now(UTC) and first.revoked_at is None and first.replaced_by is None
    with pytest.raises(RecordNotFound):
        await repo.create_refresh_token(uuid4().hex, uuid4().hex, "f", datetime.now(UTC) + HOUR)
    second = await repo.rotate_refresh_token(first.jti, uuid4().hex, datetime.now(UTC) + HOUR)
    assert second is not None and second.family == first.family and second.user_id == user.id
    replaced = await repo.get_refresh_token(first.jti)
    assert replaced is not None and replaced.replaced_by == second.jti and replaced.revoked_at is not None
    assert await repo.rotate_refresh_token(first.jti, uuid4().hex, datetime.now(UTC) + HOUR) is None
    assert await repo.rotate_refresh_token(uuid4().hex, uuid4().hex, datetime.now(UTC) + HOUR) is None
    expired = await repo.create_refresh_token(uuid4().hex, user.id, "f2", datetime.now(UTC) - timedelta(seconds=1))
    assert await repo.rotate_refresh_token(expired.jti, uuid4().hex, datetime.now(UTC) + HOUR) is None


async def test_concurrent_rotations_of_one_token_give_one_successor(repo: Repository) -> None:
    user = await repo.create_user(name(), "h", "staff")
    token = await repo.create_refresh_token(uuid4().hex, user.id, uuid4().hex, datetime.now(UTC) + HOUR)
    results = await asyncio.gather(
        *(repo.rotate_refresh_token(token.jti, uuid4().hex, datetime.now(UTC) + HOUR) for _ in range(6))
    )
    assert sum(result is not None for result in results) == 1


async def test_revoking_a_family_leaves_other_families(repo: Repository) -> None:
    user = await repo.create_user(name(), "h", "staff")
    family, other = uuid4().hex, uuid4().hex
    a = await repo.create_refresh_token(uuid4().hex, user.id, family, datetime.now(UTC) + HOUR)
    b = await repo.rotate_refresh_token(a.jti, uuid4().hex, datetime.now(UTC) + HOUR)
    c = await repo.create_refresh_token(uuid4().hex, user.id, other, datetime.now(UTC) + HOUR)
    assert b is not None
    assert await repo.revoke_refresh_family(family) == 1  # a was already revoked by its rotation
    assert (await repo.get_refresh_token(b.jti)).revoked_at is not None  # type: ignore[union-attr]
    assert (await repo.get_refresh_token(c.jti)).revoked_at is None  # type: ignore[union-attr]


# -- memory/accounts.py over it --------------------------------------------------------------
async def test_an_account_is_added_with_an_argon2_hash_and_audited(repo: Repository) -> None:
    username = name("Carol").upper()
    user = await accounts.add_user(repo, f"  {username} ", PASSWORD, "admin", actor="cli")
    assert user.username == username.lower() and user.role == "admin"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    (entry,) = await repo.audit_entries(subject=user.username)
    assert (entry.actor, entry.action, entry.detail) == ("cli", "user.add", {"role": "admin"})


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("a", PASSWORD, "staff", "is not valid: use 2 to 64 characters"),
        ("bad name", PASSWORD, "staff", "is not valid"),
        ("dave", "short", "staff", "too short: use at least 12"),
        ("dave", "x" * 257, "staff", "too long"),
        ("dave", PASSWORD, "root", "role must be one of staff, admin"),
    ],
)
async def test_bad_accounts_are_refused_with_a_sentence(
    repo: Repository, username: str, password: str, role: str, message: str
) -> None:
    with pytest.raises(accounts.AccountError, match=message):
        await accounts.add_user(repo, username, password, role, actor="cli")


async def test_sign_in_checks_the_password_and_the_account(repo: Repository) -> None:
    user = await accounts.add_user(repo, name(), PASSWORD, "staff", actor="cli")
    assert await accounts.sign_in(repo, user.username.upper(), PASSWORD) == user
    with pytest.raises(accounts.SignInRefused, match="username or password is wrong") as wrong:
        await accounts.sign_in(repo, user.username, PASSWORD + "!")
    assert wrong.value.reason == "wrong_password"
    with pytest.raises(accounts.SignInRefused, match="username or password is wrong") as unknown:
        await accounts.sign_in(repo, name("ghost"), PASSWORD)
    assert unknown.value.reason == "unknown_user"
    await accounts.disable_user(repo, user.username, actor="cli")
    with pytest.raises(accounts.SignInRefused, match="disabled") as disabled:
        await accounts.sign_in(repo, user.username, PASSWORD)
    assert disabled.value.reason == "disabled"
    actions = [e.action for e in await repo.audit_entries(subject=user.username)]
    assert actions == ["user.disable", "user.add"]


async def test_a_weak_hash_is_replaced_at_sign_in(repo: Repository) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user = await repo.create_user(name(), weak, "staff")
    await accounts.sign_in(repo, user.username, PASSWORD)
    stored = (await repo.get_user(user.id)).password_hash  # type: ignore[union-attr]
    assert stored != weak and not PasswordHasher().check_needs_rehash(stored)


async def test_a_reused_refresh_token_ends_the_session(repo: Repository) -> None:
    user = await accounts.add_user(repo, name(), PASSWORD, "staff", actor="cli")
    first = await accounts.start_session(repo, user, HOUR)
    second = await accounts.rotate_session(repo, first.jti, HOUR)
    assert second.user == user and second.token.family == first.family
    with pytest.raises(accounts.SessionRefused, match="already used") as reused:
        await accounts.rotate_session(repo, first.jti, HOUR)  # a copy of the old token comes back
    assert reused.value.reason == "reused"
    with pytest.raises(accounts.SessionRefused, match="was ended") as ended:
        await accounts.rotate_session(repo, second.token.jti, HOUR)  # so the live one is dead too
    assert ended.value.reason == "revoked"
    with pytest.raises(accounts.SessionRefused, match="not known"):
        await accounts.rotate_session(repo, uuid4().hex, HOUR)


async def test_sign_out_and_disabling_end_sessions(repo: Repository) -> None:
    user = await accounts.add_user(repo, name(), PASSWORD, "staff", actor="cli")
    token = await accounts.start_session(repo, user, HOUR)
    ended = await accounts.end_session(repo, token.jti)
    assert ended is not None and await accounts.end_session(repo, uuid4().hex) is None
    with pytest.raises(accounts.SessionRefused, match="was ended"):
        await accounts.rotate_session(repo, token.jti, HOUR)
    other = await accounts.start_session(repo, user, HOUR)
    await accounts.disable_user(repo, user.username, actor="cli")
    with pytest.raises(accounts.SessionRefused):
        await accounts.rotate_session(repo, other.jti, HOUR)
    expired = await accounts.start_session(repo, await accounts.add_user(repo, name(), PASSWORD, "staff", "cli"), -HOUR)
    with pytest.raises(accounts.SessionRefused, match="expired") as late:
        await accounts.rotate_session(repo, expired.jti, HOUR)
    assert late.value.reason == "expired"
