"""`Validator.validate` against the starter IFRA / EU tables, with expectations computed
from the CSV files themselves (limits are % of the FINISHED product: concentrate % x
dilution / 100)."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from tests.perfumery_support import (
    FILLER,
    cas_numbers,
    cat4_limit,
    constituent_share,
    formula,
    ifra_row,
    ifra_rows,
    material_row,
    restricted_cas_numbers,
    rows,
    validate,
    with_filler,
)
from tools.perfumery.database import Perfumery, load_perfumery
from tools.perfumery.formula import CONCENTRATIONS, Formula, FormulaError, Report
from tools.perfumery.validation import Validator

DILUTION = 20.0


@pytest.fixture(scope="session")
def perfumery(tmp_path_factory: pytest.TempPathFactory) -> Perfumery:
    """The starter tables (an empty FRAGRANCE_HOME: nothing ingested)."""
    return load_perfumery(tmp_path_factory.mktemp("perfumery_home"))


@pytest.fixture(scope="session")
def validator(perfumery: Perfumery) -> Validator:
    return perfumery.validator


def _restricted() -> list[Any]:
    out = []
    for row in ifra_rows():
        limit = cat4_limit(row)
        cas = restricted_cas_numbers(row["cas_numbers"])
        if "RESTRICTION" in row["standard_type"].upper() and limit is not None and limit > 0 and cas:
            out.append(pytest.param(row, id=row["ifra_key"]))
    return out


def _prohibited_cas() -> list[Any]:
    out = []
    for row in ifra_rows():
        cell = (row["cat4_pct"] or "").strip()
        if "PROHIBITION" in row["standard_type"].upper() and cell in ("", "0"):
            out += [pytest.param(row, cas, id=f"{row['ifra_key']}-{cas}") for cas in cas_numbers(row["cas_numbers"])]
    return out


def _eu_prohibited_cas() -> list[Any]:
    return [
        pytest.param(row, cas, id=f"{row['name'][:24]}-{cas}")
        for row in rows("eu_prohibited.csv")
        for cas in cas_numbers(row["cas"])
    ]


def _concentrate_for(finished: float) -> tuple[float, float]:
    """(concentrate %, dilution %) giving `finished` % in the product: dilution 20 where the
    concentrate stays within 100 %, else 100 (the OTNE and methyl ionone limits are 20-30 %)."""
    pct = finished * 100.0 / DILUTION
    return (pct, DILUTION) if pct <= 100.0 else (finished, 100.0)


def _mine(report: Report, key: str) -> list[Any]:
    return [v for v in report.violations if v.standard == key]


# -- 0. the tables the tests lean on --------------------------------------------------------
def test_the_filler_is_neutral_and_known(validator: Validator) -> None:
    filler_cas = set(cas_numbers(material_row(FILLER)["cas"]))
    assert filler_cas
    for row in ifra_rows():
        assert not filler_cas & set(cas_numbers(row["cas_numbers"])), row["ifra_key"]
    for table in ("eu_allergens.csv", "eu_prohibited.csv"):
        for row in rows(table):
            assert not filler_cas & set(cas_numbers(row["cas"])), row["name"]
    report = validate(validator, [{"name": FILLER, "pct": 100}])
    assert report.compliant
    assert report.resolved[0]["material"] == FILLER
    assert report.allergens_to_declare == []


def test_the_report_names_the_51st_amendment(validator: Validator) -> None:
    report = validate(validator, [{"name": FILLER, "pct": 100}])
    assert "51st" in report.amendment


# -- 1. generated from the IFRA table -----------------------------------------------------------
@pytest.mark.parametrize("row", _restricted())
def test_restriction_just_under_the_limit_passes(validator: Validator, row: dict[str, str]) -> None:
    limit = cat4_limit(row)
    assert limit is not None
    pct, dilution = _concentrate_for(0.9 * limit)
    cas = restricted_cas_numbers(row["cas_numbers"])[0]
    report = validate(validator, with_filler({"name": row["name"], "cas": cas, "pct": pct}), dilution_pct=dilution)
    assert _mine(report, row["ifra_key"]) == []


@pytest.mark.parametrize("row", _restricted())
def test_restriction_just_over_the_limit_is_a_violation(validator: Validator, row: dict[str, str]) -> None:
    limit = cat4_limit(row)
    assert limit is not None
    pct, dilution = _concentrate_for(1.1 * limit)
    cas = restricted_cas_numbers(row["cas_numbers"])[0]
    report = validate(validator, with_filler({"name": row["name"], "cas": cas, "pct": pct}), dilution_pct=dilution)
    mine = _mine(report, row["ifra_key"])
    assert len(mine) == 1, report.violations
    violation = mine[0]
    assert violation.kind == "ifra_limit"
    assert violation.name == row["name"]
    assert violation.limit_pct == pytest.approx(limit)
    assert violation.actual_pct == pytest.approx(pct * dilution / 100.0, rel=1e-4, abs=1e-6)
    assert violation.actual_pct > violation.limit_pct
    assert not report.compliant


@pytest.mark.parametrize(("row", "cas"), _prohibited_cas())
def test_every_prohibited_cas_is_flagged_at_a_trace(validator: Validator, row: dict[str, str], cas: str) -> None:
    report = validate(validator, with_filler({"name": row["name"], "cas": cas, "pct": 0.01}), dilution_pct=DILUTION)
    mine = _mine(report, row["ifra_key"])
    assert [v.kind for v in mine] == ["prohibited"], report.violations
    assert mine[0].limit_pct == 0.0
    assert mine[0].actual_pct == pytest.approx(0.01 * DILUTION / 100.0)
    assert not report.compliant


@pytest.mark.parametrize(("row", "cas"), _prohibited_cas())
def test_every_prohibited_cas_is_flagged_when_given_by_cas_only(
    validator: Validator, row: dict[str, str], cas: str
) -> None:
    report = validate(validator, with_filler({"cas": cas, "pct": 0.01}), dilution_pct=DILUTION)
    assert [v.kind for v in _mine(report, row["ifra_key"])] == ["prohibited"], report.violations


@pytest.mark.parametrize(("row", "cas"), _eu_prohibited_cas())
def test_every_eu_banned_cas_is_flagged_prohibited(validator: Validator, row: dict[str, str], cas: str) -> None:
    report = validate(validator, with_filler({"name": row["name"], "cas": cas, "pct": 0.01}), dilution_pct=DILUTION)
    banned = [v for v in report.violations if v.kind == "prohibited" and row["reference"] == v.standard]
    assert banned, f"{row['name']} ({cas}) is on the EU Annex II list; violations: {report.violations}"
    assert not report.compliant


def test_tagetes_erecta_is_prohibited_not_merely_restricted(validator: Validator) -> None:
    # IFRA_STD_097's CAS cell reads "Prohibition of Tagetes erecta: | 90131-43-4 | 8016-84-0 |
    # Restriction and Specification of Tagetes patula and Tagetes minuta: | ...". A trace of
    # Tagetes erecta (CAS 90131-43-4, listed only under the prohibition) is not allowed,
    # even under the 0.01 % that applies to patula / minuta.
    row = ifra_row("IFRA_STD_097")
    cell = row["cas_numbers"]
    assert cell.index("90131-43-4") < cell.index("Restriction")
    report = validate(validator, with_filler({"name": "Tagetes erecta oil", "cas": "90131-43-4", "pct": 0.01}))
    assert not report.compliant
    assert [v.kind for v in _mine(report, "IFRA_STD_097")] == ["prohibited"], report.violations


NOTEBOX_PROHIBITIONS = ["IFRA_STD_110", "IFRA_STD_112", "IFRA_STD_179"]


def _natural_source_cap(key: str) -> float:
    """The "from natural sources acceptable while ... at most X%" of a standard's notes."""
    row = ifra_row(key)
    assert "PROHIBITION" in row["standard_type"] and row["cat4_pct"] == "See Notebox"
    match = re.search(r"natural sources.*?at most ([\d.]+)\s*%", row["restricted_notes"])
    assert match, row["restricted_notes"]
    return float(match.group(1))


