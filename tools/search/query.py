"""Query understanding: what a Korean or English search query asks for.

The parser finds lexicon terms in the text (English on word boundaries, Korean as
substrings because particles attach to nouns), decides which of them are excluded
("without vanilla", "바닐라는 빼고"), and reads years, gender, longevity and sillage.
Notes, exclusions, brands, gender, years, longevity and sillage become hard filters;
named accords and season/mood/occasion words become preferences (see `engine`).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.search.lexicon import Lexicon, Term
from tools.search.text import compact, fold, is_korean, trie_pattern

NEGATABLE = {"note", "accord", "sillage", "longevity"}
# English words that end the scope of a preceding "without"/"no".
_EN_SCOPE_RESET = re.compile(
    r"(?<![a-z])(?:but|with|for|like|love|loves|want|wants|prefer|please|perfumes?|fragrances?|"
    r"scents?|colognes?|i|yet|though|however|also|plus|and with)(?![a-z])|[.!?;:,]"
)
# Korean connectors between listed items ("바닐라나 머스크", "장미, 자스민").
_KO_CONNECTOR = re.compile(
    r"^\s*(?:향|노트|계열|어코드)?\s*(?:이나|나|이랑|랑|와|과|하고|및|또는|혹은|이든|든|도)?\s*[,/·]?\s*$"
)
_KO_CUE_PREFIX = (
    r"^\s*(?:향|노트|냄새|향기|계열|느낌|성분)?\s*(?:이|가|은|는|을|를|도|만|이나|나)?\s*"
    r"(?:(?:너무|좀|별로|절대|전혀|많이|진짜|정말|아예|꼭)\s*)?"
)
_KO_NOT_SWEET = re.compile(r"(?:달|달달하|달콤하|스윗하)지\s*않|안\s*달(?:고|달한|콤한|은|아요)|덜\s*달")
_EN_STOPWORDS = frozenset(
    """a an the and or of for to with without in on at by from is are be was were i me my we you
    your it its this that these those something anything some any perfume perfumes fragrance
    fragrances scent scents cologne colognes smell smells smelling like love want need looking
    look find show recommend recommendation recommendations suggest suggestions please can could
    would do does have has get give me more most very really quite bit little too so what which
    who whose good nice great best new recent notes note accord accords type kind one ones hi hello
    thanks thank lot lots much many also just but not no""".split()  # noqa: SIM905
)

_YEAR_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"between\s+(\d{4})\s+and\s+(\d{4})"), "range"),
    (re.compile(r"(\d{4})\s*년?\s*(?:부터|에서|~|-|–|to)\s*(\d{4})\s*년?"), "range"),
    (re.compile(r"(\d{4})\s*(?:or|and)\s*(?:newer|later|after|onwards?|up)|(\d{4})\s*\+"), "min"),
    (re.compile(r"(\d{4})\s*(?:or|and)\s*(?:older|earlier|before)"), "max"),
    (re.compile(r"(?:after|post|newer than|later than)\s+(\d{4})"), "after"),
    (re.compile(r"(?:since|from)\s+(\d{4})"), "min"),
    (re.compile(r"(?:before|older than|pre|prior to|earlier than)\s*-?\s*(\d{4})"), "before"),
    (re.compile(r"(?:until|up to|through)\s+(\d{4})"), "max"),
    (re.compile(r"(\d{4})\s*년?\s*(?:이후|부터|넘어서|이상|以後)"), "min"),
    (re.compile(r"(\d{4})\s*년?\s*(?:이전|전에|전)"), "before"),
    (re.compile(r"(\d{4})\s*년?\s*까지"), "max"),
    (re.compile(r"(\d{2,4})\s*년대"), "decade"),
    (re.compile(r"(?<!\d)(19|20)(\d)0'?s(?![a-z])|(?<![\d'])'?(\d)0'?s(?![a-z])"), "decade_en"),
    (
        re.compile(
            r"(?:in|launched in|released in|from the year)\s+(\d{4})(?!\d)|(\d{4})\s*년\s*(?:에|에\s*나온|출시|산)"
        ),
        "exact",
    ),
]


@dataclass(slots=True)
class ParsedQuery:
    """What a query was understood as; every field is also an explicit API filter."""

    text: str
    language: str
    notes: list[str] = field(default_factory=list)
    exclude_notes: list[str] = field(default_factory=list)
    accords: list[str] = field(default_factory=list)
    exclude_accords: list[str] = field(default_factory=list)
    brands: list[str] = field(default_factory=list)
    gender: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    longevity: list[str] = field(default_factory=list)  # allowed labels
    sillage: list[str] = field(default_factory=list)  # allowed labels
    seasons: list[str] = field(default_factory=list)
    moods: list[str] = field(default_factory=list)
    occasions: list[str] = field(default_factory=list)
    preferred_accords: list[list[str]] = field(default_factory=list)  # one any-of group per word
    keywords: list[str] = field(default_factory=list)  # words the lexicon does not know

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def has_constraints(self) -> bool:
        return bool(
            self.notes
            or self.exclude_notes
            or self.accords
            or self.exclude_accords
            or self.brands
            or self.gender
            or self.year_min
            or self.year_max
            or self.longevity
            or self.sillage
            or self.preferred_accords
        )

    def embedding_text(self) -> str:
        """English text for the vector side: positive terms only, so "no oud" never pulls oud."""
        parts: list[str] = [*self.moods, *self.seasons, *self.occasions]
        parts += [a for a in self.accords]
        head = " ".join(parts)
        bits = [f"{head} perfume".strip()]
        if self.notes:
            bits.append("notes: " + ", ".join(self.notes))
        if self.brands:
            bits.append("by " + ", ".join(self.brands))
        if self.keywords:
            bits.append(" ".join(self.keywords))
        # With nothing positive understood, "perfume" it is: the raw text could carry an
        # excluded word ("no oud") straight into the vector.
        return "; ".join(bits)


@dataclass(slots=True)
class _Hit:
    start: int
    end: int
    terms: list[Term]
    negated: bool = False


def _generic_note(note: str) -> bool:
    """Catalog umbrella notes ("Woody Notes", "Citrus Notes") are not real materials."""
    return note.endswith(" Notes") or note in {"Spices", "Citruses", "Flowers", "Fruits", "Woods"}


def _move(value: str, source: list[str], target: list[str]) -> None:
    if value in source:
        source.remove(value)
    _add(target, value)


def _add(items: list[str], value: str) -> None:
    if value not in items:
        items.append(value)


class QueryParser:
    """Parses queries against one lexicon and the brands one catalog actually carries."""

    def __init__(self, lexicon: Lexicon, catalog_brands: set[str] | None = None) -> None:
        self.lexicon = lexicon
        by_surface: dict[str, list[Term]] = {}
        terms = list(lexicon.terms)
        self._brand_lookup: dict[str, list[str]] = {}
        if catalog_brands is not None:
            terms = self._resolve_brands(terms, catalog_brands, lexicon, self._brand_lookup)
        for term in terms:
            surface = fold(term.surface)
            if surface and not any(t == term for t in by_surface.get(surface, [])):
                by_surface.setdefault(surface, []).append(term)
        self._link_note_accord_twins(by_surface, lexicon)
        self._terms = by_surface
        self._pattern = re.compile(trie_pattern(list(by_surface)))
        self._neg_before = self._cue_pattern(lexicon.negation_before, english=True)
        self._neg_after = self._cue_pattern(lexicon.negation_after, english=False)

    @staticmethod
    def _link_note_accord_twins(by_surface: dict[str, list[Term]], lexicon: Lexicon) -> None:
        """ "vanilla", "바닐라향", "가죽" name a note and the accord of the same name alike.

        The lexicon lists some surfaces under only one of the two; linking them here
        makes every spelling behave the same. Generic notes ("Citrus Notes") are never
        linked: "citrus" asks for the accord, not for a perfume that lists "Citruses".
        """
        accords = set(lexicon.accord_aliases.values())
        notes_by_lower = {n.lower(): n for n in lexicon.note_aliases.values() if not _generic_note(n)}
        for surface, terms in by_surface.items():
            kinds = {t.kind: t.value for t in terms}
            if "accord" in kinds and "note" not in kinds and kinds["accord"] in notes_by_lower:
                terms.append(Term(surface, "note", notes_by_lower[kinds["accord"]]))
            elif (
                "note" in kinds
                and "accord" not in kinds
                and kinds["note"].lower() in accords
                and not _generic_note(kinds["note"])
            ):
                terms.append(Term(surface, "accord", kinds["note"].lower()))

    @staticmethod
    def _cue_pattern(cues: tuple[str, ...], *, english: bool) -> re.Pattern[str] | None:
        if not cues:
            return None
        alts = sorted({fold(c) for c in cues}, key=len, reverse=True)
        if english:
            return re.compile("|".join(rf"(?<![a-z]){re.escape(c)}(?![a-z])" for c in alts))
        # Korean: the cue must follow the item at once, a particle or an adverb aside
        # ("바닐라는 빼고", "바닐라 향이 안 나는", "바닐라는 너무 싫어"), never a clause later.
        return re.compile(_KO_CUE_PREFIX + "(?:" + "|".join(re.escape(c) for c in alts) + ")")

    @staticmethod
    def _resolve_brands(
        terms: list[Term], brands: set[str], lexicon: Lexicon, lookup: dict[str, list[str]]
    ) -> list[Term]:
        """Point lexicon brand words at the catalog's own spelling of the brand.

        Catalogs spell houses differently ("Jo Malone" / "Jo Malone London", "Dolce
        Gabbana" / "Dolce&Gabbana"); a lexicon brand stands for every catalog brand that
        one of its spellings names. Every catalog brand is also findable by its own
        name, unless that name is a common word ("Fresh", "Nest").
        """
        by_compact: dict[str, list[str]] = {}
        for brand in brands:
            by_compact.setdefault(compact(brand), []).append(brand)
        resolved: dict[str, list[str]] = {
            brand: sorted({c for s in spellings for c in by_compact.get(s, [])})
            for brand, spellings in lexicon.brand_spellings.items()
        }
        lookup.update(by_compact)
        for brand, spellings in lexicon.brand_spellings.items():
            for spelling in spellings:
                if resolved[brand]:
                    lookup[spelling] = sorted(set(lookup.get(spelling, [])) | set(resolved[brand]))
        out = [t for t in terms if t.kind != "brand"]
        for t in terms:
            if t.kind == "brand":
                out += [Term(t.surface, "brand", catalog_brand) for catalog_brand in resolved.get(t.value, [])]
        common = set(lexicon.note_aliases) | set(lexicon.accord_aliases) | _EN_STOPWORDS
        for table in lexicon.rules.values():
            common |= set(table)
        for brand in brands:
            surface = fold(brand)
            if len(surface) < 4 or surface in common or (" " not in surface and surface.isalpha() and len(surface) < 5):
                continue
            out.append(Term(brand, "brand", brand))
        return out

    def resolve_brand(self, name: str) -> list[str]:
        """Catalog brands a brand name means, whatever its spelling ("Dolce & Gabbana", "D&G", "디올")."""
        return self._brand_lookup.get(compact(name), [])

    # -- parsing ------------------------------------------------------------------------
    def parse(self, text: str) -> ParsedQuery:
        folded = fold(text)
        language = "ko" if is_korean(text) else "en"
        parsed = ParsedQuery(text=text, language=language)
        hits = [_Hit(m.start(), m.end(), self._terms[m.group(0)]) for m in self._pattern.finditer(folded)]
        self._mark_negations(folded, hits)
        for hit in hits:
            self._apply(parsed, hit)
        if _KO_NOT_SWEET.search(folded):
            _add(parsed.exclude_accords, "sweet")
            if "sweet" in parsed.accords:
                parsed.accords.remove("sweet")
        year_spans = self._read_years(folded, parsed)
        consumed = [(h.start, h.end) for h in hits] + year_spans
        if self._neg_before:
            consumed += [(m.start(), m.end()) for m in self._neg_before.finditer(folded)]
        parsed.keywords = self._leftover_words(folded, consumed)
        return parsed

    def _mark_negations(self, folded: str, hits: list[_Hit]) -> None:
        negatable = [h for h in hits if any(t.kind in NEGATABLE for t in h.terms)]
        # English: a cue opens a scope that runs until a reset word or punctuation.
        if self._neg_before:
            cues = [m.end() for m in self._neg_before.finditer(folded)]
            for hit in negatable:
                opened = [c for c in cues if c <= hit.start]
                if not opened:
                    continue
                between = folded[opened[-1] : hit.start]
                if not _EN_SCOPE_RESET.search(between) and not self._hit_between(
                    hits, opened[-1], hit.start, allow=negatable
                ):
                    hit.negated = True
        # Korean: a cue after an item (or after a list of items joined by connectors).
        if self._neg_after:
            index = 0
            while index < len(negatable):
                group_end = index
                while group_end + 1 < len(negatable) and _KO_CONNECTOR.match(
                    folded[negatable[group_end].end : negatable[group_end + 1].start]
                ):
                    group_end += 1
                last = negatable[group_end]
                following = [h.start for h in hits if h.start >= last.end]
                tail = folded[last.end : min(following) if following else len(folded)]
                if self._neg_after.search(tail):
                    for hit in negatable[index : group_end + 1]:
                        hit.negated = True
                index = group_end + 1

    @staticmethod
    def _hit_between(hits: list[_Hit], start: int, end: int, allow: list[_Hit]) -> bool:
        """A non-negatable term (a gender, a brand) between cue and item ends the scope."""
        return any(start <= h.start < end and h not in allow for h in hits)

    def _apply(self, parsed: ParsedQuery, hit: _Hit) -> None:
        kinds = {t.kind: t.value for t in hit.terms if t.kind != "brand"}
        for t in hit.terms:
            if t.kind == "brand":
                _add(parsed.brands, t.value)
        if "note" in kinds or "accord" in kinds:
            # The later mention wins: "vanilla perfume ... without vanilla after all" excludes it.
            note, accord = kinds.get("note"), kinds.get("accord")
            if hit.negated:
                if note:
                    _move(note, parsed.notes, parsed.exclude_notes)
                if accord:
                    _move(accord, parsed.accords, parsed.exclude_accords)
                elif note and note.lower() in self.lexicon.accord_aliases.values():
                    _move(note.lower(), parsed.accords, parsed.exclude_accords)
            elif note and not _generic_note(note):
                _move(note, parsed.exclude_notes, parsed.notes)
                if accord:  # a twin: the engine accepts either, preferring both
                    _move(accord, parsed.exclude_accords, parsed.accords)
            elif accord:
                _move(accord, parsed.exclude_accords, parsed.accords)
        for kind, value in kinds.items():
            if kind == "gender":
                # "unisex" wins over a gendered word ("for him and her", "남녀공용").
                if parsed.gender != "unisex":
                    parsed.gender = value
            elif kind in ("season", "mood", "occasion"):
                target = {"season": parsed.seasons, "mood": parsed.moods, "occasion": parsed.occasions}[kind]
                _add(target, value)
                rule = self.lexicon.rules[kind][value]
                if rule.accords:
                    parsed.preferred_accords.append(list(rule.accords))
            elif kind in ("longevity", "sillage"):
                if hit.negated:
                    value = {"long": "short", "strong": "soft"}.get(value, "")
                    if not value:
                        continue
                labels = list(self.lexicon.labels.get((kind, value), ()))
                if kind == "longevity":
                    parsed.longevity = labels
                else:
                    parsed.sillage = labels

    @staticmethod
    def _read_years(folded: str, parsed: ParsedQuery) -> list[tuple[int, int]]:
        taken: list[tuple[int, int]] = []
        for pattern, kind in _YEAR_RULES:
            for m in pattern.finditer(folded):
                if any(s < m.end() and m.start() < e for s, e in taken):
                    continue
                groups = [g for g in m.groups() if g]
                if not groups:
                    continue
                taken.append((m.start(), m.end()))
                first = int(groups[0])
                if kind == "range" and len(groups) == 2:
                    lo, hi = sorted((first, int(groups[1])))
                    parsed.year_min, parsed.year_max = lo, hi
                elif kind == "min":
                    parsed.year_min = first
                elif kind == "after":
                    parsed.year_min = first + 1
                elif kind == "before":
                    parsed.year_max = first - 1
                elif kind == "max":
                    parsed.year_max = first
                elif kind == "exact":
                    parsed.year_min = parsed.year_max = first
                elif kind == "decade":
                    start = first if first >= 1000 else (1900 + first if first >= 30 else 2000 + first)
                    parsed.year_min, parsed.year_max = start, start + 9
                elif kind == "decade_en":
                    if len(groups) == 2:  # "1990s", "2010s"
                        start = int(groups[0]) * 100 + int(groups[1]) * 10
                    else:  # "90s", "'90s"
                        short = int(groups[0]) * 10
                        start = 1900 + short if short >= 30 else 2000 + short
                    parsed.year_min, parsed.year_max = start, start + 9
        return taken

    @staticmethod
    def _leftover_words(folded: str, consumed: list[tuple[int, int]]) -> list[str]:
        chars = list(folded)
        for start, end in consumed:
            chars[start:end] = " " * (end - start)
        words = re.findall(r"[a-z][a-z0-9'&\-]+|\d+", "".join(chars))
        return [w for w in words if w not in _EN_STOPWORDS and not re.fullmatch(r"\d{4}s?|\d0s", w)]
