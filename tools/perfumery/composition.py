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
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.perfumery.database import Perfumery
from tools.perfumery.formula import Formula, FormulaError, Ingredient, concentration_dilution
from tools.perfumery.materials import Material
from tools.search.lexicon import Lexicon
from tools.search.query import QueryParser
from tools.search.text import compact, is_korean

# family -> (top, heart, base) % of the concentrate and material-family weights
STYLES: dict[str, tuple[tuple[float, float, float], dict[str, float]]] = {
    "floral": ((20, 50, 30), {"floral": 3, "powdery": 1, "fruity": 1, "musk": 1.2, "citrus": 0.6}),
    "woody": ((15, 35, 50), {"woody": 3, "amber": 1, "spicy": 1, "musk": 1, "citrus": 0.8, "aromatic": 0.6}),
    "citrus": ((40, 35, 25), {"citrus": 3, "aromatic": 1.5, "herbal": 1, "green": 1, "musk": 0.8, "woody": 0.6}),
    "fresh": ((35, 40, 25), {"citrus": 2, "aromatic": 2, "green": 1.5, "marine": 2, "herbal": 1, "musk": 1}),
    "aquatic": ((30, 40, 30), {"marine": 3, "citrus": 1.5, "green": 1, "musk": 1.2, "aromatic": 1, "woody": 0.6}),
    "amber": ((10, 35, 55), {"amber": 3, "balsamic": 2.5, "resinous": 2, "gourmand": 1, "spicy": 1.5, "woody": 1}),
    "gourmand": ((10, 35, 55), {"gourmand": 3, "amber": 1.5, "balsamic": 1.5, "fruity": 1, "musk": 0.8}),
    "chypre": ((20, 40, 40), {"citrus": 1.5, "floral": 1.5, "woody": 2, "resinous": 1, "animalic": 0.5}),
    "fougere": ((25, 40, 35), {"aromatic": 3, "herbal": 1.5, "woody": 1.5, "gourmand": 1, "citrus": 1}),
    "green": ((30, 45, 25), {"green": 3, "herbal": 1.5, "citrus": 1, "floral": 1, "musk": 0.6}),
    "fruity": ((30, 45, 25), {"fruity": 3, "floral": 1.5, "citrus": 1, "gourmand": 0.5, "musk": 1}),
    "spicy": ((15, 45, 40), {"spicy": 3, "woody": 1.5, "amber": 1.5, "citrus": 0.5}),
    "musky": ((15, 40, 45), {"musk": 3, "powdery": 1.5, "woody": 1, "floral": 0.5}),
    "leather": ((15, 35, 50), {"leathery": 3, "animalic": 1, "woody": 1.5, "spicy": 1, "resinous": 1}),
    "powdery": ((15, 45, 40), {"powdery": 3, "floral": 1.5, "musk": 1.5, "gourmand": 0.5}),
}
FAMILY_WORDS = {
    "floral": ["floral", "flower", "flowery", "플로럴", "꽃", "꽃향"],
    "woody": ["woody", "wood", "우디", "나무", "우드"],
    "citrus": ["citrus", "citrusy", "시트러스", "감귤"],
    "fresh": ["fresh", "프레시", "상쾌", "청량"],
    "aquatic": ["aquatic", "marine", "oceanic", "아쿠아틱", "마린", "바다"],
    "amber": ["amber", "oriental", "앰버", "오리엔탈"],
    "gourmand": ["gourmand", "sweet", "구르망", "달콤", "달달"],
    "chypre": ["chypre", "시프레"],
    "fougere": ["fougere", "fern", "푸제르"],
    "green": ["green", "그린", "풀향"],
    "fruity": ["fruity", "fruit", "프루티", "과일"],
    "spicy": ["spicy", "스파이시", "향신료"],
    "musky": ["musky", "musk", "머스크", "머스키"],
    "leather": ["leather", "leathery", "레더", "가죽"],
    "powdery": ["powdery", "파우더리", "파우더"],
}
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
BLENDER_MIN_CAPACITY = 15.0  # % of concentrate a material must take to fill a thin layer
LAYERS = ("top", "heart", "base")
KO = {
    "top": "탑 노트", "heart": "미들 노트", "base": "베이스 노트",
    "floral": "플로럴", "woody": "우디", "citrus": "시트러스", "fresh": "프레시", "aquatic": "아쿠아틱",
    "amber": "앰버", "gourmand": "구르망", "chypre": "시프레", "fougere": "푸제르", "green": "그린",
    "fruity": "프루티", "spicy": "스파이시", "musky": "머스크", "leather": "레더", "powdery": "파우더리",
    "light": "가벼운", "moderate": "적당한", "strong": "진한",
    "spring": "봄", "summer": "여름", "autumn": "가을", "winter": "겨울",
    "musk": "머스크", "marine": "마린", "aromatic": "아로마틱", "herbal": "허브", "balsamic": "발사믹",
    "resinous": "레진", "animalic": "애니멀릭", "leathery": "레더", "aldehydic": "알데하이드",
}  # fmt: skip


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


