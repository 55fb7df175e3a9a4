"""A customer's turn in the open chat, and the messages pushed to it.

The message goes to the turn service as an `Inbound` (channel "web", the Chainlit thread id as the
conversation id, the Chainlit message id as the idempotency key); the events come back drawn as
Chainlit messages: model tokens streamed into one message as they are written, perfume cards and
formula tables as custom elements under it, the buttons for the next step. A button sends its
follow-up through the service the same way, shown in the chat as the customer's own message.
Everything here runs inside a Chainlit handler's context (the session is Chainlit's context var).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import chainlit as cl

from channels.web import state
from channels.web.actions import Button, buttons, follow_up
from channels.web.live import LAST_EVENT
from channels.web.render import as_markdown, formula_props, perfume_props, words
from graphs.events import (
    Error,
    Formula,
    FormulaCard,
    HandoffRequested,
    Notice,
    PerfumeCard,
    Perfumes,
    Refused,
    Reply,
    StaffMessage,
    Token,
    TurnEvent,
)
from graphs.inbound import Inbound, Language, MessageRejected
from graphs.service import TurnService, TurnStream, UnknownConversation
from memory.locks import ConversationBusy
from memory.repository import ConversationForbidden, StoreUnavailable
from memory.sessions import SessionUnavailable
from tools.search.text import is_korean

log = logging.getLogger(__name__)

SHOWN = "shown"
"""User-session key: the perfume cards of the last answer (what a button may name)."""
BUTTONS = "buttons"
LANGUAGE = "language"
STAFF_AUTHOR = "staff"
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+!|<>~])")
_IDS = uuid.uuid5(uuid.NAMESPACE_URL, "fragrance-ai:web-message")


def session_language() -> Language | None:
    """The browser's language (its Accept-Language), when it is Korean or English."""
    code = (getattr(cl.context.session, "language", None) or "").lower()
    return "ko" if code.startswith("ko") else "en" if code.startswith("en") else None


def language_hint(ui: Language | None, text: str) -> Language | None:
    """The language to answer in as the channel knows it: the interface's, unless the customer
    writes Korean in an English interface (then the service reads it from the text)."""
    if ui == "en" and is_korean(text):
        return None
    return ui


def _plain(name: str) -> str:
    """A staff member's name as text, never as Markdown."""
    return _MARKDOWN.sub(r"\\\1", name)[:80]


def message_id(client_id: str) -> str:
    """An idempotency key from a client's message id: a retried message is answered once."""
    return uuid.uuid5(_IDS, client_id[:200]).hex


