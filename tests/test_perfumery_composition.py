"""`Composer.compose`: 200 briefs generated here from the family words, the moods and
seasons of the search lexicon's rules.yaml, intensities, notes and concentrations, each
checked against the materials table and the validator."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from typing import Any

import pytest
import yaml

from tests.perfumery_support import FILLER, HANGUL, cas_numbers, rows
from tools.perfumery.composition import FAMILY_WORDS, INTENSITY_WORDS, STYLES, Brief, BriefError, Composer, Composition
from tools.perfumery.database import Perfumery, load_perfumery
from tools.perfumery.formula import CONCENTRATION_ALIASES, CONCENTRATIONS, Formula, FormulaError
from tools.search.lexicon import LEXICON_DIR, Lexicon

RULES = yaml.safe_load((LEXICON_DIR / "rules.yaml").read_text(encoding="utf-8"))
MATERIALS = {r["name"]: r for r in rows("materials.csv")}
IFRA_OR_BANNED_CAS = {
    cas
    for table, column in (("ifra_standards.csv", "cas_numbers"), ("eu_prohibited.csv", "cas"))
    for r in rows(table)
    for cas in cas_numbers(r[column])
}

# Notes a customer names, in both languages, with the canonical note the materials table
# uses in notes_for, and the material family the note's accord rules out when disliked
# (the lexicon maps these notes to an accord too; the others are notes only).
NOTES: list[tuple[str, str, str, str | None]] = [
    ("rose", "장미", "Rose", "floral"),
    ("vanilla", "바닐라", "Vanilla", "gourmand"),
    ("oud", "오드", "Oud", "woody"),
    ("patchouli", "패출리", "Patchouli", "woody"),
    ("coconut", "코코넛", "Coconut", "fruity"),
    ("cinnamon", "시나몬", "Cinnamon", "spicy"),
    ("leather", "가죽", "Leather", "leathery"),
    ("honey", "꿀", "Honey", "gourmand"),
    ("jasmine", "자스민", "Jasmine", None),
    ("lavender", "라벤더", "Lavender", None),
    ("bergamot", "베르가못", "Bergamot", None),
    ("sandalwood", "샌달우드", "Sandalwood", None),
    ("musk", "머스크", "Musk", None),
    ("cedar", "시더우드", "Cedar", None),
    ("lemon", "레몬", "Lemon", None),
    ("tonka bean", "통카빈", "Tonka Bean", None),
    ("iris", "아이리스", "Iris", None),
    ("neroli", "네롤리", "Neroli", None),
    ("vetiver", "베티버", "Vetiver", None),
    ("peach", "복숭아", "Peach", None),
    ("mint", "민트", "Mint", None),
    ("incense", "인센스", "Incense", None),
    ("grapefruit", "자몽", "Grapefruit", None),
]
CONCENTRATION_WORDS = {
    "en": ["EDP", "EDT", "EDC", "parfum", "extrait", "eau de toilette"],
    "ko": ["EDP", "오드퍼퓸", "오드뚜왈렛", "오드코롱", "퍼퓸"],
}


def _lang(word: str) -> str:
    return "ko" if HANGUL.search(word) else "en"


def _words_by_language(table: dict[str, list[str]]) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {"en": [], "ko": []}
    for name, words in table.items():
        for word in words:
            out[_lang(word)].append((name, word))
    return out


def _rule_words(group: str) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {"en": [], "ko": []}
    for name, entry in RULES[group].items():
        out["en"] += [(name, w) for w in entry["words"]["en"]]
        out["ko"] += [(name, w) for w in entry["words"]["ko"]]
    return out


@dataclass
class Case:
    brief: Brief
    language: str
    family: str
    intensity: str
    mood: str | None
    season: str | None
    liked: list[str] = field(default_factory=list)  # canonical notes
    disliked: list[str] = field(default_factory=list)
    banned_families: set[str] = field(default_factory=set)

    def __str__(self) -> str:
        return str(asdict(self.brief))


def _cases(count: int = 200) -> list[Case]:
    rng = random.Random(20240501)
    families = _words_by_language(FAMILY_WORDS)
    intensities = _words_by_language(INTENSITY_WORDS)
    moods = _rule_words("moods")
    seasons = _rule_words("seasons")
    out = []
    for number in range(count):
        lang = "ko" if number % 2 else "en"
        family, family_word = families[lang][number // 2 % len(families[lang])]
        intensity, intensity_word = rng.choice(intensities[lang])
        mood, mood_word = rng.choice(moods[lang]) if number % 5 else (None, None)
        season, season_word = rng.choice(seasons[lang]) if number % 3 else (None, None)
        notes = rng.sample(NOTES, 4)
        liked = notes[: rng.randint(0, 2)]
        disliked = notes[2 : 2 + rng.randint(0, 2)]
        brief = Brief(
            fragrance_family=family_word,
            mood=mood_word,
            intensity=intensity_word,
            season=season_word,
            liked_notes=[n[1] if lang == "ko" else n[0] for n in liked],
            disliked_notes=[n[1] if lang == "ko" else n[0] for n in disliked],
            concentration=rng.choice(CONCENTRATION_WORDS[lang]),
            seed=rng.choice([0, 0, 0, 1, 2, 7]),
        )
        out.append(
            Case(
                brief,
                lang,
                family,
                intensity,
                mood,
                season,
                [n[2] for n in liked],
                [n[2] for n in disliked],
                {n[3] for n in disliked if n[3]},
            )
        )
    return out


CASES = _cases()


def _notes_for(material: str) -> set[str]:
    return {n.strip().lower() for n in MATERIALS[material]["notes_for"].split("|") if n.strip()}


def _available(note: str, case: Case) -> bool:
    """A material carries `note`, is not ruled out by the dislikes, and no IFRA / EU entry
    could keep it out of the formula."""
    for name, row in MATERIALS.items():
        notes = _notes_for(name)
        if (
            note.lower() in notes
            and row["family"] != "solvent"
            and row["family"] not in case.banned_families
            and not notes & {d.lower() for d in case.disliked}
            and not set(row["cas"].split("|")) & IFRA_OR_BANNED_CAS
        ):
            return True
    return False


@pytest.fixture(scope="session")
def perfumery(tmp_path_factory: pytest.TempPathFactory) -> Perfumery:
    return load_perfumery(tmp_path_factory.mktemp("composition_home"))


@pytest.fixture(scope="session")
def composer(perfumery: Perfumery, lexicon: Lexicon) -> Composer:
    return Composer(perfumery, lexicon)


@pytest.fixture(scope="session")
def compositions(composer: Composer) -> list[Composition]:
    return [composer.compose(case.brief) for case in CASES]


def test_the_briefs_cover_the_vocabulary() -> None:
    assert len(CASES) == 200
    assert {c.family for c in CASES} == set(FAMILY_WORDS)
    assert {c.intensity for c in CASES} == set(INTENSITY_WORDS)
    assert len({c.mood for c in CASES}) >= 15 and len({c.season for c in CASES}) == 5  # 4 seasons and None
    assert {c.language for c in CASES} == {"en", "ko"}
    assert sum(bool(c.liked) for c in CASES) > 50 and sum(bool(c.disliked) for c in CASES) > 50


@pytest.mark.parametrize("number", range(len(CASES)))
def test_a_composition_is_a_compliant_real_formula(
    number: int, compositions: list[Composition], perfumery: Perfumery
) -> None:
    case, comp = CASES[number], compositions[number]
    formula = comp.formula
    # What the brief was understood as.
    assert comp.brief["fragrance_family"] == case.family
    assert comp.brief["intensity"] == case.intensity
    assert comp.brief["mood"] == case.mood
    assert comp.brief["season"] == case.season
    concentration = case.brief.concentration.lower()
    assert formula.dilution_pct == CONCENTRATIONS[CONCENTRATION_ALIASES.get(concentration, concentration)]
    # A formula of real materials summing to 100 %.
    assert sum(i.pct for i in formula.ingredients) == pytest.approx(100, abs=0.05)
    assert sum(i["pct"] for i in comp.ingredients) == pytest.approx(100, abs=0.05)
    assert [i["name"] for i in comp.ingredients] == [i.name for i in formula.ingredients]
    for item in comp.ingredients:
        assert item["name"] in MATERIALS, item
        material = perfumery.materials.resolve(item["name"])
        assert material is not None and material.name == item["name"]
        assert item["pct"] > 0
        assert isinstance(item["why"], str) and item["why"].strip()
        assert bool(HANGUL.search(item["why"])) is (case.language == "ko"), item["why"]
        if item["name"] != FILLER:
            assert item["layer"] == MATERIALS[item["name"]]["volatility"]
    assert {i["layer"] for i in comp.ingredients} >= {"top", "heart", "base"}
    # Compliant, as reported and when checked again from its JSON shape.
    assert comp.validation["compliant"] is True, comp.validation["violations"]
    again = perfumery.validator.validate(Formula.from_dict(formula.to_dict()))
    assert again.compliant, again.violations
    # Its language.
    korean = case.language == "ko"
    assert comp.language == case.language
    assert bool(HANGUL.search(comp.name)) is korean, comp.name
    assert bool(HANGUL.search(comp.description)) is korean, comp.description
    # Dislikes absent.
    for item in comp.ingredients:
        assert not _notes_for(item["name"]) & {d.lower() for d in case.disliked}, (item["name"], case.disliked)


def test_no_material_is_listed_twice(compositions: list[Composition]) -> None:
    twice = []
    for case, comp in zip(CASES, compositions, strict=True):
        names = [i.name for i in comp.formula.ingredients]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            twice.append(f"{case}: {repeated}")
    assert not twice, f"{len(twice)} of {len(CASES)} formulas list a material twice:\n" + "\n".join(twice)


def test_liked_notes_are_present_where_a_material_can_carry_them(compositions: list[Composition]) -> None:
    missing = []
    checked = 0
    for case, comp in zip(CASES, compositions, strict=True):
        asked = "요청하신" if case.language == "ko" else "you asked for"
        for note in case.liked:
            if not _available(note, case):
                continue
            checked += 1
            carriers = [i for i in comp.ingredients if note.lower() in _notes_for(i["name"])]
            if not carriers:
                missing.append(f"{note} absent: {case}")
            elif not any(asked in i["why"] for i in carriers):
                missing.append(f"{note} only incidental (no material chosen for it): {case}")
    assert checked > 80
    assert not missing, f"{len(missing)} liked notes of {checked} missing:\n" + "\n".join(missing)


def test_the_same_brief_gives_the_same_formula(composer: Composer, perfumery: Perfumery, lexicon: Lexicon) -> None:
    other = Composer(perfumery, lexicon)
    for case in CASES[:40]:
        first = composer.compose(case.brief).to_dict()
        assert composer.compose(case.brief).to_dict() == first
        assert other.compose(Brief(**asdict(case.brief))).to_dict() == first


def test_seeds_give_variants(composer: Composer) -> None:
    briefs = [
        Brief(fragrance_family="floral", mood="romantic", season="spring"),
        Brief(fragrance_family="woody", intensity="strong"),
        Brief(fragrance_family="시트러스", mood="상큼", season="여름"),
        Brief(fragrance_family="amber", mood="cozy", season="winter"),
        Brief(fragrance_family="fresh"),
    ]
    differing = 0
    for brief in briefs:
        one = composer.compose(Brief(**{**asdict(brief), "seed": 1}))
        two = composer.compose(Brief(**{**asdict(brief), "seed": 2}))
        assert one.validation["compliant"] and two.validation["compliant"]
        differing += one.formula.to_dict() != two.formula.to_dict()
    assert differing >= 1


def test_the_reference_brief(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="플로럴", mood="로맨틱", intensity="보통", season="봄"))
    assert comp.brief["fragrance_family"] == "floral" and comp.brief["mood"] == "romantic"
    assert comp.brief["season"] == "spring" and comp.brief["intensity"] == "moderate"
    assert comp.language == "ko" and HANGUL.search(comp.name)
    assert comp.validation["compliant"]
    floral = [i for i in comp.ingredients if i["family"] == "floral"]
    assert sum(i["pct"] for i in floral) > 30  # a floral brief is mostly floral materials


def test_an_explicit_language_wins(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="플로럴", mood="로맨틱", language="en"))
    assert comp.language == "en" and not HANGUL.search(comp.name + comp.description)


@pytest.mark.parametrize(
    ("field_name", "value", "allowed"),
    [
        ("fragrance_family", "nonsense", list(STYLES)),
        ("fragrance_family", "사막", list(STYLES)),
        ("intensity", "extreme", list(INTENSITY_WORDS)),
        ("mood", "grumpy", list(RULES["moods"])),
        ("season", "monsoon", list(RULES["seasons"])),
    ],
)
def test_an_unknown_brief_field_lists_what_is_allowed(
    composer: Composer, field_name: str, value: str, allowed: list[str]
) -> None:
    fields: dict[str, Any] = {field_name: value}
    brief = Brief(**fields)
    with pytest.raises(BriefError) as caught:
        composer.compose(brief)
    assert isinstance(caught.value, FormulaError)
    message = str(caught.value)
    assert value in message
    for name in allowed:
        assert name in message, (name, message)


def test_an_unknown_concentration_is_a_formula_error(composer: Composer) -> None:
    with pytest.raises(FormulaError, match="concentration"):
        composer.compose(Brief(fragrance_family="floral", concentration="eau de vie"))
