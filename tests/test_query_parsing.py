"""QueryParser on Korean and English queries, with the starter catalog's brands."""

from __future__ import annotations

import pytest

from tools.search.lexicon import Lexicon
from tools.search.query import ParsedQuery, QueryParser


@pytest.fixture(scope="module")
def parser(lexicon: Lexicon, catalog_brands: set[str]) -> QueryParser:
    return QueryParser(lexicon, catalog_brands)


def parse(parser: QueryParser, text: str) -> ParsedQuery:
    return parser.parse(text)


# -- notes, accords, brands ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("베르가못 향수", "Bergamot"),
        ("bergamot perfume", "Bergamot"),
        ("머스크 향수 추천", "Musk"),
        ("musk", "Musk"),
        ("장미향이 좋은 향수", "Rose"),
        ("베티버", "Vetiver"),
        ("오드 향수", "Oud"),
        ("rosewood scent", "Rosewood"),
    ],
)
def test_note_is_found(parser: QueryParser, query: str, note: str) -> None:
    parsed = parse(parser, query)
    assert parsed.notes == [note]
    assert not parsed.exclude_notes


def test_rosewood_is_not_rose(parser: QueryParser) -> None:
    assert "Rose" not in parse(parser, "rosewood scent").notes


@pytest.mark.parametrize(
    ("query", "accord"), [("우디 향수", "woody"), ("woody fragrance", "woody"), ("시트러스 향", "citrus")]
)
def test_accord_is_found(parser: QueryParser, query: str, accord: str) -> None:
    parsed = parse(parser, query)
    assert parsed.accords == [accord]
    assert parsed.notes == []


@pytest.mark.parametrize(
    ("query", "brand"),
    [
        ("샤넬 향수", "Chanel"),
        ("chanel perfume", "Chanel"),
        ("CHANEL", "Chanel"),
        ("조말론 향수", "Jo Malone London"),  # lexicon "Jo Malone" -> the catalog's spelling
        ("jo malone", "Jo Malone London"),
        ("d&g", "Dolce&Gabbana"),  # lexicon "Dolce Gabbana" -> catalog "Dolce&Gabbana"
        ("입생로랑 향수", "Yves Saint Laurent"),
        ("ysl", "Yves Saint Laurent"),
    ],
)
def test_brand_resolves_to_the_catalog_spelling(
    parser: QueryParser, catalog_brands: set[str], query: str, brand: str
) -> None:
    assert brand in catalog_brands
    assert parse(parser, query).brands == [brand]


# -- gender, longevity, sillage -----------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "gender"),
    [
        ("남자 향수", "men"),
        ("남자친구 선물", "men"),
        ("여자 향수", "women"),
        ("남녀공용 향수", "unisex"),
        ("perfume for men", "men"),
        ("something for her", "women"),
        ("unisex scent", "unisex"),
        ("for both men and women", "unisex"),
    ],
)
def test_gender(parser: QueryParser, query: str, gender: str) -> None:
    assert parse(parser, query).gender == gender


@pytest.mark.parametrize("query", ["오래 지속되는 향수", "long lasting perfume", "지속력 좋은 향수"])
def test_long_longevity(parser: QueryParser, lexicon: Lexicon, query: str) -> None:
    assert parse(parser, query).longevity == list(lexicon.labels[("longevity", "long")])
    assert set(parse(parser, query).longevity) == {"long lasting", "eternal"}


@pytest.mark.parametrize(
    ("query", "labels"),
    [
        ("은은한 향수", {"intimate", "moderate"}),
        ("a subtle skin scent", {"intimate", "moderate"}),
        ("strong projection", {"strong", "enormous"}),
        ("확산력 좋은 향수", {"strong", "enormous"}),
        ("a perfume that isn't too strong", {"intimate", "moderate"}),  # negated strong -> soft
    ],
)
def test_sillage(parser: QueryParser, query: str, labels: set[str]) -> None:
    assert set(parse(parser, query).sillage) == labels


# -- years --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "year_min", "year_max"),
    [
        ("perfume released after 2015", 2016, None),
        ("2015 or newer", 2015, None),
        ("since 2015", 2015, None),
        ("before 2010", None, 2009),
        ("2015년 이후 향수", 2015, None),
        ("2000년 이전 향수", None, 1999),
        ("90년대 향수", 1990, 1999),
        ("90s perfume", 1990, 1999),
        ("'90s perfume", 1990, 1999),
        ("1990s classics", 1990, 1999),
        ("2010s", 2010, 2019),
        ("between 2005 and 2015", 2005, 2015),
        ("between 2015 and 2005", 2005, 2015),
        ("2012~2016년 향수", 2012, 2016),
    ],
)
def test_years(parser: QueryParser, query: str, year_min: int | None, year_max: int | None) -> None:
    parsed = parse(parser, query)
    assert (parsed.year_min, parsed.year_max) == (year_min, year_max)


def test_years_do_not_leak_into_keywords(parser: QueryParser) -> None:
    parsed = parse(parser, "perfume released after 2015")
    assert "2015" not in parsed.keywords