class TurnView:
    """One turn's events, drawn in the open chat as they arrive."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.message: cl.Message | None = None
        self.cards: list[PerfumeCard] = []
        self.formulas: list[FormulaCard] = []

    def _current(self) -> cl.Message:
        if self.message is None:
            self.message = cl.Message(content="", author=words(self.language, "assistant"))
        return self.message

    async def show(self, event: TurnEvent) -> None:
        if isinstance(event, Token):
            await self._current().stream_token(event.text)
        elif isinstance(event, Perfumes):
            self.cards.extend(event.perfumes)
        elif isinstance(event, Formula):
            self.formulas.append(event.formula)
        elif isinstance(event, Reply):
            self.language = event.language
            cl.user_session.set(LANGUAGE, event.language)
            await self._final(event.text, with_results=True)
        elif isinstance(event, HandoffRequested | Notice | Refused | Error):
            await self._final(event.text, with_results=False)
        elif isinstance(event, StaffMessage):
            await show_pushed(event)

    async def _final(self, text: str, with_results: bool) -> None:
        """What stands: the final text (the output guard may have replaced streamed tokens), the
        cards and formulas, and the buttons."""
        message = self._current()
        message.content = as_markdown(text)
        elements: list[Any] = []
        if with_results and self.cards:
            web = state.current()
            props = perfume_props(self.cards, self.language, web.lexicon)
            elements.append(cl.CustomElement(name="PerfumeCards", props=props, display="inline"))
        if with_results:
            for formula in self.formulas:
                elements.append(
                    cl.CustomElement(name="FormulaTable", props=formula_props(formula, self.language), display="inline")
                )
        offered: list[Button] = []
        if with_results and (self.cards or self.formulas):
            offered = buttons(self.cards, self.language, state.current().lexicon)
        message.elements = elements
        message.actions = [
            cl.Action(name=b.name, payload=b.payload, label=b.label, icon=b.icon, tooltip=b.label) for b in offered
        ]
        await message.send()
        if self.cards:
            cl.user_session.set(SHOWN, [card.model_dump() for card in self.cards])
        cl.user_session.set(BUTTONS, {"for": message.id, "actions": [a.to_dict() for a in message.actions]})
        self.message = None
        self.cards, self.formulas = [], []

    async def close(self) -> None:
        """A stream that ended without its final event (it should not): keep what was streamed."""
        if self.message is not None and self.message.content:
            await self.message.send()
            self.message = None


async def say(text: str, language: Language) -> None:
    await cl.Message(content=text, author=words(language, "assistant")).send()


async def run_turn(start: Callable[[TurnService], Awaitable[TurnStream]], language: Language) -> None:
    """Start a turn through the service and draw its events; a turn that cannot start gets a
    sentence in the customer's language, never an exception's text."""
    web = state.current()
    service = web.runtime.service
    if service is None:
        await say(words(language, "not_ready"), language)
        return
    user = cl.context.session.user
    try:
        if user is not None and await web.runtime.memory.repository.get_customer(user.identifier) is None:
            await say(words(language, "erased"), language)  # erased while this page was open
            return
        stream = await start(service)
    except ConversationBusy:
        await say(words(language, "busy"), language)
        return
    except (ConversationForbidden, UnknownConversation):
        await say(words(language, "not_yours"), language)
        return
    except (StoreUnavailable, SessionUnavailable, MessageRejected):
        await say(words(language, "unavailable"), language)
        return
    except Exception:  # never an exception's text in the customer's chat
        log.exception("a web turn could not start")
        await say(words(language, "unavailable"), language)
        return
    view = TurnView(language)
    async for event in stream:
        await view.show(event)
    await view.close()
    web.live.follow(stream.conversation_id, after=cl.user_session.get(LAST_EVENT) or 0)


async def answer(message: cl.Message) -> None:
    """The customer sent a message."""
    user = cl.context.session.user
    if user is None:  # sign-in is required, so Chainlit never gets here without one
        return
    text = message.content or ""
    hint = language_hint(session_language(), text)
    language: Language = hint or ("ko" if is_korean(text) else "en")
    inbound = Inbound(
        text=text,
        customer_id=user.identifier,
        channel="web",
        conversation_id=cl.context.session.thread_id,
        message_id=message_id(message.id),
        language=hint,
    )
    await run_turn(lambda service: service.start(inbound), language)


async def press(action: cl.Action) -> None:
    """The customer pressed a button under an answer: its buttons go, and its follow-up is sent
    through the service as if typed (shown as the customer's message)."""
    user = cl.context.session.user
    if user is None:
        return
    web = state.current()
    language: Language = cl.user_session.get(LANGUAGE) or session_language() or "en"
    shown = [PerfumeCard.model_validate(card) for card in cl.user_session.get(SHOWN) or []]
    await _remove_buttons(action.forId)
    text = follow_up(action.name, action.payload, shown, language, web.lexicon)
    if text is None:
        await say(words(language, "button_expired"), language)
        return
    await cl.Message(content=text, type="user_message", author=user.identifier).send()
    thread_id = cl.context.session.thread_id
    key = message_id(f"action:{action.id}")
    if action.name == "person":
        await run_turn(
            lambda service: service.request_handoff(thread_id, user.identifier, "web", language, message_id=key),
            language,
        )
        return
    inbound = Inbound(
        text=text,
        customer_id=user.identifier,
        channel="web",
        conversation_id=thread_id,
        message_id=key,
        language=language,
    )
    await run_turn(lambda service: service.start(inbound), language)


async def restore_buttons() -> None:
    """Chainlit does not keep buttons in its history: when a conversation is opened again, the last
    answer's buttons come back (what they may name was kept with them)."""
    offered = cl.user_session.get(BUTTONS) or {}
    for data in offered.get("actions", []):
        action = cl.Action(**data)
        await action.send(for_id=str(offered.get("for")))


async def _remove_buttons(for_id: str | None) -> None:
    offered = cl.user_session.get(BUTTONS) or {}
    if for_id is None or offered.get("for") != for_id:
        return
    for data in offered.get("actions", []):
        await cl.Action(**data).remove()
    cl.user_session.set(BUTTONS, {})


async def show_pushed(event: TurnEvent) -> None:
    """A staff reply or a handoff notice pushed outside the customer's turns; the id of the last one
    drawn goes into the thread's metadata so a later resume starts after it."""
    language: Language = cl.user_session.get(LANGUAGE) or session_language() or "en"
    if isinstance(event, StaffMessage):
        # Chainlit shows no author names, so the staff member's name heads the message; "staff" is the
        # author for the avatar (public/avatars/staff.svg).
        who = words(language, "staff_named", name=_plain(event.staff)) if event.staff else words(language, "staff")
        await cl.Message(content=f"{who}\n\n{as_markdown(event.text)}", author=STAFF_AUTHOR).send()
    elif isinstance(event, Notice):
        await cl.Message(content=event.text, author=words(event.language, "assistant")).send()
    else:
        return
    if event.id is not None:
        cl.user_session.set(LAST_EVENT, event.id)
        try:
            await state.current().history.update_thread(cl.context.session.thread_id, metadata={LAST_EVENT: event.id})
        except Exception as exc:  # the history is a view; the transcript has the message
            log.warning("could not note the last pushed event: %s", type(exc).__name__)
