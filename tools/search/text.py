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
