"""What the web chat serves with, for the process that serves it.

Chainlit calls module-level hooks (channels/web/chainlit_app.py) with no way to pass them the
product's resources, and it is mounted once per process. The product's lifespan opens a `WebChat`
here when it starts and closes it when it stops; the hooks read it with `current()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.errors import FragranceError
from core.settings import Settings
from graphs.runtime import Runtime
from tools.search.lexicon import Lexicon

if TYPE_CHECKING:  # chainlit is imported by boot.prepare(), never before
    from chainlit.data.base import BaseDataLayer

    from channels.web.identity import ShopTokens, VisitorCookies
    from channels.web.live import LiveThreads


class WebChatClosed(FragranceError):
    """A hook ran while no web chat is open in this process (before start-up or after shutdown)."""


@dataclass
class WebChat:
    settings: Settings
    runtime: Runtime
    visitors: VisitorCookies
    shop: ShopTokens | None
    history: BaseDataLayer
    lexicon: Lexicon
    live: LiveThreads = field(repr=False)


_current: WebChat | None = None


def current() -> WebChat:
    if _current is None:
        raise WebChatClosed("the web chat is not open in this process")
    return _current


def open_chat(chat: WebChat) -> None:
    global _current
    _current = chat


def close_chat(chat: WebChat) -> None:
    global _current
    if _current is chat:
        _current = None
