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
        ("a subtle scent", {"intimate", "moderate"}),
        ("a subtle skin scent", {"intimate"}),  # a skin scent is intimate
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


# -- everyday one-syllable names: whole words only ----------------------------------------------
@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("배 향수 있어요?", "Pear"),
        ("배향수 찾는 중", "Pear"),
        ("배랑 프리지아 조합", "Pear"),
        ("달달한 배가 느껴지는 향", "Pear"),
        ("차 향이 은은하게 나는 거", "Tea"),
        ("차를 좋아하는 사람한테 줄 향수", "Tea"),
        ("꿀이 들어간 향수", "Honey"),
        ("쑥 냄새 나는 향수", "Artemisia"),
        ("귤 향 가득한 향수", "Mandarin Orange"),
        ("밤 향수 있나요", "Chestnut"),
        ("감 향이 나는 향수", "Persimmon"),
        ("솔 냄새 나는 숲 향", "Pine"),
        ("리치 향 나는 향수", "Litchi"),
        ("녹차 향수", "Green Tea"),
        ("홍차향 나는 거", "Black Tea"),
    ],
)
def test_everyday_korean_note_as_a_whole_word(parser: QueryParser, query: str, note: str) -> None:
    assert note in parse(parser, query).notes


@pytest.mark.parametrize(
    "query",
    [
        "배려심 있는 사람에게 어울리는 향",
        "차분한 분위기의 향수",
        "감성적인 향수 추천",
        "밤새 남아 있는 향",
        "밤에 뿌릴 향수",  # night, not chestnut
        "감이 좋은 향수",  # strict: 감 alone is a feeling
        "쑥스러운 고백 선물",
        "차 안에서 뿌릴 향수",
        "꿀팁 좀 알려주세요",
        "리치한 느낌의 향수",  # rich, not lychee
    ],
)
def test_one_syllable_note_never_inside_another_word(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert not {"Pear", "Tea", "Persimmon", "Chestnut", "Artemisia", "Honey", "Litchi"} & set(parsed.notes)


def test_whole_word_note_can_be_excluded(parser: QueryParser) -> None:
    parsed = parse(parser, "배는 빼고 상큼한 향수")
    assert parsed.exclude_notes == ["Pear"]
    assert "Pear" not in parsed.notes


# -- 우드 is oud; 우디 / 나무 are woody ---------------------------------------------------------
@pytest.mark.parametrize("query", ["우드 향수 추천", "톰포드 오드 우드 같은 거", "우드향 진한 거", "우드랑 장미 조합"])
def test_korean_wood_word_means_oud(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert "Oud" in parsed.notes
    assert "woody" not in parsed.accords


@pytest.mark.parametrize("query", ["우디한 향수", "나무 향 나는 향수", "나무 냄새", "우디 계열"])
def test_woody_words_mean_the_woody_accord(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert parsed.accords == ["woody"]
    assert "Oud" not in parsed.notes


@pytest.mark.parametrize(("query", "note"), [("샌달우드 향수", "Sandalwood"), ("시더우드 들어간", "Cedar")])
def test_woods_ending_in_wood_are_not_oud(parser: QueryParser, query: str, note: str) -> None:
    parsed = parse(parser, query)
    assert parsed.notes == [note]


def test_unknown_compound_wood_reads_woody(parser: QueryParser) -> None:
    parsed = parse(parser, "블론드우드 향")
    assert "Oud" not in parsed.notes
    assert "woody" in parsed.accords


# -- intensifiers keep the longevity / sillage reading --------------------------------------------
@pytest.mark.parametrize(
    ("query", "field", "label"),
    [
        ("지속력 엄청 좋은 향수", "longevity", "long lasting"),
        ("진짜 오래가는 향", "longevity", "long lasting"),
        ("지속력이 완전 좋은 거", "longevity", "long lasting"),
        ("오래가고 은은한 향", "longevity", "long lasting"),
        ("확산력 진짜 좋은 향수", "sillage", "strong"),
        ("발향력 너무 좋은 거", "sillage", "strong"),
        ("완전 은은한 향수", "sillage", "moderate"),
        ("엄청 진한 장미 향", "sillage", "strong"),
        ("something that lasts really long", "longevity", "long lasting"),
        ("super long lasting vanilla", "longevity", "long lasting"),
        ("really strong projection please", "sillage", "strong"),
        ("the longest lasting one you have", "longevity", "long lasting"),
    ],
)
def test_intensifier_keeps_longevity_and_sillage(parser: QueryParser, query: str, field: str, label: str) -> None:
    assert label in getattr(parse(parser, query), field)


@pytest.mark.parametrize("query", ["바닐라는 너무 싫어", "바닐라는 진짜 싫어요"])
def test_intensified_dislike_still_excludes(parser: QueryParser, query: str) -> None:
    assert parse(parser, query).exclude_notes == ["Vanilla"]


@pytest.mark.parametrize(("query", "labels"), [("a skin scent please", ["intimate"]), ("살냄새 같은 향", ["intimate"])])
def test_skin_scent_is_intimate(parser: QueryParser, query: str, labels: list[str]) -> None:
    assert parse(parser, query).sillage == labels


# -- mood words are not brand filters ------------------------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "clean perfume for summer",
        "a clean fresh scent for the office",
        "Clean scents for the gym",  # a capital opening the sentence says nothing
        "something clean and soapy",
        "Fresh scents for spring",
        "I guess something floral? it's for my aunt",
        "a cozy nest of vanilla and amber",
    ],
)
def test_mood_words_are_not_brands(parser: QueryParser, query: str) -> None:
    assert parse(parser, query).brands == []


@pytest.mark.parametrize(
    "query", ["perfumes by Clean", "I really like Clean perfumes", "Clean Reserve", "do you have Clean?"]
)
def test_mood_word_brand_when_clearly_meant(parser: QueryParser, catalog_brands: set[str], query: str) -> None:
    if "Clean" not in catalog_brands:
        pytest.skip("the starter catalog does not carry Clean")
    assert parse(parser, query).brands == ["Clean"]


def test_clean_is_still_the_clean_mood(parser: QueryParser) -> None:
    assert "clean" in parse(parser, "clean perfume for summer").moods


# -- a brand named as a reference is not a filter -----------------------------------------------
@pytest.mark.parametrize(
    "query",
    [
        "something in the Chanel style with lime",
        "lime cologne, like a classic Chanel but not necessarily Chanel",
        "a cheaper alternative to Chanel, powdery iris",
        "샤넬 같은 파우더리한 향수",
        "샤넬 느낌 나는 향수",
    ],
)
def test_reference_brand_is_not_a_filter(parser: QueryParser, query: str) -> None:
    assert parse(parser, query).brands == []


@pytest.mark.parametrize("query", ["샤넬 향수 추천", "I'd like a Chanel perfume", "chanel perfume with iris"])
def test_named_brand_is_still_a_filter(parser: QueryParser, query: str) -> None:
    assert parse(parser, query).brands == ["Chanel"]


# -- Korean exclusion after an adjective and a noun ------------------------------------------------
@pytest.mark.parametrize("query", ["스모키한 거 싫고 상쾌한 향", "스모키한 건 빼고", "스모키한 느낌은 별로"])
def test_korean_exclusion_after_adjective_and_noun(parser: QueryParser, query: str) -> None:
    assert "smoky" in parse(parser, query).exclude_accords


# -- decades as bounds ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "year_min", "year_max"),
    [
        ("90년대 이전에 나온 향수", None, 1989),
        ("2000년대 이후 향수", 2000, None),
        ("80년대 향수", 1980, 1989),
        ("something from before the 90s", None, 1989),
        ("80s or earlier classics", None, 1989),
    ],
)
def test_decade_bounds(parser: QueryParser, query: str, year_min: int | None, year_max: int | None) -> None:
    parsed = parse(parser, query)
    assert (parsed.year_min, parsed.year_max) == (year_min, year_max)


