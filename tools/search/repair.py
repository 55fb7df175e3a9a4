"""Repairing catalog names whose accented letters were lost in scraping.

The 38k Fragrantica export replaced every character outside A-Z, a-z and 0-9 in brands
and perfume names by a space, then collapsed and trimmed the spaces (`damage`): "Estée
Lauder" became "Est e Lauder", "Eau de Néroli" "Eau de N roli", "Rosé" "Ros". A damaged
string therefore holds only ASCII letters, digits and single spaces; anything else (an
apostrophe, an accent) proves the string was not damaged, and it is left alone.

Repairs come from three sources, and one applies only when it is unambiguous:

* `spellings`: another export of the same perfumes (the partial 19k file) read at ingest
  (`ingest --spellings PATH`): the same fragrantica id, or the same brand and name modulo
  the damage, spelled so that damaging it gives back exactly the catalog's string;
* `words`: a curated list of broken forms (`data/accented_words.csv`: "N roli" -> "Néroli"),
  each checked against the reference catalog, matched case-sensitively on word boundaries;
* `lexicon`: the brand lexicon's spellings of a brand ("est e lauder" is "estee lauder",
  "victoria s secret" is "victoria's secret"), when exactly one of them fills the gaps.

A brand is repaired once for the whole catalog, so all its perfumes keep one spelling, and
a brand the lexicon knows keeps a spelling the lexicon still recognises (search filters
brands through it). What is left with a gap that looks like a lost letter is counted as
suspicious.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.errors import CatalogFormatError
from tools.search.lexicon import Lexicon
from tools.search.text import compact, is_korean, key

WORDS_FILE = Path(__file__).resolve().parent / "data" / "accented_words.csv"
SOURCES = ("spellings", "words", "lexicon")
FIELDS = ("brand", "name", "note")

_DAMAGED = re.compile(r"[A-Za-z0-9]+(?: [A-Za-z0-9]+)*")
_LOST = re.compile(r"[^A-Za-z0-9]+")
# A short lower-case piece right after a word ("Ill gale", "Pe nia"), or any lower-case piece after
# a lone capital ("N roli", "M canique"): the shapes a lost letter leaves.
_ELIDED = frozenset("LDJAIOSY")  # L'Eau, D'Or, J'adore ...: an apostrophe lost, not a letter
_STANDALONE_WORDS = """a an and au aux by d da dal de dei del dell della delle der des di do dos du e el en et for in
    l la las le les lo los n no o of on or per pour s sur t the to und una une un van von y ll re ve m
    with at from is it my me mon ma mes our your his her il al eau aime par est men ou new na aka com
    man zum em das oil vert den till was ever him he am so are sous jour as nuit para out but knew met
    like into she cute qui be noir mia ici etre toit oud ai ete ile amor sol mar oro blu bleu vie
    rose love bath body spa eye gel one two red sun sea sky air art day top via im vs go up"""
_STANDALONE = frozenset(_STANDALONE_WORDS.split())


def _looks_lost(left: str, right: str) -> bool:
    if right in _STANDALONE:
        return False
    if len(left) == 1 and left.isupper():
        return left not in _ELIDED
    return len(right) <= 4


def damage(text: str) -> str:
    """What the 38k export made of `text`: every other character a space, spaces collapsed."""
    return _LOST.sub(" ", text).strip()


def is_damaged_form(text: str) -> bool:
    """Only ASCII letters, digits and single spaces: a string the scraper could have produced."""
    return bool(_DAMAGED.fullmatch(text))


def suspicious(text: str) -> bool:
    """Still looks like a letter was lost: a short lower-case fragment after a word ("Ill gale")
    or a lower-case piece after a lone capital ("N roli"), which is not a word that stands alone
    (de, et, pour, s ...). A heuristic, for counting what is left: it repairs nothing."""
    if not is_damaged_form(text) or text.islower():
        return False
    return any(_looks_lost(left, right) for left, right in _pairs(text))


def _pairs(text: str) -> list[tuple[str, str]]:
    words = text.split(" ")
    return [(a, b) for a, b in itertools.pairwise(words) if a.isalpha() and b.isalpha() and b.islower()]


def _fill(damaged: str, candidate: str, *, letters: bool, ignore_case: bool) -> str | None:
    """`damaged` with its gaps (and ends) filled from `candidate`, when `candidate` is the
    same text with characters where the damage left spaces (`letters`: or one plain letter
    per gap, as a spelling that drops accents writes "Estee" for "Est e"). None otherwise."""
    tokens = damaged.split(" ")
    lost = r"[^A-Za-z0-9]"
    gap = rf"({lost}+|{lost}*[A-Za-z]{lost}*)" if letters else rf"({lost}+)"
    pattern = rf"({lost}*)" + gap.join(f"({re.escape(t)})" for t in tokens) + rf"({lost}*)"
    match = re.fullmatch(pattern, candidate.strip(), re.IGNORECASE if ignore_case else 0)
    if match is None:
        return None
    groups = match.groups()
    out = [groups[0]]
    for index, token in enumerate(tokens):
        out.append(token)  # the catalog's own letters and case
        out.append(groups[2 + 2 * index])  # the gap after it, or the trailing run
    repaired = "".join(out).strip()
    return repaired if repaired != damaged and " " not in (out[0] + out[-1]) else None


@dataclass(frozen=True, slots=True)
class Word:
    broken: str
    repaired: str


def load_words(path: Path = WORDS_FILE) -> list[Word]:
    """The curated broken forms, longest first (so "Ros e" wins over "Ros")."""
    words: list[Word] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(line for line in handle if not line.startswith("#")):
            broken, repaired = (row.get("broken") or "").strip(), (row.get("repaired") or "").strip()
            if not broken or not repaired or damage(repaired) != broken:
                raise ValueError(f"{path}: {broken!r} -> {repaired!r}: the repaired form must damage to the broken one")
            words.append(Word(broken, repaired))
    return sorted(words, key=lambda w: (-len(w.broken), w.broken))


@dataclass(slots=True)
class Spellings:
    """Another export's brand and name spellings, by id and by (brand, damaged name)."""

    by_id: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    by_name: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    rows: int = 0

    def add(self, pid: str, brand: str, name: str) -> None:
        names = [name]
        # That export sometimes appends the brand to the name ("Persian Thé Crabtree & Evelyn").
        if brand and name.endswith(" " + brand) and len(name) > len(brand) + 1:
            names.append(name[: -len(brand) - 1].strip())
        self.rows += 1
        if pid:
            self.by_id[pid] = (brand, names)
        for n in names:
            self.by_name.setdefault((compact(brand), damage(n)), set()).add(n)


