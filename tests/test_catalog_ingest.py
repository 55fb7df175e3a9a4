"""Reading and validating catalog CSVs, incremental ingest into a real Chroma, the ingest CLI."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from agents.replies import _product
from core.errors import CatalogFormatError
from core.settings import STARTER_CATALOG, Settings
from tests.conftest import FIXTURES, CliRuns, run_cli
from tools.search.catalog import Perfume, read_catalog
from tools.search.embeddings import Embedder
from tools.search.engine import SearchEngine
from tools.search.ingest import ingest_catalog
from tools.search.lexicon import Lexicon
from tools.search.repair import Repairer, RepairReport, damage, is_damaged_form, load_spellings, load_words
from tools.search.store import CatalogStore
from tools.search.text import compact
from tools.toolkit import _card

GOOD = FIXTURES / "good.csv"
BAD_ROWS = FIXTURES / "bad_rows.csv"


def by_id(perfumes: list[Perfume]) -> dict[str, Perfume]:
    return {p.id: p for p in perfumes}


# -- read_catalog: a good file ------------------------------------------------------------
def test_good_file_reads_every_row(lexicon: Lexicon) -> None:
    result = read_catalog(GOOD, lexicon)
    assert result.problems == []
    assert result.rows_read == 4
    assert [p.id for p in result.perfumes] == ["G1", "G2", "G3", "G4"]
    g1 = result.perfumes[0]
    assert (g1.brand, g1.name, g1.year) == ("Lancome", "La Vie Est Belle", 2012)
    assert g1.gender == "women"  # "Women" in the file
    assert g1.longevity == "long lasting"  # "Long Lasting" in the file
    assert g1.sillage == "strong"
    assert g1.perfumers == ["Olivier Polge", "Dominique Ropion", "Anne Flipo"]
    assert by_id(result.perfumes)["G3"].gender == "unisex"  # "women and men"


def test_shop_columns_are_kept(lexicon: Lexicon) -> None:
    perfumes = by_id(read_catalog(GOOD, lexicon).perfumes)
    g1, g2, g3, g4 = (perfumes[i] for i in ("G1", "G2", "G3", "G4"))
    assert g1.price == 165000.0  # "165,000" in the file
    assert g1.currency == "KRW"  # "krw" in the file
    assert (g1.size_ml, g1.stock, g1.sample_data) == (50.0, 37, True)
    assert (g2.price, g2.size_ml, g2.stock, g2.sample_data) == (145000.0, 100.0, 17, False)
    assert g4.stock == 0
    # Empty shop cells stay unknown rather than becoming zero.
    assert (g3.price, g3.currency, g3.size_ml, g3.stock, g3.sample_data) == (None, None, None, None, False)


def test_notes_are_normalised_and_deduplicated(lexicon: Lexicon) -> None:
    perfumes = by_id(read_catalog(GOOD, lexicon).perfumes)
    g1, g2, g3, g4 = (perfumes[i] for i in ("G1", "G2", "G3", "G4"))
    assert "Vanilla" in g1.base_notes and "Vanille" not in g1.notes
    assert g1.heart_notes.count("Jasmine") == 1  # "Jasmine, ..., Jasmine Sambac"
    assert "Vetiver" in g2.base_notes and "Cedar" in g2.base_notes  # "Vetyver", "Atlas Cedar"
    assert "Sandalwood" in g3.base_notes  # "Australian Sandalwood"
    assert g4.top_notes == ["Rose"]  # "Bulgarian Rose, Rose"
    assert {"Oud", "Oakmoss", "Lemon"} <= set(g4.notes)  # "Agarwood (Oud)", "Oak Moss", "Sicilian Lemon"
    for p in perfumes.values():
        assert len(p.notes) == len(set(p.notes)), p.notes
        assert set(p.notes) == set(p.top_notes) | set(p.heart_notes) | set(p.base_notes)
        assert all(lexicon.canonical_note(n) == n for n in p.notes)


def test_accords_are_normalised_and_deduplicated(lexicon: Lexicon) -> None:
    g1 = by_id(read_catalog(GOOD, lexicon).perfumes)["G1"]
    assert g1.accords == ["sweet", "vanilla", "fruity"]  # "Sweet, vanilla, Fruity, sweet"


def test_fragrantica_id_column_and_notes_all(lexicon: Lexicon) -> None:
    result = read_catalog(FIXTURES / "fragrantica_ids.csv", lexicon)
    assert result.problems == []
    perfumes = by_id(result.perfumes)
    assert set(perfumes) == {"40069", "1825"}
    coco = perfumes["40069"]
    assert isinstance(coco.id, str)
    assert (coco.rating, coco.rating_count) == (4.14, 21634)
    # notes_all merges with the pyramid: its extras (Tonka Bean, Vetiver) join, nothing repeats.
    pyramid = set(coco.top_notes) | set(coco.heart_notes) | set(coco.base_notes)
    assert pyramid < set(coco.notes)
    assert {"Tonka Bean", "Vetiver", "Vanilla"} <= set(coco.notes)  # "Vanille", "Vetyver" in notes_all
    assert len(coco.notes) == len(set(coco.notes))
    # A perfume with no pyramid still gets its notes from notes_all.
    aventus = perfumes["1825"]
    assert aventus.top_notes == aventus.heart_notes == aventus.base_notes == []
    assert {"Pineapple", "Bergamot", "Oakmoss", "Vanilla"} <= set(aventus.notes)


def test_id_column_and_name_column_work(lexicon: Lexicon, tmp_path: Path) -> None:
    path = tmp_path / "minimal.csv"
    path.write_text("id,brand,name\n7,Chanel,No 5\n", encoding="utf-8")
    result = read_catalog(path, lexicon)
    assert result.problems == []
    assert [(p.id, p.brand, p.name) for p in result.perfumes] == [("7", "Chanel", "No 5")]


# -- read_catalog: bad rows ---------------------------------------------------------------
def test_bad_rows_are_reported_with_their_line_and_good_rows_kept(lexicon: Lexicon) -> None:
    result = read_catalog(BAD_ROWS, lexicon)
    problems = {p.line: p.message for p in result.problems}
    assert set(problems) == {3, 4, 5, 6, 7, 8, 11}
    assert "year" in problems[3] and "19x1" in problems[3]
    assert "gender" in problems[4] and "children" in problems[4]
    assert "longevity_label" in problems[5] and "forever" in problems[5]
    assert "price" in problems[6] and "negative" in problems[6]
    assert "B001" in problems[7] and "line 2" in problems[7]  # the duplicate names the first one
    assert "brand" in problems[8]
    assert "year" in problems[11] and "3015" in problems[11]  # after a row spanning lines 9-10
    assert [p.id for p in result.perfumes] == ["B001", "B007", "B009"]
    assert by_id(result.perfumes)["B001"].name == "Terre d'Hermes"  # the first of the duplicates
    assert result.rows_read == 10
    assert str(result.problems[0]).startswith("line 3: ")


def test_row_after_a_blank_line_is_reported_with_its_own_line(lexicon: Lexicon) -> None:
    # blank_line.csv: header, a good row (line 2), an empty line 3, a bad year on line 4.
    lines = (FIXTURES / "blank_line.csv").read_text(encoding="utf-8").splitlines()
    assert lines[2] == "" and "19x1" in lines[3]
    result = read_catalog(FIXTURES / "blank_line.csv", lexicon)
    assert [p.id for p in result.perfumes] == ["L001"]
    assert [p.line for p in result.problems] == [4]


# -- read_catalog: files that cannot be read ----------------------------------------------
def test_missing_brand_column_raises_naming_file_and_line_1(lexicon: Lexicon) -> None:
    path = FIXTURES / "missing_brand.csv"
    with pytest.raises(CatalogFormatError) as caught:
        read_catalog(path, lexicon)
    message = str(caught.value)
    assert str(path) in message
    assert "line 1" in message
    assert "brand" in message


def test_row_with_too_many_cells_raises_naming_its_line(lexicon: Lexicon) -> None:
    path = FIXTURES / "too_many_cells.csv"
    with pytest.raises(CatalogFormatError) as caught:
        read_catalog(path, lexicon)
    message = str(caught.value)
    assert str(path) in message
    assert "line 3" in message


def _latin1_catalog(tmp_path: Path) -> Path:
    """good.csv with "Hermès" on line 3, saved as cp1252 (the header is plain ASCII)."""
    text = GOOD.read_text(encoding="utf-8").replace("G2,Hermes,", "G2,Herm\u00e8s,")
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(UnicodeDecodeError):
        path.read_text(encoding="utf-8")
    return path


def test_non_utf8_file_raises(lexicon: Lexicon, tmp_path: Path) -> None:
    path = _latin1_catalog(tmp_path)
    with pytest.raises(CatalogFormatError) as caught:
        read_catalog(path, lexicon)
    assert str(path) in str(caught.value)
    assert "utf-8" in str(caught.value).lower()


def test_non_utf8_error_names_the_offending_line(lexicon: Lexicon, tmp_path: Path) -> None:
    path = _latin1_catalog(tmp_path)
    with pytest.raises(CatalogFormatError) as caught:
        read_catalog(path, lexicon)
    # The header (line 1) is valid ASCII; the undecodable byte is on line 3.
    assert "line 3" in str(caught.value)


def test_missing_file_raises(lexicon: Lexicon, tmp_path: Path) -> None:
    with pytest.raises(CatalogFormatError) as caught:
        read_catalog(tmp_path / "nope.csv", lexicon)
    assert "nope.csv" in str(caught.value)


# -- ingest into a real Chroma ------------------------------------------------------------
def _write_catalog(path: Path, rows: list[dict[str, str]], header: list[str]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _good_rows() -> tuple[list[dict[str, str]], list[str]]:
    with GOOD.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
        return rows, list(reader.fieldnames or [])


def _indexed_ids(settings: Settings, embedder: Embedder) -> set[str]:
    return set(SearchEngine.load(settings, embedder=embedder).vectorstore.get()["ids"])


def test_ingest_embeds_everything_once_then_nothing(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    catalog = shutil.copy(GOOD, tmp_path / "catalog.csv")
    first = ingest_catalog(Path(catalog), settings, embedder=embedder, progress=False)
    assert (first.perfumes, first.embedded, first.unchanged, first.deleted) == (4, 4, 0, 0)
    assert settings.catalog_db.is_file() and settings.chroma_dir.is_dir()
    second = ingest_catalog(Path(catalog), settings, embedder=embedder, progress=False)
    assert (second.perfumes, second.embedded, second.unchanged, second.deleted) == (4, 0, 4, 0)
    assert _indexed_ids(settings, embedder) == {"G1", "G2", "G3", "G4"}
    assert CatalogStore(settings.catalog_db).meta()["perfumes"] == 4


def test_changing_one_rows_notes_embeds_exactly_one(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    rows, header = _good_rows()
    catalog = _write_catalog(tmp_path / "catalog.csv", rows, header)
    ingest_catalog(catalog, settings, embedder=embedder, progress=False)

    rows[1]["base_notes"] += ", Incense"  # G2
    rows[2]["price"] = "99000"  # G3: a shop field only, the embedded text does not change
    _write_catalog(catalog, rows, header)
    report = ingest_catalog(catalog, settings, embedder=embedder, progress=False)
    assert (report.embedded, report.unchanged, report.deleted) == (1, 3, 0)

    engine = SearchEngine.load(settings, embedder=embedder)
    g2 = engine.get("G2")
    assert g2 is not None and "Incense" in g2.notes
    g3 = engine.get("G3")
    assert g3 is not None and g3.price == 99000.0
    # The stored vector is that of the new text.
    stored = engine.index.embeddings[engine.index.by_id["G2"]]
    fresh = embedder.encode([g2.embedding_text()])[0]
    assert float(stored @ fresh) > 0.999


def test_removing_a_row_deletes_it_from_the_index(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    rows, header = _good_rows()
    catalog = _write_catalog(tmp_path / "catalog.csv", rows, header)
    ingest_catalog(catalog, settings, embedder=embedder, progress=False)

    _write_catalog(catalog, [r for r in rows if r["id"] != "G4"], header)
    report = ingest_catalog(catalog, settings, embedder=embedder, progress=False)
    assert (report.perfumes, report.embedded, report.unchanged, report.deleted) == (3, 0, 3, 1)

    engine = SearchEngine.load(settings, embedder=embedder)
    assert engine.get("G4") is None
    assert engine.index.size == 3
    assert set(engine.vectorstore.get()["ids"]) == {"G1", "G2", "G3"}
    assert "G4" not in {r.id for r in engine.search_sync("oud rose perfume", top_k=10).results}


def test_bad_rows_are_skipped_by_ingest(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    report = ingest_catalog(BAD_ROWS, settings, embedder=embedder, progress=False)
    assert (report.rows_read, report.perfumes, report.embedded) == (10, 3, 3)
    assert [p.line for p in report.problems] == [3, 4, 5, 6, 7, 8, 11]
    assert _indexed_ids(settings, embedder) == {"B001", "B007", "B009"}


def test_format_error_leaves_no_index_behind(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    with pytest.raises(CatalogFormatError):
        ingest_catalog(FIXTURES / "missing_brand.csv", settings, embedder=embedder, progress=False)
    assert not CatalogStore(settings.catalog_db).exists()


# -- the ingest CLI -----------------------------------------------------------------------
def test_cli_ingest_missing_column_fails_naming_file_and_line(slow_cli_runs: CliRuns) -> None:
    run = slow_cli_runs["ingest_missing_brand"]
    assert run.returncode != 0
    assert str(FIXTURES / "missing_brand.csv") in run.stderr
    assert "line 1" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_ingest_broken_row_fails_naming_file_and_line(slow_cli_runs: CliRuns) -> None:
    run = slow_cli_runs["ingest_too_many_cells"]
    assert run.returncode != 0
    assert str(FIXTURES / "too_many_cells.csv") in run.stderr
    assert "line 3" in run.stderr
    assert "Traceback" not in run.stderr


def test_cli_ingest_strict_exits_1_on_bad_rows(slow_cli_runs: CliRuns) -> None:
    run = slow_cli_runs["ingest_strict"]
    assert run.returncode == 1, run.stderr
    for line in (3, 4, 5, 6, 7, 8, 11):
        assert f"{BAD_ROWS}: line {line}: " in run.stderr
    assert "--strict" in run.stderr
    # The good rows were still ingested; only the exit code reports the bad ones.
    assert "Ingested 3 perfumes" in run.stdout
    assert CatalogStore(slow_cli_runs.strict_home / "catalog.sqlite3").meta()["perfumes"] == 3


def test_cli_ingest_missing_file_fails(tmp_path: Path) -> None:
    run = run_cli(["ingest", "--catalog", str(tmp_path / "absent.csv"), "--quiet"], tmp_path / "home")
    assert run.returncode == 1
    assert "absent.csv" in run.stderr
    assert "Traceback" not in run.stderr


# -- repairing names whose accented letters were lost (tools/search/repair.py) ---------------
DAMAGED = FIXTURES / "accents_damaged.csv"  # 38k-style rows: accents and punctuation became spaces
SPELLINGS = FIXTURES / "accents_spellings.csv"  # 19k-style rows: the same perfumes spelled properly


def _repaired(lexicon: Lexicon, spellings: Path | None = None) -> tuple[dict[str, Perfume], RepairReport]:
    repairer = Repairer(lexicon, spellings=load_spellings(spellings) if spellings else None)
    result = read_catalog(DAMAGED, lexicon, repairer)
    assert result.problems == [] and result.repairs is not None
    return by_id(result.perfumes), result.repairs


def test_damage_is_what_the_export_did() -> None:
    assert damage("Estée Lauder") == "Est e Lauder"
    assert damage("Perfumed Wine - Rosé") == "Perfumed Wine Ros"
    assert damage("Águas de Kiwi") == "guas de Kiwi"
    assert is_damaged_form("Est e Lauder") and not is_damaged_form("Terre d'Hermes")


def test_every_curated_word_damages_to_its_broken_form() -> None:
    words = load_words()
    assert len(words) >= 80
    for word in words:
        assert damage(word.repaired) == word.broken, word
        assert not word.repaired.isascii() or "'" in word.repaired, word  # each restores a lost letter
    brokens = [w.broken for w in words]
    assert len(brokens) == len(set(brokens))
    # Longer forms are tried first: "Ros e" (Rosée) before "Ros" (Rosé).
    assert brokens.index("Ros e") < brokens.index("Ros")


def test_repairs_from_the_word_list_and_the_brand_lexicon(lexicon: Lexicon) -> None:
    perfumes, report = _repaired(lexicon)
    assert perfumes["101"].brand == perfumes["102"].brand == "Estée Lauder"  # one spelling per house
    assert perfumes["102"].name == "Rosée Absolue"  # "Ros e", not "Ros" + "e"
    assert perfumes["103"].name == "Eau de Néroli"
    assert perfumes["104"].name == "Eclat d Arpège"  # the word list knows the accent, not the apostrophe
    assert perfumes["105"].name == "Illégale Rose"
    assert perfumes["106"].brand == "Victoria's Secret"  # the lexicon's one spelling that fills the gap
    # A damaged note is repaired before it is normalised: "N roli" is the Neroli note.
    assert "Neroli" in perfumes["103"].notes and "N Roli" not in perfumes["103"].notes
    assert report.counts[("words", "brand")] == 1
    assert report.counts[("lexicon", "brand")] == 1
    assert report.counts[("words", "name")] == 4
    assert report.counts[("words", "note")] == 1
    assert report.total(source="spellings") == 0
    assert report.to_dict()["suspicious"] == {"name": 1, "brand": 0}  # "Pe nia Atrevida": no source knows it


def test_repairs_from_another_exports_spellings(lexicon: Lexicon) -> None:
    perfumes, report = _repaired(lexicon, SPELLINGS)
    # Same id (that export appends the brand to the name: "Eclat d'Arpège Lanvin").
    assert perfumes["104"].name == "Eclat d'Arpège"
    # Another id, same brand and name modulo the damage.
    assert perfumes["105"].name == "Illégale Rose"
    assert report.counts[("spellings", "name")] == 2
    assert report.counts[("words", "name")] == 2  # Rosée Absolue, Eau de Néroli: not in that file
    summary = report.summary()
    assert "spellings 2" in summary and "words 4" in summary and "lexicon 1" in summary
    assert report.to_dict()["repaired"]["spellings"] == {"brand": 0, "name": 2, "note": 0}  # type: ignore[index]


def test_no_false_repairs(lexicon: Lexicon) -> None:
    perfumes, _ = _repaired(lexicon, SPELLINGS)
    # Legitimate spaces stay, even when the other export spells the perfume another way.
    assert perfumes["107"].name == "Acqua di Gio"  # "Acqua di Giò" does not damage to "Acqua di Gio"
    assert perfumes["108"].name == "Coco Mademoiselle Eau de Toilette"
    assert perfumes["110"].name == "Acqua e Sale"  # "e" is a word here
    assert perfumes["111"].name == "Oud pour Elle"  # "Oud Pour Elle": another case is not this damage
    assert perfumes["109"].brand == "Dolce Gabbana"  # "Dolce & Gabbana" or "Dolce&Gabbana": ambiguous
    assert perfumes["112"].name == "Pe nia Atrevida"


def test_repaired_brands_stay_findable_through_the_lexicon(lexicon: Lexicon) -> None:
    perfumes, _ = _repaired(lexicon)
    for pid in ("101", "106"):
        brand = perfumes[pid].brand
        assert any(compact(brand) in spellings for spellings in lexicon.brand_spellings.values()), brand


def test_the_starter_catalog_needs_no_repair(lexicon: Lexicon) -> None:
    result = read_catalog(STARTER_CATALOG, lexicon, Repairer(lexicon))
    assert result.repairs is not None and result.repairs.total() == 0
    assert result.repairs.to_dict()["suspicious"] == {"brand": 0, "name": 0}


def test_ingest_reports_repairs_and_stores_the_repaired_names(tmp_path: Path, embedder: Embedder) -> None:
    settings = Settings(fragrance_home=tmp_path / "home")
    report = ingest_catalog(DAMAGED, settings, embedder=embedder, progress=False, spellings=SPELLINGS, prepare=False)
    assert report.repairs.counts[("spellings", "name")] == 2
    assert report.repairs.suspicious["name"] == 1
    stored = by_id(CatalogStore(settings.catalog_db).load())
    assert (stored["104"].brand, stored["104"].name) == ("Lanvin", "Eclat d'Arpège")
    assert stored["101"].brand == "Estée Lauder"
    assert CatalogStore(settings.catalog_db).meta()["repairs"] == report.repairs.to_dict()
    # The embedded text is the repaired one: searching by the real spelling finds it.
    assert "Estée Lauder Pleasures." in stored["101"].embedding_text()


def test_cli_ingest_missing_spellings_file_fails(tmp_path: Path) -> None:
    run = run_cli(
        ["ingest", "--catalog", str(GOOD), "--spellings", str(tmp_path / "absent.csv"), "--quiet"], tmp_path / "home"
    )
    assert run.returncode == 1
    assert "absent.csv" in run.stderr
    assert "Traceback" not in run.stderr


# -- a pyramid only when the catalog has one ------------------------------------------------
def test_product_shows_a_pyramid_only_when_the_catalog_has_one(lexicon: Lexicon) -> None:
    perfumes = by_id(read_catalog(FIXTURES / "fragrantica_ids.csv", lexicon).perfumes)
    coco, aventus = _card(perfumes["40069"], full=True), _card(perfumes["1825"], full=True)
    assert {"top_notes", "heart_notes", "base_notes"} <= set(coco)
    assert not {"top_notes", "heart_notes", "base_notes"} & set(aventus)  # no pyramid: no pyramid fields

    en, ko = _product(coco, "en"), _product(coco, "ko")
    assert "Top notes: Orange, Mandarin Orange, Bergamot" in en and "Base notes: Patchouli" in en
    # A Korean reply names the notes in Korean (brand and perfume names stay as written).
    assert "탑 노트: 오렌지, 만다린, 베르가못" in ko and "베이스 노트: 패출리" in ko

    en, ko = _product(aventus, "en"), _product(aventus, "ko")
    notes = ", ".join(perfumes["1825"].notes)
    assert f"Notes: {notes}" in en and "노트: " in ko and notes not in ko
    for text in (en, ko):
        assert "Top notes" not in text and "Heart notes" not in text and "Base notes" not in text
        assert "탑 노트" not in text and "미들 노트" not in text and "베이스 노트" not in text
