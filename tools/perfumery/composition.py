"""`compose_formula`: a brief (family, mood, intensity, season, liked and disliked notes)
turned into a formula of real materials that passes validation.

The rules are explicit and deterministic: the family sets the top/heart/base split and
which material families weigh most; mood and season words add the accords the search
lexicon already maps them to; liked notes force a material that carries them, disliked
ones exclude every material that does. The same brief always gives the same formula;
a seed draws a variant among the best candidates.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from core.errors import FragranceError
from core.jsonl import read_jsonl
from tools.perfumery.database import Perfumery
from tools.perfumery.formula import Formula, FormulaError, Ingredient, concentration_dilution
from tools.perfumery.materials import Material
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser
from tools.search.text import compact, is_korean

STYLES_FILE = Path(__file__).resolve().parent / "data" / "styles.yaml"


@dataclass(frozen=True, slots=True)
class Signature:
    """A group the formula needs one material of, and what that material does in the style."""

    role: dict[str, str]  # language -> text
    materials: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Style:
    name: str
    label: dict[str, str]
    words: tuple[str, ...]
    split: tuple[float, float, float]
    weights: dict[str, float]
    signature: tuple[Signature, ...]
    palette: dict[str, tuple[str, ...]]  # layer -> typical materials
    roles: dict[str, dict[str, str]]  # layer -> language -> what the layer does in this style
    keep_out: tuple[str, ...]  # group or material names
    keep_out_in_season: dict[str, tuple[str, ...]]
    precedence: int = 1  # in a phrase naming several styles, the most specific wins

    def text(self, what: dict[str, str], language: str) -> str:
        return what.get(language) or what["en"]


@dataclass(frozen=True, slots=True)
class StyleBook:
    styles: dict[str, Style]
    groups: dict[str, tuple[str, ...]]
    relatives: dict[str, tuple[str, ...]]  # compact(note) -> related notes, "family:X"

    def keep_out(self, style: Style, season: str | None) -> frozenset[str]:
        names = list(style.keep_out) + list(style.keep_out_in_season.get(season or "", ()))
        out: set[str] = set()
        for name in names:
            out |= set(self.groups.get(name, (name,)))
        return frozenset(out)


def load_styles(path: Path = STYLES_FILE) -> StyleBook:
    """The hand-written style table (see the file's header)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    styles = {}
    for name, raw in data["styles"].items():
        split = tuple(float(x) for x in raw["split"])
        if len(split) != 3 or abs(sum(split) - 100) > 0.01:
            raise FragranceError(f"{path}: style {name!r}: split must be three shares summing to 100.")
        styles[name] = Style(
            name=name,
            label=dict(raw["label"]),
            words=tuple(str(w) for w in raw["words"]),
            split=(split[0], split[1], split[2]),
            weights={k: float(v) for k, v in raw.get("weights", {}).items()},
            signature=tuple(Signature(dict(g["role"]), tuple(g["materials"])) for g in raw.get("signature", [])),
            palette={layer: tuple(raw.get(layer, [])) for layer in LAYERS},
            roles={layer: dict(raw["roles"][layer]) for layer in LAYERS},
            keep_out=tuple(raw.get("keep_out", [])),
            keep_out_in_season={k: tuple(v) for k, v in (raw.get("keep_out_in_season") or {}).items()},
            precedence=int(raw.get("precedence", 1)),
        )
    groups = {k: tuple(v) for k, v in (data.get("groups") or {}).items()}
    relatives = {compact(k): tuple(v) for k, v in (data.get("relatives") or {}).items()}
    return StyleBook(styles, groups, relatives)


def check_styles(book: StyleBook, materials: dict[str, Material]) -> list[str]:
    """Every material the table names exists, and sits in the layer its palette says."""
    problems = []
    for style in book.styles.values():
        named = [n for g in style.signature for n in g.materials]
        for layer in LAYERS:
            for name in style.palette[layer]:
                m = materials.get(name)
                if m is not None and m.volatility != layer:
                    problems.append(f"{style.name}: {name} is a {m.volatility} note, not {layer}")
                named.append(name)
        for keep in (*style.keep_out, *(n for v in style.keep_out_in_season.values() for n in v)):
            named += [] if keep in book.groups else [keep]
        problems += [f"{style.name}: unknown material {n!r}" for n in named if n not in materials]
    problems += [
        f"group {g}: unknown material {n!r}" for g, ns in book.groups.items() for n in ns if n not in materials
    ]
    return problems


LAYERS = ("top", "heart", "base")
STYLE_BOOK = load_styles()
# family -> (top, heart, base) % of the concentrate and material-family weights
STYLES: dict[str, tuple[tuple[float, float, float], dict[str, float]]] = {
    name: (style.split, style.weights) for name, style in STYLE_BOOK.styles.items()
}
FAMILY_WORDS = {name: list(style.words) for name, style in STYLE_BOOK.styles.items()}
PRECEDENCE = {name: style.precedence for name, style in STYLE_BOOK.styles.items()}
INTENSITY_WORDS = {
    "light": ["light", "soft", "subtle", "가벼운", "가볍게", "은은한", "약한", "라이트"],
    "moderate": ["moderate", "medium", "normal", "보통", "중간", "적당한"],
    "strong": ["strong", "intense", "heavy", "rich", "강한", "진한", "강하게", "묵직한"],
}
# Accords (as the search lexicon names them) -> material family.
ACCORD_FAMILY = {
    "citrus": "citrus", "floral": "floral", "white floral": "floral", "yellow floral": "floral", "rose": "floral",
    "tuberose": "floral", "iris": "powdery", "violet": "powdery", "woody": "woody", "oud": "woody",
    "earthy": "woody", "patchouli": "woody", "mossy": "woody", "aromatic": "aromatic", "lavender": "aromatic",
    "herbal": "herbal", "sweet": "gourmand", "vanilla": "gourmand", "caramel": "gourmand", "honey": "gourmand",
    "cacao": "gourmand", "coffee": "gourmand", "almond": "gourmand", "nutty": "gourmand", "milky": "gourmand",
    "fresh spicy": "spicy", "warm spicy": "spicy", "soft spicy": "spicy", "cinnamon": "spicy", "fruity": "fruity",
    "tropical": "fruity", "cherry": "fruity", "coconut": "fruity", "green": "green", "powdery": "powdery",
    "balsamic": "balsamic", "musky": "musk", "amber": "amber", "fresh": "citrus", "aquatic": "marine",
    "marine": "marine", "ozonic": "marine", "salty": "marine", "leather": "leathery", "tobacco": "leathery",
    "animalic": "animalic", "smoky": "resinous", "aldehydic": "aldehydic", "soapy": "aldehydic",
}  # fmt: skip
COUNTS = {"light": (3, 3, 3), "moderate": (3, 4, 4), "strong": (3, 4, 5)}
# What each layer is usually built from, whatever the style: a floral still opens on citrus.
LAYER_AFFINITY = {
    "top": {"citrus": 2.0, "aromatic": 1.0, "green": 1.0, "fruity": 0.8, "spicy": 0.5, "herbal": 0.5},
    "heart": {"floral": 1.5, "spicy": 0.6, "fruity": 0.5, "green": 0.3, "powdery": 0.5},
    "base": {"musk": 2.0, "woody": 1.5, "amber": 1.5, "balsamic": 1.0, "gourmand": 0.8},
}
# A change naming a layer ("more sparkle up top", "beef up the base"): "layer:<name>" in more_notes or
# less_notes; that layer's share of the concentrate grows (shrinks) by this much, and a larger one gets a
# material more.
LAYER_PREFIX = "layer:"
LAYER_MORE = 1.35
LAYER_LESS = 0.7
MIN_LAYER_PCT = 8.0


def layer_words(layers: list[str]) -> list[str]:
    """The layers of a change as a brief carries them ("layer:top")."""
    return [f"{LAYER_PREFIX}{layer}" for layer in dict.fromkeys(layers)]


BLENDER_MIN_CAPACITY = 15.0  # % of concentrate a material must take to fill a thin layer
LESS_CAP = 0.6  # of its ceiling, a material a change asks less of
GIVE_WAY = 0.75  # what the rest of a layer keeps when a raised material is at its ceiling
PALETTE_BONUS = 3.0  # a material the style typically uses
SIGNATURE_BONUS = 1.0
KO = {
    "top": "탑 노트", "heart": "미들 노트", "base": "베이스 노트",
    "floral": "플로럴", "woody": "우디", "citrus": "시트러스", "green": "그린", "fruity": "프루티",
    "spicy": "스파이시", "powdery": "파우더리", "gourmand": "구르망", "amber": "앰버",
    "light": "가벼운", "moderate": "적당한", "strong": "진한",
    "spring": "봄", "summer": "여름", "autumn": "가을", "winter": "겨울",
    "musk": "머스크", "marine": "마린", "aromatic": "아로마틱", "herbal": "허브", "balsamic": "발사믹",
    "resinous": "레진", "animalic": "애니멀릭", "leathery": "레더", "aldehydic": "알데하이드",
}  # fmt: skip


@lru_cache(maxsize=64)
def _mood_korean(mood: str) -> str:
    """A mood as a Korean formula name says it ("fresh" -> "상쾌한"): its first Korean word in the lexicon's
    rules; the English word itself only when written in Korean already; else nothing (a Korean name
    carries no English word)."""
    if is_korean(mood):
        return mood
    from tools.search.lexicon import LEXICON_DIR

    rules = yaml.safe_load((LEXICON_DIR / "rules.yaml").read_text(encoding="utf-8")) or {}
    entry = (rules.get("moods") or {}).get(mood.lower()) or {}
    words = (entry.get("words") or {}).get("ko") or []
    return str(words[0]) if words else ""


def style_balance(family: str, slack: float = 12.0) -> dict[str, tuple[float, float]]:
    """The top/heart/base ranges a formula of this style should stay within."""
    split = STYLES[family][0]
    return {layer: (max(0.0, share - slack), share + slack) for layer, share in zip(LAYERS, split, strict=True)}


class BriefError(FormulaError):
    """A brief field that cannot be understood; the message lists what is accepted."""


@dataclass(slots=True)
class Brief:
    fragrance_family: str = "floral"
    mood: str | None = None
    intensity: str = "moderate"
    season: str | None = None
    liked_notes: list[str] = field(default_factory=list)
    disliked_notes: list[str] = field(default_factory=list)
    concentration: str = "EDP"
    inspiration_notes: list[str] = field(default_factory=list)
    inspiration_name: str | None = None
    language: str | None = None  # ko | en; None: from the brief's own words
    seed: int = 0
    # A change asked of a composed formula ("more rose", "less amber"): notes or accords whose
    # materials get a larger (smaller) share, and are preferred (avoided) where the style chooses.
    more_notes: list[str] = field(default_factory=list)
    less_notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Composition:
    name: str
    description: str
    language: str
    brief: dict[str, Any]
    formula: Formula
    ingredients: list[dict[str, Any]]
    validation: dict[str, Any]
    # liked notes no usable material carries: {"note", "reason"} in the brief's language
    omitted_notes: list[dict[str, str]] = field(default_factory=list)
    style: dict[str, Any] = field(default_factory=dict)  # the style, its signature and what filled it

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "language": self.language,
            "brief": self.brief,
            "style": self.style,
            "formula": self.formula.to_dict(),
            "ingredients": self.ingredients,
            "validation": self.validation,
            "omitted_notes": self.omitted_notes,
        }