@pytest.mark.parametrize(
    ("key", "cas"), [(key, cas) for key in NOTEBOX_PROHIBITIONS for cas in cas_numbers(ifra_row(key)["cas_numbers"])]
)
def test_a_notebox_prohibition_used_as_such_is_prohibited(validator: Validator, key: str, cas: str) -> None:
    # "Not to be used as such": a trace added directly is a violation.
    report = validate(validator, with_filler({"name": ifra_row(key)["name"], "cas": cas, "pct": 0.01}))
    assert [v.kind for v in _mine(report, key)] == ["prohibited"], report.violations


# (natural material, its CAS, the constituent, the standard)
NATURAL_SOURCES = [
    ("Neroli Oil", "8016-38-4", "140-29-4", "IFRA_STD_112"),  # benzyl cyanide
    ("Nutmeg Oil", "8008-45-5", "94-59-7", "IFRA_STD_179"),  # safrole
    ("Cinnamon Bark Oil", "8015-91-6", "94-59-7", "IFRA_STD_179"),
]


@pytest.mark.parametrize(("material", "natural_cas", "constituent", "key"), NATURAL_SOURCES)
def test_a_notebox_substance_from_a_natural_under_its_cap_is_accepted(
    validator: Validator, material: str, natural_cas: str, constituent: str, key: str
) -> None:
    # The standard's own notes: "From natural sources acceptable while <substance> in the
    # finished product is at most 0.01%". 2 % of the natural in an EDP stays far under.
    cap = _natural_source_cap(key)
    pct, dilution = 2.0, CONCENTRATIONS["edp"]
    carried = pct * dilution / 100 * constituent_share(natural_cas, constituent) / 100
    assert carried < cap / 1.5
    report = validate(validator, with_filler({"name": material, "pct": pct}), concentration="EDP")
    assert _mine(report, key) == [], f"{material} at {pct} % brings {carried:.5f} % (cap {cap} %): {_mine(report, key)}"


@pytest.mark.parametrize(("material", "natural_cas", "constituent", "key"), NATURAL_SOURCES)
def test_a_notebox_substance_from_a_natural_over_its_cap_is_a_violation(
    validator: Validator, material: str, natural_cas: str, constituent: str, key: str
) -> None:
    cap = _natural_source_cap(key)
    pct = 1.5 * cap / (constituent_share(natural_cas, constituent) / 100)  # at dilution 100
    report = validate(validator, with_filler({"name": material, "pct": pct}), dilution_pct=100)
    assert _mine(report, key), report.violations
    assert not report.compliant


def test_a_substance_under_two_standards_is_checked_against_each(validator: Validator) -> None:
    # Lilial (80-54-6): IFRA_STD_015 restricts it (1.4 % in cat. 4), the EU bans it outright.
    limit = cat4_limit(ifra_row("IFRA_STD_015"))
    assert limit is not None
    pct = 1.1 * limit * 100 / DILUTION
    report = validate(validator, with_filler({"name": "Lilial", "pct": pct}))
    kinds = {(v.kind, v.standard) for v in report.violations}
    assert ("ifra_limit", "IFRA_STD_015") in kinds
    eu = next(r for r in rows("eu_prohibited.csv") if "80-54-6" in r["cas"])
    assert ("prohibited", eu["reference"]) in kinds


# -- 2. resolution ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "material"),
    [
        ("쿠마린", "Coumarin"),
        ("헤디온", "Hedione"),
        ("바닐린", "Vanillin"),
        ("베르가못 오일", "Bergamot Oil"),
        ("이소 이 슈퍼", "Iso E Super"),
    ],
)
def test_korean_synonyms_from_the_materials_table(validator: Validator, given: str, material: str) -> None:
    assert given in material_row(material)["synonyms"].split("|")  # the table really has it
    report = validate(validator, with_filler({"name": given, "pct": 1}))
    assert report.resolved[0]["material"] == material
    assert report.resolved[0]["cas"] == cas_numbers(material_row(material)["cas"])[0]
    assert not [v for v in report.violations if v.kind == "unknown_material"]


@pytest.mark.parametrize(
    ("given", "material"),
    [
        ("ISO-E-SUPER", "Iso E Super"),
        ("iso e super", "Iso E Super"),
        ("  Iso   E   Super ", "Iso E Super"),
        ("IsoESuper", "Iso E Super"),
        ("OTNE", "Iso E Super"),
        ("Bergamot Oil", "Bergamot Oil"),
        ("bergamot", "Bergamot Oil"),
        ("Bergamot essential oil", "Bergamot Oil"),
        ("BERGAMOT-OIL", "Bergamot Oil"),
        ("베르가못", "Bergamot Oil"),
        ("Bergamot FCF", "Bergamot Oil FCF"),
        ("methyl dihydrojasmonate", "Hedione"),
        ("Tonka Bean Camphor", "Coumarin"),
        ("Lemon Essential Oil", "Lemon Oil"),
        ("ylang ylang", "Ylang-Ylang Oil"),
    ],
)
def test_spelling_variants_find_the_material(validator: Validator, given: str, material: str) -> None:
    report = validate(validator, with_filler({"name": given, "pct": 1}))
    assert report.resolved[0]["material"] == material
    assert not [v for v in report.violations if v.kind == "unknown_material"]


