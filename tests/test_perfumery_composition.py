"""`Composer.compose`: 200 briefs generated here from the family words, the moods and
seasons of the search lexicon's rules.yaml, intensities, notes and concentrations, each
checked against the materials table and the validator."""

from __future__ import annotations

import itertools
import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.errors import FragranceError
from tests.conftest import run_cli
from tests.perfumery_support import FILLER, HANGUL, cas_numbers, rows
from tools.perfumery.composition import (
    FAMILY_WORDS,
    INTENSITY_WORDS,
    STYLES,
    STYLES_FILE,
    Brief,
    BriefError,
    Composer,
    Composition,
    evaluate_compose,
    load_compose_eval,
)
from tools.perfumery.database import Perfumery, load_perfumery
from tools.perfumery.formula import CONCENTRATION_ALIASES, CONCENTRATIONS, Formula, FormulaError
from tools.perfumery.materials import load_materials
from tools.search.lexicon import LEXICON_DIR, Lexicon

RULES = yaml.safe_load((LEXICON_DIR / "rules.yaml").read_text(encoding="utf-8"))
STYLE_TABLE = yaml.safe_load(STYLES_FILE.read_text(encoding="utf-8"))
RELATIVES: dict[str, list[str]] = STYLE_TABLE["relatives"]
MATERIALS = {r["name"]: r for r in rows("materials.csv")}
IFRA_OR_BANNED_CAS = {
    cas
    for table, column in (("ifra_standards.csv", "cas_numbers"), ("eu_prohibited.csv", "cas"))
    for r in rows(table)
    for cas in cas_numbers(r[column])
}

# Notes a customer names, in both languages, with the canonical note the materials table
# uses in notes_for, and the material family the note's accord rules out when disliked
# (the lexicon maps these notes to an accord too; the others are notes only). A disliked
# note rules out its own materials and its close relatives (styles.yaml), not its family.
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
                {
                    f.removeprefix("family:")
                    for n in disliked
                    for f in RELATIVES.get(n[2], [])
                    if f.startswith("family:")
                },
            )
        )
    return out


CASES = _cases()


def _ruled_out(disliked: list[str]) -> set[str]:
    out = {d.lower() for d in disliked}
    out |= {r.lower() for d in disliked for r in RELATIVES.get(d, []) if not r.startswith("family:")}
    return out


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
            and not notes & _ruled_out(case.disliked)
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
        assert not _notes_for(item["name"]) & _ruled_out(case.disliked), (item["name"], case.disliked)


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


# -- a perfumer's checklist per style ---------------------------------------------------------
# Written from the perfumer's side, not read from styles.yaml: what each style cannot do without.
CITRUS = {"Bergamot Oil", "Bergamot Oil FCF", "Lemon Oil", "Mandarin Oil", "Grapefruit Oil", "Lime Oil Distilled"}
CITRUS |= {"Sweet Orange Oil", "Yuzu Oil"}
MOSS = {"Oakmoss Absolute", "Treemoss Absolute", "Evernyl"}
VANILLA = {"Vanillin", "Ethyl Vanillin", "Vanilla Absolute"}
WOODS = {"Virginia Cedarwood Oil", "Atlas Cedarwood Oil", "Texas Cedarwood Oil", "Sandalwood Oil", "Vetiver Oil"}
WOODS |= {"Australian Sandalwood Oil", "Vetiveryl Acetate", "Patchouli Oil", "Guaiacwood Oil", "Cedrol", "Javanol"}
WOODS |= {"Sandalore"}
SIGNATURES: dict[str, list[set[str]]] = {
    "citrus": [CITRUS, {"Petitgrain Oil", "Neroli Oil", "Rosemary Oil", "Lavender Oil", "Orange Flower Absolute"}],
    "aquatic": [{"Calone", "Floralozone"}],
    "fougere": [{"Lavender Oil", "Lavandin Oil"}, {"Coumarin", "Tonka Bean Absolute"}, MOSS],
    "chypre": [{"Bergamot Oil", "Bergamot Oil FCF"}, MOSS, {"Patchouli Oil", "Labdanum Absolute", "Cistus Oil"}],
    "leather": [{"Isobutyl Quinoline", "Birch Tar Oil", "Cade Oil", "Castoreum Absolute", "Safraleine"}],
    "amber": [{"Labdanum Absolute", "Benzoin Resinoid", "Cistus Oil"}, VANILLA | {"Tonka Bean Absolute", "Coumarin"}],
    "gourmand": [VANILLA],
    "white floral": [{"Jasmine Sambac Absolute", "Tuberose Absolute", "Orange Flower Absolute", "Ylang-Ylang Oil"}],
    "rose": [{"Rose Absolute", "Rose Oil", "Phenylethyl Alcohol", "Citronellol", "Geraniol", "Rhodinol"}],
    "woody": [WOODS],
    "powdery": [{"Orris Butter", "Methyl Ionone", "Iralia", "Irone Alpha", "alpha-Ionone", "Heliotropine"}],
}
# Styles whose signature is a family of materials rather than named ones.
SIGNATURE_FAMILIES = {"green": "green", "fruity": "fruity", "aromatic": "aromatic", "musky": "musk", "spicy": "spicy"}
HEAVY = {"Agarwood Oil", "Cypriol Oil", "Castoreum Absolute", "Civetone", "Skatole", "Birch Tar Oil", "Cade Oil"}
HEAVY |= {"Isobutyl Quinoline", "Labdanum Absolute", "Myrrh Oil", "Opoponax Resinoid", "Styrax Resinoid"}
LIGHT_STYLES = ["citrus", "aquatic", "green", "fresh"]
SPRING_FLORALS = ["floral", "white floral", "rose"]


