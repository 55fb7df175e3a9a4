"""The Bolt app: listeners wired to the runtime, built once per process in the REST lifespan.

Events are acknowledged by Bolt before their listener runs (process_before_response=False), so a turn
of the conversation never holds Slack's 3-second deadline; commands and buttons `ack()` first and
answer after. Built-in middleware verifies signatures and timestamps (HTTP mode) and drops this
bot's own messages; `drop_retries` answers each event once across replicas.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.commands import Commands
from channels.slack.dedup import drop_retries
from channels.slack.handoff import SlackHandoff
from channels.slack.handoff_blocks import ACTIONS
from channels.slack.threads import written_by_a_person
from channels.slack.turns import answer
from core.errors import FragranceError
from core.settings import Settings
from graphs.runtime import Runtime

log = logging.getLogger(__name__)

COMMAND = "/fragrance"


@dataclass(frozen=True, slots=True)
class SlackConfig:
    """The product's Slack settings, read once. HTTP mode needs the signing secret, Socket Mode the
    app token; either needs the bot token."""

    bot_token: str
    signing_secret: str | None
    app_token: str | None
    handoff_channel: str | None
    api_url: str
    language: str

    @classmethod
    def of(cls, settings: Settings) -> SlackConfig | None:
        """None when none of the Slack settings is set (no Slack app); FragranceError for a half-made set."""
        token = _secret(settings.fragrance_slack_bot_token)
        secret = _secret(settings.fragrance_slack_signing_secret)
        app_token = _secret(settings.fragrance_slack_app_token)
        if token is None:
            if secret is not None or app_token is not None:
                raise FragranceError("FRAGRANCE_SLACK_BOT_TOKEN is required by the other FRAGRANCE_SLACK_ settings")
            return None
        if secret is None and app_token is None:
            raise FragranceError(
                "FRAGRANCE_SLACK_BOT_TOKEN is set: set FRAGRANCE_SLACK_SIGNING_SECRET (events at /slack/events) "
                "or FRAGRANCE_SLACK_APP_TOKEN (Socket Mode), or both"
            )
        return cls(
            bot_token=token,
            signing_secret=secret,
            app_token=app_token,
            handoff_channel=settings.fragrance_slack_handoff_channel or None,
            api_url=settings.fragrance_slack_api_url,
            language=settings.fragrance_slack_language,
        )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() or None if value is not None else None


class SlackBot:
    """The Bolt app and what its listeners need."""

    def __init__(self, runtime: Runtime, config: SlackConfig) -> None:
        self.runtime = runtime
        self.config = config
        self.client = AsyncWebClient(token=config.bot_token, base_url=config.api_url, timeout=15)
        self.handoff = (
            SlackHandoff(runtime, runtime.service, self.client, config.handoff_channel)
            if config.handoff_channel and runtime.service is not None
            else None
        )
        self.commands = Commands(
            runtime, config.language, permalink=self.handoff.permalink if self.handoff is not None else None
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret or "",
            name="fragrance-ai",
            logger=logging.getLogger("channels.slack.bolt"),
        )
        self.app.use(drop_retries(runtime.memory.sessions))
        self.app.event("app_mention")(self.on_mention)
        self.app.event("message")(self.on_message)
        self.app.command(COMMAND)(self.on_command)
        self.app.action(re.compile(f"^({'|'.join(ACTIONS)})$"))(self.on_button)

    async def on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """A mention in a channel: answered in its thread. A mention inside a ticket's thread is a staff
        reply to the customer, which the message listener already forwards."""
        if not written_by_a_person(event):
            return
        if self.handoff is not None and await self.handoff.ticket_of_thread(event["channel"], event.get("thread_ts")):
            return
        await answer(self.runtime, self.client, event, str(body.get("team_id") or event.get("team") or ""))

    async def on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Direct messages are answered in a thread; a reply in a ticket's thread goes to the customer;
        everything else (channel chatter, edits, bots, this bot) is left alone."""
        if not written_by_a_person(event):
            return
        if self.handoff is not None:
            ticket = await self.handoff.ticket_of_thread(event["channel"], event.get("thread_ts"))
            if ticket is not None:
                await self.handoff.staff_reply(event, ticket)
                return
        if event.get("channel_type") == "im":
            await answer(self.runtime, self.client, event, str(body.get("team_id") or event.get("team") or ""))

    async def on_command(
        self, ack: Callable[..., Awaitable[Any]], command: dict[str, Any], respond: Callable[..., Awaitable[Any]]
    ) -> None:
        """Acknowledged at once (Slack's 3 seconds); the answer follows through the response URL."""
        await ack()
        reply = await self.commands.run(str(command.get("text") or ""))
        await respond(text=reply.text, blocks=reply.blocks, response_type="ephemeral")

    async def on_button(
        self,
        ack: Callable[..., Awaitable[Any]],
        action: dict[str, Any],
        body: dict[str, Any],
        respond: Callable[..., Awaitable[Any]],
    ) -> None:
        await ack()
        if self.handoff is None:
            return
        problem = await self.handoff.press(str(action["action_id"]), str(action.get("value") or ""), body["user"]["id"])
        if problem:
            await respond(text=problem, response_type="ephemeral", replace_original=False)
