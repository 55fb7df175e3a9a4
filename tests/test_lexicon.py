"""Text folding, note/accord canonicalisation, Korean names and the trie matcher."""

from __future__ import annotations

import csv
import re
import unicodedata

import pytest

from core.settings import STARTER_CATALOG
from tools.search.lexicon import Lexicon
from tools.search.text import compact, fold, is_korean, key, key_offsets, split_list, trie_pattern

HANGUL_ONLY = re.compile(r"^[\uac00-\ud7a3 ]+$")


# -- text.fold / key / compact ------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "folded"),
    [
        ("  Eau   D'Hadrien  ", "eau d'hadrien"),
        ("Eau d\u2019Hadrien", "eau d'hadrien"),  # typographic apostrophe
        ("Crème Brûlée", "creme brulee"),
        ("ROSE\tDE\nMAI", "rose de mai"),
        ("장미  향수", "장미 향수"),
    ],
)
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


def test_fold_keeps_hangul_syllables_composed() -> None:
    # NFKD splits 장 into jamo; fold must put the syllables back together.
    folded = fold("샤넬 넘버파이브")
    assert folded == "샤넬 넘버파이브"
    assert unicodedata.is_normalized("NFC", folded)
    assert is_korean(folded)


def test_key_ignores_punctuation_and_case() -> None:
    assert key("Eau d'Hadrien") == key("EAU D HADRIEN") == "eau d hadrien"
    assert key("Rose, Oud!") == "rose oud"
    assert key("  L'Ombre dans l'Eau ") == "l ombre dans l eau"


@pytest.mark.parametrize(
    "raw",
    ["Eau d'Hadrien!! is  nice", "  바카라 루쥬에, 사프란?", "Lime Basil & Mandarin 30%", "", "...", "A - b", "É–x"],
)
def test_key_offsets_point_into_the_folded_text(raw: str) -> None:
    keyed, offsets = key_offsets(raw)
    assert keyed == key(raw)
    assert len(offsets) == len(keyed)
    folded = fold(raw)
    assert all(ch == " " or folded[i] == ch for ch, i in zip(keyed, offsets, strict=True))
    assert offsets == sorted(set(offsets))


def test_compact_makes_brand_spellings_agree() -> None:
    assert compact("Dolce&Gabbana") == compact("Dolce Gabbana") == compact("dolce & gabbana") == "dolcegabbana"
    assert compact("Jo Malone London") == "jomalonelondon"
    assert compact("조 말론") == compact("조말론") == "조말론"


def test_is_korean_and_split_list() -> None:
    assert is_korean("rose 향수")
    assert not is_korean("rose perfume")
    assert split_list(" Rose, ,Oud ,") == ["Rose", "Oud"]
    assert split_list("") == []
    assert split_list(None) == []


# -- canonical names ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Vanille", "Vanilla"),
        ("Agarwood (Oud)", "Oud"),
        ("vetyver", "Vetiver"),
        ("oak moss", "Oakmoss"),
        ("Sicilian Lemon", "Lemon"),
        ("Bulgarian Rose", "Rose"),
        ("Damask Rose", "Rose"),
        ("Atlas Cedar", "Cedar"),
        ("Jasmine Sambac", "Jasmine"),
        ("Orange Blossom", "Orange Blossom"),  # a distinct material, not Orange
        ("Pink Pepper", "Pink Pepper"),  # a distinct material, not Pepper
        ("White Musk", "White Musk"),  # a distinct material, not Musk
        ("Rosewood", "Rosewood"),  # a wood, not Rose
        ("  BERGAMOT ", "Bergamot"),
    ],
)
def test_canonical_note(lexicon: Lexicon, raw: str, canonical: str) -> None:
    assert lexicon.canonical_note(raw) == canonical


def test_unknown_note_keeps_a_tidy_title_case_name(lexicon: Lexicon) -> None:
    assert lexicon.canonical_note("  glacier   MOONDUST ") == "Glacier Moondust"
    assert lexicon.canonical_note("glacier moondust") == "Glacier Moondust"


