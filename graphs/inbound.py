"""One customer message as every channel hands it to the turn service, and the cleaning it gets
before anything else sees it."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Literal

from core.errors import FragranceError
from memory.records import Channel

Language = Literal["ko", "en"]

# C0/C1 control characters except tab and newline, and lone surrogates (what Python makes of bytes
# that were not UTF-8: the terminal's surrogateescape, a bad request body) and the replacement character.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_BLANK_LINES = re.compile(r"\n{3,}")


class MessageRejected(FragranceError):
    """The message cannot be taken as it is; the sentence says why and what to do."""

    def __init__(self, reason: Literal["too_long", "empty"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Inbound:
    """A message for one turn. `conversation_id` None starts a new conversation; `message_id` is the
    client's idempotency key (a retried request with the same id gets the same answer, not a
    second turn); `language` is the channel's knowledge of the customer's language, if any."""

    text: str
    customer_id: str
    channel: Channel
    conversation_id: str | None = None
    message_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    language: Language | None = None


def clean_text(text: str, limit: int) -> str:
    """The message as the consultant reads it: NFC, no control or invisible characters, no invalid
    code points, runs of blank lines collapsed. Refused (never cut) when over `limit` characters
    or empty once cleaned."""
    if len(text) > limit * 4:  # do not even normalise a megabyte
        raise MessageRejected("too_long", f"The message is {len(text)} characters long; the limit is {limit}.")
    cleaned = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = _INVISIBLE.sub("", unicodedata.normalize("NFC", cleaned))
    cleaned = _BLANK_LINES.sub("\n\n", cleaned).strip()
    if not cleaned:
        raise MessageRejected("empty", "The message is empty once control characters are removed.")
    if len(cleaned) > limit:
        raise MessageRejected("too_long", f"The message is {len(cleaned)} characters long; the limit is {limit}.")
    return cleaned