def _word(style: str, lang: str) -> str:
    return next(w for w in FAMILY_WORDS[style] if bool(HANGUL.search(w)) is (lang == "ko"))


def _variants(style: str) -> list[Brief]:
    """A style's briefs in both languages, at every intensity, with moods, seasons and seeds."""
    out = []
    for lang in ("en", "ko"):
        moods = [w for _, w in _rule_words("moods")[lang]][:4]
        for number, intensity in enumerate(w for _, w in _words_by_language(INTENSITY_WORDS)[lang][:3]):
            for seed in (0, 3):
                mood = moods[(number + seed) % len(moods)] if seed else None
                out.append(Brief(fragrance_family=_word(style, lang), intensity=intensity, mood=mood, seed=seed))
    return out


def _names(comp: Composition) -> set[str]:
    return {i.name for i in comp.formula.ingredients}


@pytest.mark.parametrize("style", sorted(set(SIGNATURES) | set(SIGNATURE_FAMILIES)))
def test_each_style_holds_its_signature(composer: Composer, style: str) -> None:
    for brief in _variants(style):
        comp = composer.compose(brief)
        assert comp.brief["fragrance_family"] == style, (brief, comp.brief)
        assert comp.validation["compliant"], (brief, comp.validation["violations"])
        names = _names(comp)
        for group in SIGNATURES.get(style, []):
            assert names & group, f"{brief}: none of {sorted(group)} in {sorted(names)}"
        if style in SIGNATURE_FAMILIES:
            assert any(i["family"] == SIGNATURE_FAMILIES[style] for i in comp.ingredients), (brief, names)


@pytest.mark.parametrize("style", LIGHT_STYLES + SPRING_FLORALS)
def test_heavy_materials_stay_out_of_light_styles(composer: Composer, style: str) -> None:
    season = {"en": "spring", "ko": "봄"}
    for brief in _variants(style):
        lang = "ko" if HANGUL.search(brief.fragrance_family) else "en"
        brief = Brief(**{**asdict(brief), "season": season[lang] if style in SPRING_FLORALS else brief.season})
        comp = composer.compose(brief)
        assert not _names(comp) & HEAVY, (brief, sorted(_names(comp) & HEAVY))
        if style in ("citrus", "aquatic"):
            assert not any(i["family"] == "gourmand" and i["layer"] == "base" for i in comp.ingredients), brief


