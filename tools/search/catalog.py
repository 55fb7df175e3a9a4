"""The catalog format: reading, validating and normalising a perfume CSV.

The format is that of the Fragrantica export in `../shared/data` (see README, "Catalog
format"), plus optional shop columns. A row that cannot be used is reported with its
line number and left out; a file that cannot be read at all raises CatalogFormatError.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import overload

import orjson

from core.errors import CatalogFormatError
from tools.search.lexicon import Lexicon
from tools.search.repair import Repairer, RepairReport, suspicious
from tools.search.text import split_list

LONGEVITY_LABELS = ("very weak", "weak", "moderate", "long lasting", "eternal")
SILLAGE_LABELS = ("intimate", "moderate", "strong", "enormous")
GENDERS = {"women": "women", "men": "men", "women and men": "unisex", "unisex": "unisex"}

ID_COLUMNS = ("id", "fragrantica_id")
NAME_COLUMNS = ("perfume", "name")


@dataclass(slots=True)
class Perfume:
    """One catalog entry, with note and accord names already normalised."""

    id: str
    brand: str
    name: str
    year: int | None = None
    gender: str | None = None  # women | men | unisex
    accords: list[str] = field(default_factory=list)
    top_notes: list[str] = field(default_factory=list)
    heart_notes: list[str] = field(default_factory=list)
    base_notes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # every note, pyramid or not
    longevity: str | None = None
    sillage: str | None = None
    rating: float | None = None
    rating_count: int | None = None
    perfumers: list[str] = field(default_factory=list)
    # Shop data: present only when the shop's catalog carries it.
    price: float | None = None
    currency: str | None = None
    size_ml: float | None = None
    stock: int | None = None
    sample_data: bool = False

    def embedding_text(self) -> str:
        """What the vector index embeds: name, accords and notes in plain English."""
        parts = [f"{self.brand} {self.name}."]
        if self.accords:
            parts.append("Accords: " + ", ".join(self.accords) + ".")
        if self.notes:
            parts.append("Notes: " + ", ".join(self.notes) + ".")
        return " ".join(parts)

    def content_hash(self) -> str:
        """Changes exactly when the embedded text changes, so re-ingest skips the rest."""
        return hashlib.sha1(self.embedding_text().encode("utf-8")).hexdigest()

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str, strings: dict[str, str] | None = None) -> Perfume:
        """`strings`: one string per distinct value, shared by the perfumes loaded with it."""
        data = orjson.loads(raw)
        if strings is not None:
            for name in _SHARED_LISTS:
                data[name] = [strings.setdefault(s, s) for s in data.get(name) or []]
            for name in _SHARED_VALUES:
                value = data.get(name)
                if isinstance(value, str):
                    data[name] = strings.setdefault(value, value)
        return cls(**data)


class PerfumeRows(Sequence[Perfume]):
    """A stored catalog's perfumes, each read from its JSON record on first access.

    A replica's start needs the ids (and the snapshots derived from the whole catalog), not
    40k Perfume objects: building them all takes most of a second on the 38k catalog. The
    perfumes ranking returns are read when first returned, then kept; note and accord names
    are shared between the perfumes read.
    """

    def __init__(self, ids: list[str], records: list[str]) -> None:
        if len(ids) != len(records):
            raise ValueError(f"{len(ids)} ids for {len(records)} records")
        self.ids = ids
        self.records = records
        self._read: list[Perfume | None] = [None] * len(records)
        self._strings: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self.records)

    @overload
    def __getitem__(self, index: int) -> Perfume: ...

    @overload
    def __getitem__(self, index: slice) -> list[Perfume]: ...

    def __getitem__(self, index: int | slice) -> Perfume | list[Perfume]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        perfume = self._read[index]
        if perfume is None:
            perfume = self._read[index] = Perfume.from_json(self.records[index], self._strings)
        return perfume

    def __iter__(self) -> Iterator[Perfume]:
        for i in range(len(self.records)):
            yield self[i]


# Fields whose values repeat across a catalog (note names, brands, labels).
_SHARED_LISTS = ("accords", "top_notes", "heart_notes", "base_notes", "notes", "perfumers")
_SHARED_VALUES = ("brand", "gender", "longevity", "sillage", "currency")


@dataclass(slots=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class CatalogReadResult:
    perfumes: list[Perfume]
    problems: list[RowProblem]
    rows_read: int
    repairs: RepairReport | None = None  # with a repairer: what was repaired, what looks damaged still


def _first_column(header: list[str], choices: tuple[str, ...]) -> str | None:
    return next((c for c in choices if c in header), None)


def _number(raw: str, what: str, *, integer: bool = False) -> float | int | None:
    text = raw.strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {raw!r} is not a number") from None
    if value < 0:
        raise ValueError(f"{what} {raw!r} is negative")
    if integer:
        if not value.is_integer():
            raise ValueError(f"{what} {raw!r} is not a whole number")
        return int(value)
    return value


def _label(raw: str, allowed: tuple[str, ...], what: str) -> str | None:
    text = raw.strip().lower()
    if not text:
        return None
    if text not in allowed:
        raise ValueError(f"{what} {raw!r} is not one of: {', '.join(allowed)}")
    return text


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def parse_row(
    row: dict[str, str], id_col: str, name_col: str, lexicon: Lexicon, fix_note: Callable[[str], str] | None = None
) -> Perfume:
    """Turn one CSV row into a Perfume; raises ValueError with a readable reason.
    `fix_note` repairs a raw note name before it is normalised (see `tools.search.repair`)."""

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    def notes_of(column: str) -> list[str]:
        raw = split_list(cell(column))
        return [lexicon.canonical_note(fix_note(n) if fix_note else n) for n in raw]

    pid, brand, name = cell(id_col), cell("brand"), cell(name_col)
    if not pid:
        raise ValueError(f"empty {id_col}")
    if not brand:
        raise ValueError("empty brand")
    if not name:
        raise ValueError(f"empty {name_col}")

    year = _number(cell("year"), "year", integer=True)
    if year is not None and not 1700 <= int(year) <= 2100:
        raise ValueError(f"year {year} is outside 1700..2100")
    gender_raw = cell("gender").lower()
    if gender_raw and gender_raw not in GENDERS:
        raise ValueError(f"gender {cell('gender')!r} is not one of: women, men, women and men")

    notes = notes_of("notes_all")
    top = _unique(notes_of("top_notes"))
    heart = _unique(notes_of("middle_notes"))
    base = _unique(notes_of("base_notes"))
    accords = _unique([lexicon.canonical_accord(a) for a in split_list(cell("main_accords"))])
    rating = _number(cell("rating_value"), "rating_value")
    rating_count = _number(cell("rating_count"), "rating_count", integer=True)
    stock = _number(cell("stock"), "stock", integer=True)

    return Perfume(
        id=pid,
        brand=brand,
        name=name,
        year=int(year) if year is not None else None,
        gender=GENDERS.get(gender_raw),
        accords=accords,
        top_notes=top,
        heart_notes=heart,
        base_notes=base,
        notes=_unique(notes + top + heart + base),
        longevity=_label(cell("longevity_label"), LONGEVITY_LABELS, "longevity_label"),
        sillage=_label(cell("sillage_label"), SILLAGE_LABELS, "sillage_label"),
        rating=float(rating) if rating is not None else None,
        rating_count=int(rating_count) if rating_count is not None else None,
        perfumers=split_list(cell("perfumers")),
        price=float(p) if (p := _number(cell("price"), "price")) is not None else None,
        currency=cell("currency").upper() or None,
        size_ml=float(s) if (s := _number(cell("size_ml"), "size_ml")) is not None else None,
        stock=int(stock) if stock is not None else None,
        sample_data=cell("sample_data").lower() in {"true", "1", "yes"},
    )


def _columns(path: Path, header: list[str]) -> tuple[str, str]:
    """The id and name columns of this file; a sentence naming what is missing otherwise."""
    id_col = _first_column(header, ID_COLUMNS)
    name_col = _first_column(header, NAME_COLUMNS)
    missing = [
        label
        for label, present in (
            ("id (or fragrantica_id)", id_col),
            ("brand", "brand" in header),
            ("perfume (or name)", name_col),
        )
        if not present
    ]
    if missing or id_col is None or name_col is None:
        raise CatalogFormatError(f"{path}: line 1: missing required column(s): {', '.join(missing)}.")
    return id_col, name_col


def _decode(path: Path) -> str:
    """The file as text; a byte that is not UTF-8 is reported with its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogFormatError(f"{path}: cannot open the catalog ({exc.strerror}).") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogFormatError(
            f"{path}: line {line}: not UTF-8 text ({exc.reason}); save the file as UTF-8."
        ) from exc