def test_canonical_note_is_idempotent(lexicon: Lexicon) -> None:
    for raw in ("Vanille", "Agarwood (Oud)", "oak moss", "Sicilian Lemon", "glacier moondust"):
        once = lexicon.canonical_note(raw)
        assert lexicon.canonical_note(once) == once


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("Woody", "woody"),
        ("woodsy", "woody"),
        ("citrusy", "citrus"),
        ("  Fresh   Spicy ", "fresh spicy"),
        ("White Floral", "white floral"),
        ("Unheard Of", "unheard of"),  # unknown accords are folded, not dropped
    ],
)
def test_canonical_accord(lexicon: Lexicon, raw: str, canonical: str) -> None:
    assert lexicon.canonical_accord(raw) == canonical


# -- Korean display names -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("note", "Bergamot"),
        ("note", "Rose"),
        ("note", "Vanilla"),
        ("note", "Oud"),
        ("accord", "woody"),
        ("accord", "sweet"),
    ],
)
def test_korean_display_name_is_hangul(lexicon: Lexicon, kind: str, value: str) -> None:
    name = lexicon.korean(kind, value)
    assert name != value
    assert HANGUL_ONLY.match(name), name


def test_korean_name_of_unknown_value_is_the_english_one(lexicon: Lexicon) -> None:
    assert lexicon.korean("note", "Glacier Moondust") == "Glacier Moondust"


def test_every_korean_display_name_is_hangul(lexicon: Lexicon) -> None:
    assert lexicon.korean_names
    bad = {k: v for k, v in lexicon.korean_names.items() if not is_korean(v)}
    assert not bad


# -- trie_pattern -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rose_pattern() -> re.Pattern[str]:
    return re.compile(trie_pattern(["rose", "rosewood", "rose de mai", "장미", "장미향", "d&g"]))


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("rose", ["rose"]),
        ("a rose.", ["rose"]),
        ("rosewood", ["rosewood"]),  # the longest word wins
        ("rose de mai", ["rose de mai"]),
        ("rose and rosewood", ["rose", "rosewood"]),
        ("primrose", []),  # no match inside an English word
        ("roses", []),
        ("rosewoods", []),
        ("장미향이 좋아요", ["장미향"]),  # Korean matches with a particle attached
        ("장미가", ["장미"]),
        ("d&g light blue", ["d&g"]),  # regex metacharacters are escaped
    ],
)
def test_trie_pattern_semantics(rose_pattern: re.Pattern[str], text: str, matches: list[str]) -> None:
    assert [m.group(0) for m in rose_pattern.finditer(text)] == matches


def test_trie_pattern_without_english_boundaries_matches_substrings() -> None:
    pattern = re.compile(trie_pattern(["rose"], english_boundary=False))
    assert [m.group(0) for m in pattern.finditer("primrose")] == ["rose"]


def test_trie_pattern_equals_plain_alternation_on_lexicon_words(lexicon: Lexicon) -> None:
    """The trie must find exactly what a longest-first alternation with the same
    boundaries finds, over the real lexicon vocabulary."""
    words = sorted({fold(t.surface) for t in lexicon.terms if t.kind in ("note", "accord")})
    trie = re.compile(trie_pattern(words))

    def bounded(word: str) -> str:
        head = r"(?<![a-z0-9])" if word[0].isascii() and word[0].isalnum() else ""
        tail = r"(?![a-z0-9])" if word[-1].isascii() and word[-1].isalnum() else ""
        return head + re.escape(word) + tail

    flat = re.compile("|".join(bounded(w) for w in sorted(words, key=len, reverse=True)))
    text = fold("rosewood and rose de mai, sandalwood; orange blossom 장미향이 바닐라가 오크모스 cedarwood vanilla-ish")
    assert [m.group(0) for m in trie.finditer(text)] == [m.group(0) for m in flat.finditer(text)]


def test_korean_perfume_names_are_hangul_and_each_names_one_perfume(lexicon: Lexicon) -> None:
    owners: dict[str, tuple[str, str]] = {}
    for perfume, aliases in lexicon.perfume_aliases.items():
        assert aliases, perfume
        for alias in aliases:
            assert is_korean(alias), alias
            owner = owners.setdefault(compact(alias), perfume)
            # one entry may list a perfume under two catalog spellings, with the same aliases
            assert owner == perfume or lexicon.perfume_aliases[owner] == aliases, (alias, owner, perfume)


def test_korean_perfume_names_do_not_shadow_notes_or_brands(lexicon: Lexicon) -> None:
    """A bare 로즈 or 상탈 would turn every rose request into a named perfume."""
    taken = {compact(k) for k in [*lexicon.note_aliases, *lexicon.accord_aliases, *lexicon.brand_aliases]}
    aliases = {compact(a) for names in lexicon.perfume_aliases.values() for a in names}
    assert not aliases & taken, sorted(aliases & taken)[:10]