def test_a_korean_name_is_checked_like_the_english_one(validator: Validator) -> None:
    limit = cat4_limit(ifra_row("IFRA_STD_023"))  # coumarin
    assert limit is not None
    pct = 1.2 * limit * 100 / DILUTION
    by_korean = validate(validator, with_filler({"name": "쿠마린", "pct": pct}))
    by_english = validate(validator, with_filler({"name": "Coumarin", "pct": pct}))
    for report in (by_korean, by_english):
        assert [(v.kind, v.standard) for v in report.violations] == [("ifra_limit", "IFRA_STD_023")]
        assert report.violations[0].actual_pct == pytest.approx(pct * DILUTION / 100)


@pytest.mark.parametrize(
    ("cas", "material"),
    [("91-64-5", "Coumarin"), ("24851-98-7", "Hedione"), ("89957-91-5", "Bergamot Oil"), ("68155-66-8", "Iso E Super")],
)
def test_a_cas_number_alone_identifies_the_material(validator: Validator, cas: str, material: str) -> None:
    assert cas in cas_numbers(material_row(material)["cas"])
    report = validate(validator, with_filler({"cas": cas, "pct": 1}))
    assert report.resolved[0]["material"] == material
    assert not [v for v in report.violations if v.kind == "unknown_material"]


def _restricted_cas() -> list[Any]:
    return [
        pytest.param(row, cas, id=f"{row['ifra_key']}-{cas}")
        for param in _restricted()
        for row in param.values
        for cas in restricted_cas_numbers(row["cas_numbers"])
    ]


@pytest.mark.parametrize(("row", "cas"), _restricted_cas())
def test_every_restricted_cas_alone_is_held_to_its_standard(
    validator: Validator, row: dict[str, str], cas: str
) -> None:
    """Each CAS number a standard lists, given without a name, over the limit."""
    limit = cat4_limit(row)
    assert limit is not None
    pct, dilution = _concentrate_for(1.1 * limit)
    report = validate(validator, with_filler({"cas": cas, "pct": pct}), dilution_pct=dilution)
    assert [v.kind for v in _mine(report, row["ifra_key"])] == ["ifra_limit"], (cas, report.violations)


@pytest.mark.parametrize(
    "ingredient",
    [
        {"name": "Unobtainium Accord 7", "pct": 5},
        {"name": "Unobtainium Accord 7", "pct": 0.0001},
        {"name": "Mystery base", "cas": "1234-56-7", "pct": 5},
        {"cas": "1234-56-7", "pct": 5},
    ],
)
def test_an_unknown_material_is_a_violation_never_unrestricted(
    validator: Validator, ingredient: dict[str, Any]
) -> None:
    report = validate(validator, with_filler(ingredient))
    unknown = [v for v in report.violations if v.kind == "unknown_material"]
    assert len(unknown) == 1
    assert unknown[0].name == (ingredient.get("name") or ingredient["cas"])
    assert not report.compliant
    assert report.resolved[0]["material"] is None


# -- 3. dilution ------------------------------------------------------------------------------
def _coumarin_between_limits() -> tuple[float, float]:
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    lowest_ok = limit * 100 / CONCENTRATIONS["edt"]  # the most coumarin an EDT may hold
    first_bad = limit * 100 / CONCENTRATIONS["parfum"]  # above this a parfum is over
    assert first_bad < lowest_ok
    return limit, (first_bad + lowest_ok) / 2


def _coumarin_formula(pct: float) -> list[dict[str, Any]]:
    return [{"name": "Coumarin", "pct": pct}, {"name": "Hedione", "pct": 40}, {"name": FILLER, "pct": 60 - pct}]


@pytest.mark.parametrize(("concentration", "compliant"), [("EDC", True), ("EDT", True), ("parfum", False)])
def test_the_same_concentrate_is_judged_in_the_finished_product(
    validator: Validator, concentration: str, compliant: bool
) -> None:
    limit, pct = _coumarin_between_limits()
    report = validate(validator, _coumarin_formula(pct), concentration=concentration)
    dilution = CONCENTRATIONS[concentration.lower()]
    assert report.dilution_pct == dilution
    assert report.compliant is compliant
    coumarin = [v for v in report.violations if v.standard == "IFRA_STD_023"]
    if compliant:
        assert coumarin == []
    else:
        assert coumarin[0].actual_pct == pytest.approx(pct * dilution / 100)
        assert coumarin[0].limit_pct == pytest.approx(limit)
    declared = {a.cas: a.finished_pct for a in report.allergens_to_declare}
    assert declared["91-64-5"] == pytest.approx(pct * dilution / 100)


@pytest.mark.parametrize(("factor", "compliant"), [(0.99, True), (1.01, False)])
def test_an_explicit_dilution_is_used(validator: Validator, factor: float, compliant: bool) -> None:
    limit, pct = _coumarin_between_limits()
    dilution = factor * limit * 100 / pct  # puts coumarin at factor x its limit
    report = validate(validator, _coumarin_formula(pct), dilution_pct=dilution)
    assert report.dilution_pct == pytest.approx(dilution)
    assert report.compliant is compliant


def test_korean_concentration_names(validator: Validator) -> None:
    _, pct = _coumarin_between_limits()
    assert validate(validator, _coumarin_formula(pct), concentration="오드뚜왈렛").compliant
    assert not validate(validator, _coumarin_formula(pct), concentration="퍼퓸").compliant


# -- 4. naturals ------------------------------------------------------------------------------
BERGAMOT_CAS = "8007-75-8"
LIMONENE = "138-86-3"
LINALOOL = "78-70-6"


def _declared(report: Report) -> dict[str, float]:
    return {a.cas: a.finished_pct for a in report.allergens_to_declare}


def _allergen_entry(cas: str) -> dict[str, str]:
    return next(r for r in rows("eu_allergens.csv") if cas in cas_numbers(r["cas"]))


def test_bergamot_brings_limonene_and_linalool(validator: Validator) -> None:
    pct = 1.5
    report = validate(validator, [{"name": "Bergamot Oil", "pct": pct}, {"name": FILLER, "pct": 100 - pct}])
    finished = pct * DILUTION / 100
    lines = {a.name: a for a in report.allergens_to_declare}
    limonene = lines[_allergen_entry(LIMONENE)["name"]]
    linalool = lines[_allergen_entry(LINALOOL)["name"]]
    assert limonene.finished_pct == pytest.approx(finished * constituent_share(BERGAMOT_CAS, LIMONENE) / 100)
    assert linalool.finished_pct == pytest.approx(finished * constituent_share(BERGAMOT_CAS, LINALOOL) / 100)
    assert limonene.sources == ["Bergamot Oil"] and linalool.sources == ["Bergamot Oil"]
    assert report.compliant  # 0.3 % of bergamot is under its 0.4 % limit


def test_linalool_added_directly_and_via_bergamot_is_summed(validator: Validator) -> None:
    report = validate(
        validator,
        [{"name": "Bergamot Oil", "pct": 1.5}, {"name": "Linalool", "pct": 2}, {"name": FILLER, "pct": 96.5}],
    )
    expected = 2 * DILUTION / 100 + 1.5 * DILUTION / 100 * constituent_share(BERGAMOT_CAS, LINALOOL) / 100
    line = next(a for a in report.allergens_to_declare if a.name == _allergen_entry(LINALOOL)["name"])
    assert line.finished_pct == pytest.approx(expected)
    assert line.sources == ["Bergamot Oil", "Linalool"]