# -- words the lexicon does not know: transliteration to the catalog's vocabulary ------------------
@pytest.fixture(scope="module")
def catalog_parser(lexicon: Lexicon, catalog_brands: set[str]) -> QueryParser:
    """A catalog carrying materials the lexicon has no Korean name for."""
    notes = {"Mastic": 25, "Nutmeg": 800, "Labdanum": 900, "Guaiac Wood": 300, "Cypress": 400, "Rose": 5000}
    return QueryParser(lexicon, catalog_brands, notes, ["woody", "aromatic"])


@pytest.mark.parametrize(
    ("query", "note"),
    [
        ("마스틱 들어간 향수", "Mastic"),
        ("너트맥이 들어간 우디 향", "Nutmeg"),  # the lexicon says 육두구
        ("라브다늄 향수 있어요?", "Labdanum"),  # the lexicon spells it 라브다넘
        ("구아이악 향", "Guaiac Wood"),
    ],
)
def test_unknown_loanword_reaches_the_catalog_note(catalog_parser: QueryParser, query: str, note: str) -> None:
    assert note in catalog_parser.parse(query).notes


def test_unknown_loanword_can_be_excluded(catalog_parser: QueryParser) -> None:
    parsed = catalog_parser.parse("마스틱은 빼고 우디한 향")
    assert parsed.exclude_notes == ["Mastic"]
    assert parsed.accords == ["woody"]