@dataclass(slots=True)
class Composition:
    name: str
    description: str
    language: str
    brief: dict[str, Any]
    formula: Formula
    ingredients: list[dict[str, Any]]
    validation: dict[str, Any]
    omitted_notes: list[str] = field(default_factory=list)  # liked notes no usable material carries

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "language": self.language,
            "brief": self.brief,
            "formula": self.formula.to_dict(),
            "ingredients": self.ingredients,
            "validation": self.validation,
            "omitted_notes": self.omitted_notes,
        }


def _pick(word: str | None, table: dict[str, list[str]], what: str, default: str | None) -> str | None:
    if word is None or not str(word).strip():
        return default
    folded = compact(str(word))
    for name, words in table.items():
        if folded == compact(name) or any(compact(w) and compact(w) in folded for w in words):
            return name
    raise BriefError(f"unknown {what} {word!r}; use one of: {', '.join(table)} (Korean words work too)")


class Composer:
    def __init__(self, perfumery: Perfumery, lexicon: Lexicon) -> None:
        self.perfumery = perfumery
        self.lexicon = lexicon
        self.parser = QueryParser(lexicon, None)
        # Per-material lookups every brief needs, computed once.
        self.note_keys = {m.name: frozenset(compact(n) for n in m.notes_for) for m in perfumery.materials.materials}
        self._ceilings: dict[tuple[str, float], float] = {}

    # -- understanding the brief -----------------------------------------------------------
    def _notes(self, words: list[str]) -> tuple[list[str], list[str]]:
        """Canonical notes and accords named by free words ("장미", "vanilla", "우디")."""
        notes: list[str] = []
        accords: list[str] = []
        for word in words:
            parsed = self.parser.parse(word)
            found = parsed.notes + [n for n in parsed.exclude_notes if n not in parsed.notes]
            notes += [n for n in found if n not in notes]
            accords += [a for a in parsed.accords + parsed.exclude_accords if a not in accords]
            if not found and not parsed.accords:
                notes.append(self.lexicon.canonical_note(word))
        return notes, accords

    def _rule_accords(self, kind: str, word: str | None) -> tuple[str | None, list[str]]:
        if not word:
            return None, []
        rules = self.lexicon.rules.get(kind, {})
        if compact(word) in {compact(name) for name in rules}:  # the rule's own name ("fresh")
            name = next(n for n in rules if compact(n) == compact(word))
            return name, list(rules[name].accords)
        parsed = self.parser.parse(word)
        names = {"season": parsed.seasons, "mood": parsed.moods}[kind]
        if not names:
            known = ", ".join(sorted(self.lexicon.rules.get(kind, {})))
            raise BriefError(f"unknown {kind} {word!r}; try one of: {known} (Korean words work too)")
        return names[0], list(self.lexicon.rules[kind][names[0]].accords)

    # -- composing -----------------------------------------------------------------------------
    def compose(self, brief: Brief) -> Composition:
        family = _pick(brief.fragrance_family, FAMILY_WORDS, "fragrance family", "floral") or "floral"
        intensity = _pick(brief.intensity, INTENSITY_WORDS, "intensity", "moderate") or "moderate"
        season, season_accords = self._rule_accords("season", brief.season)
        mood, mood_accords = self._rule_accords("mood", brief.mood)
        dilution = concentration_dilution(brief.concentration)
        liked, liked_accords = self._notes(brief.liked_notes)
        disliked, disliked_accords = self._notes(brief.disliked_notes)
        text = " ".join(
            str(x) for x in [brief.fragrance_family, brief.mood, brief.season, brief.intensity, *brief.liked_notes] if x
        )
        language = brief.language or ("ko" if is_korean(text) else "en")

        split, weights = STYLES[family]
        weights = dict(weights)
        for accords, share in ((mood_accords, 1.0), (season_accords, 0.7), (liked_accords, 1.5)):
            for accord in accords:
                if (fam := ACCORD_FAMILY.get(accord)) is not None:
                    weights[fam] = weights.get(fam, 0.0) + share / max(1, len(accords)) * 3
        banned_families = {ACCORD_FAMILY[a] for a in disliked_accords if a in ACCORD_FAMILY}
        shift = {"light": 8.0, "moderate": 0.0, "strong": -8.0}[intensity]
        targets = dict(zip(LAYERS, (split[0] + shift, split[1], split[2] - shift), strict=True))

        canonical = {compact(n) for n in disliked}
        allowed = [
            m
            for m in self.perfumery.materials.materials
            if m.family != "solvent"
            and m.family not in banned_families
            and not canonical & self.note_keys[m.name]
            and self._usable_max(m, dilution) > 0
        ]
        # Free choices only where IFRA leaves room for a usual dose; a liked note may
        # still be carried by a material the limits keep below its usual dose.
        candidates = [m for m in allowed if self._usable_max(m, dilution) >= m.use_min_pct]
        liked_keys = {compact(n) for n in liked}
        inspired = {compact(n) for n in brief.inspiration_notes}

        def score(m: Material) -> float:
            notes = self.note_keys[m.name]
            return (
                weights.get(m.family, 0.0)
                + LAYER_AFFINITY[m.volatility].get(m.family, 0.0)
                + 5.0 * len(notes & liked_keys)
                + 1.5 * min(2, len(notes & inspired))
                + (0.3 if m.natural else 0.0)
            )

        seed_text = json.dumps([asdict(brief), family, intensity, season, mood], sort_keys=True, ensure_ascii=False)
        rng = random.Random(int(hashlib.sha256(seed_text.encode()).hexdigest()[:12], 16))
        chosen: dict[str, list[Material]] = {layer: [] for layer in LAYERS}
        reasons: dict[str, str] = {}
        omitted: list[str] = []
        for note in liked:  # every liked note gets its best material, whatever the layer
            carriers = sorted(
                (m for m in allowed if compact(note) in self.note_keys[m.name]),
                key=lambda m: (-score(m), m.name),
            )
            if not carriers:
                omitted.append(note)
            elif carriers[0] not in chosen[carriers[0].volatility]:
                chosen[carriers[0].volatility].append(carriers[0])
                reasons[carriers[0].name] = self.lexicon.korean("note", note) if language == "ko" else note
        for layer, count in zip(LAYERS, COUNTS[intensity], strict=True):
            pool = sorted(
                (m for m in candidates if m.volatility == layer and m not in chosen[layer]),
                key=lambda m: (-score(m), m.name),
            )
            used_notes = {n for m in chosen[layer] for n in self.note_keys[m.name]}
            while len(chosen[layer]) < count and pool:
                fresh = [m for m in pool if not self.note_keys[m.name] & used_notes] or pool
                top = fresh[: 6 if brief.seed else 1]
                pick = top[0] if not brief.seed else rng.choices(top, weights=[score(m) ** 2 + 0.01 for m in top])[0]
                chosen[layer].append(pick)
                pool.remove(pick)
                used_notes |= self.note_keys[pick.name]
            # A layer whose materials cannot take its share at their usual levels gets a
            # blender that can (Hedione, Iso E Super, Galaxolide ...), as a perfumer would.
            blenders = [m for m in pool if self._usable_max(m, dilution) >= BLENDER_MIN_CAPACITY]
            while blenders and sum(self._usable_max(m, dilution) for m in chosen[layer]) < targets[layer]:
                chosen[layer].append(blenders.pop(0))

        amounts = self._amounts(chosen, targets, dilution, score)
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
        ingredients = [self._explain(by_name.get(i.name), i, family, reasons, language) for i in formula.ingredients]
        name, description = self._name(family, mood, season, intensity, brief, formula, by_name, language)
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
            },
            formula=formula,
            ingredients=ingredients,
            validation=report.to_dict(),
            omitted_notes=omitted,
        )

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
        self, chosen: dict[str, list[Material]], targets: dict[str, float], dilution: float, score: Any
    ) -> list[tuple[Material, float]]:
        out: list[tuple[Material, float]] = []
        for layer in LAYERS:
            materials = chosen[layer]
            if not materials:
                continue
            caps = {m.name: min(self._usable_max(m, dilution), m.use_max_pct) for m in materials}
            wish = {
                m.name: (min(m.use_min_pct, caps[m.name]) + caps[m.name]) / 2 * (0.5 + score(m) / 6) for m in materials
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
            out += [(m, pcts[m.name]) for m in materials]
        total = sum(p for _, p in out)
        rounded = [(m, round(p * 100.0 / total, 2)) for m, p in out]
        drift = round(100.0 - sum(p for _, p in rounded), 2)
        largest = max(range(len(rounded)), key=lambda i: rounded[i][1])
        rounded[largest] = (rounded[largest][0], round(rounded[largest][1] + drift, 2))
        return rounded

    @staticmethod
    def _explain(
        m: Material | None, ingredient: Ingredient, family: str, reasons: dict[str, str], language: str
    ) -> dict[str, Any]:
        if m is None:  # the diluent a correction may add
            why = (
                "희석제: 안전 한도를 맞추기 위해 추가"
                if language == "ko"
                else "diluent added to keep within safety limits"
            )
            return {"name": ingredient.name, "pct": ingredient.pct, "layer": None, "family": "solvent", "why": why}
        layer = m.volatility
        if language == "ko":
            role = {"top": "첫인상을 여는", "heart": "향의 중심을 이루는", "base": "잔향을 오래 붙잡는"}[layer]
            why = f"{KO[layer]}: {KO.get(m.family, m.family)} 계열로 {role} 재료"
            if m.name in reasons:
                why += f" (요청하신 {reasons[m.name]})"
        else:
            role = {"top": "opens the scent", "heart": "carries the heart", "base": "anchors the dry-down"}[layer]
            why = f"{layer} note: a {m.family} material ({', '.join(m.descriptors[:2])}) that {role}"
            if m.name in reasons:
                why += f"; you asked for {reasons[m.name].lower()}"
        return {
            "name": m.name,
            "korean_name": m.korean,
            "pct": ingredient.pct,
            "layer": layer,
            "family": m.family,
            "why": why,
        }

    @staticmethod
    def _name(
        family: str,
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
        if language == "ko":
            mood_ko = brief.mood or ""
            head = f"{KO[season]}의 " if season else ""
            name = f"{head}{mood_ko} {KO[family]}".replace("  ", " ").strip() + variant
            description = (
                f"{KO[intensity]} {KO[family]} {brief.concentration}. "
                f"{', '.join(notes('top'))}(으)로 시작해 {', '.join(notes('heart'))}의 중심을 지나 "
                f"{', '.join(notes('base'))}의 잔향으로 마무리됩니다."
            )
        else:
            parts = [p.title() for p in (mood, season) if p] + [family.title()]
            name = " ".join(parts) + variant
            description = (
                f"A {intensity} {family} {brief.concentration}: it opens on {' and '.join(notes('top'))}, "
                f"turns to {' and '.join(notes('heart'))} at heart and settles on {' and '.join(notes('base'))}."
            )
        return name, description