def test_limonene_added_directly_and_via_bergamot_is_summed(validator: Validator) -> None:
    # The Limonene material lists 5989-27-5 first and 138-86-3 second; bergamot's limonene
    # is 138-86-3. Both are the one EU entry "d-Limonene / Limonene" and must add up.
    assert cas_numbers(material_row("Limonene")["cas"])[:2] == ["5989-27-5", LIMONENE]
    report = validate(
        validator,
        [{"name": "Bergamot Oil", "pct": 1.5}, {"name": "Limonene", "pct": 2}, {"name": FILLER, "pct": 96.5}],
    )
    expected = 2 * DILUTION / 100 + 1.5 * DILUTION / 100 * constituent_share(BERGAMOT_CAS, LIMONENE) / 100
    line = next(a for a in report.allergens_to_declare if a.name == _allergen_entry(LIMONENE)["name"])
    assert line.finished_pct == pytest.approx(expected)
    assert line.sources == ["Bergamot Oil", "Limonene"]


def test_a_restricted_constituent_is_summed_against_its_limit(validator: Validator) -> None:
    # Eugenol under its limit on its own, clove bud oil's eugenol tips it over.
    limit = cat4_limit(ifra_row("IFRA_STD_035"))
    assert limit is not None
    clove_share = constituent_share("8000-34-8", "97-53-0")
    direct = 0.95 * limit * 100 / DILUTION
    clove = 3.0
    total = direct * DILUTION / 100 + clove * DILUTION / 100 * clove_share / 100
    assert direct * DILUTION / 100 < limit < total
    alone = validate(validator, with_filler({"name": "Eugenol", "pct": direct}))
    assert _mine(alone, "IFRA_STD_035") == []
    report = validate(
        validator,
        [
            {"name": "Eugenol", "pct": direct},
            {"name": "Clove Bud Oil", "pct": clove},
            {"name": FILLER, "pct": 100 - direct - clove},
        ],
    )
    [violation] = _mine(report, "IFRA_STD_035")
    assert violation.kind == "ifra_limit"
    assert violation.actual_pct == pytest.approx(total, rel=1e-5)
    assert violation.sources == ["Clove Bud Oil", "Eugenol"]


# -- 5. allergens -----------------------------------------------------------------------------
@pytest.mark.parametrize(("finished", "declared"), [(0.0009, False), (0.0011, True)])
def test_the_leave_on_threshold_is_0_001_percent(validator: Validator, finished: float, declared: bool) -> None:
    pct = finished * 100 / DILUTION
    report = validate(validator, with_filler({"name": "Linalool", "pct": pct}))
    assert (LINALOOL in _declared(report)) is declared
    if declared:
        assert _declared(report)[LINALOOL] == pytest.approx(finished)


def test_rinse_off_uses_the_0_01_percent_threshold(validator: Validator) -> None:
    pct = 0.005 * 100 / DILUTION  # 0.005 % finished: declared leave-on, not rinse-off
    assert LINALOOL in _declared(validate(validator, with_filler({"name": "Linalool", "pct": pct})))
    assert LINALOOL not in _declared(validate(validator, with_filler({"name": "Linalool", "pct": pct}), leave_on=False))


@pytest.mark.parametrize(
    ("material", "cas"), [("Coumarin", "91-64-5"), ("Eugenol", "97-53-0"), ("Cinnamal", "104-55-2")]
)
def test_coumarin_eugenol_and_cinnamal_are_declared(validator: Validator, material: str, cas: str) -> None:
    assert _allergen_entry(cas)  # in the starter list
    pct = 0.5
    report = validate(validator, with_filler({"name": material, "pct": pct}))
    assert report.compliant
    line = next(a for a in report.allergens_to_declare if a.cas == cas)
    assert line.finished_pct == pytest.approx(pct * DILUTION / 100)
    assert line.korean == _allergen_entry(cas)["korean_name"]


def test_allergens_are_listed_largest_first(validator: Validator) -> None:
    report = validate(
        validator,
        [
            {"name": "Coumarin", "pct": 1},
            {"name": "Linalool", "pct": 3},
            {"name": "Eugenol", "pct": 2},
            {"name": FILLER, "pct": 94},
        ],
    )
    amounts = [a.finished_pct for a in report.allergens_to_declare]
    assert amounts == sorted(amounts, reverse=True)
    assert [a.cas for a in report.allergens_to_declare] == [LINALOOL, "97-53-0", "91-64-5"]


# -- 6. warnings ------------------------------------------------------------------------------
BALANCED = [
    {"name": "Bergamot Oil FCF", "pct": 20},  # top
    {"name": "Hedione", "pct": 40},  # heart
    {"name": "Iso E Super", "pct": 20},  # base
    {"name": "Galaxolide", "pct": 20},  # base
]


def test_a_balanced_formula_has_no_warning(validator: Validator) -> None:
    report = validate(validator, BALANCED)
    assert report.compliant
    assert report.warnings == []
    assert report.balance == {"top": 20.0, "heart": 40.0, "base": 40.0}


@pytest.mark.parametrize(("hedione", "judged"), [(40.6, False), (40.4, True), (39.4, False), (39.6, True)])
def test_a_sum_off_100_cannot_be_judged(validator: Validator, hedione: float, judged: bool) -> None:
    # The tolerance is stated (+/- 0.5 %); outside it the amounts in the product are unknown.
    ingredients = [dict(i) for i in BALANCED]
    ingredients[1]["pct"] = hedione
    report = validate(validator, ingredients)
    total = 60 + hedione
    assert report.judgeable is judged
    assert report.compliant is judged
    assert report.verdict == ("compliant" if judged else "cannot_judge")
    assert (report.cannot_judge is None) is judged
    if not judged:
        assert report.cannot_judge is not None and f"{total:g}" in report.cannot_judge
        assert "100" in report.cannot_judge
    assert report.concentrate_sum_pct == pytest.approx(total)


def test_out_of_usual_range_is_a_warning(validator: Validator) -> None:
    row = material_row("Hedione")
    over = float(row["use_max_pct"]) + 5
    report = validate(
        validator,
        [
            {"name": "Bergamot Oil FCF", "pct": 20},
            {"name": "Hedione", "pct": over},
            {"name": "Galaxolide", "pct": 80 - over},
        ],
    )
    assert report.compliant and report.violations == []
    assert any("Hedione" in w and "outside" in w for w in report.warnings), report.warnings