def load_spellings(path: Path) -> Spellings:
    """Read a catalog-like CSV (id or fragrantica_id, brand, perfume or name) for its spellings."""
    spellings = Spellings()
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames or []
            id_col = next((c for c in ("fragrantica_id", "id") if c in header), None)
            name_col = next((c for c in ("perfume", "name") if c in header), None)
            if "brand" not in header or name_col is None:
                raise CatalogFormatError(f"{path}: line 1: a spellings file needs brand and perfume (or name) columns.")
            for row in reader:
                brand, name = (row.get("brand") or "").strip(), (row.get(name_col) or "").strip()
                if brand and name:
                    spellings.add((row.get(id_col) or "").strip() if id_col else "", brand, name)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CatalogFormatError(f"{path}: cannot read the spellings file ({exc}).") from exc
    return spellings


@dataclass(slots=True)
class RepairReport:
    """Repairs by source and field, the suspicious strings left, and a few examples."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (source, field) -> repairs
    suspicious: Counter[str] = field(default_factory=Counter)  # field -> strings left that look damaged
    examples: list[tuple[str, str, str]] = field(default_factory=list)  # (source, before, after)

    def count(self, source: str, what: str, before: str, after: str, times: int = 1) -> None:
        self.counts[(source, what)] += times
        if len(self.examples) < 50:
            self.examples.append((source, before, after))

    def total(self, *, source: str | None = None, what: str | None = None) -> int:
        return sum(n for (s, f), n in self.counts.items() if source in (None, s) and what in (None, f))

    def summary(self) -> str:
        """ "repaired 3 brands, 120 names, 0 notes (spellings 80, words 40, lexicon 3); 12 suspicious names left" """
        fields = ", ".join(f"{self.total(what=f)} {f}s" for f in FIELDS)
        sources = ", ".join(f"{s} {self.total(source=s)}" for s in SOURCES)
        left = ", ".join(f"{self.suspicious[f]} {f}s" for f in ("brand", "name"))
        return f"repaired {fields} ({sources}); suspicious left: {left}"

    def to_dict(self) -> dict[str, object]:
        return {
            "repaired": {s: {f: self.counts[(s, f)] for f in FIELDS} for s in SOURCES},
            "suspicious": {f: self.suspicious[f] for f in ("brand", "name")},
        }


class Repairer:
    """Repairs damaged brands, names and notes from the word list, the lexicon and spellings."""

    def __init__(self, lexicon: Lexicon, words: list[Word] | None = None, spellings: Spellings | None = None) -> None:
        self.lexicon = lexicon
        self.words = load_words() if words is None else words
        self.spellings = spellings
        self._patterns = [
            (re.compile(rf"(?<![A-Za-z0-9]){re.escape(w.broken)}(?![A-Za-z0-9])"), w.repaired) for w in self.words
        ]

    # -- one string from the word list ------------------------------------------------------
    def from_words(self, text: str) -> str | None:
        if not is_damaged_form(text):
            return None
        out = text
        for pattern, repaired in self._patterns:
            # Only the catalog's own text is matched: a repaired word is never matched again.
            out = _replace_ascii(out, pattern, repaired)
        return out if out != text else None

    def note(self, raw: str, report: RepairReport | None = None) -> str:
        """A raw note name, repaired from the word list when it is damaged."""
        repaired = self.from_words(raw.strip())
        if repaired is None:
            return raw
        if report is not None:
            report.count("words", "note", raw.strip(), repaired)
        return repaired

    # -- brands, once per catalog --------------------------------------------------------------
    def brand_map(self, rows: Iterable[tuple[str, str, str]], report: RepairReport) -> dict[str, str]:
        """damaged brand -> repaired brand, from (id, brand, name) of every row."""
        rows = list(rows)
        from_spellings: dict[str, set[str]] = {}
        if self.spellings is not None:
            for pid, brand, _ in rows:
                known = self.spellings.by_id.get(pid)
                if known and is_damaged_form(brand):
                    filled = _fill(brand, known[0], letters=True, ignore_case=False)
                    if filled:
                        from_spellings.setdefault(brand, set()).add(filled)
        mapping: dict[str, str] = {}
        for brand in dict.fromkeys(brand for _, brand, _ in rows):
            if not is_damaged_form(brand):
                continue
            choices: list[tuple[str, str | None]] = [("words", self.from_words(brand))]
            candidates = from_spellings.get(brand, set())
            choices.append(("spellings", next(iter(candidates)) if len(candidates) == 1 else None))
            choices.append(("lexicon", self._from_lexicon(brand)))
            for source, repaired in choices:
                if repaired and self._lexicon_keeps(brand, repaired):
                    mapping[brand] = repaired
                    report.count(source, "brand", brand, repaired)
                    break
        return mapping

    def _from_lexicon(self, brand: str) -> str | None:
        """The one repair the lexicon's spellings of this brand agree on."""
        canonical = self.lexicon.brand_aliases.get(key(brand))
        if canonical is None:
            return None
        aliases = [canonical] + [t.surface for t in self.lexicon.terms if t.kind == "brand" and t.value == canonical]
        found = {
            filled
            for alias in aliases
            if not is_korean(alias) and (filled := _fill(brand, alias, letters=True, ignore_case=True))
        }
        return found.pop() if len(found) == 1 else None

    def _lexicon_keeps(self, brand: str, repaired: str) -> bool:
        """A brand the lexicon resolves must still be resolved, to the same lexicon brand."""
        before = {b for b, spellings in self.lexicon.brand_spellings.items() if compact(brand) in spellings}
        after = {b for b, spellings in self.lexicon.brand_spellings.items() if compact(repaired) in spellings}
        return before <= after

    # -- names -----------------------------------------------------------------------------------
    def name(self, pid: str, brand: str, name: str, report: RepairReport) -> str:
        """A perfume's name, repaired from its own spelling elsewhere, else from the word list.
        `brand` is the (repaired) brand the perfume is filed under."""
        if not is_damaged_form(name):
            return name
        if self.spellings is not None:
            candidates: set[str] = set()
            known = self.spellings.by_id.get(pid)
            if known:
                candidates = {f for n in known[1] if (f := _fill(name, n, letters=False, ignore_case=False))}
            if not candidates:
                same = self.spellings.by_name.get((compact(brand), name), set())
                candidates = {f for n in same if (f := _fill(name, n, letters=False, ignore_case=False))}
            if len(candidates) == 1:
                repaired = candidates.pop()
                report.count("spellings", "name", name, repaired)
                return repaired
        repaired_words = self.from_words(name)
        if repaired_words:
            report.count("words", "name", name, repaired_words)
            return repaired_words
        return name


def _replace_ascii(current: str, pattern: re.Pattern[str], repaired: str) -> str:
    """Replace `pattern` in `current` where the match is text the catalog wrote, not part of a
    word already repaired (which carries a non-ASCII letter next to it: "Ros" in "Rosée")."""

    def swap(match: re.Match[str]) -> str:
        start, end = match.span()
        before, after = current[start - 1 : start], current[end : end + 1]
        if not before.isascii() or not after.isascii():
            return match.group(0)
        return repaired

    return pattern.sub(swap, current)
