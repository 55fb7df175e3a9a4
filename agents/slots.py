"""Slots of an utterance, read with the search lexicon (notes, accords, brands, seasons ...)
plus what only a conversation needs: a budget, formula lines and named perfumes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.perfumery.materials import MaterialDB
from tools.search.matcher import WordMatcher
from tools.search.query import QueryParser
from tools.search.text import fold, is_korean, key, key_offsets

_AMOUNT = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"  # 1,500,000 and 1500000 alike
_WON = re.compile(_AMOUNT + r"\s*(만\s*원|만원|천\s*원|원|krw)")
_DOLLAR = re.compile(r"(?:\$\s*" + _AMOUNT + r"|" + _AMOUNT + r"\s*(?:dollars|usd|bucks))")
_AT_LEAST = re.compile(r"이상|부터|넘는|over|at least|more than|from|above")
_BUDGET_CUE = re.compile(r"under|below|less than|max|budget|cheaper than|within|이하|미만|이내|안쪽|까지|정도|예산")
_CHEAPER = re.compile(r"cheaper|less expensive|more affordable|저렴|(?<!비)싼|(?<!비)싸게|가성비")
_BREAK = re.compile(r"[,;:!?()/\n]|\.\s")  # punctuation no name is written across
_BARE_AMOUNT = re.compile(r"\s*[:=]?\s*(\d+(?:\.\d+)?)(?!\d|\.\d|\s*(?:ml|g\b|kg|년|원|개|번|병|살|세|시|분))")
_FORMULA_LINE = re.compile(r"([A-Za-z\uac00-\ud7a3][\w\s\-'().\uac00-\ud7a3]{0,60}?)\s*[:=]?\s*(\d+(?:\.\d+)?)\s*%")
# Words that end a material's name when read right to left ("Is this safe? Bergamot Oil 10% and Hedione 30%").
_NAME_STOP = frozenset(
    [
        "and",
        "or",
        "is",
        "are",
        "my",
        "our",
        "the",
        "a",
        "an",
        "with",
        "plus",
        "formula",
        "recipe",
        "blend",
        "this",
        "that",
        "of",
        "in",
        "at",
        "to",
        "for",
        "than",
        "그리고",
        "및",
        "또",
        "와",
        "과",
        "랑",
        "이랑",
        "하고",
        "처방",
        "레시피",
        "배합",
    ]
)
_INTENSITY = {
    "light": re.compile(
        r"\blight(er)?\b|\bsubtle\b|\bsofter\b|가벼운|가볍게|더 가벼|은은|"
        r"less (?:intense|strong|heavy|loud)|not (?:too |so )?(?:intense|strong|heavy)|덜 (?:진|강|무거|센)"
    ),
    "strong": re.compile(
        r"\bstronger\b|(?<!less )\bintense\b|\bheavier\b|(?<!덜 )진한|(?<!덜 )진하게|(?<!덜 )강하게|묵직"
    ),
}


@dataclass(slots=True)
class Slots:
    language: str
    liked_notes: list[str] = field(default_factory=list)
    disliked_notes: list[str] = field(default_factory=list)
    accords: list[str] = field(default_factory=list)
    disliked_accords: list[str] = field(default_factory=list)
    gender: str | None = None
    season: str | None = None
    occasion: str | None = None
    mood: str | None = None
    intensity: str | None = None
    longevity: list[str] = field(default_factory=list)
    sillage: list[str] = field(default_factory=list)
    budget: dict[str, Any] | None = None
    brands: list[str] = field(default_factory=list)
    perfumes: list[dict[str, str]] = field(default_factory=list)
    materials: list[str] = field(default_factory=list)  # perfumery materials named (Iso E Super, 쿠마린)
    formula_lines: list[dict[str, Any]] = field(default_factory=list)
    year_min: int | None = None
    year_max: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [], {})}


class SlotReader:
    def __init__(
        self,
        parser: QueryParser,
        perfume_names: dict[str, dict[str, str]] | None = None,
        materials: MaterialDB | None = None,
    ) -> None:
        """`perfume_names`: name_key(name) -> {"id", "brand", "name"} for perfumes findable by name."""
        self.parser = parser
        self._recent: dict[str, Slots] = {}
        self.perfume_names = perfume_names or {}
        self.material_names: dict[str, str] = {}
        for m in materials.materials if materials else []:
            for name in [m.name, *m.synonyms]:
                if len(fold(name)) >= (3 if is_korean(name) else 4):  # 쿠마린 is a word; "oil" is not
                    self.material_names.setdefault(fold(name), m.name)
        # WordMatcher finds what one trie regex of these names would, without compiling it
        # (seconds at every start for the 70k names of the 38k catalog).
        self._materials = WordMatcher(self.material_names) if self.material_names else None
        # What may head a formula line written without percent signs: a material or a note.
        self.ingredient_names = {**{fold(k): v for k, v in parser.lexicon.note_aliases.items()}, **self.material_names}
        self._ingredients = WordMatcher(self.ingredient_names)
        self._names = WordMatcher(self.perfume_names) if self.perfume_names else None

    def read(self, text: str) -> Slots:
        """The slots of `text`; the classifier's signals and the turn read the same text, so the
        last few results are kept (a Slots is never changed after it is made)."""
        cached = self._recent.get(text)
        if cached is None:
            cached = self._read(text)
            self._recent[text] = cached
            if len(self._recent) > 256:
                self._recent.pop(next(iter(self._recent)))
        return cached

    def _read(self, text: str) -> Slots:
        perfumes, rest = self._named_perfumes(text)
        # Notes, materials and brands are read from what is left once named perfumes are cut
        # out: "Lime Basil & Mandarin" names a perfume, not three notes.
        parsed = self.parser.parse(rest)
        slots = Slots(
            language="ko" if is_korean(text) else "en",
            liked_notes=parsed.notes,
            disliked_notes=parsed.exclude_notes,
            accords=parsed.accords,
            disliked_accords=parsed.exclude_accords,
            gender=parsed.gender,
            season=parsed.seasons[0] if parsed.seasons else None,
            occasion=parsed.occasions[0] if parsed.occasions else None,
            mood=parsed.moods[0] if parsed.moods else None,
            longevity=parsed.longevity,
            sillage=parsed.sillage,
            brands=parsed.brands,
            perfumes=perfumes,
            year_min=parsed.year_min,
            year_max=parsed.year_max,
        )
        folded = fold(text)
        for name, pattern in _INTENSITY.items():  # "light" wins: "less intense" says both words
            if pattern.search(folded) and slots.intensity is None:
                slots.intensity = name
        slots.budget = self._budget(folded)
        if self._materials is not None:
            found = (self.material_names[rest[start:end]] for start, end in self._materials.finditer(rest))
            slots.materials = list(dict.fromkeys(found))
        slots.formula_lines = self._formula_lines(text, rest)
        return slots

    def _named_perfumes(self, text: str) -> tuple[list[dict[str, str]], str]:
        """Catalog perfumes named in `text`, and the folded text with their names blanked out."""
        written = text.replace("&", " ")  # see name_key
        folded = fold(written)
        if self._names is None:
            return [], folded
        keyed, offsets = key_offsets(written)
        perfumes: list[dict[str, str]] = []
        rest = list(folded)
        for match_start, match_end in self._names.finditer(keyed):
            matched = keyed[match_start:match_end]
            perfume = self.perfume_names[matched]
            if perfume.get("bare") and not _capitalised(matched, text):
                continue
            # "Chanel Coco Mademoiselle": the brand stays in the text, to be read as a brand.
            start = offsets[match_start + int(perfume.get("brand_chars", 0))]
            end = offsets[match_end - 1] + 1
            written_as = fold(f"{perfume['brand']} {perfume['name']}")
            if _BREAK.search(folded[offsets[match_start] : end]) and not _BREAK.search(written_as):
                continue  # "Nutmeg, Ginger" lists two notes; it does not name Nutmeg & Ginger
            rest[start:end] = " " * (end - start)
            if all(p["id"] != perfume["id"] for p in perfumes):
                perfumes.append({k: perfume[k] for k in ("id", "brand", "name")})
        return perfumes, "".join(rest)

    def _formula_lines(self, text: str, rest: str) -> list[dict[str, Any]]:
        """Formula lines: "Hedione 30%", or, where no line carries a percent sign, two or more known
        materials or notes each followed by an amount ("벤질 알코올 1, 쿠마린 2"), read as percentages."""
        lines = [
            {"name": name, "pct": float(m.group(2))}
            for m in _FORMULA_LINE.finditer(text)
            if (name := _material_name(m.group(1)))
        ]
        if lines:
            return lines
        bare = []
        for start, end in self._ingredients.finditer(rest):
            amount = _BARE_AMOUNT.match(rest, end)
            if amount:
                bare.append({"name": self.ingredient_names[rest[start:end]], "pct": float(amount.group(1))})
        return bare if len(bare) >= 2 else []

    @staticmethod
    def _budget(folded: str) -> dict[str, Any] | None:
        won = _WON.search(folded)
        if won:
            amount = float(won.group(1).replace(",", ""))
            unit = won.group(2).replace(" ", "")
            amount *= {"만원": 10_000, "천원": 1_000}.get(unit, 1)
            bound = "min" if _AT_LEAST.search(folded[won.end() : won.end() + 8]) else "max"
            return {bound: amount, "currency": "KRW"}
        dollar = _DOLLAR.search(folded)
        if dollar and (_BUDGET_CUE.search(folded) or _AT_LEAST.search(folded)):
            amount = float((dollar.group(1) or dollar.group(2)).replace(",", ""))
            before = folded[max(0, dollar.start() - 14) : dollar.start()]
            return {"min" if _AT_LEAST.search(before) else "max": amount, "currency": "USD"}
        if _CHEAPER.search(folded):
            return {"relative": "cheaper"}
        return None


def name_key(name: str) -> str:
    """The key perfume names are matched by: "&" is dropped, as one catalog writes "Lime Basil &
    Mandarin" and another "Lime Basil Mandarin", and customers write either."""
    return key(name.replace("&", " "))


def _material_name(raw: str) -> str:
    """The material's name at the end of `raw`: words read right to left up to a connecting word."""
    words = re.split(r"[\s,;:?!]+|\.\s+", raw.strip())
    if re.search(r"\.\s", raw):  # a sentence ended before the name: "my formula. Hedione 30%"
        words = re.split(r"\.\s+", raw.strip())[-1].split()
    name: list[str] = []
    for word in reversed(words):
        if not word or word.lower() in _NAME_STOP:
            break
        name.insert(0, word)
    return " ".join(name).strip(" -.(")


def _capitalised(name_key: str, text: str) -> bool:
    """Whether `text` writes the name with a capital first letter ("Wanted", not "wanted")."""
    first, _, rest = name_key.partition(" ")
    words = [re.escape(first[0].upper()) + "(?i:" + re.escape(first[1:]) + ")"]
    words += [f"(?i:{re.escape(w)})" for w in rest.split()]
    return re.search(r"(?<![A-Za-z])" + r"\W+".join(words) + r"(?![A-Za-z])", fold_case(text)) is not None


def fold_case(text: str) -> str:
    """Accents off, case kept: "Eau d'Hadrien" stays capitalised for `_capitalised`."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
