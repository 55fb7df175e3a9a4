"""Hangul loanwords back to the English catalog word they transcribe (베티버 -> Vetiver).

Korean writes most perfumery words as loanwords: 베티버 (vetiver), 통카 (tonka), 오스만투스
(osmanthus), 라브다넘 (labdanum). The lexicon lists the common ones; this module finds the
rest without a lexicon entry, by comparing how a Hangul word and an English catalog word
sound in the Korean loanword convention:

* both sides become a *phonetic key*: consonant classes Korean does not tell apart in
  loanwords merge (b/v/p/f -> B, t/d/th -> T, k/g/c/q -> K, s/z/j/ch/sh -> S, l/r -> L),
  vowels merge into three classes (a; e/i; o/u), the epenthetic ㅡ of 스/트/브 and the
  English r that Korean drops after a vowel ("ver" -> 버) disappear;
* a Hangul word matches the catalog word whose key is closest (difflib ratio), provided the
  consonant skeletons differ by at most one edit and the word has at least three consonants
  (or the keys are equal and long: 구아이악 = guaiac); two-syllable words need an exact key,
  so short native words (배려, 감성) never come near a catalog word.

Candidates are found through single-deletion neighbours of the consonant skeleton (a
symmetric-delete index), so a lookup scores a handful of words, not the whole vocabulary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from difflib import SequenceMatcher
from functools import lru_cache

_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
# Initial consonants in Unicode order: ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ
_INITIAL = ["K", "K", "N", "T", "T", "L", "M", "B", "B", "S", "S", "", "S", "S", "S", "K", "T", "B", ""]
# Vowels: ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ
_VOWEL = ["a", "e", "a", "e", "o", "e", "e", "e", "o", "a", "e", "e", "o", "o", "o", "e", "e", "o", "", "e", "e"]
# Finals: (none)ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ; a loanword's final ㅅ is a t (코코넛).
_FINAL = [
    "", "K", "K", "K", "N", "N", "N", "T", "L", "K", "M", "L", "L", "L", "L", "L",
    "M", "B", "B", "T", "T", "N", "T", "T", "K", "T", "B", "",
]  # fmt: skip
_EN_RULES = [
    (re.compile(r"[^a-z]"), ""),
    (re.compile(r"(.)\1+"), r"\1"),
    (re.compile(r"ph"), "f"),
    (re.compile(r"th"), "t"),
    (re.compile(r"[cs]h"), "s"),
    (re.compile(r"ck|q"), "k"),
    (re.compile(r"x"), "ks"),
    (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"g(?=[eiy])"), "j"),
    (re.compile(r"gh"), ""),
    (re.compile(r"ng$"), "n"),
    (re.compile(r"er(?=y$)"), "or"),  # "powdery" -> 파우더리
    (re.compile(r"[eiu]r(?![aeiouy])"), "o"),  # the schwa of "ver" is 버's ㅓ
    (re.compile(r"(?<=[aeiouy])r(?![aeiouy])"), ""),  # "amber" -> 앰버
    (re.compile(r"(?<=[aeiouy])h|^h"), ""),
    (re.compile(r"(?<=[aeiouy])e$"), ""),
]
_EN_CLASS = str.maketrans(
    {
        "b": "B", "v": "B", "p": "B", "f": "B", "t": "T", "d": "T", "k": "K", "g": "K", "c": "K",
        "s": "S", "z": "S", "j": "S", "l": "L", "r": "L", "m": "M", "n": "N",
        "a": "a", "e": "e", "i": "e", "y": "e", "o": "o", "u": "o", "w": "", "h": "",
    }
)  # fmt: skip
MIN_CONSONANTS = 3
# Generic last words of a two-word material name: "Tonka Bean" is also 통카.
_GENERIC_HEADS = frozenset("bean beans seed seeds resin balsam absolute oil wood".split())  # noqa: SIM905
MIN_RATIO = 0.85  # three syllables or more
MIN_RATIO_SHORT = 0.99  # two syllables: only an exact key (통카 = tonka), short native words abound


def hangul_key(word: str) -> str:
    """Phonetic key of a Hangul word (other characters are skipped)."""
    out: list[str] = []
    for ch in word:
        code = ord(ch)
        if not _HANGUL_BASE <= code <= _HANGUL_LAST:
            continue
        offset = code - _HANGUL_BASE
        out.append(_INITIAL[offset // 588] + _VOWEL[(offset % 588) // 28] + _FINAL[offset % 28])
    if word.endswith("쉬"):  # a final "sh" is written 쉬 (프레쉬, 스패니쉬): its vowel is not there
        out[-1] = out[-1][:-1]
    return _merge("".join(out))


def english_key(word: str) -> str:
    """Phonetic key of an English (catalog) word, in the classes `hangul_key` uses."""
    text = word.lower()
    for pattern, repl in _EN_RULES:
        text = pattern.sub(repl, text)
    return _merge(text.translate(_EN_CLASS))


def _merge(key: str) -> str:
    """One letter for a run of the same class (ㄹㄹ of 일랑 and the ll of ylang alike)."""
    return re.sub(r"(.)\1+", r"\1", key)


def _skeleton(key: str) -> str:
    return "".join(ch for ch in key if ch.isupper())


def _deletions(skeleton: str) -> set[str]:
    return {skeleton} | {skeleton[:i] + skeleton[i + 1 :] for i in range(len(skeleton))}


def _edits_within_one(a: str, b: str) -> bool:
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


class Transliterator:
    """Finds the catalog word a Hangul loanword transcribes, among `vocabulary`.

    `vocabulary` maps a catalog word (a note such as "Osmanthus", an accord such as
    "aromatic") to a weight (how many perfumes carry it); the weight breaks ties.
    """

    def __init__(self, vocabulary: Mapping[str, int] | Iterable[str]) -> None:
        weights = dict(vocabulary) if isinstance(vocabulary, Mapping) else dict.fromkeys(vocabulary, 1)
        self._keys: dict[str, str] = {}
        self._weights = weights
        self._by_deletion: dict[str, list[str]] = {}
        self._target: dict[str, str] = {}  # indexed spelling -> the catalog word it stands for
        lowered = {w.lower() for w in weights}
        for word in weights:
            spellings = [word]
            parts = word.lower().split()
            # "Tonka Bean" is also found as 통카: a name whose last word is a generic head
            # (bean, seed, resin) by the word before it.
            if len(parts) == 2 and parts[1] in _GENERIC_HEADS and parts[0] not in lowered:
                spellings.append(parts[0])
            for spelling in spellings:
                k = english_key(spelling)
                if len(_skeleton(k)) < MIN_CONSONANTS - 1 or spelling in self._keys:
                    continue
                self._keys[spelling] = k
                self._target[spelling] = word
                for deleted in _deletions(_skeleton(k)):
                    self._by_deletion.setdefault(deleted, []).append(spelling)
        self.lookup = lru_cache(maxsize=4096)(self._lookup)

    def __len__(self) -> int:
        return len(self._keys)

    def _lookup(self, hangul: str) -> tuple[str, float] | None:
        """The catalog word `hangul` transcribes and the match ratio, or None."""
        k = hangul_key(hangul)
        skeleton = _skeleton(k)
        # Few consonants (구아이악, guaiac) only for an exact, long key.
        exact_only = len(skeleton) < MIN_CONSONANTS
        if exact_only and (len(skeleton) < 2 or len(k) < 5):
            return None
        threshold = MIN_RATIO if sum(_HANGUL_BASE <= ord(ch) <= _HANGUL_LAST for ch in hangul) >= 3 else MIN_RATIO_SHORT
        candidates = {w for d in _deletions(skeleton) for w in self._by_deletion.get(d, ())}
        best: tuple[float, int, str] | None = None
        for word in candidates:
            other = self._keys[word]
            if not _edits_within_one(skeleton, _skeleton(other)) or (exact_only and other != k):
                continue
            ratio = SequenceMatcher(None, k, other, autojunk=False).ratio()
            target = self._target[word]
            # Ties go to the same word every run (the candidates are a set): the one sorting last.
            if ratio >= threshold and (best is None or (ratio, self._weights[target], target) > best):
                best = (ratio, self._weights[target], target)
        return (best[2], best[0]) if best else None