@pytest.mark.parametrize("query", ["배려심 깊은 남자친구 선물", "그리운 느낌의 향수", "어울리는 향수 추천해 주세요"])
def test_native_words_are_not_transliterated(catalog_parser: QueryParser, query: str) -> None:
    parsed, unknown = catalog_parser.understand(query)
    assert not parsed.notes
    assert all(found is None for _, found in unknown)


def test_understand_reports_unknown_hangul(catalog_parser: QueryParser) -> None:
    _, unknown = catalog_parser.understand("마스틱이랑 장미 들어간 향수")
    assert ("마스틱", "Mastic") in unknown
    assert all(word != "장미" for word, _ in unknown)  # the lexicon knows it


def test_english_catalog_note_without_lexicon_entry(lexicon: Lexicon, catalog_brands: set[str]) -> None:
    parser = QueryParser(lexicon, catalog_brands, {"Mastic": 30, "Rose": 5000})
    assert parser.parse("mastic and rose").notes == ["Mastic", "Rose"]


@pytest.mark.parametrize(
    ("query", "mood"), [("시프레 향수", "chypre"), ("a classic chypre", "chypre"), ("푸제르 계열", "fougere")]
)
def test_perfume_families_are_understood(parser: QueryParser, query: str, mood: str) -> None:
    parsed = parse(parser, query)
    assert mood in parsed.moods
    assert parsed.notes == []  # 시프레 is not cypress


@pytest.mark.parametrize("query", ["not-too-sweet vanilla please", "not overly sweet amber with vanilla"])
def test_degree_negation_stops_at_its_adjective(parser: QueryParser, query: str) -> None:
    parsed = parse(parser, query)
    assert "Vanilla" in parsed.notes
    assert "sweet" in parsed.exclude_accords


@pytest.mark.parametrize(("query", "accord"), [("은은한 비누향 향수", "soapy"), ("비누 향 나는 거", "soapy")])
def test_soap_smell_names_the_soapy_accord(parser: QueryParser, query: str, accord: str) -> None:
    assert accord in parse(parser, query).accords


@pytest.mark.parametrize("query", ["오래가네요 이 향", "향이 오래가야 해요"])
def test_longevity_stem_in_any_ending(parser: QueryParser, query: str) -> None:
    assert "long lasting" in parse(parser, query).longevity


def test_disliked_note_family(parser: QueryParser) -> None:
    relatives, accords = parser.family("Musk")
    assert "White Musk" in relatives
    assert "musky" in accords
    assert parser.family("Vanilla")[1] == ["vanilla"]


@pytest.mark.parametrize("query", ["머스크는 좀 싫어요, 깨끗한 향", "no musk please, something fresh"])
def test_disliked_note_is_what_was_said(parser: QueryParser, query: str) -> None:
    assert parse(parser, query).exclude_notes == ["Musk"]  # the family is the engine's business


def test_liked_note_stays_narrow(parser: QueryParser) -> None:
    parsed = parse(parser, "musk perfume")
    assert parsed.notes == ["Musk"]
    assert "musky" not in parsed.accords


@pytest.mark.parametrize(
    "text",
    [
        "something polished that won't fill the room",
        "nothing loud, it's for a hospital job",
        "an inoffensive daily scent",
        "민폐 안 되는 데일리 향수",
        "향이 세지 않은 걸로 추천해 주세요",
    ],
)
def test_a_wish_for_a_quiet_perfume_is_a_sillage_ceiling(parser: QueryParser, text: str) -> None:
    assert parse(parser, text).sillage == ["intimate", "moderate"]


@pytest.mark.parametrize(
    "text",
    [
        "장미향 들어간 건 빼고 플로럴 향수 보여줘요. 장미는 할머니 화장품 냄새 같아서 ㅠ",
        "no rose please, rose smells like my grandma's soap",
        "without vanilla. vanilla is everywhere these days",
    ],
)
def test_a_note_named_again_after_it_was_ruled_out_stays_out(parser: QueryParser, text: str) -> None:
    parsed = parse(parser, text)
    assert parsed.exclude_notes and not set(parsed.exclude_notes) & set(parsed.notes), parsed
