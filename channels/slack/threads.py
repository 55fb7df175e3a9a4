"""What a Slack message means to the product: which conversation it continues, what it says, whether
a person wrote it. Pure functions over Slack's event payloads."""

from __future__ import annotations

import re
import uuid
from typing import Any

_SLACK_THREADS = uuid.uuid5(uuid.NAMESPACE_URL, "fragrance-ai:slack-thread")
_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_SPACES = re.compile(r"[ \t]+")
_LINK = re.compile(r"<(?:mailto:)?([^<>|]+)\|([^<>]+)>|<([^<>|]+)>")


def conversation_id(team_id: str, channel: str, thread_ts: str, user: str) -> str:
    """The conversation a Slack thread holds for one person: the same for every message of theirs in
    that thread (follow-ups continue it), on any replica. thread_ts is unique only within a channel,
    hence workspace and channel; the person, because a conversation belongs to one customer and two
    colleagues may ask the bot in the same thread."""
    return uuid.uuid5(_SLACK_THREADS, f"{team_id}\n{channel}\n{thread_ts}\n{user}").hex


def message_id(channel: str, ts: str) -> str:
    """The turn's idempotency key: a message's ts is unique in its channel, so a retry that slipped past
    the event de-duplication replays the recorded answer instead of running a second turn."""
    return f"slack-{channel}-{ts}"


def plain_text(text: str) -> str:
    """A message as the consultant reads it: the bot's mention dropped, links shown as their label,
    Slack's escapes undone."""
    text = _MENTION.sub(" ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(3) or "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _SPACES.sub(" ", text).strip()


def written_by_a_person(event: dict[str, Any]) -> bool:
    """A plain message from a human: no bot (ours or another), no edit, join or deletion notice."""
    if event.get("bot_id") or event.get("bot_profile") or not event.get("user"):
        return False
    return event.get("subtype") in (None, "thread_broadcast", "file_share")


def thread_of(event: dict[str, Any]) -> str:
    """The thread a reply belongs in: the message's thread, or the message itself starts one."""
    return str(event.get("thread_ts") or event["ts"])
