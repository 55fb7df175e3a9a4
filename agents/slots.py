"""Slots of an utterance, read with the search lexicon (notes, accords, brands, seasons ...)
plus what only a conversation needs: a budget, formula lines and named perfumes."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.perfumery.materials import MaterialDB
from tools.perfumery.usage import regulated_names
from tools.search.matcher import WordMatcher
from tools.search.query import QueryParser
from tools.search.text import fold, is_korean, key, key_offsets

_AMOUNT = r"(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"  # 1,500,000 and 1500000 alike
# Won: "15만원", "15만 원", "150,000원", "₩150,000", "150,000 won", "150k won", "15만" (만 alone is
# always money in a budget), with "대" for a band ("10만원대": 100,000 to 199,999).
_WON = re.compile(
    r"₩\s*(?P<sign>\d{1,3}(?:,\d{3})+|\d+)|(?P<amount>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"\s*(?P<unit>만\s*원|만원|천\s*원|원|krw|k\s*won|k\s*krw|won|만(?!\s*(?:ml|개|명|병|번)))(?![a-z])(?P<band>\s*대)?"
)
# "$150," ends at the comma (a thousands comma is followed by a digit); 달러/유로/파운드 as said in Korean.
_FOREIGN = {
    "USD": re.compile(
        r"(?:us\s*)?\$\s*" + _AMOUNT + r"(k?)(?!\d|,\d)|" + _AMOUNT + r"(k?)\s*(?:dollars?|usd|bucks|달러|불)(?![a-z])"
    ),
    "EUR": re.compile(r"€\s*" + _AMOUNT + r"(k?)|" + _AMOUNT + r"(k?)\s*(?:euros?|eur|유로)(?![a-z])"),
    "GBP": re.compile(r"£\s*" + _AMOUNT + r"(k?)|" + _AMOUNT + r"(k?)\s*(?:pounds?|gbp|quid|파운드)(?![a-z])"),
    "JPY": re.compile(r"¥\s*" + _AMOUNT + r"(k?)|" + _AMOUNT + r"(k?)\s*(?:yen|jpy|엔)(?![a-z])"),
}
# An amount with no currency after a budget word ("under 130,000", "budget to 250k", "max 200k", "won't
# break 160k", "I can go to 125k"): the catalog's currency. Written with thousands, "k" or 5+ digits, never
# a bare year ("under 2000").
_BARE_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d{5,}|\d+(?:\.\d+)?\s*k)(?!\d|[,.]\d|k|\s*(?:ml|years?|년|%))"
_BARE_BUDGET = re.compile(
    r"(?:under|below|less than|no more than|not more than|no higher than|max(?:imum)?|budget(?:'?s| is| of)?|"
    r"over|above|past|beyond|more than|"
    r"limit(?: is)?|up to|within|at most|ceiling(?: is| of)?|"
    r"spend(?: up to| about| around)?|pay(?: up to| about| around)?|"
    r"cap(?:ped)? at|stretch(?: the budget| it)? to|raise(?: it)? to|increase(?: it)? to|around|about|"
    r"break|exceed|top out at|tops out at|go(?: up| as high as)? to|go as high as|can do|stay (?:under|below|within)|"
    r"keep it (?:under|below|to)|"
    r"to)\s*(?:like\s*|maybe\s*|about\s*|around\s*|(?:that|the same|my|our|the)\s+(?:same\s+)?)?" + _BARE_NUMBER
)
# An amount with a budget word after it ("90k cap", "160k tops", "200,000 max", "150k 이하"): a ceiling.
_CEILING_AFTER = (
    r"\s*(?:won|krw)?\s*(?:max(?:imum)?|tops|cap|ceiling|limit|or less|or under|or below|and under|at most|"
    r"is my (?:max|limit|budget|ceiling|cap)|이하|미만|이내|안쪽|안으로|까지|선에서|선으로|내외|밑으로|아래로|"
    r"안\s*넘|넘지\s*않)(?![a-z])"
)
_BARE_AFTER = re.compile(r"(?<![\d,.$€£¥₩])" + _BARE_NUMBER + r"(?=" + _CEILING_AFTER + ")")
# A price named as too much ("250k is a stretch", "25만원은 좀 부담돼요"): a ceiling only when no other amount
# is the budget ("250k is a stretch ... won't break 160k": 160k).
_TOO_MUCH_AFTER = re.compile(
    r"\s*(?:won|krw|dollars?|bucks)?\s*(?:is|was|'s|are|seems|feels|would be)\s*"
    r"(?:a bit |kinda |kind of |a little |way |just |really )?"
    r"(?:a (?:bit of a |little )?stretch|too (?:much|steep|pricey|expensive|high|rich)|"
    r"out of (?:my|our|the) (?:budget|range|league)|over (?:my|our|the) budget|a lot|pushing it|steep|pricey)|"
    r"\s*(?:은|는|이|가|이면|면)?\s*(?:좀|너무|조금|살짝|많이|넘)?\s*(?:부담|비싸|무리|오버|빠듯)"
)
_BARE_TOO_MUCH = re.compile(r"(?<![\d,.$€£¥₩])" + _BARE_NUMBER + r"(?=" + _TOO_MUCH_AFTER.pattern + ")")
# A budget word near an amount (before it or after it): what makes one amount of several the budget.
_CEILING_BEFORE = re.compile(
    r"(?:under|below|less than|more than|max(?:imum)?|budget|limit|up to|within|cap(?:ped)?|tops|break|exceed|"
    r"go(?: up)? to|stretch|spend|pay|afford|at most|ceiling|예산|최대|상한)[^.!?\d]{0,14}$"
)
_CEILING_AFTER_RE = re.compile(_CEILING_AFTER)
_AT_LEAST = re.compile(r"이상|부터|넘는|over|at least|more than|from|above")
# "10만원 안 넘는", "no more than $50", "not over 100,000": a ceiling, though "넘는"/"more than" is said.
_NOT_OVER = re.compile(r"안\s*넘|넘지\s*않|넘기지\s*않|no more than|not more than|not over|not above|or less|이하")
# A floor said to leave out what lies above it, which makes it a ceiling: "15만원 넘는 건 빼고",
# "10만원 이상은 부담돼요", "nothing over $80", "skip anything above 100k", "over $120 is too much".
_EXCLUDED_FLOOR_AFTER = re.compile(
    r"\s*(?:이상|넘는|넘어가는|넘어가면|넘으면|초과|넘게)\s*(?:인|하는)?\s*(?:건|거|것|걸|제품|향수|애들)?\s*"
    r"(?:은|는|을|를|도|이면)?\s*(?:다|전부|좀|너무)?\s*(?:빼|제외|말고|안\s*돼|싫|무리|패스|부담|비싸|못\s*사)|"
    r"\s*(?:or more\s*)?(?:is|are|'s)\s*(?:too much|out|a no|off the table|too pricey|too expensive)"
)
_EXCLUDED_FLOOR_BEFORE = re.compile(
    r"(?:nothing|no|skip|exclude|excluding|without|never|leave out|drop|not|can't|cant|cannot|won't|wont|"
    r"don't|dont|wouldn't|shouldn't)\s+(?:\w+\s+){0,2}(?:over|above|more than|pricier than|past|beyond)\s*$"
)
_BUDGET_CUE = re.compile(
    r"under|below|less than|max|budget|cheaper than|within|up to|spend|afford|"
    r"이하|미만|이내|안쪽|까지|정도|예산|안\s*넘|넘지\s*않"
)
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
        r"less (?:intense|strong|heavy|loud)|not (?:too |so )?(?:intense|strong|heavy)|덜 (?:진|강|무거|센)|"
        r"무겁지\s*않|안\s*무거"
    ),
    "strong": re.compile(
        r"\bstronger\b|(?<!less )\bintense\b|\bheavier\b|(?<!덜 )진한|(?<!덜 )진하게|(?<!덜 )강하게|묵직"
    ),
}


# A concentration named: "EDT", "eau de parfum", "오드뚜왈렛", "퍼퓸" (the planner and formula edits read it).
_CONCENTRATION = re.compile(
    r"(?<![a-z])(extrait de parfum|extrait|eau de parfum|eau de toilette|eau de cologne|parfum|edp|edt|edc)(?![a-z])|"
    r"(오\s*드\s*퍼퓸|오드\s*뚜왈렛|오드\s*트왈렛|오드\s*투왈렛|오드\s*코롱|엑스트레|퍼퓸)"
)
_CONCENTRATION_NAMES = {
    "extrait de parfum": "Extrait", "extrait": "Extrait", "엑스트레": "Extrait", "parfum": "Parfum", "퍼퓸": "Parfum",
    "eau de parfum": "EDP", "edp": "EDP", "오드퍼퓸": "EDP", "eau de toilette": "EDT", "edt": "EDT",
    "오드뚜왈렛": "EDT", "오드트왈렛": "EDT", "오드투왈렛": "EDT", "eau de cologne": "EDC", "edc": "EDC",
    "오드코롱": "EDC",
}  # fmt: skip
# "More of X" / "less of X" in a change asked of something shown ("more rose", "a bit more spice, less
# amber", "장미를 좀 더 많이 넣어 주세요", "우디를 더 강하게", "덜 달게"): the words after an English cue,
# the word before a Korean one, or the adjective after 더/덜.
_EN_MORE = re.compile(
    r"(?<![a-z])(?:more|extra|heavier on|up the|boost(?: the)?|amp up(?: the)?|turn up(?: the)?|increase(?: the)?|"
    r"add(?: some| more| a (?:bit|touch|hint|little) (?:more )?of| a little)?|bring out(?: the)?|emphasi[sz]e(?: the)?|"
    r"push(?: the)?)\s+(?P<x>[a-z][a-z' -]{1,40})"
)
_EN_LESS = re.compile(
    r"(?<![a-z])(?:less|fewer|lower(?: the)?|reduce(?: the)?|tone down(?: the)?|dial down(?: the)?|"
    r"cut (?:down |back )?(?:on )?(?:the )?|soften(?: the)?|lighter on(?: the)?|go easy on(?: the)?|"
    r"not so much)\s+(?P<x>[a-z][a-z' -]{1,40})"
)
_EN_END = re.compile(
    r"\s+(?:but|please|too|than|more|less|so|in|for|to|with|now|instead|then|as|no|not|without)(?![a-z])|[,.;!?]"
)
_EN_COMPARATIVE = {
    "sweeter": "sweet", "woodier": "woody", "spicier": "warm spicy", "fresher": "fresh", "greener": "green",
    "fruitier": "fruity", "smokier": "smoky", "muskier": "musky", "rosier": "rose", "powderier": "powdery",
    "earthier": "earthy", "creamier": "milky", "warmer": "amber", "zestier": "citrus", "citrusier": "citrus",
    "leatherier": "leather", "boozier": "alcohol", "saltier": "salty",
}  # fmt: skip
_KO_X = r"(?P<x>[\uac00-\ud7a3A-Za-z]+(?:\s+(?:향|노트|느낌|계열))?)\s*"
_KO_PARTICLE = r"(?:을|를|은|는|이|가|도)?\s*(?:좀|조금|약간|살짝|훨씬|더욱|많이)?\s*"
_KO_MORE = re.compile(
    _KO_X + _KO_PARTICLE + r"(?:더\s*(?:많이|넣|추가|강하|진하|세게|올려|늘려|살려|느껴|나게|풍부|돋보|강조|넉넉|듬뿍)|"
    r"추가|듬뿍|늘려|늘리|강조|올려|살려)"
)
_KO_LESS = re.compile(_KO_X + _KO_PARTICLE + r"(?:덜|줄여|줄이|적게|약하게|조금만|낮춰|낮추|죽여|빼고 싶지는 않)")
_KO_MORE_ADJ = re.compile(r"(?<![\uac00-\ud7a3])더\s+(?P<x>[\uac00-\ud7a3]+?)(?:하게|한\s|한$|스럽게|게)")
_KO_LESS_ADJ = re.compile(r"(?<![\uac00-\ud7a3])덜\s*(?P<x>[\uac00-\ud7a3]+?)(?:하게|한\s|한$|스럽게|게)")
_KO_SWEET_STEM = re.compile(r"^(?:달|달달|달콤|단)$")


@dataclass(slots=True)
class Slots:
    language: str
    liked_notes: list[str] = field(default_factory=list)
    disliked_notes: list[str] = field(default_factory=list)
    accords: list[str] = field(default_factory=list)
    disliked_accords: list[str] = field(default_factory=list)
    disliked_brands: list[str] = field(default_factory=list)  # houses ruled out: "no Dior", "샤넬 말고"
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
    # A change asked of something shown: notes and accords to have more or less of ("more rose",
    # "덜 달게"), and a concentration named ("EDT로 바꿔 주세요").
    more_notes: list[str] = field(default_factory=list)
    less_notes: list[str] = field(default_factory=list)
    concentration: str | None = None
    # Perfumes named as ones the customer owns, tried or tired of, asking for others ("I already own Sauvage
    # and I'm bored of it, what else?"): ids a search leaves out.
    owned_perfumes: list[str] = field(default_factory=list)

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
                if len(fold(name)) >= (2 if is_korean(name) else 4):  # 리랄, 쿠마린 are words; "oil" is not
                    self.material_names.setdefault(fold(name), m.name)
        if materials is not None:  # regulated substances customers ask about (메틸 유제놀, safrole)
            for alias, listed in regulated_names().items():
                if len(fold(alias)) >= (3 if is_korean(alias) else 4):
                    self.material_names.setdefault(fold(alias), listed)
        # WordMatcher finds what one trie regex of these names would, without compiling it
        # (seconds at every start for the 70k names of the 38k catalog).
        self._materials = WordMatcher(self.material_names) if self.material_names else None
        # What may head a formula line written without percent signs: a material or a note.
        self.ingredient_names = {**{fold(k): v for k, v in parser.lexicon.note_aliases.items()}, **self.material_names}
        self._ingredients = WordMatcher(self.ingredient_names)
        self._names = WordMatcher(self.perfume_names) if self.perfume_names else None
        # Each house's perfumes by their bare name key: a bare name that alone says too little
        # ("Wanted", "Angel") counts where the text names its house too ("Wanted by Azzaro").
        self._by_brand: dict[str, dict[str, dict[str, str]]] = {}
        self._spellings: dict[str, list[str]] = {}
        for full, entry in self.perfume_names.items():
            if "brand_chars" in entry:
                bare = full[int(entry["brand_chars"]) :]
                self._by_brand.setdefault(entry["brand"], {}).setdefault(bare, entry)

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
        by_brand, rest = self._named_with_their_house(text, rest, parsed.brands, perfumes)
        if by_brand:
            perfumes = [*perfumes, *by_brand]
            parsed = self.parser.parse(rest)
        slots = Slots(
            language="ko" if is_korean(text) else "en",
            liked_notes=parsed.notes,
            disliked_notes=parsed.exclude_notes,
            accords=parsed.accords,
            disliked_accords=parsed.exclude_accords,
            disliked_brands=parsed.exclude_brands,
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
        if perfumes and _OWNED.search(folded) and _OTHERS.search(folded):
            slots.owned_perfumes = [p["id"] for p in perfumes]
            houses = {fold(p["brand"]) for p in perfumes}  # "Bleu de Chanel" names a perfume, not a wish for Chanel
            slots.brands = [b for b in slots.brands if fold(b) not in houses]
        for name, pattern in _INTENSITY.items():  # "light" wins: "less intense" says both words
            if pattern.search(folded) and slots.intensity is None:
                slots.intensity = name
        if slots.intensity == "strong" and slots.sillage and not {"strong", "enormous"} & set(slots.sillage):
            slots.intensity = "light"  # "진한 향은 두통이 와요": the strength is what is ruled out
        slots.budget = self._budget(folded)
        more, less, spans = self._amount_changes(folded)
        slots.more_notes, slots.less_notes = more, less
        if more or less:
            for pattern in _INTENSITY.values():  # "우디를 더 강하게": the strength of the note, not of the whole
                if any(s <= m.start() < e for m in pattern.finditer(folded) for s, e in spans):
                    slots.intensity = None
            # "less sweet" asks for less, not for none: the exclusion the parser read is dropped.
            lowered = {v.lower() for v in less}
            slots.disliked_notes = [n for n in slots.disliked_notes if n.lower() not in lowered]
            slots.disliked_accords = [a for a in slots.disliked_accords if a.lower() not in lowered]
            slots.liked_notes = [n for n in slots.liked_notes if n.lower() not in lowered]
            slots.accords = [a for a in slots.accords if a.lower() not in lowered]
        slots.concentration = _concentration(folded)
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

    def _amount_changes(self, folded: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
        """Notes and accords the text asks to have more and less of, and the spans that say so."""
        more: list[str] = []
        less: list[str] = []
        spans: list[tuple[int, int]] = []

        def take(target: list[str], words: str, span: tuple[int, int]) -> None:
            stem = words.strip()
            if _KO_SWEET_STEM.match(stem):
                found = ["sweet"]
            elif stem in _EN_COMPARATIVE:
                found = [_EN_COMPARATIVE[stem]]
            else:
                parsed = self.parser.parse(stem)
                found = [*parsed.notes, *parsed.accords]
                found = [f for f in found if f.lower() not in {n.lower() for n in found if n != f} or f.islower()]
            for value in found:
                if value not in target:
                    target.append(value)
            if found:
                spans.append(span)

        for pattern, target in ((_EN_MORE, more), (_EN_LESS, less)):
            for m in pattern.finditer(folded):
                words = _EN_END.split(m.group("x"), maxsplit=1)[0]
                take(target, " ".join(words.split()[:5]), (m.start(), m.end()))
        for m in re.finditer(r"(?<![a-z])(" + "|".join(_EN_COMPARATIVE) + r")(?![a-z])", folded):
            take(more, m.group(1), (m.start(), m.end()))
        for pattern, target in ((_KO_MORE, more), (_KO_LESS, less), (_KO_MORE_ADJ, more), (_KO_LESS_ADJ, less)):
            for m in pattern.finditer(folded):
                take(target, m.group("x"), (m.start(), m.end()))
        less = [v for v in less if v.lower() not in {m.lower() for m in more}]
        return more, less, spans

    def _named_with_their_house(
        self, text: str, rest: str, brands: list[str], found: list[dict[str, str]]
    ) -> tuple[list[dict[str, str]], str]:
        """Perfumes named by their bare name next to their house written another way than the catalog's
        "brand name" ("Wanted by Azzaro", "Azzaro's Wanted", "Mugler Angel" for Thierry Mugler), and
        `rest` with those names blanked. The name must stand right after the house (its "'s" aside)
        or right before "by"/"from" the house: a house named somewhere in the text is no evidence for
        every word of it that some perfume of the house is called ("Pour Homme", "he", "all")."""
        taken = {p["id"] for p in found}
        keyed, offsets = key_offsets(text.replace("&", " "))
        chars = list(rest)
        out: list[dict[str, str]] = []
        for brand in brands:
            names = self._by_brand.get(brand, {})
            for surface in self._house_spellings(brand):
                for house in _words_at(keyed, surface):
                    after = house + len(surface) + (2 if keyed.startswith(" s ", house + len(surface)) else 0) + 1
                    for bare, entry in names.items():
                        if entry["id"] in taken or len(bare) < 3:
                            continue
                        if keyed.startswith(bare, after) and _ends_word(keyed, after + len(bare)):
                            at = after  # "Azzaro's Wanted", "Mugler Angel"
                        elif joined := next(
                            (f"{bare} {w} " for w in ("by", "from") if keyed.endswith(f"{bare} {w} ", 0, house)), ""
                        ):
                            at = house - len(joined)  # "Wanted by Azzaro"
                            if at > 0 and keyed[at - 1].isalnum():
                                continue
                        else:
                            continue
                        first, last = offsets[at], offsets[at + len(bare) - 1] + 1
                        if len(chars) >= last:
                            chars[first:last] = " " * (last - first)
                        out.append({k: entry[k] for k in ("id", "brand", "name")})
                        taken.add(entry["id"])
        return out, "".join(chars)

    def _house_spellings(self, brand: str) -> list[str]:
        """How a text may write a catalog house, as `key` writes it: its name and the lexicon's
        spellings of it ("mugler" for Thierry Mugler, "디올" for Christian Dior)."""
        cached = self._spellings.get(brand)
        if cached is None:
            spellings = {key(brand)} | {
                alias for alias in self.parser.lexicon.brand_aliases if brand in self.parser.resolve_brand(alias)
            }
            cached = self._spellings[brand] = sorted((s for s in spellings if s), key=len, reverse=True)
        return cached

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
        """A price limit: {"max" or "min": amount, "currency": ...}; no "currency" when none was said
        (the catalog's own, "under 130,000", "160k"); a band ("10만원대") gives both ends.

        Of several amounts, the budget is the last one said with a budget word ("won't break 160k",
        "14만원 안쪽으로"), else the last one said at all; a price only named as too much ("250k is a
        stretch", "25만원은 부담") is the ceiling only when nothing else is."""
        found: list[_Amount] = []

        def add(start: int, end: int, value: dict[str, Any]) -> None:
            if any(a.start < end and start < a.end for a in found):
                return  # "15만원 이하": one amount, read once
            too_much = bool(_TOO_MUCH_AFTER.match(folded, end))
            cued = (
                "min" in value
                or bool(_CEILING_BEFORE.search(folded[max(0, start - 30) : start]))
                or bool(_CEILING_AFTER_RE.match(folded, end))
            )
            found.append(_Amount(start, end, value, cued and not too_much, too_much))

        for won in _WON.finditer(folded):
            amount = float((won.group("sign") or won.group("amount")).replace(",", ""))
            unit = (won.group("unit") or "").replace(" ", "")
            amount *= {"만원": 10_000, "만": 10_000, "천원": 1_000, "kwon": 1_000, "kkrw": 1_000}.get(unit, 1)
            if won.group("band"):  # "10만원대": from 100,000 up to the next step of its last digit
                step = 10 ** (len(str(int(amount))) - len(str(int(amount)).rstrip("0")))
                add(won.start(), won.end(), {"min": amount, "max": amount + step - 1, "currency": "KRW"})
                continue
            add(won.start(), won.end(), {_bound(folded, won.start(), won.end()): amount, "currency": "KRW"})
        if _BUDGET_CUE.search(folded) or _AT_LEAST.search(folded) or _CEILING_BEFORE.search(folded):
            for currency, pattern in _FOREIGN.items():
                for m in pattern.finditer(folded):
                    number = next(g for g in (m.group(1), m.group(3)) if g)
                    thousands = m.group(2) or m.group(4)
                    amount = float(number.replace(",", "")) * (1000 if thousands else 1)
                    add(m.start(), m.end(), {_bound(folded, m.start(), m.end()): amount, "currency": currency})
        for pattern in (_BARE_BUDGET, _BARE_AFTER, _BARE_TOO_MUCH):
            for bare in pattern.finditer(folded):
                if bare.group(0).startswith("to") and "budget" not in folded:
                    continue  # "from 9 to 5": no budget said
                written = bare.group(1).replace(",", "").replace(" ", "")
                amount = float(written.rstrip("k")) * (1000 if written.endswith("k") else 1)
                if amount >= 1000:
                    add(bare.start(1), bare.end(), {_bound(folded, bare.start(1), bare.end()): amount})
        if found:
            found.sort(key=lambda a: a.start)
            cued = [a for a in found if a.cued]
            kept = [a for a in found if not a.too_much]
            return (cued or kept or found[:1])[-1].value
        if _CHEAPER.search(folded):
            return {"relative": "cheaper"}
        return None


@dataclass(slots=True)
class _Amount:
    """An amount of money in a text, and how it was said."""

    start: int
    end: int
    value: dict[str, Any]
    cued: bool  # with a budget word beside it ("under", "max", "안쪽")
    too_much: bool  # named as more than the customer will pay ("250k is a stretch")


def _concentration(folded: str) -> str | None:
    """The concentration the text asks for: of several named, the one not set aside ("오드퍼퓸 말고
    오드뚜왈렛으로", "EDT instead of EDP", "from EDP to EDT": EDT)."""
    named = []
    for m in _CONCENTRATION.finditer(folded):
        written = re.sub(r"\s+", "", m.group(0)) if m.group(2) else m.group(0)
        after, before = folded[m.end() : m.end() + 8], folded[max(0, m.start() - 12) : m.start()]
        if re.match(r"\s*(?:말고|대신|아니고|에서)", after) or re.search(
            r"(?:instead of|rather than|from|not an?|not)\s*$", before
        ):
            continue
        named.append(_CONCENTRATION_NAMES.get(written))
    return named[-1] if named else None


def _bound(folded: str, start: int, end: int) -> str:
    """ "max" unless the words around the amount make it a floor ("10만원 이상", "over $50"); a
    negated floor ("안 넘는", "no more than") is a ceiling."""
    around = folded[max(0, start - 14) : end + 10]
    if _NOT_OVER.search(around):
        return "max"
    if _EXCLUDED_FLOOR_AFTER.match(folded[end : end + 24]) or _EXCLUDED_FLOOR_BEFORE.search(
        folded[max(0, start - 40) : start]
    ):
        return "max"  # what lies over the amount is left out: "15만원 넘는 건 빼고", "nothing over $80"
    after, before = folded[end : end + 8], folded[max(0, start - 14) : start]
    return (
        "min" if _AT_LEAST.search(after) or re.search(r"(?:over|at least|more than|from|above)\s*$", before) else "max"
    )


# Asking for a formula rather than a bottle ("compose", "a recipe", "조향", "만들어 주세요").
# Perfumes the customer has ("I already own", "I've worn X for years", "bored of both", "이미 있어요", "써 봤는데",
# "질렸어요") ...
_OWNED = re.compile(
    r"(?<![a-z])(?:i|we|i've|ive|i'd|i already|already) (?:own|have|got|had|bought|use|wear)|"
    r"(?:own|owned|tried|wore|worn|bored|sick of|tired of|over (?:it|them|both)|used to wear|finished|emptied|"
    r"got (?:it|them|one) already|"
    r"already)(?![a-z])|"
    r"이미|벌써|갖고\s?있|가지고\s?있|있는데|있거든|써\s?봤|써봤|쓰고\s?있|쓰던|썼는데|썼었|질렸|질려|지겨|물려|다\s?써"
)
# ... and asks for others: "what else", "something different", "besides", "다른 거", "말고".
_OTHERS = re.compile(
    r"(?<![a-z])(?:else|other|others|another|different|new|alternatives?|besides|apart from|instead|beyond|next)"
    r"(?![a-z])|다른|말고|외에|대신|새로운|새로"
)
_COMPOSE_WORDS = re.compile(
    r"\b(?:compose|composition|formula|formulation|formulate|recipe|blend|blending|create|design|custom|diy|"
    r"homemade|build|craft|invent|mix|concoct|whip up|cook up|put together|(?:an|a new|the|this) accord|"
    r"make (?:me (?:a|an|one|some|something|my)\b|my own|a |an |one\b))\b|"
    r"조향|레시피|배합|처방|만들어|만들고|직접|조합해|설계|섞어|블렌딩|블렌드|개발|포뮬러|"
    r"제조",
    re.IGNORECASE,
)
# Asking what a material is ("what is iso e super?", "쿠마린이 뭐예요?").
_ABOUT_MATERIAL = re.compile(
    r"\bwhat(?:'s| is| are| does)\b|\btell me about\b|\bexplain\b|\bsmell like\b|\bmade (?:of|from)\b|"
    r"뭐예요|뭔가요|뭐에요|무엇|무슨\s*향|어떤\s*(?:향|원료|성분)|알려|설명",
    re.IGNORECASE,
)


# Words of a change to a formula already made ("needs more sparkle up top", "another one, smokier this
# time", "EDT로 낮춰 주세요"): a compose turn with them stays one, composing word or not.
_FORMULA_CHANGE_WORDS = re.compile(
    r"(?<![a-z])(?:more|less|add|added|up|down|boost|tone|crank|dial|beef|punch|sparkle|another|again|version|"
    r"this time|swap|replace|instead|tweak|adjust|change|top|heart|base|drydown|dry down|concentration|edt|edp|"
    r"parfum|extrait|cologne style|it|that one|ingredients?|materials?|notes? list|percent|%)(?![a-z])|"
    r"더|덜|넣|빼|바꿔|바꾸|다시|버전|농도|탑|미들|베이스|줄여|늘려|살려|올려|낮춰|높여|수정|처방|재료|원료|%",
    re.IGNORECASE,
)
# A scent of the customer's own ("a bespoke scent for my wedding", "나만의 향수"): composing, said otherwise.
_OWN_SCENT = re.compile(
    r"(?<![a-z])(?:bespoke|my own|our own|his own|her own|personali[sz]ed|tailor[- ]made|"
    r"one[- ]of[- ]a[- ]kind)(?![a-z])|"
    r"나만의|맞춤|커스텀|직접",
    re.IGNORECASE,
)
# A question about a material's use or rules ("is oakmoss allowed?", "오크모스 써도 돼요"): no request for perfumes.
_MATERIAL_QUESTION = re.compile(
    r"\?|(?<![a-z])(?:ifra|allowed|safe|safety|legal|limit|restrict\w*|bann?ed|dose|dosage|use it|usage|"
    r"percent|smell like|made (?:of|from))(?![a-z])|%|규정|제한|금지|써도|사용|넣어도|안전|함량|뭐예요|뭔가요|뭐에요",
    re.IGNORECASE,
)
_PERFUME_WORD = re.compile(r"(?<![a-z])(?:perfumes?|fragrances?|scents?|colognes?|edp|edt)(?![a-z])|향수|향", re.I)
# Words that ask for a perfume to buy, or describe one to find ("a tuberose bomb", "find him", "추천").
_SHOPPING_WORDS = re.compile(
    r"(?<![a-z])(?:gimme|give me|get me|find|show me|recommend|suggest|looking for|need|want|bomb|beast|monster|"
    r"any|anything|something|options?|picks?|buy|gift|present|perfumes?|fragrances?|colognes?|vibes?|pls|please)"
    r"(?![a-z])|추천|찾아|찾고|골라|보여|있을까|있어요|뭐가\s*좋|향수|원해|원하|싶어|"
    r"선물|사고\s*싶|살\s*만한",
    re.IGNORECASE,
)


# Buying, not making: with these a word of composing is about the shop's perfumes ("find me a blend of rose
# and oud", "조합 좋은 향수 추천해 주세요").
_BUYING = re.compile(
    r"(?<![a-z])(?:buy|find|recommend|suggest|show me|shop|in stock|sell|store|list|options)(?![a-z])|"
    r"추천|찾아|골라|보여|사고\s*싶|목록|리스트|살\s*만한|구매|파는|매장",
    re.IGNORECASE,
)


# Words that hold a search's limits: "same limits", "in that range", "same budget", "그 가격대에서", "같은 조건으로".
_SEARCH_SCOPE = re.compile(
    r"(?<![a-z])(?:same (?:limits?|budget|price|price range|range|conditions?|rules|filters?|criteria)|"
    r"(?:in|within|inside|at) (?:that|this|the same|my) (?:range|budget|price range|price)|"
    r"(?:that|this|same) price (?:range|point|bracket)|under the same)(?![a-z])|"
    r"(?:그|이|같은|비슷한)\s?(?:가격대|예산|가격|조건|범위)|예산\s?(?:은|도)?\s?(?:그대로|똑같|같게|같이)|조건\s?(?:은|도)?\s?(?:그대로|똑같|같게)",
    re.IGNORECASE,
)

# A lean on what was shown: "lean a bit more floral", "tilt it greener", "조금 더 우디한 쪽으로". A lean on a formula
# in focus is still its edit (formula_edits.edit_requested reads the change whatever the intent); with no formula
# in focus it is a search, never a new formula.
_LEAN = re.compile(
    r"(?<![a-z])(?:lean|leans|leaning|tilt|tilted|skew|veer)(?![a-z])|쪽으로\s?기울|기울여|기울게", re.IGNORECASE
)
_LEANABLE = ("compose", "smalltalk", "off_topic")


def shopping_intent(intent: str, slots: dict[str, Any], text: str) -> str | None:
    """The intent the slots show when the intent role read a request for perfumes as something else:
    a budget is for buying ("a leather scent under 150,000 won" is no formula unless a formula is asked
    for); a request for a style with no word of composing ("gimme a proper tuberose bomb, the creamier
    the better": no formula, blend, make me, 조향, 만들어) is one for perfumes, unless it reads as a change
    to a formula already made ("needs more sparkle up top"); a word of composing with no word of buying is
    a formula however the role read it ("spicy stuff makes me sneeze, make me a fresh one"); and a material
    named only as a dislike ("I really dislike lavender") is no question about the material. None when the
    role's intent stands."""
    composing = bool(_COMPOSE_WORDS.search(text) or _OWN_SCENT.search(text))
    if slots.get("owned_perfumes") and not composing and intent not in ("validate", "ingredient_info"):
        return "recommend"  # "I own Bleu de Chanel and Sauvage, what else?": others than those, not a comparison
    if (_SEARCH_SCOPE.search(text) or _LEAN.search(text)) and not composing and intent in _LEANABLE:
        return "recommend"  # "lean a bit more floral, same limits": the last search's limits, so a search
    wants_perfumes = bool(slots.get("budget")) and not composing and not slots.get("perfumes")
    styled = any(slots.get(k) for k in ("liked_notes", "accords", "mood", "occasion", "season"))
    perfume_words = styled or bool(slots.get("gender") or _PERFUME_WORD.search(text))
    if wants_perfumes and (
        intent in ("compose", "recommend")
        or (intent in ("ingredient_info", "smalltalk", "off_topic") and perfume_words)
    ):
        return "recommend"  # a budget with a style, however unsure the role was of the words around it
    if intent == "compose" and not composing and styled and not _FORMULA_CHANGE_WORDS.search(text):
        return "recommend"
    # "Compose something floral, but lilies give me a headache", "우디 향 배합 부탁해요" (also when unsure)
    if (
        composing
        and intent in ("compose", "recommend", "smalltalk", "off_topic")
        and not slots.get("budget")
        and not _BUYING.search(text)
    ):
        return "compose"
    disliked = {n.lower() for n in slots.get("disliked_notes") or []}
    materials_disliked = slots.get("materials") and disliked
    asks_material = bool(_ABOUT_MATERIAL.search(text) or _MATERIAL_QUESTION.search(text))
    shopping_style = styled and bool(_SHOPPING_WORDS.search(text))
    if intent == "ingredient_info" and not asks_material and (materials_disliked or shopping_style):
        return "recommend"  # "patchouli bomb pls", "통카빈 달달한 향 원해요": a perfume of that material
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


def _words_at(keyed: str, word: str) -> list[int]:
    """Every place `word` stands in `keyed` as whole words."""
    out, start = [], keyed.find(word)
    while start >= 0:
        if (start == 0 or not keyed[start - 1].isalnum()) and _ends_word(keyed, start + len(word)):
            out.append(start)
        start = keyed.find(word, start + 1)
    return out


def _ends_word(keyed: str, end: int) -> bool:
    return end == len(keyed) or not keyed[end].isalnum()


def _capitalised(name_key: str, text: str) -> bool:
    """Whether `text` writes the name with a capital first letter ("Wanted", not "wanted")."""
    first, _, rest = name_key.partition(" ")
    words = [re.escape(first[0].upper()) + "(?i:" + re.escape(first[1:]) + ")"]
    words += [f"(?i:{re.escape(w)})" for w in rest.split()]
    return re.search(r"(?<![A-Za-z])" + r"\W+".join(words) + r"(?![A-Za-z])", fold_case(text)) is not None


def fold_case(text: str) -> str:
    """Accents off, case kept: "Eau d'Hadrien" stays capitalised for `_capitalised`."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
