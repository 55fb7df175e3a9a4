"""The operator's commands as the README gives them, in subprocesses on an embedded home:
migrate, apikey create/list/revoke, customer export/delete, purge."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.settings import Settings
from memory.backends import open_memory
from memory.records import Turn
from tests.conftest import run_cli

KEY = re.compile(r"(?m)^(fai_[0-9a-f]{12}_[A-Za-z0-9_-]{43})$")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("admin_home")


def embedded(home: Path) -> Settings:
    """The CLI's stores on this home, whatever server settings the environment holds."""
    return Settings(fragrance_home=home, database_url=None, redis_url=None)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(list(args), home, timeout=120)


async def seed_customer(home: Path) -> tuple[str, str]:
    """A customer with a preference and an old conversation, written through the stores."""
    async with open_memory(embedded(home)) as memory:
        repository = memory.repository
        customer = await repository.customer_for("cli", "seeded")
        await repository.open_conversation("seeded-thread", customer.id, "cli")
        await repository.record_turn(
            Turn(conversation_id="seeded-thread", message_id="m1", user_text="no oud please", reply_text="Noted.")
        )
        preferences = await repository.preferences(customer.id)
        await repository.save_preferences(customer.id, type(preferences)(disliked_notes=("Oud",)))
        await memory.sessions.append("seeded-thread", {"type": "reply", "text": "Noted."})
        return customer.id, "seeded-thread"


def test_migrate_twice_says_what_it_did(home: Path) -> None:
    first, second = cli(home, "migrate"), cli(home, "migrate")
    assert first.returncode == 0 and "Applied" in first.stdout, first.stderr
    assert second.returncode == 0 and "already up to date" in second.stdout, second.stderr


def test_api_keys_are_created_listed_and_revoked(home: Path) -> None:
    made = cli(home, "apikey", "create", "shop website", "--scope", "chat", "--scope", "admin")
    assert made.returncode == 0, made.stderr
    (secret,) = KEY.findall(made.stdout)
    key_id = re.search(r"Created API key ([0-9a-f]+)", made.stdout).group(1)  # type: ignore[union-attr]
    listed = cli(home, "apikey", "list")
    assert key_id in listed.stdout and "admin,chat" in listed.stdout and "active" in listed.stdout
    assert secret not in listed.stdout and secret not in (home / "memory.sqlite3").read_bytes().decode("latin-1")
    revoked = cli(home, "apikey", "revoke", key_id)
    assert revoked.returncode == 0 and "Revoked" in revoked.stdout
    assert "revoked" in cli(home, "apikey", "list").stdout
    missing = cli(home, "apikey", "revoke", "nope")
    assert missing.returncode == 1 and "there is no API key nope" in missing.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apikey", "create", "x", "--scope", "root"], "scopes must be some of chat, admin"),
        (["apikey", "create", "x", "--rate-limit", "lots"], "is not a rate"),
        (["apikey", "create", " "], "1 to 100 characters"),
    ],
)
def test_bad_key_options_exit_2_with_a_sentence(home: Path, args: list[str], message: str) -> None:
    done = cli(home, *args)
    assert done.returncode == 2 and message in done.stderr, (done.returncode, done.stderr)


def test_a_customer_is_exported_then_erased_everywhere(home: Path) -> None:
    customer_id, thread = asyncio.run(seed_customer(home))
    out = home / "export.json"
    exported = cli(home, "customer", "export", customer_id, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["preferences"]["disliked_notes"] == ["Oud"]
    assert [m["content"] for m in data["conversations"][0]["messages"]] == ["no oud please", "Noted."]

    erased = cli(home, "customer", "delete", customer_id, "--yes")
    assert erased.returncode == 0 and "1 conversations" in erased.stdout, erased.stderr
    again = cli(home, "customer", "export", customer_id)
    assert again.returncode == 1 and f"there is no customer {customer_id}" in again.stderr

    async def leftovers() -> tuple[object, object]:
        async with open_memory(embedded(home)) as memory:
            entries = await memory.repository.audit_entries(subject=customer_id)
            return await memory.repository.transcript(thread), {e.action for e in entries}

    transcript, actions = asyncio.run(leftovers())
    assert transcript == [] and {"customer.export", "customer.delete"} <= actions  # type: ignore[operator]


def test_purge_deletes_old_transcripts_only(home: Path) -> None:
    async def seed() -> None:
        async with open_memory(embedded(home)) as memory:
            customer = await memory.repository.customer_for("cli", "purged")
            for thread in ("old-thread", "recent-thread"):
                await memory.repository.open_conversation(thread, customer.id, "cli")
                await memory.repository.record_turn(
                    Turn(conversation_id=thread, message_id="m", user_text="rose?", reply_text="Here.")
                )

    asyncio.run(seed())
    # Age one conversation's lines by 40 days, as time would.
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    with sqlite3.connect(home / "memory.sqlite3") as db:
        db.execute("UPDATE messages SET created_at = ? WHERE conversation_id = 'old-thread'", (old,))
        db.execute("UPDATE conversations SET updated_at = ? WHERE id = 'old-thread'", (old,))
    purged = cli(home, "purge", "--older-than-days", "30")
    assert purged.returncode == 0 and "Deleted 2 transcript lines older than 30 days" in purged.stdout, purged.stderr

    async def lines(thread: str) -> int:
        async with open_memory(embedded(home)) as memory:
            return len(await memory.repository.transcript(thread))

    assert asyncio.run(lines("old-thread")) == 0 and asyncio.run(lines("recent-thread")) == 2
