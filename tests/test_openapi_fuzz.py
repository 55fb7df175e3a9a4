"""Schemathesis fuzzing of every operation of the app's OpenAPI document, in-process over ASGI (the
app's real lifespan, server mode on a fresh real Postgres database and a Redis namespace): no
answer may be a 5xx.

Each operation gets a bounded number of generated requests (FUZZ_EXAMPLES, default 8), so the run
fits in about a minute and a half on two cores. Requests carry credentials for the role their route
needs (a chat key, a staff member's or an admin's access token), and every other request of a
route that takes a thread, a ticket or a session gets one that exists, so the authorised paths run
too, not only the refusals.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi

from channels.rest.app import create_app
from channels.rest.security import CSRF_HEADER
from channels.rest.tokens import TokenIssuer
from core.settings import Settings
from memory import accounts
from memory.apikeys import mint
from memory.backends import open_memory
from tests.auth_support import PASSWORD, SECRET
from tests.conftest import StarterIndex
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace
from tools.search.engine import SearchEngine

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
UNLIMITED = "100000/minute"
REQUEST_TIMEOUT_S = 60
"""A slow answer is not what this test looks for (schemathesis waits 10 s by default): on two busy cores
a first search or turn can take longer."""


@dataclass
class Seeded:
    """What the fuzzer's requests may use: credentials per role and records that exist."""

    settings: Settings
    chat_key: str
    staff_token: str
    admin_token: str
    staff_username: str
    thread_id: str
    """A thread of the chat key's customer."""
    ticket_thread_id: str
    """A thread with an open request for a person."""
    customer_id: str
    erasable_customer_id: str
    """A customer the DELETE route may erase (the others' threads must outlive it)."""


@pytest.fixture(scope="module")
async def seeded(starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[Seeded]:
    async with fresh_database() as dsn, redis_namespace() as (_, prefix):
        fuzz_settings = starter_index.settings.model_copy(
            update={
                "ollama_base_url": None,
                "database_url": dsn,
                "redis_url": REDIS_URL,
                "redis_key_prefix": prefix,
                "jwt_secret": SecretStr(SECRET),
                "turn_lock_wait_s": 1.0,
                "api_rate_limit": UNLIMITED,
                "customer_rate_limit": UNLIMITED,
                "staff_rate_limit": UNLIMITED,
                "admin_rate_limit": UNLIMITED,
                "signin_failures_per_address": UNLIMITED,  # per username stays as shipped: its 429 is fuzzed
            }
        )
        async with open_memory(fuzz_settings) as memory:  # migrates the fresh database
            repository = memory.repository
            key = await mint(repository, "fuzz", ("chat",))
            customer = await repository.customer_for("api", f"{key.record.id}:-", api_key_id=key.record.id)
            thread = await repository.open_conversation("fuzz-thread", customer.id, "api")
            asked = await repository.open_conversation("fuzz-ticket-thread", customer.id, "api")
            await repository.open_ticket(asked.id, customer.id, "fuzzing")
            erasable = await repository.customer_for("api", f"{key.record.id}:erasable", api_key_id=key.record.id)
            await repository.open_conversation("fuzz-erased-thread", erasable.id, "api")
            staff = await accounts.add_user(repository, "fuzz-staff", PASSWORD, "staff", actor="tests")
            admin = await accounts.add_user(repository, "fuzz-admin", PASSWORD, "admin", actor="tests")
        issuer = TokenIssuer.from_settings(fuzz_settings)
        yield Seeded(
            settings=fuzz_settings,
            chat_key=key.secret,
            staff_token=issuer.access(staff)[0],
            admin_token=issuer.access(admin)[0],
            staff_username=staff.username,
            thread_id=thread.id,
            ticket_thread_id=asked.id,
            customer_id=customer.id,
            erasable_customer_id=erasable.id,
        )


@pytest.fixture(scope="module")
def api_schema(seeded: Seeded) -> Iterator[Any]:
    """The app's OpenAPI document; schemathesis runs the app (and its lifespan) on an event loop
    thread of its own, where every request of this module is answered. The app loads its own
    search engine there: the session's engine batches on the session's loop, and a search sent
    to it from this other loop would wait forever."""
    app = create_app(seeded.settings)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema
    asgi.shutdown_lifespans()  # close the app's pools before the database is dropped


def _operations() -> list[str]:
    """Every operation of the document, read from an app that is built but not started."""
    spec = create_app(Settings(_env_file=None)).openapi()  # type: ignore[call-arg]
    return [f"{method.upper()} {path}" for path, methods in spec["paths"].items() for method in methods]


_calls: dict[str, Iterator[int]] = {}


def _credentials(path: str, seeded: Seeded) -> dict[str, str]:
    if path.startswith(("/api/v1/chat", "/api/v1/threads")):
        return {"Authorization": f"Bearer {seeded.chat_key}"}
    if path.startswith("/api/v1/admin"):
        return {"Authorization": f"Bearer {seeded.admin_token}"}
    if path.startswith(("/api/v1/handoffs", "/api/v1/auth/me")):
        return {"Authorization": f"Bearer {seeded.staff_token}"}
    return {}


def _session(app: Any) -> tuple[dict[str, str], dict[str, str]]:
    """A real sign-in's cookies and CSRF header, made through the app itself."""
    with asgi.get_client(app) as client:
        answer = client.post("/api/v1/auth/login", json={"username": "fuzz-staff", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {c.name: c.value or "" for c in answer.cookies}, {CSRF_HEADER: answer.json()["csrf_token"]}


@pytest.mark.parametrize("label", _operations())
def test_no_operation_answers_5xx(label: str, api_schema: Any, seeded: Seeded) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None, label
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        _call(case, seeded)

    fuzz()


def _call(case: Any, seeded: Seeded) -> None:
    path = case.operation.path
    turn = next(_calls.setdefault(case.operation.label, itertools.count()))
    headers = _credentials(path, seeded)
    cookies: dict[str, str] = {}
    if turn % 2:  # every other request names something that exists
        params = case.path_parameters or {}
        if "thread_id" in params and not path.endswith("/events"):  # a live stream of a real thread never ends
            params["thread_id"] = seeded.thread_id
        if "conversation_id" in params:
            params["conversation_id"] = seeded.ticket_thread_id
        if "customer_id" in params:
            erase = case.method.upper() == "DELETE"
            params["customer_id"] = seeded.erasable_customer_id if erase else seeded.customer_id
        if path == "/api/v1/auth/login":
            case.body = {"username": seeded.staff_username, "password": PASSWORD}
        if path in ("/api/v1/auth/refresh", "/api/v1/auth/logout"):
            cookies, csrf = _session(case.operation.app)
            headers |= csrf
    case.call_and_validate(
        headers=headers, cookies=cookies or None, checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S
    )