def test_an_unbalanced_formula_is_a_warning(validator: Validator) -> None:
    # Only top-note materials (volatility "top" in materials.csv).
    tops = ["Bergamot Oil FCF", "Dihydromyrcenol", "Linalyl Acetate"]
    assert all(material_row(n)["volatility"] == "top" for n in tops)
    report = validate(
        validator,
        [{"name": n, "pct": p} for n, p in zip(tops, (20, 25, 20), strict=True)] + [{"name": FILLER, "pct": 35}],
    )
    assert report.compliant
    assert report.balance == {"top": 100.0, "heart": 0.0, "base": 0.0}
    assert any(w.startswith("top notes") for w in report.warnings)
    assert any(w.startswith("heart notes") for w in report.warnings)
    assert any(w.startswith("base notes") for w in report.warnings)


# -- 7. correction ----------------------------------------------------------------------------
NON_COMPLIANT: dict[str, tuple[list[dict[str, Any]], dict[str, Any], set[str]]] = {
    "over the limit": (
        [
            {"name": "Coumarin", "pct": 12},
            {"name": "Hedione", "pct": 40},
            {"name": "Iso E Super", "pct": 28},
            {"name": "Galaxolide", "pct": 20},
        ],
        {"concentration": "parfum"},
        set(),
    ),
    "two restricted": (
        [
            {"name": "Bergamot Oil", "pct": 15},
            {"name": "Cinnamal", "pct": 1},
            {"name": "Hedione", "pct": 44},
            {"name": "Galaxolide", "pct": 40},
        ],
        {"concentration": "EDP"},
        set(),
    ),
    "prohibited": (
        [
            {"name": "Musk ambrette", "cas": "83-66-9", "pct": 3},
            {"name": "Hedione", "pct": 47},
            {"name": "Galaxolide", "pct": 50},
        ],
        {"concentration": "EDP"},
        {"Musk ambrette"},
    ),
    "eu banned": (
        [{"name": "Lilial", "pct": 5}, {"name": "Hedione", "pct": 45}, {"name": "Galaxolide", "pct": 50}],
        {"concentration": "EDT"},
        {"Lilial"},
    ),
    "unknown": (
        [
            {"name": "Unobtainium Accord 7", "pct": 10},
            {"name": "Hedione", "pct": 40},
            {"name": "Galaxolide", "pct": 50},
        ],
        {"dilution_pct": 15},
        {"Unobtainium Accord 7"},
    ),
    "everything at once": (
        [
            {"name": "Unobtainium Accord 7", "pct": 5},
            {"name": "Musk xylene", "cas": "81-15-2", "pct": 2},
            {"name": "Coumarin", "pct": 10},
            {"name": "Bergamot Oil", "pct": 10},
            {"name": "Hedione", "pct": 43},
            {"name": "Galaxolide", "pct": 30},
        ],
        {"concentration": "extrait"},
        {"Unobtainium Accord 7", "Musk xylene"},
    ),
}


@pytest.mark.parametrize("case", list(NON_COMPLIANT))
def test_a_non_compliant_formula_comes_with_a_compliant_correction(validator: Validator, case: str) -> None:
    ingredients, product, gone = NON_COMPLIANT[case]
    report = validate(validator, ingredients, **product)
    assert not report.compliant
    corrected = report.corrected
    assert corrected is not None
    assert sum(i.pct for i in corrected.ingredients) == pytest.approx(100, abs=0.01)
    assert all(i.pct >= 0 for i in corrected.ingredients)
    names = {i.name for i in corrected.ingredients}
    assert not names & gone
    assert corrected.dilution_pct == report.dilution_pct
    # Re-checked from its JSON shape, as a user would send it back.
    again = validator.validate(Formula.from_dict(corrected.to_dict()))
    assert again.compliant, again.violations
    assert report.to_dict()["corrected"] == corrected.to_dict()


def test_a_compliant_formula_has_no_correction(validator: Validator) -> None:
    report = validate(validator, BALANCED)
    assert report.compliant and report.corrected is None
    assert report.to_dict()["corrected"] is None


def test_the_correction_keeps_restricted_materials_under_their_limits(validator: Validator) -> None:
    ingredients, product, _ = NON_COMPLIANT["over the limit"]
    report = validate(validator, ingredients, **product)
    assert report.corrected is not None
    coumarin = next(i for i in report.corrected.ingredients if i.name == "Coumarin")
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    assert 0 < coumarin.pct * report.dilution_pct / 100 <= limit


# -- 8. bad input -----------------------------------------------------------------------------
GOOD_INGREDIENTS = [{"name": "Hedione", "pct": 60}, {"name": "Galaxolide", "pct": 40}]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"ingredients": [{"name": "Hedione", "pct": -1}], "dilution_pct": 20}, ["Hedione", "negative"]),
        ({"ingredients": [{"name": "Hedione", "pct": "five"}], "dilution_pct": 20}, ["Hedione", "number"]),
        ({"ingredients": [{"name": "Hedione", "pct": None}], "dilution_pct": 20}, ["Hedione", "number"]),
        ({"ingredients": [{"name": "Hedione", "pct": True}], "dilution_pct": 20}, ["Hedione", "number"]),
        ({"ingredients": [{"name": "Hedione", "pct": 101}], "dilution_pct": 20}, ["Hedione", "100"]),
        ({"ingredients": [], "dilution_pct": 20}, ["no ingredients"]),
        ({"dilution_pct": 20}, ["no ingredients"]),
        ({"ingredients": ["Hedione"], "dilution_pct": 20}, ["ingredient 1"]),
        ({"ingredients": [{"pct": 5}], "dilution_pct": 20}, ["neither a name nor a CAS"]),
        ({"ingredients": GOOD_INGREDIENTS, "concentration": "eau de vie"}, ["unknown concentration", "eau de vie"]),
        ({"ingredients": GOOD_INGREDIENTS, "concentration": 18}, ["concentration"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": 20, "ifra_category": "13"}, ["unknown IFRA category", "13"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": 20, "ifra_category": "cosmetics"}, ["IFRA category"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": 0}, ["dilution_pct"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": 150}, ["dilution_pct"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": "20"}, ["dilution_pct"]),
        ({"ingredients": GOOD_INGREDIENTS, "dilution_pct": 20, "leave_on": "yes"}, ["leave_on"]),
        ([1, 2], ["JSON object"]),
    ],
)
def test_bad_input_is_a_formula_error_naming_the_problem(data: Any, words: list[str]) -> None:
    with pytest.raises(FormulaError) as caught:
        Formula.from_dict(data)
    message = str(caught.value)
    assert len(message.split()) >= 3  # a sentence, not a code
    for word in words:
        assert word.lower() in message.lower(), message


def test_a_good_formula_round_trips_through_its_json_shape() -> None:
    original = formula(
        [{"name": "Hedione", "pct": 60}, {"name": "Coumarin", "cas": "91-64-5", "pct": 40}],
        concentration="EDT",
        ifra_category="5a",
    )
    assert original.ifra_category == "5A"
    assert original.dilution_pct == CONCENTRATIONS["edt"]
    again = Formula.from_dict(original.to_dict())
    assert again == original


