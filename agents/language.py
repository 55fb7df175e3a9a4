"""The language a reply is written in: the language the customer's message is written in.

Any Hangul at all is no reason to answer in Korean: "office air is pure poison lately (회사 공기 최악
ㅋㅋ). need something fresh" is an English message with a Korean aside, "what does "우디" mean?" asks
in English about a Korean word, and "found musk moskene in my grandpa's old 향료 catalog, is that
still ok?" is an English sentence holding one Korean noun. Korean is verb-final, so a message whose
last word is Korean is a Korean sentence around whatever names it holds ("Tom Ford Oud Wood 같은
느낌의 향수", "Baccarat Rouge 540 가격?"); otherwise the words are counted, and a customer who says
which language they want ("대답은 한국어로", "in English please") gets it.
"""

from __future__ import annotations

import re

from tools.search.text import is_korean

# Asides: (...), [...], and quoted words ("...", '...', “...”, ‘...’).
_ASIDES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\"[^\"]*\"|“[^”]*”|‘[^’]*’|「[^」]*」")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
_LAST_WORD = re.compile(r"([A-Za-z]+|[\uac00-\ud7a3]+)[^A-Za-z\uac00-\ud7a3]*$")
_ASKS_KOREAN = re.compile(r"한국어로|한글로|in korean", re.IGNORECASE)
_ASKS_ENGLISH = re.compile(r"영어로|\bin english\b", re.IGNORECASE)
MIN_ENGLISH_WORDS = 3  # outside the asides: an English message, not a name or two
ENGLISH_PER_KOREAN = 3  # an English sentence may carry a Korean word for every three of its own


def reply_language(text: str) -> str:
    """ "ko" or "en" for a customer's message (see the module's docstring for why)."""
    if not is_korean(text):
        return "ko" if _ASKS_KOREAN.search(text) else "en"
    asks_korean, asks_english = bool(_ASKS_KOREAN.search(text)), bool(_ASKS_ENGLISH.search(text))
    if asks_korean != asks_english:
        return "ko" if asks_korean else "en"
    own = _ASIDES.sub(" ", text)
    english = len(_LATIN_WORD.findall(own))
    if not is_korean(own):
        return "en" if english >= MIN_ENGLISH_WORDS else "ko"
    last = _LAST_WORD.search(own)
    if last is not None and is_korean(last.group(1)):
        return "ko"
    korean = len(_HANGUL_WORD.findall(own))
    return "en" if english >= max(MIN_ENGLISH_WORDS, ENGLISH_PER_KOREAN * korean) else "ko"


def own_words(text: str) -> str:
    """The message without its Korean asides when it is an English message: what a search reads, so that
    its explanations ("matches: ...") come in the reply's language; any other message as it is."""
    if reply_language(text) != "en" or not is_korean(text):
        return text
    return " ".join(_ASIDES.sub(lambda m: " " if is_korean(m.group(0)) else m.group(0), text).split())