def _rows(path: Path) -> Iterator[tuple[int, list[str], dict[str, str]]]:
    """(line number, header, row) for every record; a broken file raises with its line."""
    reader = csv.DictReader(io.StringIO(_decode(path), newline=""), strict=True)
    try:
        header = list(reader.fieldnames or [])
    except csv.Error as exc:
        raise CatalogFormatError(f"{path}: line 1: the header cannot be read ({exc}).") from exc
    if not header:
        raise CatalogFormatError(f"{path}: line 1: the file is empty; a header row is required.")
    _columns(path, header)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CatalogFormatError(f"{path}: line {reader.line_num}: broken CSV ({exc}).") from exc
        # The reader skips blank lines, so the record's own line is where it ended.
        line = reader.line_num
        extra = row.get(None)  # type: ignore[call-overload,unused-ignore]
        if extra:
            raise CatalogFormatError(
                f"{path}: line {line}: {len(header) + len(extra)} cells but the header has {len(header)} columns."
            )
        yield line, header, row


def read_catalog(path: Path, lexicon: Lexicon, repairer: Repairer | None = None) -> CatalogReadResult:
    """Read and validate a catalog CSV; bad rows are returned as problems, never dropped silently.
    With `repairer`, brands, names and notes whose accented letters were lost are repaired
    (`tools.search.repair`) and the result says what was repaired and what looks damaged still."""
    perfumes: list[Perfume] = []
    problems: list[RowProblem] = []
    seen: dict[str, int] = {}
    rows_read = 0
    report = RepairReport() if repairer is not None else None
    fix_note = (lambda n: repairer.note(n, report)) if repairer is not None else None
    for line, header, row in _rows(path):
        id_col, name_col = _columns(path, header)
        rows_read += 1
        try:
            perfume = parse_row(row, id_col, name_col, lexicon, fix_note)
        except ValueError as exc:
            problems.append(RowProblem(line, str(exc)))
            continue
        if perfume.id in seen:
            problems.append(RowProblem(line, f"id {perfume.id} repeats line {seen[perfume.id]}"))
            continue
        seen[perfume.id] = line
        perfumes.append(perfume)
    if rows_read == 0:
        raise CatalogFormatError(f"{path}: line 2: the catalog has a header but no rows.")
    if repairer is not None and report is not None:
        repair_perfumes(perfumes, repairer, report)
    return CatalogReadResult(perfumes=perfumes, problems=problems, rows_read=rows_read, repairs=report)


def repair_perfumes(perfumes: list[Perfume], repairer: Repairer, report: RepairReport) -> None:
    """Repair brands (once per brand, so a house keeps one spelling) and then names in place;
    count what still looks damaged."""
    brands = repairer.brand_map(((p.id, p.brand, p.name) for p in perfumes), report)
    for p in perfumes:
        repaired = brands.get(p.brand)
        if repaired is not None:
            p.brand = repaired
        p.name = repairer.name(p.id, p.brand, p.name, report)
        if suspicious(p.name):
            report.suspicious["name"] += 1
    report.suspicious["brand"] = sum(1 for b in {p.brand for p in perfumes} if suspicious(b))