# -- exclusions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "without vanilla",
        "woody without vanilla",
        "no vanilla please",
        "바닐라 없는 향수",
        "바닐라는 빼고",
        "바닐라가 안 들어간 향수",
        "i hate vanilla",
    ],
)
def test_vanilla_is_excluded(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert "Vanilla" in parsed.exclude_notes
    assert "vanilla" in parsed.exclude_accords
    assert "Vanilla" not in parsed.notes
    assert "vanilla" not in parsed.accords


@pytest.mark.parametrize("query", ["바닐라나 머스크 없는 향수", "without vanilla or musk", "바닐라랑 머스크는 빼고"])
def test_a_list_of_items_is_excluded(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert {"Vanilla", "Musk"} <= set(parsed.exclude_notes)
    assert parsed.notes == []


@pytest.mark.parametrize("query", ["not too sweet", "달지 않은 향수", "안 달고 상큼한 향수", "not sweet at all"])
def test_not_sweet_excludes_the_sweet_accord(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert "sweet" in parsed.exclude_accords
    assert "sweet" not in parsed.accords


def test_exclusion_scope_ends_at_but(parser: QueryParser) -> None:
    parsed = parse(parser, "I like vanilla but hate sweet")
    assert parsed.notes == ["Vanilla"]
    assert "Vanilla" not in parsed.exclude_notes
    assert "vanilla" not in parsed.exclude_accords
    assert parsed.exclude_accords == ["sweet"]


@pytest.mark.parametrize(
    ("query", "kept", "dropped"),
    [
        ("rose but no oud", "Rose", "Oud"),
        ("no oud, just rose", "Rose", "Oud"),
        ("장미 향수인데 머스크는 싫어", "Rose", "Musk"),
        ("바닐라 말고 머스크", "Musk", "Vanilla"),
        ("머스크 향수 바닐라 빼고", "Musk", "Vanilla"),
    ],
)
def test_exclusion_touches_only_its_own_item(parser: QueryParser, query: str, kept: str, dropped: str) -> None:
    parsed = parse(parser, query)
    assert parsed.notes == [kept]
    assert parsed.exclude_notes == [dropped]


# -- seasons, moods, ignore words ---------------------------------------------------------
def test_season_and_moods_become_preferences(parser: QueryParser, lexicon: Lexicon) -> None:
    parsed = parse(parser, "상큼한 로맨틱 봄 향수")
    assert parsed.seasons == ["spring"]
    assert set(parsed.moods) == {"fresh", "romantic"}
    expected_groups = [
        list(lexicon.rules["mood"]["fresh"].accords),
        list(lexicon.rules["mood"]["romantic"].accords),
        list(lexicon.rules["season"]["spring"].accords),
    ]
    assert sorted(parsed.preferred_accords) == sorted(expected_groups)
    assert all(group for group in parsed.preferred_accords)
    # Vague words are preferences, never hard filters.
    assert parsed.notes == parsed.accords == parsed.brands == []
    assert parsed.gender is None
    assert parsed.has_constraints()


@pytest.mark.parametrize("query", ["오드퍼퓸 추천", "장미 오드퍼퓸", "오드 퍼퓸으로 주세요", "rose eau de parfum"])
def test_eau_de_parfum_is_not_oud(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert "Oud" not in parsed.notes
    assert "oud" not in parsed.accords


def test_oud_itself_is_still_oud(parser: QueryParser) -> None:
    assert parse(parser, "오드 향수").notes == ["Oud"]


# -- the text sent to the embedding model -------------------------------------------------
@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("woody without vanilla", ["vanilla"]),
        ("바닐라 없는 우디 향수", ["vanilla", "바닐라"]),
        ("rose but no oud", ["oud"]),
        ("바닐라나 머스크 없는 장미 향수", ["vanilla", "musk", "바닐라", "머스크"]),
        ("without vanilla", ["vanilla"]),
        ("no oud", ["oud"]),
        ("바닐라 없는 향수", ["vanilla", "바닐라"]),
    ],
)
def test_embedding_text_never_contains_an_excluded_term(parser: QueryParser, query: str, words: list[str]) -> None:
    parsed = parse(parser, query)
    assert parsed.exclude_notes  # the query does exclude something
    text = parsed.embedding_text().lower()
    assert not [w for w in words if w in text], text


def test_embedding_text_is_english_and_names_the_positive_terms(parser: QueryParser) -> None:
    parsed = parse(parser, "바닐라 없는 우디 향수")
    text = parsed.embedding_text()
    assert "woody" in text
    assert text.isascii()
    assert "Bergamot" in parse(parser, "베르가못 향수").embedding_text()


# -- language -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "language"),
    [("장미 향수", "ko"), ("rose perfume", "en"), ("Chanel 향수", "ko"), ("No 5", "en"), ("2015", "en")],
)
def test_language_detection(parser: QueryParser, query: str, language: str) -> None:
    assert parse(parser, query).language == language


def test_parser_without_a_catalog_uses_lexicon_brands(lexicon: Lexicon) -> None:
    assert QueryParser(lexicon).parse("샤넬 향수").brands == ["Chanel"]
