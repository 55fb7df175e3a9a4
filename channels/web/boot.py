"""Chainlit inside the product's process, set up before `chainlit` is first imported.

Chainlit reads its world when it is imported: its root folder (config.toml, translations, public
files, chainlit.md), a `.env` file it loads into the process environment, the cookie settings,
and environment variables that switch on integrations of its own (a Slack app at
/chat/slack/events when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set, Teams, Discord, a
Literal AI data layer). `prepare()` points it at the committed folder next to this file, gives it
no `.env`, hides those variables while it imports, and keeps only the en-US and ko translations
(the interface speaks the customer's language, Korean or English). Importing `channels.web`
modules that need chainlit goes through here first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from core.settings import Settings

CHAINLIT_ROOT = Path(__file__).resolve().parent / "chainlit_root"
SESSION_COOKIE = "fai_chat_session"
"""Chainlit's own session cookie (a JWT naming the customer), renamed so it cannot be mistaken for
another part of the product's cookies."""
KEPT_TRANSLATIONS = frozenset({"en-US.json", "ko.json"})
_FOREIGN = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_WEBSOCKET_TOKEN",
    "TEAMS_APP_ID",
    "TEAMS_APP_PASSWORD",
    "DISCORD_BOT_TOKEN",
    "LITERAL_API_KEY",
    "CHAINLIT_CUSTOM_AUTH",
)


class _ExpectedFallbacks(logging.Filter):
    """Chainlit warns on every page load that ko-KR falls back to ko and that chainlit.md is one file
    for both languages, and on every answer with cards that it has no file storage (the cards' props
    are kept in the history's rows, which is all they need): how this chat is meant to be, not news
    for the operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(
            ("Translation file for ", "Translated markdown file for ", "Data Layer: No storage client configured")
        )


@contextlib.contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def prepare(settings: Settings, chainlit_secret: str) -> None:
    """Set Chainlit's environment and import it (once per process; later calls only renew the secret
    its session tokens are signed with, which it reads when it signs or checks one)."""
    os.environ["CHAINLIT_AUTH_SECRET"] = chainlit_secret
    if "chainlit.server" in sys.modules:
        return
    os.environ["CHAINLIT_APP_ROOT"] = str(CHAINLIT_ROOT)
    os.environ["CHAINLIT_ENV_FILE"] = os.devnull  # the product's .env is read by its settings, not loaded here
    os.environ["CHAINLIT_AUTH_COOKIE_NAME"] = SESSION_COOKIE
    os.environ["CHAINLIT_COOKIE_SAMESITE"] = settings.web_cookie_samesite
    os.environ.pop("CHAINLIT_ROOT_PATH", None)
    with _hidden(_FOREIGN):
        # Registers its routes and socket handlers.
        import chainlit.server
        import chainlit.socket  # noqa: F401
    logging.getLogger("chainlit").addFilter(_ExpectedFallbacks())
    translations = CHAINLIT_ROOT / ".chainlit" / "translations"
    for path in translations.glob("*.json"):
        if path.name not in KEPT_TRANSLATIONS:
            path.unlink(missing_ok=True)
