"""The Korean/English domain lexicon: notes, accords, brands and the descriptive rules.

The vocabulary is data (`lexicon/*.yaml`, written by hand and documented there); this
module only loads it and answers two questions: what is the canonical name of a note or
accord string from a catalog, and which lexicon terms does a piece of user text name.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from tools.search.text import compact, is_korean, key

LEXICON_DIR = Path(__file__).resolve().parent / "lexicon"

TermKind = Literal["note", "accord", "brand", "season", "mood", "occasion", "longevity", "sillage", "gender", "ignore"]


@dataclass(frozen=True, slots=True)
class Term:
    """One surface form the parser can find in text, and what it stands for."""

    surface: str
    kind: TermKind
    value: str


@dataclass(frozen=True, slots=True)
class Rule:
    """A season, mood or occasion word group and the accords it suggests."""

    name: str
    accords: tuple[str, ...]


@dataclass(slots=True)
class Lexicon:
    note_aliases: dict[str, str] = field(default_factory=dict)  # key(alias) -> canonical note
    accord_aliases: dict[str, str] = field(default_factory=dict)  # key(alias) -> accord
    brand_aliases: dict[str, str] = field(default_factory=dict)  # key(alias) -> catalog brand
    brand_spellings: dict[str, set[str]] = field(default_factory=dict)  # brand -> compact keys
    korean_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, value) -> 한글
    perfume_aliases: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # perfume_key -> 한글 names
    rules: dict[str, dict[str, Rule]] = field(default_factory=dict)  # season|mood|occasion
    labels: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    terms: list[Term] = field(default_factory=list)
    # Short Korean names matched only as whole words (배, 차, 우드): surface -> (term, strict).
    whole_words: dict[str, tuple[Term, bool]] = field(default_factory=dict)
    negation_before: tuple[str, ...] = ()
    negation_after: tuple[str, ...] = ()
    # What excluding a family word rules out besides its accord: accord -> (notes, accords).
    families: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    _note_cache: dict[str, str] = field(default_factory=dict)

    # -- catalog normalisation -------------------------------------------------------
    def canonical_note(self, raw: str) -> str:
        """ "Vanille" -> "Vanilla", "Agarwood (Oud)" -> "Oud", "Sicilian Lemon" -> "Lemon"."""
        cached = self._note_cache.get(raw)
        if cached is not None:
            return cached
        result = self._resolve_note(raw)
        self._note_cache[raw] = result
        return result

    def _resolve_note(self, raw: str) -> str:
        k = key(raw)
        if k in self.note_aliases:
            return self.note_aliases[k]
        bare = key(re.sub(r"\(.*?\)", " ", raw))
        if bare in self.note_aliases:
            return self.note_aliases[bare]
        words = bare.split()
        # A variety named by its head noun ("Sicilian Lemon") is that note.
        for start in range(1, len(words)):
            suffix = " ".join(words[start:])
            if suffix in self.note_aliases:
                return self.note_aliases[suffix]
        return string.capwords(bare) if bare else raw.strip()

    def canonical_accord(self, raw: str) -> str:
        k = key(raw)
        return self.accord_aliases.get(k, k)

    def perfume_key(self, brand: str, name: str) -> tuple[str, str]:
        """One key for a perfume whichever catalog spells its brand ("Jo Malone London" / "Jo Malone")."""
        return compact(self.brand_aliases.get(key(brand), brand)), compact(name)

    def korean(self, kind: str, value: str) -> str:
        """Korean display name of a note or accord, or the English one when none is known."""
        return self.korean_names.get((kind, value), value)


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _words(entry: dict[str, Any]) -> list[str]:
    words = entry.get("words", entry)
    out: list[str] = []
    for lang in ("en", "ko"):
        out.extend(str(w) for w in (words.get(lang) or []))
    return out


def _add_aliases(lex: Lexicon, table: dict[str, list[str]], kind: TermKind, target: dict[str, str]) -> None:
    for canonical, aliases in table.items():
        canonical = str(canonical)
        surfaces = [canonical, *(str(a) for a in (aliases or []))]
        for surface in surfaces:
            target.setdefault(key(surface), canonical)
            lex.terms.append(Term(surface, kind, canonical))
            if is_korean(surface):
                lex.korean_names.setdefault((kind, canonical), surface)


def load_lexicon(directory: Path = LEXICON_DIR) -> Lexicon:
    """Build the lexicon from the YAML files in `directory`."""
    lex = Lexicon()
    _add_aliases(lex, _load_yaml(directory / "notes.yaml"), "note", lex.note_aliases)
    _add_aliases(lex, _load_yaml(directory / "accords.yaml"), "accord", lex.accord_aliases)
    _add_aliases(lex, _load_yaml(directory / "brands.yaml"), "brand", lex.brand_aliases)

    rules = _load_yaml(directory / "rules.yaml")
    for group, kind in (("seasons", "season"), ("moods", "mood"), ("occasions", "occasion")):
        lex.rules[kind] = {}
        for name, entry in (rules.get(group) or {}).items():
            lex.rules[kind][str(name)] = Rule(str(name), tuple(entry.get("accords") or ()))
            for surface in _words(entry):
                lex.terms.append(Term(surface, kind, str(name)))  # type: ignore[arg-type]
    for kind in ("longevity", "sillage"):
        for name, entry in (rules.get(kind) or {}).items():
            lex.labels[(kind, str(name))] = tuple(entry.get("labels") or ())
            for surface in _words(entry):
                lex.terms.append(Term(surface, kind, str(name)))  # type: ignore[arg-type]
    for name, entry in (rules.get("gender") or {}).items():
        for surface in _words({"words": entry}):
            lex.terms.append(Term(surface, "gender", str(name)))
    for surface in _words({"words": rules.get("ignore") or {}}):
        lex.terms.append(Term(surface, "ignore", ""))
    for entry, aliases in _load_yaml(directory / "perfumes.yaml").items():
        brand, *names = str(entry).split(" | ")  # "Chanel | Chanel No 5 Parfum | No 5": one perfume
        for name in names:
            lex.perfume_aliases[lex.perfume_key(brand, name)] = [str(a) for a in aliases or []]
    for alias, brand in lex.brand_aliases.items():
        lex.brand_spellings.setdefault(brand, {compact(brand)}).add(compact(alias))
    notes, accords = set(lex.note_aliases.values()), set(lex.accord_aliases.values())
    for tier in ("loose", "strict"):
        for surface, value in ((rules.get("whole_words") or {}).get(tier) or {}).items():
            value = str(value)
            if value not in notes and value not in accords:
                raise ValueError(f"rules.yaml whole_words: {surface}: {value} is neither a note nor an accord")
            whole_kind: TermKind = "note" if value in notes else "accord"
            lex.whole_words[str(surface)] = (Term(str(surface), whole_kind, value), tier == "strict")
            lex.korean_names.setdefault((whole_kind, value), str(surface))
    exclusion = rules.get("exclusion") or {}
    lex.negation_before = tuple(_words({"words": exclusion.get("before") or {}}))
    lex.negation_after = tuple(_words({"words": exclusion.get("after") or {}}))
    for accord, members in (rules.get("families") or {}).items():
        if str(accord) not in accords:
            raise ValueError(f"rules.yaml families: {accord} is not an accord")
        unknown = [n for n in members.get("notes") or [] if str(n) not in notes]
        unknown += [a for a in members.get("accords") or [] if str(a) not in accords]
        if unknown:
            raise ValueError(f"rules.yaml families: {accord}: {unknown} are not lexicon notes or accords")
        lex.families[str(accord)] = (
            tuple(str(n) for n in members.get("notes") or ()),
            tuple(str(a) for a in members.get("accords") or ()),
        )
    return lex


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The shipped lexicon, loaded once per process."""
    return load_lexicon()