_LATIN = re.compile(r"[A-Za-z]")
_WORDS = re.compile(r"\w+")
# Season words meaning "no particular season".
ANY_SEASON = frozenset(
    compact(w)
    for w in (
        "all year", "all year round", "year round", "year-round", "all seasons", "all season", "any season",
        "every season", "four seasons", "사계절", "연중", "일년내내", "올시즌", "계절 무관", "아무 때나",
    )
)  # fmt: skip


def _role(text: str, language: str) -> str:
    """A Korean role that ends on a modifier ("... 베이스를 이루는") reads as "... 이루는 역할"."""
    return text + " 역할" if language == "ko" and text.endswith("는") else text


def _object_particle(word: str) -> str:
    """을 after a final consonant, 를 after a vowel (를 when the word does not end in Hangul)."""
    last = word[-1:] if word else ""
    if "\uac00" <= last <= "\ud7a3":
        return "을" if (ord(last) - 0xAC00) % 28 else "를"
    return "를"


@lru_cache(maxsize=8192)
def _compact(text: str) -> str:
    return compact(text)


def _pick(
    word: str | None,
    table: dict[str, list[str]],
    what: str,
    default: str | None,
    precedence: dict[str, int] | None = None,
) -> str | None:
    """The entry a word names: its own name or word first; in a phrase, the most specific entry
    it names ("fruity chypre": chypre; "powdery floral": powdery; "아로마틱 우디": aromatic),
    then the one named first, the longer word on a tie."""
    if word is None or not str(word).strip():
        return default
    folded = _compact(str(word))
    keys = {name: [k for k in (_compact(w) for w in [name, *words]) if k] for name, words in table.items()}
    for name, found in keys.items():
        if folded in found:
            return name
    best: tuple[int, int, int, int] | None = None
    chosen = None
    for order, (name, found) in enumerate(keys.items()):
        rank = -(precedence or {}).get(name, 0)
        for k in found:
            at = folded.find(k)
            if at >= 0 and (best is None or (rank, at, -len(k), order) < best):
                best, chosen = (rank, at, -len(k), order), name
    if chosen is not None:
        return chosen
    raise BriefError(f"unknown {what} {word!r}; use one of: {', '.join(table)} (Korean words work too)")


