"""The language a reply is written in: the language of the customer's message (the rule, and why, is
`tools.search.text.message_language`, which the search also reads its explanations' language by).
"""

from __future__ import annotations

from tools.search.text import ASIDES, is_korean
from tools.search.text import message_language as reply_language

__all__ = ["own_words", "reply_language"]


def own_words(text: str) -> str:
    """The message without its Korean asides when it is an English message: what a search reads, so that
    its explanations ("matches: ...") come in the reply's language; any other message as it is."""
    if reply_language(text) != "en" or not is_korean(text):
        return text
    return " ".join(ASIDES.sub(lambda m: " " if is_korean(m.group(0)) else m.group(0), text).split())