def test_category_changes_the_limit(validator: Validator) -> None:
    row = ifra_row("IFRA_STD_023")
    cat4 = cat4_limit(row)
    cat5a = float(row["cat5A_pct"])
    assert cat4 is not None and cat5a < cat4
    pct = (cat5a + cat4) / 2 * 100 / DILUTION  # over the 5A limit, under the cat. 4 one
    assert validate(validator, with_filler({"name": "Coumarin", "pct": pct})).compliant
    report = validate(validator, with_filler({"name": "Coumarin", "pct": pct}), ifra_category="5A")
    [violation] = _mine(report, "IFRA_STD_023")
    assert violation.limit_pct == pytest.approx(cat5a)


def test_the_fixture_home_is_empty(perfumery: Perfumery) -> None:
    # The starter tables, not anything ingested.
    assert all(Path(p).parent.name == "data" for p in perfumery.regulations.sources.values())


# -- 9. loopholes closed ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "ingredients",
    [
        # No line may exceed 100 %, so 300 % comes from three lines.
        [{"name": "Hedione", "pct": 100}, {"name": "Iso E Super", "pct": 100}, {"name": "Galaxolide", "pct": 100}],
        [{"name": "Hedione", "pct": 0}, {"name": "Iso E Super", "pct": 0}],
        [{"name": "Hedione", "pct": 10}],
    ],
    ids=["300 %", "0 %", "10 %"],
)
def test_a_concentrate_far_from_100_is_never_compliant(validator: Validator, ingredients: list[dict[str, Any]]) -> None:
    report = validate(validator, ingredients, concentration="EDP")
    assert not report.compliant
    assert not report.judgeable
    assert report.verdict == "cannot_judge"
    assert report.cannot_judge and "not 100" in report.cannot_judge
    assert report.corrected is None and report.correction_note is None  # nothing to correct: no violation
    assert report.to_dict()["verdict"] == "cannot_judge"
    assert report.to_dict()["judgeable"] is False


def test_a_prohibited_material_in_an_unjudgeable_formula_is_still_not_compliant(validator: Validator) -> None:
    report = validate(validator, [{"name": "Lilial", "pct": 5}, {"name": "Hedione", "pct": 100}])
    assert not report.judgeable and not report.compliant
    assert report.verdict == "not_compliant"
    assert any(v.kind == "prohibited" and "Lilial" in v.sources for v in report.violations)
    assert not [v for v in report.violations if v.kind == "ifra_limit"]  # amounts are not judged
    assert report.allergens_to_declare == []
    assert report.corrected is None and report.correction_note and "100" in report.correction_note


def test_a_name_that_contradicts_its_cas_is_refused() -> None:
    perfumery = load_perfumery(Path("/nonexistent-home"))
    lyral_cas = cas_numbers(material_row("Lyral")["cas"])[0]
    assert lyral_cas == "31906-04-4"
    with pytest.raises(FormulaError) as caught:
        perfumery.validator.validate(
            formula([{"name": "Hedione", "cas": lyral_cas, "pct": 60}, {"name": "Galaxolide", "pct": 40}])
        )
    message = str(caught.value)
    assert "Hedione" in message and "31906-04-4 is Lyral" in message, message


@pytest.mark.parametrize(
    ("name", "cas"),
    [
        ("Hedione", "24851-98-7"),
        ("헤디온", "24851-98-7"),
        ("Iso E Super", "68155-66-8"),  # the second CAS number of its list
        ("Citronellol", "6812-78-8"),  # an isomer under the same IFRA standard
        ("House accord 12", "24851-98-7"),  # a name nobody knows: the CAS number says what it is
    ],
)
def test_a_name_and_a_cas_that_agree_are_accepted(validator: Validator, name: str, cas: str) -> None:
    report = validate(validator, with_filler({"name": name, "cas": cas, "pct": 5}))
    assert report.resolved[0]["material"] is not None


def test_a_cas_that_is_not_a_cas_number_is_refused(validator: Validator) -> None:
    with pytest.raises(FormulaError, match="not a CAS number"):
        validate(validator, with_filler({"name": "Hedione", "cas": "hedione-cas", "pct": 5}))


def test_duplicate_lines_are_merged_with_one_note(validator: Validator) -> None:
    lines = [{"name": "Hedione", "pct": 0.2}] * 300 + [{"name": "Galaxolide", "pct": 40}]
    report = validate(validator, lines)
    assert report.judgeable and report.compliant
    assert [r["material"] for r in report.resolved] == ["Hedione", "Galaxolide"]
    merged = [n for n in report.notes if "merged" in n]
    assert len(merged) == 1 and "300 lines" in merged[0] and "60 %" in merged[0]
    assert len(report.warnings) < 5, report.warnings


def test_duplicates_of_a_restricted_material_are_summed_against_its_limit(validator: Validator) -> None:
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    each = 0.6 * limit * 100 / DILUTION  # each line under the limit, both together over it
    report = validate(
        validator,
        [{"name": "Coumarin", "pct": each}, {"name": "쿠마린", "pct": each}, {"name": FILLER, "pct": 100 - 2 * each}],
    )
    [violation] = _mine(report, "IFRA_STD_023")
    assert violation.actual_pct == pytest.approx(1.2 * limit)
    assert any("2 lines" in n and "쿠마린" in n for n in report.notes)


def test_an_unknown_material_repeated_is_one_violation(validator: Validator) -> None:
    lines = [{"name": "Unobtainium Accord 7", "pct": 1}] * 50 + [{"name": "Hedione", "pct": 50}]
    report = validate(validator, lines)
    assert [v.kind for v in report.violations] == ["unknown_material"]


def test_a_formula_without_concentration_states_the_default() -> None:
    parsed = Formula.from_dict({"ingredients": GOOD_INGREDIENTS})
    assert parsed.dilution_pct == CONCENTRATIONS["edp"]
    assert parsed.assumed and "EDP" in parsed.assumed[0] and "18" in parsed.assumed[0]
    report = load_perfumery(Path("/nonexistent-home")).validator.validate(parsed)
    assert report.assumed == parsed.assumed
    assert report.to_dict()["assumed"] == parsed.assumed
    # A formula that says its concentration assumes nothing.
    assert Formula.from_dict({"ingredients": GOOD_INGREDIENTS, "concentration": "EDT"}).assumed == []


