"""The language a reply is written in: the language most of the customer's message is written in.

Any Hangul at all is no reason to answer in Korean: "office air is pure poison lately (회사 공기 최악
ㅋㅋ). need something fresh" is an English message with a Korean aside, and "what does "우디" mean?"
asks in English about a Korean word. Hangul in the message's own words (outside brackets and quotes)
makes it Korean ("Tom Ford Oud Wood 같은 느낌의 향수": Korean around an English name).
"""

from __future__ import annotations

import re

from tools.search.text import is_korean

# Asides: (...), [...], and quoted words ("...", '...', “...”, ‘...’).
_ASIDES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\"[^\"]*\"|“[^”]*”|‘[^’]*’|「[^」]*」")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
MIN_ENGLISH_WORDS = 3  # outside the asides: an English message, not a name or two


def reply_language(text: str) -> str:
    """ "ko" or "en": Korean when Hangul is in the message's own words, or when only an aside holds
    Hangul and the rest has too few English words to be an English message."""
    if not is_korean(text):
        return "en"
    own = _ASIDES.sub(" ", text)
    if is_korean(own):
        return "ko"
    return "en" if len(_LATIN_WORD.findall(own)) >= MIN_ENGLISH_WORDS else "ko"


def own_words(text: str) -> str:
    """The message without its Korean asides when it is an English message: what a search reads, so that
    its explanations ("matches: ...") come in the reply's language; any other message as it is."""
    if reply_language(text) != "en" or not is_korean(text):
        return text
    return " ".join(_ASIDES.sub(lambda m: " " if is_korean(m.group(0)) else m.group(0), text).split())
