"""Text folding shared by the catalog normaliser and the query parser.

Both sides must fold the same way, or "Eau d'Hadrien" in a query would never meet
"Eau D Hadrien" in the catalog.
"""

from __future__ import annotations

import re
import unicodedata

_HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^0-9a-z\uac00-\ud7a3]+")
_NON_WORD = re.compile(r"[^\w&\-\uac00-\ud7a3]+")


def fold(text: str) -> str:
    """Lower-case, strip accents and collapse whitespace; Hangul is kept as it is."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    # NFKD splits Hangul syllables into jamo; put them back together.
    recomposed = unicodedata.normalize("NFC", stripped)
    return _SPACES.sub(" ", recomposed.replace("\u2019", "'")).strip().lower()


def key(text: str) -> str:
    """A matching key that also ignores punctuation ("Eau d'Hadrien" == "eau d hadrien")."""
    return _SPACES.sub(" ", _NON_WORD.sub(" ", fold(text))).strip()


def key_offsets(text: str) -> tuple[str, list[int]]:
    """`key(text)` with, for each of its characters, the index of that character in `fold(text)`,
    so that a name found in the key can be cut out of the folded text, punctuation kept."""
    folded = fold(text)
    chars: list[str] = []
    offsets: list[int] = []
    for index, ch in enumerate(folded):
        if ch.isspace() or _NON_WORD.match(ch):
            if chars and chars[-1] != " ":
                chars.append(" ")
                offsets.append(index)
        else:
            chars.append(ch)
            offsets.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        offsets.pop()
    return "".join(chars), offsets


def compact(text: str) -> str:
    """Letters and digits only: "Dolce&Gabbana", "Dolce Gabbana" and "dolce & gabbana" agree."""
    return _NOT_ALNUM.sub("", fold(text))


def is_korean(text: str) -> bool:
    return bool(_HANGUL.search(text))


def split_list(cell: str | None) -> list[str]:
    """Split a comma-separated catalog cell, dropping empty items."""
    if not cell:
        return []
    return [part.strip() for part in cell.split(",") if part.strip()]


def trie_pattern(words: list[str], english_boundary: bool = True) -> str:
    """One regex for many words, prefixes shared, the longest word winning.

    A flat alternation of thousands of words is tried word by word at every position
    (milliseconds per query); the trie form rejects a position after one character.
    Words that begin or end with an ASCII letter or digit only match on word
    boundaries there, so "rose" never fires inside "rosewood", while Korean words
    match as substrings (particles follow nouns: 장미향이).
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def render(node: dict[str, dict], last: str) -> str:
        branches = []
        for ch in sorted(c for c in node if c):  # distinct first characters: order is free
            branches.append(re.escape(ch) + render(node[ch], ch))
        if "" in node:  # ending here is the last resort: longer words are tried first
            ends_ascii = english_boundary and last.isascii() and last.isalnum()
            branches.append("(?![a-z0-9])" if ends_ascii else "")
        if len(branches) == 1:
            return branches[0]
        return "(?:" + "|".join(branches) + ")"

    roots = []
    for ch in sorted(c for c in trie if c):
        head = re.escape(ch)
        if english_boundary and ch.isascii() and ch.isalnum():
            head = "(?<![a-z0-9])" + head
        roots.append(head + render(trie[ch], ch))
    return "|".join(roots)


# -- the language of a message ---------------------------------------------------------------------
# Asides: (...), [...], and quoted words ("...", '...', “...”, ‘...’).
ASIDES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\"[^\"]*\"|“[^”]*”|‘[^’]*’|「[^」]*」")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HANGUL_WORD = re.compile(r"[\uac00-\ud7a3]+")
_LAST_WORD = re.compile(r"([A-Za-z]+|[\uac00-\ud7a3]+)[^A-Za-z\uac00-\ud7a3]*$")
_ASKS_KOREAN = re.compile(r"한국어로|한글로|in korean", re.IGNORECASE)
_ASKS_ENGLISH = re.compile(r"영어로|\bin english\b", re.IGNORECASE)
MIN_ENGLISH_WORDS = 3  # outside the asides: an English message, not a name or two
ENGLISH_PER_KOREAN = 3  # an English sentence may carry a Korean word for every three of its own


def message_language(text: str) -> str:
    """ "ko" or "en": the language a customer's message is written in, for the reply and for what a search
    explains ("matches: ..." / "일치: ...").

    Any Hangul at all is no reason to answer in Korean: "office air is pure poison lately (회사 공기 최악
    ㅋㅋ). need something fresh" is an English message with a Korean aside, "what does "우디" mean?" asks
    in English about a Korean word, and "found musk moskene in my grandpa's old 향료 catalog, is that
    still ok?" is an English sentence holding one Korean noun. Korean is verb-final, so a message whose
    last word is Korean is a Korean sentence around whatever names it holds ("Tom Ford Oud Wood 같은
    느낌의 향수", "Baccarat Rouge 540 가격?"); otherwise the words are counted, and a customer who says
    which language they want ("대답은 한국어로", "in English please") gets it.
    """
    if not is_korean(text):
        return "ko" if _ASKS_KOREAN.search(text) else "en"
    asks_korean, asks_english = bool(_ASKS_KOREAN.search(text)), bool(_ASKS_ENGLISH.search(text))
    if asks_korean != asks_english:
        return "ko" if asks_korean else "en"
    own = ASIDES.sub(" ", text)
    english = len(_LATIN_WORD.findall(own))
    if not is_korean(own):
        return "en" if english >= MIN_ENGLISH_WORDS else "ko"
    last = _LAST_WORD.search(own)
    if last is not None and is_korean(last.group(1)):
        return "ko"
    korean = len(_HANGUL_WORD.findall(own))
    return "en" if english >= max(MIN_ENGLISH_WORDS, ENGLISH_PER_KOREAN * korean) else "ko"
