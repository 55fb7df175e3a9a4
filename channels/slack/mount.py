"""What the REST app needs from the Slack app: the events route and the lifespan that builds the Bolt
app from the runtime. Cheap to import: Bolt is imported only when the Slack settings are present."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from core.settings import Settings
from graphs.runtime import Runtime

if TYPE_CHECKING:
    from channels.slack.bot import SlackBot

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
"""Slack's payloads are a few kilobytes (a modal's state is the largest); more is not Slack."""

router = APIRouter(include_in_schema=False)


def slack_enabled(settings: Settings) -> bool:
    """Whether any of the product's Slack settings is set (the lifespan then refuses a half-made set)."""
    return any(
        value is not None and value.get_secret_value()
        for value in (
            settings.fragrance_slack_bot_token,
            settings.fragrance_slack_signing_secret,
            settings.fragrance_slack_app_token,
        )
    )


def http_enabled(settings: Settings) -> bool:
    """Whether POST /slack/events exists: HTTP mode needs the signing secret."""
    secret = settings.fragrance_slack_signing_secret
    return slack_enabled(settings) and secret is not None and bool(secret.get_secret_value())


async def _bounded_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise HTTPException(status_code=413, detail=f"a Slack request is at most {MAX_BODY_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise HTTPException(status_code=413, detail=f"a Slack request is at most {MAX_BODY_BYTES} bytes")
    return bytes(body)


@router.post("/slack/events")
async def slack_events(request: Request) -> Response:
    """Slack's Events API, slash commands and interactivity, verified by Bolt (signature and a timestamp
    under five minutes old)."""
    bot: SlackBot | None = getattr(request.app.state, "slack", None)
    if bot is None:
        raise HTTPException(status_code=404, detail="the Slack app is not configured on this server")
    from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response

    body = await _bounded_body(request)
    try:
        bolt_request = to_async_bolt_request(request, body)
    except UnicodeDecodeError:
        raise HTTPException(status_code=400, detail="a Slack request body is UTF-8 text") from None
    response = await bot.app.async_dispatch(bolt_request)
    if response.status == 401:
        return JSONResponse(
            status_code=401,
            content={"message": "the Slack signature is missing or wrong, or the request is older than five minutes"},
        )
    return to_starlette_response(response)


@asynccontextmanager
async def open_slack(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
    """Build the Slack app when its settings are present: register its handoff notifier with the turn
    service and, with an app token, connect Socket Mode. The connection is made in a task of its own:
    Slack being unreachable must not keep the server from starting (the SDK retries on its own)."""
    app.state.slack = None
    if not slack_enabled(runtime.settings):
        yield
        return
    from channels.slack.bot import SlackBot, SlackConfig

    config = SlackConfig.of(runtime.settings)  # a half-made configuration stops the start with a sentence
    if config is None:
        yield
        return
    bot = SlackBot(runtime, config)
    if bot.handoff is not None and runtime.service is not None:
        runtime.service.add_notifier(bot.handoff)
    socket: Any = None
    connecting: asyncio.Task[None] | None = None
    if config.app_token:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        socket = AsyncSocketModeHandler(bot.app, config.app_token)
        connecting = asyncio.ensure_future(socket.connect_async())
    app.state.slack = bot
    log.info(
        "Slack app ready: %s%s",
        "events at /slack/events" if config.signing_secret else "no HTTP events",
        ", Socket Mode" if socket is not None else "",
    )
    try:
        yield
    finally:
        app.state.slack = None
        if socket is not None:
            with contextlib.suppress(Exception):
                await socket.close_async()
        if connecting is not None and not connecting.done():
            connecting.cancel()
            with contextlib.suppress(BaseException):
                await connecting