class Composer:
    def __init__(self, perfumery: Perfumery, lexicon: Lexicon, styles: StyleBook | None = None) -> None:
        self.perfumery = perfumery
        self.lexicon = lexicon
        self.styles = styles or STYLE_BOOK
        self.parser = QueryParser(lexicon, None)
        by_name = {m.name: m for m in perfumery.materials.materials}
        problems = check_styles(self.styles, by_name)
        if problems:
            raise FragranceError("styles.yaml does not match the materials table: " + "; ".join(problems))
        # Per-material lookups every brief needs, computed once.
        canonical = lexicon.canonical_note
        self.note_keys = {
            m.name: frozenset(k for n in m.notes_for for k in (compact(n), compact(canonical(n))))
            for m in perfumery.materials.materials
        }
        # The note each material is first of all (agarwood: oud; cypriol: cypriol).
        self.primary = {
            m.name: frozenset({compact(m.notes_for[0]), compact(canonical(m.notes_for[0]))})
            for m in perfumery.materials.materials
            if m.notes_for
        }
        # The notes of each family ("spicy": clove, pepper, cardamom ...): those most of whose materials (by
        # the note they are first of all) are of it. A family kept out keeps out every material carrying one,
        # whatever its own family (eugenol, an aroma chemical, is clove).
        by_note: dict[str, dict[str, int]] = {}
        for m in perfumery.materials.materials:
            for key in self.primary.get(m.name, frozenset()):
                by_note.setdefault(key, {}).setdefault(m.family, 0)
                by_note[key][m.family] += 1
        family_notes: dict[str, set[str]] = {}
        for key, families in by_note.items():
            family, count = max(families.items(), key=lambda kv: kv[1])
            if count * 2 > sum(families.values()):
                family_notes.setdefault(family, set()).add(key)
        self.family_notes = {family: frozenset(keys) for family, keys in family_notes.items()}
        self._ceilings: dict[tuple[str, float], float] = {}
        self._theme_cache: dict[tuple[str, str], frozenset[str]] = {}

    # -- understanding the brief -----------------------------------------------------------
    def _notes(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Canonical notes and accords named by free words ("장미", "vanilla", "우디")."""
        notes: list[str] = []
        accords: list[str] = []
        for word in words:
            found, named_accords = self._note_of(word)
            notes += [n for n in found if n not in notes]
            accords += [a for a in named_accords if a not in accords]
        return notes, accords

    def _note_of(self, word: str) -> tuple[list[str], list[str]]:
        parsed = self.parser.parse(word)
        found = parsed.notes + [n for n in parsed.exclude_notes if n not in parsed.notes]
        accords = parsed.accords + [a for a in parsed.exclude_accords if a not in parsed.accords]
        if not found and not accords:
            found = [self.lexicon.canonical_note(word)]
        return found, accords

    def _dislikes(self, words: list[str]) -> tuple[list[str], frozenset[str], set[str]]:
        """What the dislikes rule out: a named note and its close relatives only (oud: the
        agarwood-type materials, never cedar or vetiver); a word naming only an accord
        ("woody", "달콤한") rules out that material family."""
        notes: list[str] = []
        keys: set[str] = set()
        families: set[str] = set()
        for word in words:
            found, accords = self._note_of(word)
            if not found:
                families |= {ACCORD_FAMILY[a] for a in accords if a in ACCORD_FAMILY}
                continue
            for note in found:
                notes += [] if note in notes else [note]
                keys.add(compact(note))
                for relative in self.styles.relatives.get(compact(note), ()):
                    if relative.startswith("family:"):
                        families.add(relative.removeprefix("family:"))
                    else:
                        keys.add(compact(relative))
        return notes, frozenset(keys), families

    def _rule_accords(self, kind: str, word: str | None) -> tuple[str | None, list[str]]:
        if not word or (kind == "season" and _compact(word) in ANY_SEASON):
            return None, []
        rules = self.lexicon.rules.get(kind, {})
        if compact(word) in {compact(name) for name in rules}:  # the rule's own name ("fresh")
            name = next(n for n in rules if compact(n) == compact(word))
            return name, list(rules[name].accords)
        parsed = self.parser.parse(word)
        names = {"season": parsed.seasons, "mood": parsed.moods}[kind]
        if not names and kind == "mood" and len(_WORDS.findall(word)) > 1:
            # A described mood ("old saddle, smoky and dry") is not a keyword: what it names
            # (accords, notes) colours the formula; nothing in it is refused.
            return None, list(parsed.accords)
        if not names:
            known = ", ".join(sorted(self.lexicon.rules.get(kind, {})))
            raise BriefError(f"unknown {kind} {word!r}; try one of: {known} (Korean words work too)")
        return names[0], list(self.lexicon.rules[kind][names[0]].accords)

    def _korean_note(self, note: str, m: Material | None) -> str:
        for name in (self.lexicon.korean("note", note), m.korean if m else ""):
            if name and not _LATIN.search(name):
                return name
        return "노트"

    # -- composing -----------------------------------------------------------------------------
    def compose(self, brief: Brief) -> Composition:
        family = _pick(brief.fragrance_family, FAMILY_WORDS, "fragrance family", "floral", PRECEDENCE) or "floral"
        intensity = _pick(brief.intensity, INTENSITY_WORDS, "intensity", "moderate") or "moderate"
        season, season_accords = self._rule_accords("season", brief.season)
        mood, mood_accords = self._rule_accords("mood", brief.mood)
        mood_notes = self.parser.parse(brief.mood).notes if brief.mood and mood is None else []
        dilution = concentration_dilution(brief.concentration)
        liked, liked_accords = self._notes(brief.liked_notes)
        # "layer:top" / "layer:base" in a change: that layer takes a larger (smaller) share ("sparkle up top").
        more_layers = [w.split(":", 1)[1] for w in brief.more_notes if w.startswith(LAYER_PREFIX)]
        less_layers = [w.split(":", 1)[1] for w in brief.less_notes if w.startswith(LAYER_PREFIX)]
        more, more_accords = self._notes([w for w in brief.more_notes if not w.startswith(LAYER_PREFIX)])
        less, less_accords = self._notes([w for w in brief.less_notes if not w.startswith(LAYER_PREFIX)])
        # "More rose" is more of the rose, not of every floral: an accord that is a note named too ("rose",
        # "vanilla") moves that note's materials only; a family ("citrus", "woody") moves the family.
        more_accords = [a for a in more_accords if compact(a) not in {compact(n) for n in more}]
        less_accords = [a for a in less_accords if compact(a) not in {compact(n) for n in less}]
        disliked, disliked_keys, banned_families = self._dislikes(brief.disliked_notes)
        for banned in banned_families:
            disliked_keys |= self.family_notes.get(banned, frozenset())
        text = " ".join(
            str(x) for x in [brief.fragrance_family, brief.mood, brief.season, brief.intensity, *brief.liked_notes] if x
        )
        language = brief.language or ("ko" if is_korean(text) else "en")
        style = self.styles.styles[family]
        keep_out = self.styles.keep_out(style, season)
        palette = {name for layer in LAYERS for name in style.palette[layer]}
        signature_names = {name for group in style.signature for name in group.materials}

        split, weights = style.split, dict(style.weights)
        for accords, share in ((mood_accords, 1.0), (season_accords, 0.7), (liked_accords, 1.5), (more_accords, 3.0)):
            for accord in accords:
                if (fam := ACCORD_FAMILY.get(accord)) is not None:
                    weights[fam] = weights.get(fam, 0.0) + share / max(1, len(accords)) * 3
        # "Less amber": the family weighs less wherever the style chooses, and what is kept of it gets less.
        more_keys = {compact(n) for n in more}
        more_families = {ACCORD_FAMILY[a] for a in more_accords if a in ACCORD_FAMILY}
        less_keys = {compact(n) for n in less} - more_keys
        less_families = {ACCORD_FAMILY[a] for a in less_accords if a in ACCORD_FAMILY} - more_families
        for fam in less_families:
            weights[fam] = min(weights.get(fam, 0.0), 0.0) - 2.0
        # A facet word ("less sweet", "more green") also names the materials that smell of it, whatever their family.
        more_facets = {a.split()[-1] for a in more_accords}
        less_facets = {a.split()[-1] for a in less_accords} - more_facets
        shift = {"light": 8.0, "moderate": 0.0, "strong": -8.0}[intensity]
        targets = dict(zip(LAYERS, (split[0] + shift, split[1], split[2] - shift), strict=True))
        for layer in LAYERS:
            if layer in more_layers and layer not in less_layers:
                targets[layer] *= LAYER_MORE
            elif layer in less_layers and layer not in more_layers:
                targets[layer] *= LAYER_LESS
            if more_layers or less_layers:  # every layer keeps a presence
                targets[layer] = max(targets[layer], MIN_LAYER_PCT)
        counts = list(COUNTS[intensity])
        for n, layer in enumerate(LAYERS):
            counts[n] += 1 if layer in more_layers and layer not in less_layers else 0

        every = [m for m in self.perfumery.materials.materials if m.family != "solvent"]
        allowed = [
            m
            for m in every
            if m.family not in banned_families
            and not disliked_keys & self.note_keys[m.name]
            and self._usable_max(m, dilution) > 0
        ]
        # Free choices only where IFRA leaves room for a usual dose and the style has room
        # for the material; a liked note may still be carried by a material the limits keep
        # below its usual dose, or one the style would otherwise keep out.
        candidates = [m for m in allowed if m.name not in keep_out and self._usable_max(m, dilution) >= m.use_min_pct]
        liked_keys = {compact(n) for n in liked}
        inspired = {compact(self.lexicon.canonical_note(n)) for n in [*brief.inspiration_notes, *mood_notes]}

        def score(m: Material) -> float:
            notes = self.note_keys[m.name]
            return (
                weights.get(m.family, 0.0)
                + LAYER_AFFINITY[m.volatility].get(m.family, 0.0)
                + (PALETTE_BONUS if m.name in palette else 0.0)
                + (SIGNATURE_BONUS if m.name in signature_names else 0.0)
                + 5.0 * len(notes & liked_keys)
                + 1.5 * min(2, len(notes & inspired))
                + (0.3 if m.natural else 0.0)
                + 3.0 * len(notes & more_keys)
                - 3.0 * len(notes & less_keys)
                + (1.5 if more_facets & set(m.descriptors) else 0.0)
                - (1.5 if less_facets & set(m.descriptors) else 0.0)
            )

        def emphasis(m: Material) -> float:
            """How much more (or less) of `m` a change asks for than the style would use."""
            notes = self.note_keys[m.name]
            if notes & more_keys or m.family in more_families or more_facets & set(m.descriptors):
                return 2.0
            if notes & less_keys or m.family in less_families or less_facets & set(m.descriptors):
                return 0.4
            return 1.0

        def ranked(pool: list[Material]) -> list[Material]:
            return sorted(pool, key=lambda m: (m.name in keep_out, -score(m), m.name))

        seed_text = json.dumps([asdict(brief), family, intensity, season, mood], sort_keys=True, ensure_ascii=False)
        rng = random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:12], 16))
        chosen: dict[str, list[Material]] = {layer: [] for layer in LAYERS}
        liked_by: dict[str, list[str]] = {}  # material -> the liked notes it was chosen for
        roles: dict[str, Signature] = {}  # material -> the signature group it fills
        omitted: list[dict[str, str]] = []
        # Every liked note gets its best material, whatever the layer; a note a described mood
        # names ("tobacco shop") too, when the style has room for it (never reported as omitted).
        wished = [(n, True) for n in [*liked, *(n for n in more if n not in liked)]]
        wished += [(n, False) for n in mood_notes if n not in liked]
        for note, asked in wished:
            key = compact(note)
            raw = [r for r in self.styles.relatives.get(key, ()) if not r.startswith("family:")]
            relatives = {compact(r) for r in raw} | {compact(self.lexicon.canonical_note(r)) for r in raw}
            relatives.discard(key)
            tiers = {m.name: self._liked_tier(m, key, relatives) for m in allowed}
            carriers = sorted(
                (m for m in allowed if tiers[m.name] < 5 and (asked or m.name not in keep_out)),
                key=lambda m: (tiers[m.name], m.name in keep_out, -score(m), m.name),
            )
            if not carriers:
                if asked:
                    reason = self._omission(note, key, disliked_keys, dilution, language)
                    omitted.append({"note": note, "reason": reason})
                continue
            picks = carriers[:1]
            if key not in self.note_keys[picks[0].name]:  # a relative's natural (orange flower for
                picks += [m for m in carriers if key in self.note_keys[m.name]][:1]  # neroli) and the note's own
            if key in more_keys:  # "more vanilla": a second carrier, where one alone is held at its usual maximum
                picks += [m for m in carriers if m not in picks and key in self.note_keys[m.name]][:1]
            for best in picks:
                if best not in chosen[best.volatility]:
                    chosen[best.volatility].append(best)
                if asked:
                    liked_by.setdefault(best.name, []).append(note)
        missing: list[dict[str, str]] = []
        for group in style.signature:  # one material of each signature group
            members = set(group.materials)
            present = [m for layer in LAYERS for m in chosen[layer] if m.name in members]
            if present:
                roles.setdefault(present[0].name, group)
                continue
            usable = [m for m in allowed if m.name in members]
            pool = ranked([m for m in usable if self._usable_max(m, dilution) >= m.use_min_pct] or usable)
            if not pool:
                missing.append(self._missing_signature(group, disliked_keys, banned_families, language))
                continue
            top = pool[: 3 if brief.seed else 1]
            pick = top[0] if len(top) == 1 else rng.choices(top, weights=[score(m) ** 2 + 0.01 for m in top])[0]
            chosen[pick.volatility].append(pick)
            roles[pick.name] = group
        for layer, count in zip(LAYERS, counts, strict=True):
            pool = ranked([m for m in candidates if m.volatility == layer and m not in chosen[layer]])
            # One material per note, except the notes the style layers on purpose (several musks
            # in a musky base, several rose materials in a rose heart): those its palette repeats.
            themes = self._themes(style, layer)
            used_notes = {n for m in chosen[layer] for n in self.note_keys[m.name]} - themes
            while len(chosen[layer]) < count and pool:
                fresh = [m for m in pool if not self.note_keys[m.name] & used_notes] or pool
                top = fresh[: 6 if brief.seed else 1]
                pick = top[0] if not brief.seed else rng.choices(top, weights=[score(m) ** 2 + 0.01 for m in top])[0]
                chosen[layer].append(pick)
                pool.remove(pick)
                used_notes |= self.note_keys[pick.name] - themes
            # A layer whose materials cannot take its share at their usual levels gets a
            # blender that can (Hedione, Iso E Super, Galaxolide ...), as a perfumer would.
            # The style's own materials first, then its families, then anything; never a
            # second material for a note the layer already has when another will do.
            blenders = sorted(
                (m for m in pool if self._usable_max(m, dilution) >= BLENDER_MIN_CAPACITY),
                key=lambda m: (
                    m.name not in palette,
                    weights.get(m.family, 0.0) <= 0,
                    bool(self.note_keys[m.name] & used_notes),
                    -score(m),
                    m.name,
                ),
            )
            while blenders and sum(self._usable_max(m, dilution) for m in chosen[layer]) < targets[layer]:
                chosen[layer].append(blenders.pop(0))

        for layer in LAYERS:  # a layer made of what the change raises (lowers) takes more (less) of the whole
            factors = [emphasis(m) for m in chosen[layer]]
            if factors:
                targets[layer] *= (sum(factors) / len(factors)) ** 0.5
        amounts = self._amounts(chosen, targets, dilution, score, emphasis)
        formula = Formula(
            [Ingredient(m.name, pct, m.cas[0] if m.cas else None) for m, pct in amounts],
            dilution,
            "4",
            brief.concentration,
        )
        balance = style_balance(family)
        validator = self.perfumery.validator
        report = validator.validate(formula, balance_targets=balance)
        if not report.compliant and report.corrected is not None:
            formula = report.corrected
            report = validator.validate(formula, balance_targets=balance)
        by_name = {m.name: m for layer in LAYERS for m in chosen[layer]}
        order = {layer: n for n, layer in enumerate(LAYERS)}
        formula.ingredients.sort(
            key=lambda i: (order.get(by_name[i.name].volatility, 3) if i.name in by_name else 3, -i.pct)
        )
        ingredients = [
            self._explain(by_name.get(i.name), i, style, liked_by, roles, keep_out, language, self._korean_note)
            for i in formula.ingredients
        ]
        name, description = self._name(style, mood, season, intensity, brief, formula, by_name, language)
        kept = {i.name for i in formula.ingredients}
        more_notes_said = bool(more or more_accords or more_layers)
        less_notes_said = bool(less or less_accords or less_layers)
        return Composition(
            name=name,
            description=description,
            language=language,
            brief={
                "fragrance_family": family,
                "mood": mood,
                "season": season,
                "intensity": intensity,
                "liked_notes": liked,
                "disliked_notes": disliked,
                "concentration": brief.concentration,
                "inspiration": brief.inspiration_name,
                "seed": brief.seed,
                **({"more_notes": more + more_accords + layer_words(more_layers)} if more_notes_said else {}),
                **({"less_notes": less + less_accords + layer_words(less_layers)} if less_notes_said else {}),
            },
            formula=formula,
            ingredients=ingredients,
            validation=report.to_dict(),
            omitted_notes=omitted,
            style={
                "name": family,
                "label": style.text(style.label, language),
                "signature": [
                    {
                        "role": _role(style.text(group.role, language), language),
                        "materials": [n for n, g in roles.items() if g is group and n in kept],
                    }
                    for group in style.signature
                ],
                "signature_missing": missing,
                "kept_out": sorted(keep_out),
            },
        )

    def _themes(self, style: Style, layer: str) -> frozenset[str]:
        """Notes at least three of the style's typical materials of this layer share."""
        cached = self._theme_cache.get((style.name, layer))
        if cached is None:
            counts: dict[str, int] = {}
            for name in style.palette[layer]:
                for note in self.note_keys.get(name, frozenset()):
                    counts[note] = counts.get(note, 0) + 1
            cached = self._theme_cache[(style.name, layer)] = frozenset(n for n, c in counts.items() if c >= 3)
        return cached

    def _liked_tier(self, m: Material, key: str, relatives: set[str]) -> int:
        """How directly `m` gives a liked note: 0 the natural material of the note (rose absolute
        for rose), 1 the natural material of a close relative (orange flower for neroli), 2 a
        synthetic whose first note it is, 3 any carrier, 4 a carrier of a relative; 5 none."""
        primary = self.primary.get(m.name, frozenset())
        notes = self.note_keys[m.name]
        if key in primary:
            return 0 if m.natural else 2
        if primary & relatives and m.natural:
            return 1
        if key in notes:
            return 3
        return 4 if notes & relatives else 5

    def _omission(self, note: str, key: str, disliked: frozenset[str], dilution: float, language: str) -> str:
        """Why no material carries a liked note, in the brief's language."""
        carriers = [m for m in self.perfumery.materials.materials if key in self.note_keys[m.name]]
        ko = language == "ko"
        shown = self._korean_note(note, carriers[0] if carriers else None) if ko else note
        if not carriers:
            return (
                f"{shown}: 이 노트를 내는 재료가 재료표에 아직 없습니다"
                if ko
                else f"{note}: no material in the materials table carries this note yet"
            )
        if all(self.note_keys[m.name] & disliked for m in carriers):
            return (
                f"{shown}: 이 노트를 내는 재료가 모두 싫어하신 노트와 겹칩니다"
                if ko
                else f"{note}: every material carrying it also carries a note you asked to avoid"
            )
        if all(self._usable_max(m, dilution) <= 0 for m in carriers):
            return (
                f"{shown}: 이 노트를 내는 재료가 모두 국제향료협회 기준이나 유럽 규정으로 금지되어 있습니다"
                if ko
                else f"{note}: every material carrying it is prohibited by IFRA or EU rules"
            )
        return (
            f"{shown}: 이 노트를 내는 재료가 싫어하신 계열에 속합니다"
            if ko
            else f"{note}: the materials carrying it belong to a family you asked to avoid"
        )

    @staticmethod
    def _missing_signature(
        group: Signature, disliked: frozenset[str], families: set[str], language: str
    ) -> dict[str, str]:
        role = group.role.get(language) or group.role["en"]
        reason = (
            "싫어하신 노트나 규정 때문에 쓸 수 있는 재료가 없습니다"
            if language == "ko"
            else "no material of this group is left after your dislikes and the IFRA/EU limits"
        )
        return {"role": role, "reason": reason}

    def _usable_max(self, m: Material, dilution: float) -> float:
        """The most of `m` a concentrate may hold: its usual maximum, under every IFRA limit."""
        cached = self._ceilings.get((m.name, dilution))
        if cached is None:
            cached = self._ceilings[(m.name, dilution)] = self._ceiling(m, dilution)
        return cached

    def _ceiling(self, m: Material, dilution: float) -> float:
        """Alone in a formula, how much of `m` stays within every limit: its own and those of
        what it contains (cinnamon bark oil is mostly cinnamal). Zero when anything in it is banned."""
        regs = self.perfumery.regulations
        ceiling = m.use_max_pct
        parts = [(cas, 100.0) for cas in m.cas[:1]]
        parts += [(cas, share) for _, cas, share in self.perfumery.validator.constituents_of(m)]
        for cas, share in parts:
            if share <= 0:
                continue
            if any(cas in b.cas for b in regs.eu_prohibited):
                return 0.0
            for standard in regs.by_cas.get(cas, []):
                limit = standard.limit("4")
                if limit == 0.0 or (limit is None and "prohibition" in standard.kinds):
                    return 0.0
                if limit is not None:
                    ceiling = min(ceiling, 0.9 * limit * 100.0 / dilution * 100.0 / share)
        return ceiling

    def _amounts(
        self,
        chosen: dict[str, list[Material]],
        targets: dict[str, float],
        dilution: float,
        score: Any,
        emphasis: Any = None,
    ) -> list[tuple[Material, float]]:
        out: list[tuple[Material, float]] = []
        for layer in LAYERS:
            materials = chosen[layer]
            if not materials:
                continue
            caps = {m.name: min(self._usable_max(m, dilution), m.use_max_pct) for m in materials}
            if emphasis:  # "less pink pepper" lowers it even where its usual maximum held it
                caps = {m.name: caps[m.name] * (LESS_CAP if emphasis(m) < 1 else 1.0) for m in materials}
            wish = {
                m.name: (min(m.use_min_pct, caps[m.name]) + caps[m.name])
                / 2
                * max(0.05, 0.5 + score(m) / 6)
                * (emphasis(m) if emphasis else 1.0)
                for m in materials
            }
            share = targets[layer]
            pcts: dict[str, float] = {}
            free = dict(wish)
            for _ in range(len(materials)):  # water-filling under each material's ceiling
                total = sum(free.values())
                room = share - sum(pcts.values())
                over = {n: w for n, w in free.items() if w * room / total > caps[n]}
                if not over:
                    pcts.update({n: w * room / total for n, w in free.items()})
                    break
                for n in over:
                    pcts[n] = caps[n]
                    free.pop(n)
                if not free:
                    break
            if emphasis:
                # "More cardamom" where cardamom is at its usual maximum already: the rest of its layer gives way.
                raised = [m for m in materials if emphasis(m) > 1 and pcts.get(m.name, 0.0) >= caps[m.name] - 1e-6]
                if raised and len(raised) < len(materials):
                    pcts = {n: p * (1.0 if any(r.name == n for r in raised) else GIVE_WAY) for n, p in pcts.items()}
            out += [(m, pcts[m.name]) for m in materials]
        total = sum(p for _, p in out)
        rounded = [(m, round(p * 100.0 / total, 2)) for m, p in out]
        drift = round(100.0 - sum(p for _, p in rounded), 2)
        largest = max(range(len(rounded)), key=lambda i: rounded[i][1])
        rounded[largest] = (rounded[largest][0], round(rounded[largest][1] + drift, 2))
        return rounded

    @staticmethod
    def _explain(
        m: Material | None,
        ingredient: Ingredient,
        style: Style,
        liked_by: dict[str, list[str]],
        roles: dict[str, Signature],
        keep_out: frozenset[str],
        language: str,
        korean_note: Any = None,
    ) -> dict[str, Any]:
        if m is None:  # the diluent a correction may add
            why = (
                "희석제: 안전 한도를 맞추기 위해 추가"
                if language == "ko"
                else "diluent added to keep within safety limits"
            )
            return {"name": ingredient.name, "pct": ingredient.pct, "layer": None, "family": "solvent", "why": why}
        layer = m.volatility
        group = roles.get(m.name)
        role = style.text(group.role if group else style.roles[layer], language)
        notes = liked_by.get(m.name, [])
        if language == "ko":
            role = _role(role, language)
            why = f"{KO[layer]}: {role}"
            if group is None:
                why += f" ({KO.get(m.family, '')} 계열)" if KO.get(m.family) else ""
            if notes:
                shown = ", ".join(korean_note(n, m) if korean_note else n for n in notes)
                why = f"{KO[layer]}: 요청하신 {shown}{_object_particle(shown)} 담은 재료로, {role}"
                if m.name in keep_out:
                    why += f". {style.label['ko']}에는 보통 쓰지 않지만 요청하셔서 넣었습니다"
        else:
            descriptors = ", ".join(m.descriptors[:2])
            why = f"{layer} note: {role}" + (f" ({descriptors})" if descriptors else "")
            if notes:
                why = f"{layer} note: carries the {' and '.join(n.lower() for n in notes)} you asked for; {role}"
                if m.name in keep_out:
                    why += f" (not usual in a {style.label['en']}, kept because you asked)"
        return {
            "name": m.name,
            "korean_name": m.korean,
            "pct": ingredient.pct,
            "layer": layer,
            "family": m.family,
            "role": "signature" if group else ("liked" if notes else "palette"),
            "why": why,
        }

    @staticmethod
    def _name(
        style: Style,
        mood: str | None,
        season: str | None,
        intensity: str,
        brief: Brief,
        formula: Formula,
        by_name: dict[str, Material],
        language: str,
    ) -> tuple[str, str]:
        def notes(layer: str) -> list[str]:
            out = []
            for i in formula.ingredients:
                m = by_name.get(i.name)
                if m is not None and m.volatility == layer:
                    out.append(m.korean if language == "ko" else m.name)
            return out[:2]

        variant = f" No. {brief.seed}" if brief.seed else ""
        label = style.text(style.label, language)
        if language == "ko":
            mood_ko = _mood_korean(brief.mood) if mood and brief.mood else ""
            head = f"{KO[season]}의 " if season else ""
            name = f"{head}{mood_ko} {label}".replace("  ", " ").strip() + variant
            description = (
                f"{KO[intensity]} {label} {brief.concentration}. "
                f"{', '.join(notes('top'))}(으)로 시작해 {', '.join(notes('heart'))}의 중심을 지나 "
                f"{', '.join(notes('base'))}의 잔향으로 마무리됩니다."
            )
        else:
            parts = [p.title() for p in (mood, season) if p] + [label.title()]
            name = " ".join(parts) + variant
            description = (
                f"A {intensity} {label} {brief.concentration}: it opens on {' and '.join(notes('top'))}, "
                f"turns to {' and '.join(notes('heart'))} at heart and settles on {' and '.join(notes('base'))}."
            )
        return name, description


# -- evaluation (`fragrance-ai eval compose`) ------------------------------------------------
DEFAULT_COMPOSE_EVAL = Path(__file__).resolve().parent / "data" / "eval_compose.jsonl"
BRIEF_FIELDS = (
    "fragrance_family",
    "mood",
    "intensity",
    "season",
    "liked_notes",
    "disliked_notes",
    "concentration",
    "seed",
)


def load_compose_eval(path: Path) -> list[dict[str, Any]]:
    """Briefs with a perfumer's expectations, one JSON object a line:
    {"id", "lang", "style", "brief": {...}, "expect": {"any_of", "none_of", "notes_kept", "notes_excluded", "why"}}."""
    items = []
    for number, row in read_jsonl(path):
        if not isinstance(row, dict) or not isinstance(row.get("brief"), dict):
            raise FragranceError(f"{path}: line {number}: needs a JSON object with a brief object.")
        expect = row.get("expect") or {}
        if not isinstance(expect, dict):
            raise FragranceError(f"{path}: line {number}: expect must be an object.")
        for key in ("any_of", "none_of", "notes_kept", "notes_excluded"):
            value = expect.get(key, [])
            groups = value if key == "any_of" else [value]
            if not isinstance(value, list) or not all(
                isinstance(g, list) and all(isinstance(x, str) for x in g) for g in groups
            ):
                shape = "a list of lists of names" if key == "any_of" else "a list of names"
                raise FragranceError(f"{path}: line {number}: expect.{key} must be {shape}.")
        items.append({**row, "id": str(row.get("id", number)), "line": number, "expect": expect})
    if not items:
        raise FragranceError(f"{path}: no briefs.")
    return items


def _share(passed: int, total: int) -> dict[str, Any]:
    return {"briefs": total, "met": passed, "share": round(passed / total, 3) if total else 0.0}


def evaluate_compose(composer: Composer, items: list[dict[str, Any]]) -> dict[str, Any]:
    """The share of briefs meeting every expectation (and composed compliant), per style and
    per language, with what each miss lacked."""
    db = composer.perfumery.materials
    tally: dict[str, dict[str, list[int]]] = {"style": {}, "language": {}}
    misses = []
    passed = 0
    for item in items:
        language = str(item.get("lang") or "en")
        fields = {k: item["brief"][k] for k in BRIEF_FIELDS if item["brief"].get(k) is not None}
        brief = Brief(**fields, language=language)
        problems: list[str] = []
        style = str(item.get("style") or item["brief"].get("fragrance_family") or "?")
        try:
            comp = composer.compose(brief)
        except FormulaError as exc:
            problems.append(f"brief refused: {exc}")
        else:
            problems = _check_expectations(composer, db, comp, item["expect"])
        ok = not problems
        passed += ok
        for kind, key in (("style", style), ("language", language)):
            counts = tally[kind].setdefault(key, [0, 0])
            counts[0] += ok
            counts[1] += 1
        if not ok:
            misses.append({"id": item["id"], "style": style, "lang": language, "problems": problems})
    return {
        "overall": _share(passed, len(items)),
        "by_style": {k: _share(*v) for k, v in sorted(tally["style"].items())},
        "by_language": {k: _share(*v) for k, v in sorted(tally["language"].items())},
        "misses": misses,
    }


def _check_expectations(composer: Composer, db: Any, comp: Composition, expect: dict[str, Any]) -> list[str]:
    problems = []
    present = {i.name for i in comp.formula.ingredients}

    def canonical(name: str) -> str | None:
        m = db.resolve(name)
        if m is None:
            problems.append(f"the expectation names an unknown material {name!r}")
        return m.name if m is not None else None

    def carriers(note: str) -> list[str]:
        found, accords = composer._note_of(note)
        keys = {compact(n) for n in found}
        families = {ACCORD_FAMILY[a] for a in accords if a in ACCORD_FAMILY} if not found else set()
        out = []
        for name in sorted(present):
            m = db.resolve(name)
            if m is not None and (composer.note_keys.get(m.name, frozenset()) & keys or m.family in families):
                out.append(name)
        return out

    if not comp.validation.get("compliant"):
        problems.append("the formula is not compliant")
    for group in expect.get("any_of", []):
        names = {c for c in map(canonical, group) if c}
        if names and not names & present:
            problems.append(f"none of {', '.join(sorted(names))}")
    for name in expect.get("none_of", []):
        c = canonical(name)
        if c in present:
            problems.append(f"{c} should not be there")
    for note in expect.get("notes_kept", []):
        if not carriers(note):
            omitted = [o["reason"] for o in comp.omitted_notes if compact(o["note"]) == compact(note)]
            problems.append(f"no material carries {note}" + (f" ({omitted[0]})" if omitted else ""))
    for note in expect.get("notes_excluded", []):
        if found := carriers(note):
            problems.append(f"{note} is carried by {', '.join(found)}")
    return problems


def format_compose_report(report: dict[str, Any]) -> str:
    lines = [
        f"Every expectation met: {report['overall']['share']:.3f} "
        f"({report['overall']['met']}/{report['overall']['briefs']} briefs)",
        "per style:",
    ]
    lines += [f"  {k:<16} {v['share']:.3f}  ({v['met']}/{v['briefs']})" for k, v in report["by_style"].items()]
    lines.append("per language:")
    lines += [f"  {k:<16} {v['share']:.3f}  ({v['met']}/{v['briefs']})" for k, v in report["by_language"].items()]
    if report["misses"]:
        lines.append("misses:")
        lines += [f"- {m['id']} ({m['style']}, {m['lang']}): {'; '.join(m['problems'])}" for m in report["misses"]]
    return "\n".join(lines)