def test_the_heart_varies_with_the_style(composer: Composer) -> None:
    hearts: dict[str, dict[str, float]] = {}
    for style in STYLES:
        comp = composer.compose(Brief(fragrance_family=style))
        hearts[style] = {i["name"]: i["pct"] for i in comp.ingredients if i["layer"] == "heart"}
    names = {style: frozenset(h) for style, h in hearts.items()}
    assert len(set(names.values())) == len(names), names
    for one, two in itertools.combinations(STYLES, 2):
        shared = names[one] & names[two]
        assert len(shared) <= len(names[one] | names[two]) / 2, (one, two, sorted(shared))
    # Hedione belongs in many modern hearts; what leads the heart and what it is made of vary.
    leaders = {style: max(h, key=lambda n: h[n]) for style, h in hearts.items()}
    assert len(set(leaders.values())) >= len(STYLES) // 3, leaders
    counts: dict[str, int] = {}
    for heart in names.values():
        for name in heart - {"Hedione"}:
            counts[name] = counts.get(name, 0) + 1
    common = {n: c for n, c in counts.items() if c > len(STYLES) // 3}
    assert not common, f"in more than a third of the styles' hearts: {common}"
    both = [s for s, h in names.items() if {"Benzyl Salicylate", "Amyl Cinnamal"} <= h]
    assert not both, both
    assert sum("Benzyl Salicylate" in h for h in names.values()) <= 2, names


@pytest.mark.parametrize(
    ("family", "oud", "vetiver", "cedar"),
    [("woody", "oud", "vetiver", "cedar"), ("우디", "오드", "베티버", "시더우드")],
)
def test_disliking_oud_removes_agarwood_only(
    composer: Composer, family: str, oud: str, vetiver: str, cedar: str
) -> None:
    comp = composer.compose(Brief(fragrance_family=family, liked_notes=[vetiver, cedar], disliked_notes=[oud]))
    assert comp.validation["compliant"]
    assert not comp.omitted_notes, comp.omitted_notes
    for item in comp.ingredients:
        assert not {"oud", "agarwood (oud)", "cypriol", "nagarmotha"} & _notes_for(item["name"]), item
    for note in ("vetiver", "cedar"):
        assert any(note in _notes_for(i["name"]) for i in comp.ingredients), note
    woody = sum(i["pct"] for i in comp.ingredients if i["family"] == "woody")
    assert woody > 30, comp.ingredients  # still a woody formula


def test_a_dislike_keeps_the_rest_of_the_signature(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="chypre", disliked_notes=["patchouli"]))
    names = _names(comp)
    assert "Patchouli Oil" not in names and names & MOSS and names & {"Labdanum Absolute", "Cistus Oil"}
    assert comp.style["signature_missing"] == []
    # A word naming a whole accord ("woody") still rules out that family.
    comp = composer.compose(Brief(fragrance_family="floral", disliked_notes=["woody"]))
    assert not any(i["family"] == "woody" for i in comp.ingredients)


def test_a_signature_the_dislikes_rule_out_is_reported(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="leather", disliked_notes=["leather", "saffron"]))
    assert comp.validation["compliant"]
    assert not _names(comp) & SIGNATURES["leather"][0]
    assert comp.style["signature_missing"] and comp.style["signature_missing"][0]["reason"]


@pytest.mark.parametrize(("lang", "note"), [("en", "seaweed"), ("ko", "해초")])
def test_a_liked_note_no_material_carries_is_explained(composer: Composer, lang: str, note: str) -> None:
    family = "woody" if lang == "en" else "우디"
    comp = composer.compose(Brief(fragrance_family=family, liked_notes=[note, "vetiver"]))
    assert [o["note"].lower() for o in comp.omitted_notes] == ["seaweed"]
    reason = comp.omitted_notes[0]["reason"]
    assert bool(HANGUL.search(reason)) is (lang == "ko"), reason
    if lang == "ko":
        assert not re.search(r"[A-Za-z]", reason), reason
    assert any("vetiver" in _notes_for(i["name"]) for i in comp.ingredients)


def test_a_liked_note_wins_over_a_keep_out(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="citrus", liked_notes=["oud"]))
    carriers = [i for i in comp.ingredients if "oud" in _notes_for(i["name"])]
    assert carriers and "you asked for" in carriers[0]["why"]
    assert "not usual in a citrus cologne" in carriers[0]["why"]


