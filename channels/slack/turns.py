"""Mentions and direct messages: one turn of the conversation through the turn service, answered in
the message's thread with the staff view of its events."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.blocks import (
    Block,
    context,
    divider,
    escape,
    fallback,
    formula_blocks,
    limited,
    perfumes_blocks,
    preferences_text,
    say,
    section,
)
from channels.slack.threads import conversation_id, message_id, plain_text, thread_of
from core.errors import FragranceError
from graphs.events import (
    Error,
    Formula,
    HandoffRequested,
    Notice,
    Perfumes,
    Refused,
    Reply,
    StaffMessage,
    TurnEvent,
)
from graphs.inbound import Inbound
from graphs.runtime import Runtime
from memory.locks import ConversationBusy
from tools.search.text import is_korean

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    blocks: list[Block]


def render_turn(
    events: Sequence[TurnEvent], language: str, conversation: str, preferences: dict[str, Any] | None
) -> Rendered:
    """A turn's final events as staff see them: the answer first, then the cards and formulas it
    shows, then the internals (intent, conversation id, the asker's stated preferences)."""
    text = ""
    body: list[Block] = []
    intent = None
    for event in events:
        if isinstance(event, Reply):
            text, language, intent = event.text, event.language, event.intent
        elif isinstance(event, HandoffRequested | Notice | StaffMessage | Refused | Error):
            text = f"{text}\n{event.text}".strip()
            if isinstance(event, HandoffRequested):
                body.append(context(say(language, "ticket_opened_here", ticket=escape(event.ticket_id))))
        elif isinstance(event, Perfumes):
            body += perfumes_blocks(event.perfumes, language)
        elif isinstance(event, Formula):
            body += formula_blocks(event.formula, language)
    blocks = [section(escape(text or say(language, "no_answer")))]
    if body:
        blocks += [divider(), *body]
    internals = [say(language, "conversation", id=conversation)]
    if intent:
        internals.insert(0, say(language, "intent", intent=escape(intent)))
    stated = preferences_text(preferences or {}, language)
    internals.append(say(language, "stated_preferences", preferences=stated or say(language, "none")))
    blocks.append(context(*internals))
    return Rendered(text=fallback(text or say(language, "no_answer")), blocks=limited(blocks, language))


async def answer(runtime: Runtime, client: AsyncWebClient, event: dict[str, Any], team_id: str) -> None:
    """Run the message as a turn of its thread's conversation and post the answer in the thread.
    Runs after Slack was acknowledged (Bolt acks events before their listener)."""
    channel, user, thread = str(event["channel"]), str(event["user"]), thread_of(event)
    text = plain_text(str(event.get("text") or ""))
    language = "ko" if is_korean(text) else "en"

    async def post(rendered: Rendered) -> None:
        await client.chat_postMessage(channel=channel, thread_ts=thread, text=rendered.text, blocks=rendered.blocks)

    def sentence(words: str) -> Rendered:
        return Rendered(text=fallback(words), blocks=[section(escape(words))])

    if not text:
        await post(sentence(say(language, "empty_mention")))
        return
    if runtime.service is None:
        await post(sentence(say(language, "not_ready", reason=runtime.engine_error or "")))
        return
    repository = runtime.memory.repository
    try:
        # One customer per Slack person (workspace and user id): their preferences follow them.
        customer = await repository.customer_for("slack", f"{team_id}:{user}")
        inbound = Inbound(
            text=text,
            customer_id=customer.id,
            channel="slack",
            conversation_id=conversation_id(team_id, channel, thread, user),
            message_id=message_id(channel, str(event["ts"])),
        )
        stream = await runtime.service.start(inbound)
    except ConversationBusy:
        await post(sentence(say(language, "busy")))
        return
    except FragranceError as exc:  # a store is down, a conversation not this person's: the sentence says so
        log.warning("a Slack turn could not start: %s", exc)
        await post(sentence(str(exc)))
        return
    events = await stream.collect()
    preferences = (await repository.preferences(customer.id)).to_dict()
    await post(render_turn(events, stream.language, stream.conversation_id, preferences))