def test_every_starter_perfume_but_one_has_a_korean_name(lexicon: Lexicon) -> None:
    rows = list(csv.DictReader(STARTER_CATALOG.open(encoding="utf-8")))
    missing = [
        r["perfume"] for r in rows if lexicon.perfume_key(r["brand"], r["perfume"]) not in lexicon.perfume_aliases
    ]
    assert missing == ["Warm Cotton"]  # the 38k row of that name is a later, different perfume


# -- transliteration of Hangul loanwords ------------------------------------------------------------
from tools.search.transliterate import Transliterator, english_key, hangul_key  # noqa: E402

CATALOG_WORDS = {
    "Vetiver": 2000,
    "Tonka Bean": 1500,
    "Osmanthus": 300,
    "Labdanum": 900,
    "Styrax": 80,
    "Galbanum": 700,
    "Petitgrain": 600,
    "Cyclamen": 500,
    "Patchouli": 3000,
    "Saffron": 800,
    "Bread": 10,
    "Juniper": 200,
    "Cedar": 3000,
    "aromatic": 1,
}


@pytest.mark.parametrize(
    ("hangul", "english"),
    [
        ("베티버", "vetiver"),
        ("통카", "tonka"),
        ("오스만투스", "osmanthus"),
        ("라브다넘", "labdanum"),
        ("스티락스", "styrax"),
        ("갈바넘", "galbanum"),
        ("시클라멘", "cyclamen"),
    ],
)
def test_loanword_and_source_share_a_key(hangul: str, english: str) -> None:
    assert hangul_key(hangul) == english_key(english)


@pytest.fixture(scope="module")
def transliterator() -> Transliterator:
    return Transliterator(CATALOG_WORDS)


@pytest.mark.parametrize(
    ("hangul", "word"),
    [
        ("베티버", "Vetiver"),
        ("통카", "Tonka Bean"),  # a two-word name by its distinctive word
        ("오스만투스", "Osmanthus"),
        ("라브다넘", "Labdanum"),
        ("라브다늄", "Labdanum"),  # another spelling
        ("파촐리", "Patchouli"),
        ("페티그레인", "Petitgrain"),
        ("아로마틱", "aromatic"),
    ],
)
def test_loanwords_find_their_catalog_word(transliterator: Transliterator, hangul: str, word: str) -> None:
    found = transliterator.lookup(hangul)
    assert found is not None and found[0] == word


@pytest.mark.parametrize(
    "word", ["배려", "감성", "차분한", "추천", "가성비", "브랜드", "시원한", "달콤한", "남자친구", "선물용", "어울리는"]
)
def test_native_words_find_nothing(transliterator: Transliterator, word: str) -> None:
    assert transliterator.lookup(word) is None


# -- whole words -----------------------------------------------------------------------------------
def test_whole_words_name_lexicon_notes_and_accords(lexicon: Lexicon) -> None:
    notes, accords = set(lexicon.note_aliases.values()), set(lexicon.accord_aliases.values())
    assert lexicon.whole_words["배"][0].value == "Pear"
    assert lexicon.whole_words["우드"][0].value == "Oud"
    assert lexicon.whole_words["밤"][1] is True  # strict: 밤 alone is the night
    for surface, (term, _) in lexicon.whole_words.items():
        assert HANGUL_ONLY.match(surface)
        assert term.value in (notes if term.kind == "note" else accords)


def test_woody_words_are_not_oud(lexicon: Lexicon) -> None:
    assert lexicon.accord_aliases[key("우디")] == "woody"
    assert key("우드") not in lexicon.accord_aliases  # 우드 is a whole word: oud


@pytest.mark.parametrize(("hangul", "word"), [("스모키", "smoky"), ("프레쉬", "fresh"), ("파우더리", "powdery")])
def test_loan_adjectives_find_their_accord(hangul: str, word: str) -> None:
    # The parser weighs accords above every note: on a tie the accord wins (스모키 is not Smoke).
    top = 10**6
    found = Transliterator(
        {"Smoke": 82, "Freesia": 500, "Patchouli": 3000, "smoky": top, "fresh": top, "powdery": top}
    ).lookup(hangul)
    assert found is not None and found[0] == word
