"""`fragrance-ai user add | list | disable` in subprocesses on an embedded home, as an operator
types them: exit codes, sentences, and what ends up stored and audited."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from core.settings import Settings
from memory import accounts
from memory.backends import open_memory
from tests.conftest import CLI, PROJECT_ROOT, cli_env

PASSWORD = "lavender and vetiver"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("user_cli_home")


def user_cli(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "user", *args],
        cwd=PROJECT_ROOT,
        env=cli_env(home),
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def stored(home: Path, username: str) -> tuple[object, list[tuple[str, str]]]:
    """The account and its audit entries (actor, action), read through the stores."""

    async def read() -> tuple[object, list[tuple[str, str]]]:
        async with open_memory(Settings(fragrance_home=home, database_url=None, redis_url=None)) as memory:
            user = await memory.repository.user_by_username(username)
            entries = await memory.repository.audit_entries(subject=username)
            return user, [(e.actor, e.action) for e in entries]

    return asyncio.run(read())


def test_an_admin_is_added_from_stdin_and_can_sign_in(home: Path) -> None:
    done = user_cli(home, "add", "Mina.Kim", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "Added admin mina.kim" in done.stdout and PASSWORD not in done.stdout + done.stderr
    user, audit = stored(home, "mina.kim")
    assert user is not None and user.role == "admin"  # type: ignore[attr-defined]
    assert user.password_hash.startswith("$argon2id$")  # type: ignore[attr-defined]
    assert PASSWORD.encode() not in (home / "memory.sqlite3").read_bytes()
    assert audit == [("cli", "user.add")]

    async def sign_in() -> object:
        async with open_memory(Settings(fragrance_home=home, database_url=None, redis_url=None)) as memory:
            return await accounts.sign_in(memory.repository, "mina.kim", PASSWORD)

    assert asyncio.run(sign_in()) == user


def test_the_password_prompt_asks_twice(home: Path) -> None:
    done = user_cli(home, "add", "jun", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert done.returncode == 0 and "Added staff jun" in done.stdout, done.stderr
    mismatch = user_cli(home, "add", "hana", stdin=f"{PASSWORD}\n{PASSWORD}x\n")
    assert mismatch.returncode == 2 and "do not match" in mismatch.stderr + mismatch.stdout
    assert "no password was given" in mismatch.stderr and stored(home, "hana")[0] is None


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["add", "x", "--password-stdin"], PASSWORD + "\n", "username 'x' is not valid"),
        (
            ["add", "seo-yeon", "--role", "owner", "--password-stdin"],
            PASSWORD + "\n",
            "role must be one of staff, admin",
        ),
        (["add", "seo-yeon", "--password-stdin"], "short\n", "too short: use at least 12 characters"),
        (["add", "seo-yeon", "--password-stdin"], "", "standard input is empty"),
    ],
)
def test_bad_input_exits_2_with_a_sentence(home: Path, args: list[str], stdin: str, message: str) -> None:
    done = user_cli(home, *args, stdin=stdin)
    assert done.returncode == 2 and message in done.stderr, (done.returncode, done.stderr)


def test_a_taken_username_exits_1(home: Path) -> None:
    user_cli(home, "add", "taken", "--password-stdin", stdin=PASSWORD + "\n")
    again = user_cli(home, "add", "taken", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert again.returncode == 1 and "there is already an account named 'taken'" in again.stderr


def test_accounts_are_listed_and_disabled(home: Path) -> None:
    user_cli(home, "add", "leaving", "--password-stdin", stdin=PASSWORD + "\n")
    user_cli(home, "add", "staying", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    disabled = user_cli(home, "disable", "leaving")
    assert disabled.returncode == 0 and "Disabled staff leaving" in disabled.stdout, disabled.stderr
    listed = user_cli(home, "list").stdout
    (line,) = [row for row in listed.splitlines() if row.startswith("leaving ")]
    assert "staff" in line and "disabled" in line
    assert next(row for row in listed.splitlines() if row.startswith("staying ")).endswith("active")
    assert stored(home, "leaving")[1] == [("cli", "user.disable"), ("cli", "user.add")]
    missing = user_cli(home, "disable", "nobody")
    assert missing.returncode == 1 and "there is no account nobody" in missing.stderr


def test_an_empty_list_says_how_to_start(tmp_path: Path) -> None:
    done = user_cli(tmp_path, "list")
    assert done.returncode == 0 and "fragrance-ai user add USERNAME --role admin" in done.stdout


def test_creating_an_api_key_is_audited(home: Path) -> None:
    made = subprocess.run(
        [*CLI, "apikey", "create", "shop website", "--scope", "admin"],
        cwd=PROJECT_ROOT,
        env=cli_env(home),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    key_id = made.stdout.split()[3]
    _, audit = stored(home, key_id)
    assert audit == [("cli", "apikey.create")]