@pytest.mark.parametrize("style", sorted(STYLES))
def test_reasons_say_what_each_material_does_in_this_style(composer: Composer, style: str) -> None:
    for lang in ("en", "ko"):
        comp = composer.compose(Brief(fragrance_family=_word(style, lang)))
        whys = [i["why"] for i in comp.ingredients]
        assert len(set(whys)) >= 3, whys  # not one sentence for everything
        label = STYLE_TABLE["styles"][style]["label"][lang]
        terms = [label, label.split()[-1]] + [
            w for w in FAMILY_WORDS[style] if bool(HANGUL.search(w)) is (lang == "ko")
        ]
        assert any(t.lower() in w.lower() for w in whys for t in terms), (terms, whys)  # names its style
        for item in comp.ingredients:
            if item["role"] == "signature":
                roles = [g["role"][lang] for g in STYLE_TABLE["styles"][style]["signature"]]
                assert any(r in item["why"] for r in roles), item
            if lang == "ko":  # Korean, fully
                assert HANGUL.search(item["why"]) and not re.search(r"[A-Za-z]", item["why"]), item["why"]
    # The same material does a different thing in another style.
    cologne = {i["name"]: i["why"] for i in composer.compose(Brief(fragrance_family="citrus")).ingredients}
    chypre = {i["name"]: i["why"] for i in composer.compose(Brief(fragrance_family="chypre")).ingredients}
    for name in set(cologne) & set(chypre):
        assert cologne[name] != chypre[name], name


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_is_compliant_and_deterministic(composer: Composer, perfumery: Perfumery, style: str) -> None:
    other = Composer(perfumery, composer.lexicon)
    variants = set()
    for seed in (0, 1, 2):
        brief = Brief(fragrance_family=style, seed=seed)
        first = composer.compose(brief)
        assert first.validation["compliant"], first.validation["violations"]
        assert other.compose(Brief(**asdict(brief))).to_dict() == first.to_dict()
        variants.add(json.dumps(first.formula.to_dict(), sort_keys=True))
    assert len(variants) >= 2, style


def test_the_style_table_matches_the_materials() -> None:
    from tools.perfumery.composition import check_styles, load_styles

    materials = {m.name: m for m in load_materials()}
    assert check_styles(load_styles(), materials) == []
    assert set(SIGNATURES) | set(SIGNATURE_FAMILIES) <= set(STYLES)
    for word, style in [("시프레", "chypre"), ("가죽", "leather"), ("아쿠아틱", "aquatic"), ("푸제르", "fougere")]:
        assert word in FAMILY_WORDS[style]


# -- eval compose ---------------------------------------------------------------------------
COMPOSE_FIXTURE = Path(__file__).parent / "fixtures" / "compose_eval.jsonl"


def test_the_compose_evaluation_reports_per_style_and_language(composer: Composer, tmp_path: Path) -> None:
    items = load_compose_eval(COMPOSE_FIXTURE)
    report = evaluate_compose(composer, items)
    assert report["overall"]["briefs"] == len(items) and set(report["by_language"]) == {"en", "ko"}
    assert report["overall"]["share"] == 1.0, report["misses"]
    # A brief whose expectation fails is listed with what it lacked.
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps(
            {
                "id": "x",
                "lang": "en",
                "style": "aquatic",
                "brief": {"fragrance_family": "aquatic"},
                "expect": {"any_of": [["Oakmoss Absolute"]], "none_of": ["Calone"], "notes_kept": ["Seaweed"]},
            }
        )
        + "\n",
        encoding="utf-8",
    )
    report = evaluate_compose(composer, load_compose_eval(bad))
    assert report["overall"]["share"] == 0.0
    problems = report["misses"][0]["problems"]
    assert any("Oakmoss" in p for p in problems) and any("Calone" in p for p in problems)
    assert any("Seaweed" in p for p in problems), problems


def test_a_bad_evaluation_line_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "brief": {"fragrance_family": "rose"}, "expect": {"any_of": ["Rose Oil"]}}\n')
    with pytest.raises(FragranceError, match="line 1"):
        load_compose_eval(bad)