def test_the_correction_keeps_restricted_materials_at_the_highest_compliant_amount(validator: Validator) -> None:
    ingredients, product, _ = NON_COMPLIANT["over the limit"]
    report = validate(validator, ingredients, **product)
    assert report.corrected is not None
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    coumarin = next(i for i in report.corrected.ingredients if i.name == "Coumarin")
    finished = coumarin.pct * report.dilution_pct / 100
    assert 0.99 * limit <= finished <= limit
    # The others keep their proportions to one another.
    others = {i.name: i.pct for i in report.corrected.ingredients if i.name != "Coumarin"}
    assert others["Hedione"] / others["Galaxolide"] == pytest.approx(40 / 20, rel=1e-3)
    assert {i.name for i in report.corrected.ingredients} == {i["name"] for i in ingredients}


@pytest.mark.parametrize(
    "ingredients",
    [
        [{"name": "Lilial", "pct": 50}, {"name": FILLER, "pct": 50}],
        [{"name": "Unobtainium Accord 7", "pct": 100}],
        [{"name": "Musk xylene", "cas": "81-15-2", "pct": 30}, {"name": "Lilial", "pct": 70}],
    ],
    ids=["prohibited and solvent", "unknown only", "prohibited only"],
)
def test_nothing_usable_left_gives_no_correction_and_says_why(
    validator: Validator, ingredients: list[dict[str, Any]]
) -> None:
    report = validate(validator, ingredients)
    assert not report.compliant
    assert report.corrected is None
    assert report.correction_note and "no corrected formula" in report.correction_note
    assert report.to_dict()["corrected"] is None


def test_a_correction_that_needs_a_diluent_says_so(validator: Validator) -> None:
    report = validate(validator, [{"name": "Coumarin", "pct": 100}], concentration="EDP")
    assert report.corrected is not None
    assert report.correction_note and "solvent" in report.correction_note


OAKMOSS = "Oakmoss Absolute"


def _oakmoss_limit() -> float:
    limit = cat4_limit(ifra_row("IFRA_STD_067"))
    assert limit is not None
    return limit


def test_oakmoss_within_its_limit_is_compliant_as_the_specified_grade(validator: Validator) -> None:
    # IFRA_STD_067 specifies extracts with atranol and chloroatranol each below 100 ppm; the
    # constituents table gives such a grade. It is not an EU-banned atranol source.
    spec = ifra_row("IFRA_STD_067")["specified_notes"]
    assert "atranol" in spec.lower()
    pct = 0.9 * _oakmoss_limit() * 100 / CONCENTRATIONS["edp"]
    report = validate(validator, with_filler({"name": OAKMOSS, "pct": pct}), concentration="EDP")
    assert report.compliant, report.violations
    note = next(n for n in report.notes if "IFRA_STD_067" in n)
    assert "atranol" in note.lower() and "EU" in note


def test_oakmoss_over_its_limit_is_brought_to_it_not_removed(validator: Validator) -> None:
    report = validate(
        validator,
        [
            {"name": "Bergamot Oil FCF", "pct": 20},
            {"name": OAKMOSS, "pct": 3},
            {"name": "Patchouli Oil", "pct": 10},
            {"name": "Hedione", "pct": 37},
            {"name": "Galaxolide", "pct": 30},
        ],
        concentration="EDP",
    )
    kinds = {(v.kind, v.standard) for v in report.violations}
    assert kinds == {("ifra_limit", "IFRA_STD_067")}, report.violations
    assert report.corrected is not None
    oakmoss = next(i for i in report.corrected.ingredients if i.name == OAKMOSS)
    assert 0.99 * _oakmoss_limit() <= oakmoss.pct * report.dilution_pct / 100 <= _oakmoss_limit()
    assert validator.validate(report.corrected).compliant


def test_atranol_added_as_such_is_still_banned(validator: Validator) -> None:
    report = validate(validator, with_filler({"name": "Atranol", "cas": "526-37-4", "pct": 0.01}))
    assert any(v.kind == "prohibited" and v.name == "Atranol" for v in report.violations)


def test_oakmoss_and_treemoss_together_share_one_limit(validator: Validator) -> None:
    limit = _oakmoss_limit()
    each = 0.7 * limit * 100 / DILUTION
    report = validate(
        validator,
        [
            {"name": OAKMOSS, "pct": each},
            {"name": "Treemoss Absolute", "pct": each},
            {"name": FILLER, "pct": 100 - 2 * each},
        ],
    )
    [violation] = [v for v in report.violations if v.kind == "ifra_limit"]
    assert "IFRA_STD_067" in (violation.standard or "") and "IFRA_STD_080" in (violation.standard or "")
    assert violation.actual_pct == pytest.approx(1.4 * limit)
    assert report.corrected is not None and validator.validate(report.corrected).compliant


# -- 10. substitutes -----------------------------------------------------------------------------
def test_every_substitute_in_the_table_is_a_usable_material(validator: Validator) -> None:
    table = rows("substitutes.csv")
    assert 20 <= len(table) <= 40
    for row in table:
        assert row["role"].strip(), row
        assert validator.usable(row["substitute"]), row["substitute"]
        assert row["substitute"].lower() != row["material"].lower()


@pytest.mark.parametrize(
    "material",
    ["Lilial", "Lyral", "Musk ambrette", "Musk xylene", "Musk ketone", "Oakmoss", "Methyl eugenol", "Coumarin",
     "Cinnamal", "Isoeugenol", "Safrole", "Tagetes"],
)  # fmt: skip
def test_the_table_covers_the_usual_suspects(material: str) -> None:
    assert any(r["material"].lower().startswith(material.lower()) for r in rows("substitutes.csv")), material


@pytest.mark.parametrize(
    ("ingredient", "faulty"),
    [
        ({"name": "Lilial", "pct": 5}, "Lilial"),
        ({"name": "Lyral", "pct": 5}, "Lyral"),
        ({"name": "Musk xylene", "cas": "81-15-2", "pct": 5}, "Musk xylene"),
        ({"name": "Coumarin", "pct": 20}, "Coumarin"),
        ({"name": "Cinnamal", "pct": 5}, "Cinnamal"),
    ],
)
def test_the_report_lists_compliant_alternatives_for_each_violating_material(
    validator: Validator, ingredient: dict[str, Any], faulty: str
) -> None:
    report = validate(validator, with_filler(ingredient))
    assert not report.compliant
    options = report.substitutes[faulty]
    assert options
    for option in options:
        assert option["role"]
        assert validator.usable(option["substitute"])
        assert option["substitute"] != faulty
    assert report.to_dict()["substitutes"][faulty] == options


def test_a_compliant_formula_lists_no_substitutes(validator: Validator) -> None:
    assert validate(validator, BALANCED).substitutes == {}


