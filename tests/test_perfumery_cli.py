"""`fragrance-ai validate`, `compose` and `ingest --ifra/--allergens` as a user runs them:
subprocesses with FRAGRANCE_HOME in a tmp folder (none of these load the model)."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli, run_cli_concurrently
from tests.perfumery_support import FILLER, HANGUL, PERFUMERY_FIXTURES, cat4_limit, ifra_row

GOOD = {
    "concentration": "EDP",
    "ingredients": [
        {"name": "Bergamot Oil FCF", "pct": 20},
        {"name": "Hedione", "pct": 40},
        {"name": "Iso E Super", "pct": 20},
        {"name": "Galaxolide", "pct": 20},
    ],
}
NON_COMPLIANT = {
    "dilution_pct": 20,
    "ingredients": [
        {"name": "Coumarin", "pct": 10},
        {"name": "Musk ambrette", "cas": "83-66-9", "pct": 2},
        {"name": "Hedione", "pct": 48},
        {"name": FILLER, "pct": 40},
    ],
}
NEGATIVE = {"dilution_pct": 20, "ingredients": [{"name": "Hedione", "pct": -3}, {"name": "Galaxolide", "pct": 103}]}
SUM_300 = {
    "concentration": "EDP",
    "ingredients": [{"name": n, "pct": 100} for n in ("Hedione", "Iso E Super", "Galaxolide")],
}
CAS_CONFLICT = {"concentration": "EDP", "ingredients": [{"name": "Hedione", "cas": "31906-04-4", "pct": 100}]}
NO_CONCENTRATION = {"ingredients": GOOD["ingredients"]}
LILIAL = {"concentration": "EDP", "ingredients": [{"name": "Lilial", "pct": 5}, {"name": "Hedione", "pct": 95}]}
EVAL_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "eval_validate_small.jsonl"


def _eval_with_a_miss(folder: Path) -> Path:
    """The small set plus a case whose expectation is wrong on purpose (Lilial is never compliant)."""
    path = folder / "eval_with_a_miss.jsonl"
    wrong = {"id": "wrong-on-purpose", "formula": LILIAL, "expect": {"verdict": "compliant", "why": "wrong"}}
    path.write_text(EVAL_FIXTURE.read_text(encoding="utf-8") + json.dumps(wrong) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """The independent runs, all at once; each home is fresh and nothing is ingested."""
    files = tmp_path_factory.mktemp("formulas")
    for name, data in (
        ("good", GOOD),
        ("bad", NON_COMPLIANT),
        ("negative", NEGATIVE),
        ("sum300", SUM_300),
        ("cas_conflict", CAS_CONFLICT),
        ("no_concentration", NO_CONCENTRATION),
        ("lilial", LILIAL),
    ):
        (files / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")
    (files / "broken.json").write_text('{"ingredients": [', encoding="utf-8")
    home = tmp_path_factory.mktemp("cli_home")
    jobs: dict[str, tuple[list[str], Path]] = {
        "good": (["validate", str(files / "good.json"), "--json"], home),
        "good_text": (["validate", str(files / "good.json")], home),
        "bad": (["validate", str(files / "bad.json"), "--json"], home),
        "negative": (["validate", str(files / "negative.json"), "--json"], home),
        "broken": (["validate", str(files / "broken.json"), "--json"], home),
        "missing": (["validate", str(files / "absent.json"), "--json"], home),
        "sum300": (["validate", str(files / "sum300.json")], home),
        "sum300_json": (["validate", str(files / "sum300.json"), "--json"], home),
        "cas_conflict": (["validate", str(files / "cas_conflict.json")], home),
        "no_concentration": (["validate", str(files / "no_concentration.json")], home),
        "lilial": (["validate", str(files / "lilial.json")], home),
        "eval_validate": (["eval", "validate", "--data", str(EVAL_FIXTURE)], home),
        "eval_validate_json": (["eval", "validate", "--data", str(EVAL_FIXTURE), "--json"], home),
        "eval_validate_miss": (["eval", "validate", "--data", str(_eval_with_a_miss(files))], home),
        "compose": (["compose", "--family", "플로럴", "--mood", "로맨틱", "--json"], home),
        "compose_en": (["compose", "--family", "woody", "--like", "vetiver", "--dislike", "vanilla", "--json"], home),
        "compose_text": (["compose", "--family", "citrus", "--season", "summer"], home),
        "compose_bad": (["compose", "--family", "nonsense"], home),
        "compose_bad_mood": (["compose", "--family", "floral", "--mood", "grumpy", "--json"], home),
    }
    return run_cli_concurrently(jobs, timeout=120)


# -- validate ---------------------------------------------------------------------------------
def test_validate_a_compliant_file(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["good"]
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report["compliant"] is True
    assert "51st" in report["amendment"]
    assert report["violations"] == [] and report["corrected"] is None


def test_validate_prints_a_readable_report(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["good_text"]
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("COMPLIANT")
    assert "51st Amendment" in run.stdout


def test_validate_a_non_compliant_file(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["bad"]
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)
    assert report["compliant"] is False
    kinds = {(v["kind"], v["name"]) for v in report["violations"]}
    assert ("ifra_limit", "Coumarin") in kinds
    assert ("prohibited", "Musk ambrette") in kinds
    corrected = report["corrected"]
    assert corrected is not None
    assert sum(i["pct"] for i in corrected["ingredients"]) == pytest.approx(100, abs=0.01)
    assert "Musk ambrette" not in {i["name"] for i in corrected["ingredients"]}
    limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert limit is not None
    coumarin = next(i for i in corrected["ingredients"] if i["name"] == "Coumarin")
    assert coumarin["pct"] * corrected["dilution_pct"] / 100 <= limit


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("negative", ["negative.json", "negative", "Hedione"]),
        ("broken", ["broken.json", "not JSON"]),
        ("missing", ["absent.json", "cannot read"]),
    ],
)
def test_validate_a_bad_file_exits_2_with_a_sentence(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str, words: list[str]
) -> None:
    run = runs[name]
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("error: ")
    for word in words:
        assert word in run.stderr, run.stderr


def test_validate_a_concentrate_of_300_percent_cannot_judge(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["sum300"]
    assert run.returncode == 1, run.stderr
    assert run.stdout.startswith("CANNOT JUDGE")
    assert "300 %" in run.stdout and "not 100" in run.stdout
    report = json.loads(runs["sum300_json"].stdout)
    assert report["verdict"] == "cannot_judge" and report["compliant"] is False


def test_validate_a_name_contradicting_its_cas_exits_2(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["cas_conflict"]
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stderr.startswith("error: ")
    assert "Hedione" in run.stderr and "31906-04-4 is Lyral" in run.stderr


def test_validate_states_the_default_concentration(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["no_concentration"]
    assert run.returncode == 0, run.stderr
    assert "Assumed:" in run.stdout and "EDP" in run.stdout


def test_validate_names_substitutes(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["lilial"]
    assert run.returncode == 1
    assert "Instead of Lilial:" in run.stdout


def test_eval_validate_on_the_small_set(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["eval_validate"]
    assert run.returncode == 0, run.stderr
    cases = sum(1 for line in EVAL_FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip())
    assert f"{cases}/{cases} (100.0 %)" in run.stdout
    report = json.loads(runs["eval_validate_json"].stdout)
    assert report["cases"] == cases and report["share_right"] == 1.0 and report["misses"] == []
    assert set(report["by_verdict"]) == {"compliant", "not_compliant", "cannot_judge", "refused"}


def test_eval_validate_lists_each_miss(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["eval_validate_miss"]
    assert run.returncode == 0, run.stderr
    assert "wrong-on-purpose: expected compliant, got not_compliant" in run.stdout


# -- compose ----------------------------------------------------------------------------------
def test_compose_the_reference_brief(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["compose"]
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["validation"]["compliant"] is True
    assert data["language"] == "ko" and HANGUL.search(data["name"])
    assert data["brief"]["fragrance_family"] == "floral" and data["brief"]["mood"] == "romantic"
    assert sum(i["pct"] for i in data["formula"]["ingredients"]) == pytest.approx(100, abs=0.05)


def test_compose_with_notes(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["compose_en"]
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["validation"]["compliant"] is True
    names = {i["name"] for i in data["ingredients"]}
    assert names & {"Vetiver Oil", "Vetiveryl Acetate"}
    assert not names & {"Vanillin", "Ethyl Vanillin", "Vanilla Absolute"}


def test_compose_prints_a_readable_formula(runs: dict[str, subprocess.CompletedProcess[str]]) -> None:
    run = runs["compose_text"]
    assert run.returncode == 0, run.stderr
    assert "Compliant with IFRA Standards, 51st Amendment" in run.stdout
    assert "Patch-test before use." in run.stdout
    assert " % " in run.stdout


@pytest.mark.parametrize(
    ("name", "words"), [("compose_bad", ["nonsense", "floral", "woody"]), ("compose_bad_mood", ["grumpy", "romantic"])]
)
def test_compose_an_unknown_word_exits_2(
    runs: dict[str, subprocess.CompletedProcess[str]], name: str, words: list[str]
) -> None:
    run = runs[name]
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert run.stdout == ""
    for word in words:
        assert word in run.stderr, run.stderr


# -- ingest -----------------------------------------------------------------------------------
def _fixture_rows(name: str) -> list[dict[str, str]]:
    with (PERFUMERY_FIXTURES / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _validate_json(path: Path, data: dict[str, Any], home: Path) -> tuple[int, dict[str, Any]]:
    path.write_text(json.dumps(data), encoding="utf-8")
    run = run_cli(["validate", str(path), "--json"], home, timeout=60)
    assert run.returncode in (0, 1), run.stderr
    return run.returncode, json.loads(run.stdout)


def test_ingested_tables_are_used_and_the_starter_allergens_complete_them(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ifra = PERFUMERY_FIXTURES / "ifra_two_rows.csv"
    allergens = PERFUMERY_FIXTURES / "allergens_three_rows.csv"
    ifra_rows, allergen_rows = _fixture_rows(ifra.name), _fixture_rows(allergens.name)
    assert len(ifra_rows) == 2 and len(allergen_rows) == 3
    run = run_cli(["ingest", "--ifra", str(ifra), "--allergens", str(allergens)], home, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "Ingested ifra: 2 entries" in run.stdout and "Ingested allergens: 3 entries" in run.stdout
    assert (home / "perfumery" / "ifra_standards.csv").read_bytes() == ifra.read_bytes()

    coumarin = next(r for r in ifra_rows if r["name"] == "Coumarin")
    ingested_limit = float(coumarin["cat4_pct"])
    starter_limit = cat4_limit(ifra_row("IFRA_STD_023"))
    assert starter_limit is not None and ingested_limit < starter_limit
    pct = (ingested_limit + starter_limit) / 2 * 100 / 20  # over the ingested limit only
    formula = {
        "dilution_pct": 20,
        "ingredients": [
            {"name": "Coumarin", "pct": pct},
            {"name": "Linalool", "pct": 2},
            {"name": "Hedione", "pct": 50},
            {"name": FILLER, "pct": 48 - pct},
        ],
    }
    code, report = _validate_json(tmp_path / "after.json", formula, home)
    assert code == 1 and report["compliant"] is False
    newest = max(int(r["amendment"]) for r in ifra_rows)
    assert f"{newest}nd Amendment" in report["amendment"] and "51st" not in report["amendment"]
    [violation] = report["violations"]
    assert violation["standard"] == coumarin["ifra_key"]
    assert violation["limit_pct"] == pytest.approx(ingested_limit)
    declared = {a["cas"]: a for a in report["allergens_to_declare"]}
    linalool = next(r for r in allergen_rows if "78-70-6" in r["CAS"])
    assert declared["78-70-6"]["name"] == linalool["Name"]  # from the ingested list
    assert not any("91-64-5" in r["CAS"] for r in allergen_rows)
    assert declared["91-64-5"]["finished_pct"] == pytest.approx(pct * 20 / 100)  # only the starter list has it

    # The same formula in a home with nothing ingested is compliant: the ingested table made the difference.
    code, starter_report = _validate_json(tmp_path / "starter.json", formula, tmp_path / "empty_home")
    assert code == 0 and starter_report["compliant"] is True
    assert "51st" in starter_report["amendment"]


def test_a_malformed_ifra_file_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bad = PERFUMERY_FIXTURES / "ifra_malformed.csv"
    run = run_cli(["ingest", "--ifra", str(bad)], home, timeout=60)
    assert run.returncode == 1, (run.stdout, run.stderr)
    assert str(bad) in run.stderr
    assert "IFRA" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (home / "perfumery" / "ifra_standards.csv").exists()
    code, report = _validate_json(tmp_path / "good.json", GOOD, home)
    assert code == 0 and "51st" in report["amendment"]


def test_an_ifra_file_with_a_bad_standard_type_names_the_line(tmp_path: Path) -> None:
    source = (PERFUMERY_FIXTURES / "ifra_two_rows.csv").read_text(encoding="utf-8").splitlines()
    source[2] = source[2].replace(",RESTRICTION,", ",FORBIDDEN,")
    bad = tmp_path / "bad_type.csv"
    bad.write_text("\n".join(source) + "\n", encoding="utf-8")
    run = run_cli(["ingest", "--ifra", str(bad)], tmp_path / "home", timeout=60)
    assert run.returncode == 1
    assert str(bad) in run.stderr and "line 3" in run.stderr and "FORBIDDEN" in run.stderr
