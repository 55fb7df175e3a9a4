"""The Chainlit app module that `mount_chainlit` loads: only Chainlit's hooks, each handing over to
the module that does the work (sign-in, turns, buttons, history, starters).

Chainlit loads this file by path, as a module of its own; everything shared lives in ordinary
`channels.web` modules, so loading it twice would not duplicate any state.
"""

from __future__ import annotations

import chainlit as cl
from chainlit.data.base import BaseDataLayer
from chainlit.types import ThreadDict
from starlette.datastructures import Headers

from channels.web import signin, state, turns
from channels.web.actions import ACTION_NAMES
from channels.web.live import LAST_EVENT
from channels.web.render import ui_language, words

_STARTERS = ("summer", "date", "compose", "check")


@cl.data_layer
def history() -> BaseDataLayer:
    """The history on the product's database, opened by the product's lifespan."""
    return state.current().history


@cl.header_auth_callback
async def sign_in(headers: Headers) -> cl.User | None:
    return await signin.from_headers(headers)


@cl.set_starters
async def starters(user: cl.User | None, language: str | None) -> list[cl.Starter]:
    """Four ways to begin, in the interface's language."""
    lang = ui_language(language)
    return [
        cl.Starter(
            label=words(lang, f"starter_{key}_label"),
            message=words(lang, f"starter_{key}"),
            icon=f"/public/icons/{key}.svg",
        )
        for key in _STARTERS
    ]


@cl.on_message
async def on_message(message: cl.Message) -> None:
    await turns.answer(message)


@cl.on_chat_resume
async def on_chat_resume(thread: ThreadDict) -> None:
    """A conversation opened again (a reload, the history list): Chainlit redraws it from the
    history; the last answer's buttons come back, and what staff pushed while it was closed follows."""
    await turns.restore_buttons()
    state.current().live.follow(thread["id"], after=cl.user_session.get(LAST_EVENT) or 0)


def _button(name: str) -> None:
    @cl.action_callback(name)
    async def pressed(action: cl.Action) -> None:
        await turns.press(action)


for _name in ACTION_NAMES:
    _button(_name)