def test_furocoumarin_oils_each_under_their_limit_are_summed_as_shares_of_their_limits(validator: Validator) -> None:
    # IFRA_STD_087 / _092: "the sum of each oil's level as % of its own limit must not exceed 100".
    assert "sum of each oil's level" in ifra_row("IFRA_STD_087")["phototoxicity_notes"]
    bergamot, lemon = cat4_limit(ifra_row("IFRA_STD_087")), cat4_limit(ifra_row("IFRA_STD_092"))
    assert bergamot is not None and lemon is not None
    dilution = CONCENTRATIONS["edt"]
    pct_b, pct_l = 0.75 * bergamot * 100 / dilution, 0.75 * lemon * 100 / dilution  # 75 % of each limit
    lines = [{"name": "Bergamot Oil", "pct": pct_b}, {"name": "Lemon Oil", "pct": pct_l}]
    report = validate(validator, [*lines, {"name": FILLER, "pct": 100 - pct_b - pct_l}], concentration="EDT")
    [violation] = [v for v in report.violations if v.kind == "ifra_limit"]
    assert {"Bergamot Oil", "Lemon Oil"} <= set(violation.sources)
    assert violation.actual_pct == pytest.approx(150, abs=0.5)
    assert report.corrected is not None and validator.validate(report.corrected).compliant
    # One oil alone at 75 % of its limit is fine.
    alone = validate(validator, with_filler(lines[0]), concentration="EDT")
    assert not [v for v in alone.violations if v.kind == "ifra_limit"]


def test_lookup_material_names_compliant_substitutes_for_a_banned_material(perfumery: Perfumery) -> None:
    from tools.toolkit import Toolkit

    toolkit = Toolkit(engine=None, perfumery=perfumery, composer=None)  # type: ignore[arg-type]
    info = toolkit.lookup_material("Lilial")
    assert info["eu_banned"] is True and info["usable"] is False
    assert info["substitutes"]
    for option in info["substitutes"]:
        assert option["role"] and perfumery.validator.usable(option["substitute"])
        assert option["substitute"] != "Lilial"
    assert toolkit.lookup_material("Hedione")["substitutes"] == []


# -- 11. the conversation's reply ---------------------------------------------------------------------
HANGUL_RE = re.compile(r"[\uac00-\ud7a3]")


def _reply(report: Report, language: str) -> str:
    from agents.replies import reply

    return reply("validate", language, [{"tool": "validate_formula", "output": report.to_dict()}])


def test_the_reply_says_a_formula_cannot_be_judged_and_why(validator: Validator) -> None:
    report = validate(validator, [{"name": "Hedione", "pct": 100}, {"name": "Galaxolide", "pct": 100}])
    english, korean = _reply(report, "en"), _reply(report, "ko")
    assert "can't judge" in english and "200 %" in english and "complies" not in english
    assert "판단할 수 없어요" in korean and "200 %" in korean and "충족합니다" not in korean


def test_the_reply_states_the_default_concentration_and_names_substitutes(perfumery: Perfumery) -> None:
    parsed = Formula.from_dict({"ingredients": [{"name": "Lilial", "pct": 5}, {"name": "Hedione", "pct": 95}]})
    report = perfumery.validator.validate(parsed)
    english, korean = _reply(report, "en"), _reply(report, "ko")
    assert "EDP" in english and "Compliant alternatives to Lilial" in english
    assert "오 드 퍼퓸" in korean and "Lilial 대신" in korean
    for line in korean.splitlines():
        if "대신" in line or "농도" in line:
            assert HANGUL_RE.search(line)


def test_the_reply_says_when_nothing_usable_is_left(validator: Validator) -> None:
    report = validate(validator, [{"name": "Lilial", "pct": 50}, {"name": FILLER, "pct": 50}])
    assert "couldn't make a corrected version" in _reply(report, "en")
    assert "수정한 처방을 만들 수 없었어요" in _reply(report, "ko")


def test_the_reply_explains_the_oakmoss_grade(validator: Validator) -> None:
    report = validate(validator, [{"name": "Oakmoss Absolute", "pct": 0.5}, {"name": "Hedione", "pct": 99.5}])
    assert report.compliant
    assert "atranol" in _reply(report, "en") and "아트라놀" in _reply(report, "ko")


def test_the_name_decides_between_materials_sharing_a_cas(validator: Validator) -> None:
    shared = set(cas_numbers(material_row("Cinnamon Leaf Oil")["cas"])) & set(
        cas_numbers(material_row("Cinnamon Bark Oil")["cas"])
    )
    assert shared
    cas = sorted(shared)[0]
    report = validate(validator, with_filler({"name": "Cinnamon Leaf Oil", "cas": cas, "pct": 1}))
    assert report.resolved[0]["material"] == "Cinnamon Leaf Oil"
    report = validate(validator, with_filler({"name": "Cinnamon Bark Oil", "cas": cas, "pct": 1}))
    assert report.resolved[0]["material"] == "Cinnamon Bark Oil"


def test_the_51st_overview_wording_of_natural_caps_and_furocoumarin_sums_is_read(tmp_path: Path) -> None:
    """The overview in ../shared/data words these rules differently from the starter table."""
    from tools.perfumery.regulation import load_standards

    header = list(ifra_rows()[0])
    base = dict.fromkeys(header, "")
    cyanide = base | {
        "ifra_key": "IFRA_STD_112",
        "name": "Benzyl cyanide",
        "cas_numbers": "140-29-4",
        "standard_type": "PROHIBITION_RESTRICTION",
        "cat4_pct": "See Notebox",
        "restricted_notes": "On the basis of established maximum concentration levels of this substance in "
        "commercially available natural sources (like essential oils and extracts), exposure to this substance "
        "from the use of these oils and extracts is not significant and the use of these oils is authorized as "
        "long as the level of Benzyl cyanide in the finished product does not exceed 0.01% (100 ppm).",
    }
    bergamot = base | {
        "ifra_key": "IFRA_STD_087", "name": "Bergamot oil expressed", "cas_numbers": "8007-75-8",
        "standard_type": "RESTRICTION", "cat4_pct": "0.4",
        "phototoxicity_notes": "If combinations of furocoumarin-containing phototoxic fragrance ingredients "
        "(extracts) are used, the use levels must be reduced accordingly. | The sum of the concentrations of all "
        "furocoumarin-containing phototoxic fragrance ingredients (extracts), expressed in of their recommended "
        "upper concentration level in the consumer product shall not exceed 100. | For qualities ...",
    }  # fmt: skip
    path = tmp_path / "overview.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows([cyanide, bergamot])
    by_key = {s.key: s for s in load_standards(path)}
    assert by_key["IFRA_STD_112"].natural_cap == pytest.approx(0.01)
    assert by_key["IFRA_STD_087"].sum_of_ratios
    assert not by_key["IFRA_STD_112"].sum_of_ratios


def test_a_known_name_with_a_cas_no_table_knows_is_judged_by_its_name_and_says_so(validator: Validator) -> None:
    report = validate(validator, with_filler({"name": "Coumarin", "cas": "12345-67-8", "pct": 5}))
    assert report.resolved[0]["material"] == "Coumarin"
    assert any("12345-67-8" in n and "Coumarin" in n for n in report.notes), report.notes
