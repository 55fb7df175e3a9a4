"""The REST app in server mode for the sign-in tests: a fresh real Postgres database, a Redis
namespace of its own, the real lifespan; httpx clients over the ASGI transport, one per browser
(each keeps its own cookies), each with the client address it claims."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr

from channels.rest.app import create_app
from core.settings import Settings
from graphs.runtime import Runtime
from memory import accounts
from memory.apikeys import mint
from memory.records import User
from tests.memory_support import REDIS_URL, fresh_database, redis_namespace
from tools.search.engine import SearchEngine

PASSWORD = "bergamot, neroli and musk"
SECRET = "test-signing-secret-" + "x" * 32
LOGIN, REFRESH, LOGOUT, ME, CSRF = (f"/api/v1/auth/{p}" for p in ("login", "refresh", "logout", "me", "csrf"))


@asynccontextmanager
async def server_app(base: Settings, engine: SearchEngine, **settings: Any) -> AsyncIterator[FastAPI]:
    async with fresh_database() as dsn, redis_namespace() as (_, prefix):
        update: dict[str, Any] = {
            "ollama_base_url": None,
            "database_url": dsn,
            "redis_url": REDIS_URL,
            "redis_key_prefix": prefix,
            "jwt_secret": SecretStr(SECRET),
            "turn_lock_wait_s": 1.0,
            **settings,
        }
        app = create_app(base.model_copy(update=update), engine=engine)
        async with app.router.lifespan_context(app):
            yield app


def runtime_of(app: FastAPI) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@asynccontextmanager
async def browser(app: FastAPI, address: str = "127.0.0.1") -> AsyncIterator[httpx.AsyncClient]:
    """A client with its own cookie jar, over https (the cookies are Secure), from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://shop.example") as client:
        yield client


async def new_user(app: FastAPI, role: str = "staff", password: str = PASSWORD) -> User:
    from uuid import uuid4

    repository = runtime_of(app).memory.repository
    return await accounts.add_user(repository, f"{role}-{uuid4().hex[:10]}", password, role, actor="tests")


async def key_headers(app: FastAPI, *scopes: str, rate_limit: str | None = None) -> dict[str, str]:
    minted = await mint(runtime_of(app).memory.repository, "tests", scopes or ("chat",), rate_limit)
    return {"Authorization": f"Bearer {minted.secret}", "X-Key-Id": minted.record.id}


async def sign_in(client: httpx.AsyncClient, user: User, password: str = PASSWORD) -> dict[str, Any]:
    response = await client.post(LOGIN, json={"username": user.username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(signed_in: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {signed_in['access_token']}"}