def test_eval_compose_command(tmp_path: Path) -> None:
    run = run_cli(["eval", "compose", "--data", str(COMPOSE_FIXTURE)], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "per style" in run.stdout and "chypre" in run.stdout and "ko" in run.stdout
    run = run_cli(["eval", "compose", "--data", str(COMPOSE_FIXTURE), "--json"], tmp_path)
    assert json.loads(run.stdout)["overall"]["briefs"] == len(load_compose_eval(COMPOSE_FIXTURE))


@pytest.mark.parametrize(
    ("family", "style"),
    [
        ("fruity chypre", "chypre"),
        ("프루티 시프레", "chypre"),
        ("powdery floral", "powdery"),
        ("아로마틱 우디", "aromatic"),
        ("white floral", "white floral"),
        ("시트러스 코롱", "citrus"),
        ("floral aquatic", "aquatic"),
        ("woody", "woody"),
    ],
)
def test_a_phrase_naming_several_styles_picks_the_most_specific(composer: Composer, family: str, style: str) -> None:
    assert composer.compose(Brief(fragrance_family=family)).brief["fragrance_family"] == style


def test_a_described_mood_colours_the_formula_and_a_bad_keyword_is_refused(composer: Composer) -> None:
    comp = composer.compose(Brief(fragrance_family="leather", mood="tobacco shop, old armchair"))
    assert comp.brief["mood"] is None and comp.validation["compliant"]
    assert any("tobacco" in _notes_for(i["name"]) for i in comp.ingredients)  # what the mood names counts
    comp = composer.compose(Brief(fragrance_family="아쿠아틱", mood="수영장 나와서 햇볕 쬐는 느낌", season="사계절"))
    assert comp.brief["mood"] is None and comp.brief["season"] is None and comp.language == "ko"
    assert not re.search(r"[A-Za-z]{3,}", comp.name.replace("EDP", "")), comp.name
    for season in ("all year", "year-round"):
        assert composer.compose(Brief(fragrance_family="musky", season=season)).brief["season"] is None
    with pytest.raises(BriefError, match="grumpy"):
        composer.compose(Brief(fragrance_family="floral", mood="grumpy"))


@pytest.mark.parametrize(
    ("liked", "material"),
    [
        (["주니퍼", "솔잎"], {"Juniper Berry Oil"}),  # the lexicon's Juniper is the table's Juniper Berries
        (["pine"], {"Scotch Pine Oil"}),
        (["무화과"], {"Stemone"}),  # fig leaf absolute is prohibited; Stemone carries fig leaf
        (["neroli"], {"Orange Flower Absolute"}),  # neroli oil is out; its natural relative
        (["rose"], {"Rose Absolute", "Rose Oil"}),  # the natural material of the note first
        (["oud"], {"Agarwood Oil"}),  # not cypriol
    ],
)
def test_a_liked_note_gets_the_material_a_perfumer_would_use(
    composer: Composer, liked: list[str], material: set[str]
) -> None:
    comp = composer.compose(Brief(fragrance_family="aromatic", liked_notes=liked))
    assert not comp.omitted_notes, comp.omitted_notes
    assert _names(comp) & material, sorted(_names(comp))
    assert comp.validation["compliant"]


def test_the_bundled_compose_evaluation_meets_its_target(composer: Composer) -> None:
    from tools.perfumery.composition import DEFAULT_COMPOSE_EVAL

    if not DEFAULT_COMPOSE_EVAL.exists():
        pytest.skip("no bundled compose evaluation set")
    report = evaluate_compose(composer, load_compose_eval(DEFAULT_COMPOSE_EVAL))
    assert report["overall"]["share"] >= 0.95, report["misses"]
    assert set(report["by_language"]) == {"en", "ko"}


@pytest.mark.parametrize(("lang", "family", "note"), [("en", "chypre", "seaweed"), ("ko", "시프레", "해초")])
def test_the_reply_names_the_signature_and_what_was_left_out(
    composer: Composer, lang: str, family: str, note: str
) -> None:
    from agents.replies import reply

    result = composer.compose(Brief(fragrance_family=family, liked_notes=[note])).to_dict()
    text = reply("compose", lang, [{"tool": "compose_formula", "output": result}])
    moss = {"en": "Evernyl", "ko": "에버닐"}[lang]
    assert moss in text and result["style"]["signature"][1]["role"] in text, text
    assert result["omitted_notes"][0]["reason"] in text
    assert bool(HANGUL.search(text)) is (lang == "ko")
