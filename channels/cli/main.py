"""`fragrance-ai`: one command with sub-commands for every way of using the product.

Exit codes: 0 success, 1 the work failed (bad catalog, missing index), 2 bad usage or
bad input (typer's own convention for usage errors).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from channels.cli import admin, users
from channels.cli import chat as chat_commands
from channels.cli.common import fail
from core.errors import FragranceError
from core.jsonl import read_jsonl
from core.settings import get_settings

app = typer.Typer(
    name="fragrance-ai",
    help="Fragrance AI: a Korean/English fragrance consultant. Search the catalog, ingest data, serve the API.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
eval_app = typer.Typer(help="Measure quality on the labelled evaluation sets.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Measure speed; results go to JSON and a PNG plot under bench/results.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.command("chat")(chat_commands.chat)
app.command("migrate")(admin.migrate)
app.command("purge")(admin.purge)
app.add_typer(admin.apikey_app, name="apikey")
app.add_typer(admin.customer_app, name="customer")
app.add_typer(users.user_app, name="user")


@app.command()
def ingest(
    catalog: Annotated[
        Path | None,
        typer.Option("--catalog", help="Catalog CSV (format in the README). Default: the bundled starter catalog."),
    ] = None,
    ifra: Annotated[
        Path | None, typer.Option("--ifra", help="IFRA standards CSV (layout of the 51st Amendment overview).")
    ] = None,
    allergens: Annotated[Path | None, typer.Option("--allergens", help="EU allergen list CSV (name, CAS).")] = None,
    constituents: Annotated[
        Path | None, typer.Option("--constituents", help="Naturals' constituents CSV (IFRA annex layout).")
    ] = None,
    materials: Annotated[
        Path | None, typer.Option("--materials", help="Reference materials CSV (fragrance_ingredients_merged).")
    ] = None,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when a catalog has already been ingested.")
    ] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Fail (exit 1) when any row is bad.")] = False,
    spellings: Annotated[
        Path | None,
        typer.Option(
            "--spellings",
            help="Another export of the same perfumes (e.g. the partial 19k Fragrantica file) whose "
            "spellings repair names that lost their accented letters.",
        ),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Validate data and load it into FRAGRANCE_HOME: the perfume catalog (the search index) and
    the perfumery tables (IFRA standards, EU allergens, naturals' constituents, materials).

    Without table options the catalog is ingested (the starter one by default); with only
    table options, only the tables are. Only new or changed perfumes are embedded again.
    """
    from tools.perfumery.database import ingest_tables
    from tools.search.ingest import ingest_catalog
    from tools.search.store import CatalogStore

    settings = get_settings()
    tables = {"ifra": ifra, "allergens": allergens, "constituents": constituents, "materials": materials}
    if any(tables.values()):
        try:
            done = ingest_tables(settings, **tables)
        except FragranceError as exc:
            raise fail(str(exc)) from None
        for name, summary in done.items():
            typer.echo(f"Ingested {name}: {summary}.")
        if catalog is None:
            return
    if if_missing and CatalogStore(settings.catalog_db).exists():
        meta = CatalogStore(settings.catalog_db).meta()
        typer.echo(f"Index present in {settings.fragrance_home} ({meta.get('perfumes')} perfumes); skipping ingest.")
        return
    path = catalog or settings.catalog_path
    try:
        report = ingest_catalog(path, settings, progress=not quiet, spellings=spellings)
    except FragranceError as exc:
        raise fail(str(exc)) from None
    for problem in report.problems[:50]:
        typer.secho(f"{path}: {problem}", fg=typer.colors.YELLOW, err=True)
    if len(report.problems) > 50:
        typer.secho(f"... and {len(report.problems) - 50} more bad rows.", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"Ingested {report.perfumes} perfumes from {path} into {settings.fragrance_home} "
        f"({report.embedded} embedded, {report.unchanged} unchanged, {report.deleted} removed, "
        f"{len(report.problems)} bad rows skipped; {report.repairs.summary()}) in {report.seconds:.1f} s."
    )
    if strict and report.problems:
        raise fail(f"{len(report.problems)} bad rows in {path} (--strict).")


def _load_engine() -> Any:
    from tools.search.engine import SearchEngine

    try:
        return SearchEngine.load(get_settings())
    except FragranceError as exc:
        raise fail(str(exc)) from None


def _print_results(response: Any) -> None:
    parsed = response.parsed
    understood = {k: v for k, v in parsed.to_dict().items() if v and k not in ("text", "language", "preferred_accords")}
    typer.secho(f"Understood: {json.dumps(understood, ensure_ascii=False)}", dim=True)
    if not response.results:
        typer.echo("No perfumes match." if parsed.language == "en" else "조건에 맞는 향수가 없습니다.")
    for rank, r in enumerate(response.results, 1):
        year = f" ({r.year})" if r.year else ""
        typer.secho(f"{rank:>2}. {r.brand} - {r.name}{year}  [{r.id}]  score {r.score:.3f}", bold=True)
        typer.echo(f"    accords: {', '.join(r.accords[:6])}")
        typer.echo(f"    notes:   {', '.join(r.notes[:10])}")
        typer.echo(f"    {r.reason}")
    typer.secho(f"({response.took_ms:.1f} ms)", dim=True)


@app.command()
def search(
    query: Annotated[str | None, typer.Argument(help="What to look for, in Korean or English.")] = None,
    top_k: Annotated[int, typer.Option("--top-k", "-k", min=1, max=100, help="How many results.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full response as JSON.")] = False,
    search_type: Annotated[str, typer.Option("--type", help="hybrid (default) or similarity.")] = "hybrid",
    batch: Annotated[
        Path | None,
        typer.Option("--batch", help='JSONL file, one {"query": ..., "top_k": ...} per line; JSON lines out.'),
    ] = None,
) -> None:
    """Search the ingested catalog ("상큼한 로맨틱 봄 향수", "woody for men without oud")."""
    if search_type not in ("hybrid", "similarity"):
        raise fail("--type must be hybrid or similarity.", 2)
    if batch is None and not (query and query.strip()):
        raise fail("give a QUERY or --batch FILE.", 2)
    if batch is not None:
        requests = _read_batch(batch)
        engine = _load_engine()
        for item in requests:
            response = engine.search_sync(item["query"], item["top_k"], search_type)
            line = {
                "query": item["query"],
                "results": [{"id": r.id, "brand": r.brand, "name": r.name, "score": r.score} for r in response.results],
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        return
    assert query is not None
    if len(query) > get_settings().search_max_query_chars:
        raise fail(f"the query is longer than {get_settings().search_max_query_chars} characters.", 2)
    response = _load_engine().search_sync(query, top_k, search_type)
    if as_json:
        typer.echo(json.dumps(response.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_results(response)


def _read_lines(path: Path, field: str, extra: Callable[[int, dict[str, Any]], dict[str, Any]]) -> list[dict[str, Any]]:
    """Read and check every line of a batch file before any work runs, so a bad line costs nothing."""
    limit = get_settings().search_max_query_chars
    try:
        rows = read_jsonl(path)
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    out = []
    for number, item in rows:
        value = item.get(field) if isinstance(item, dict) else None
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise fail(f'{path}: line {number}: "{field}" must be a non-empty string of at most {limit} characters.', 2)
        out.append({field: value, **extra(number, item)})
    return out


def _read_batch(path: Path) -> list[dict[str, Any]]:
    def top_k(number: int, item: dict[str, Any]) -> dict[str, Any]:
        value = item.get("top_k", 10)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 100:
            raise fail(f'{path}: line {number}: "top_k" must be a whole number from 1 to 100.', 2)
        return {"top_k": value}

    return _read_lines(path, "query", top_k)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default from settings: 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default from settings: 8000).")] = None,
) -> None:
    """Serve the REST API (OpenAPI docs at /docs, /health, /ready)."""
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        "channels.rest.app:create_app",
        factory=True,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level,
    )


def _perfumery() -> Any:
    from tools.perfumery.database import perfumery_for

    try:
        return perfumery_for(get_settings().fragrance_home)
    except FragranceError as exc:
        raise fail(str(exc)) from None


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Formula JSON: ingredients, dilution_pct or concentration.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
) -> None:
    """Check a formula against the IFRA Standards and EU allergen rules.

    FILE holds {"concentration": "EDP" (or "dilution_pct": 18; neither: EDP, stated in the report),
    "ifra_category": "4", "ingredients": [{"name": "...", "cas": "optional", "pct": 5.0}]}; the lines
    add up to 100 (+/- 0.5), else the report says it cannot judge. Exit code 0: compliant; 1: not
    compliant or cannot be judged (the report says why, with a corrected formula where one exists);
    2: the file is not a valid formula, or a name and its CAS number name different materials.
    """
    from tools.perfumery.formula import Formula, FormulaError

    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{file}: cannot read ({exc.strerror}).", 2) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise fail(f"{file}: not JSON ({exc}).", 2) from None
    try:
        formula = Formula.from_dict(data)
        report = _perfumery().validator.validate(formula)
    except FormulaError as exc:
        raise fail(f"{file}: {exc}.", 2) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    if not report.compliant:
        raise typer.Exit(1)


def _print_report(report: Any) -> None:
    verdict = {"compliant": "COMPLIANT", "not_compliant": "NOT COMPLIANT", "cannot_judge": "CANNOT JUDGE"}
    typer.secho(
        f"{verdict[report.verdict]} ({report.amendment}, category {report.ifra_category}, "
        f"{report.dilution_pct:g} % concentrate)",
        bold=True,
        fg=typer.colors.GREEN if report.compliant else typer.colors.RED,
    )
    if report.cannot_judge:
        typer.echo(f"  Cannot judge: {report.cannot_judge}.")
    for assumption in report.assumed:
        typer.echo(f"  Assumed: {assumption}.")
    for v in report.violations:
        typer.echo(f"  x {v.kind}: {v.message}")
    for material, options in report.substitutes.items():
        listed = "; ".join(f"{o['substitute']} ({o['role']})" for o in options)
        typer.echo(f"  Instead of {material}: {listed}")
    for note in report.notes:
        typer.echo(f"  Note: {note}.")
    if report.allergens_to_declare:
        typer.echo("Allergens to declare:")
        for a in report.allergens_to_declare:
            typer.echo(f"  - {a.name} ({a.cas}): {a.finished_pct:.4g} %")
    for w in report.warnings:
        typer.secho(f"  ! {w}", fg=typer.colors.YELLOW)
    if report.corrected is not None:
        typer.echo("Corrected formula:")
        for i in report.corrected.ingredients:
            typer.echo(f"  {i.pct:>8.3f} %  {i.name}")
    if report.correction_note:
        typer.echo(f"  ({report.correction_note}.)")


@app.command()
def compose(
    family: Annotated[
        str,
        typer.Option(
            "--family",
            help="a style: citrus (cologne), aquatic, fougere, chypre, leather, amber, gourmand, white floral, "
            "rose, floral, woody, green, fruity, powdery, aromatic, musky, fresh, spicy; 시프레, 가죽 ...",
        ),
    ] = "floral",
    mood: Annotated[str | None, typer.Option(help="romantic, fresh, cozy, 로맨틱 ...")] = None,
    intensity: Annotated[str, typer.Option(help="light, moderate, strong, 보통 ...")] = "moderate",
    season: Annotated[str | None, typer.Option(help="spring, summer, autumn, winter, 봄 ...")] = None,
    like: Annotated[list[str] | None, typer.Option("--like", help="A note you like; repeat for more.")] = None,
    dislike: Annotated[list[str] | None, typer.Option("--dislike", help="A note to avoid; repeat.")] = None,
    concentration: Annotated[str, typer.Option(help="parfum, extrait, EDP, EDT, EDC.")] = "EDP",
    seed: Annotated[int, typer.Option(min=0, help="0: the canonical formula; other numbers: variants.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the composition as JSON.")] = False,
) -> None:
    """Compose a formula from a brief; it is validated before it is shown."""
    from tools.perfumery.composition import Brief, Composer
    from tools.perfumery.formula import FormulaError
    from tools.search.lexicon import default_lexicon

    brief = Brief(
        fragrance_family=family,
        mood=mood,
        intensity=intensity,
        season=season,
        liked_notes=like or [],
        disliked_notes=dislike or [],
        concentration=concentration,
        seed=seed,
    )
    try:
        composition = Composer(_perfumery(), default_lexicon()).compose(brief)
    except FormulaError as exc:
        raise fail(f"{exc}.", 2) from None
    if as_json:
        typer.echo(json.dumps(composition.to_dict(), ensure_ascii=False, indent=2))
        return
    typer.secho(composition.name, bold=True)
    typer.echo(composition.description)
    for item in composition.ingredients:
        typer.echo(f"  {item['pct']:>7.2f} %  {item['name']:<28} {item['why']}")
    for omitted in composition.omitted_notes:
        typer.echo(("  빠진 노트: " if composition.language == "ko" else "  left out: ") + omitted["reason"])
    for missing in composition.style.get("signature_missing", []):
        typer.echo(f"  ({missing['role']}: {missing['reason']})")
    validation = composition.validation
    typer.echo(
        f"{'Compliant' if validation['compliant'] else 'NOT compliant'} with {validation['amendment']}; "
        f"{len(validation['allergens_to_declare'])} allergens to declare. "
        + ("패치 테스트 후 사용하세요." if composition.language == "ko" else "Patch-test before use.")
    )


def _nlu() -> Any:
    from agents.nlu import NLU
    from tools.search.embeddings import embedder_for
    from tools.search.engine import SearchEngine
    from tools.search.store import CatalogStore

    settings = get_settings()
    engine = SearchEngine.load(settings) if CatalogStore(settings.catalog_db).exists() else None
    materials = _perfumery().materials
    return NLU.build(engine.embedder if engine else embedder_for(settings), engine, materials)


@app.command()
def nlu(
    text: Annotated[str | None, typer.Argument(help="An utterance, Korean or English.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    batch: Annotated[
        Path | None, typer.Option("--batch", help='JSONL file, one {"text": ...} per line; JSON lines out.')
    ] = None,
) -> None:
    """Intent, confidence, slots and language of an utterance (the embedded intent role)."""
    if batch is None and not (text and text.strip()):
        raise fail("give a TEXT or --batch FILE.", 2)
    if batch is not None:
        texts = _read_texts(batch)
        for result in _nlu().parse_many(texts):
            sys.stdout.write(json.dumps({k: v for k, v in result.items() if k != "clarify"}, ensure_ascii=False) + "\n")
        return
    assert text is not None
    result = _nlu().parse(text)
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    typer.secho(f"{result['intent']}  (confidence {result['confidence']:.2f}, {result['language']})", bold=True)
    for name, value in result["slots"].items():
        if name != "language":
            typer.echo(f"  {name}: {json.dumps(value, ensure_ascii=False)}")
    if result["clarify"]:
        typer.secho(f"  -> {result['clarify']}", fg=typer.colors.YELLOW)


def _read_texts(path: Path) -> list[str]:
    return [row["text"] for row in _read_lines(path, "text", lambda _number, _item: {})]


@eval_app.command("nlu")
def eval_nlu(
    data: Annotated[Path | None, typer.Option("--data", help="JSONL with text and intent (default: bundled).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Accuracy, per-intent precision and recall, and the confusion matrix of the embedded intent role."""
    from agents.evaluation import DEFAULT_EVAL, evaluate_nlu, format_report, load_eval

    try:
        items = load_eval(data or DEFAULT_EVAL)
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    report = evaluate_nlu(_nlu(), items)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report))


@eval_app.command("compose")
def eval_compose(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="JSONL briefs with a perfumer's expectations (default: the bundled set)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The share of composed formulas meeting every expectation of their brief (signature materials,
    keep-outs, liked and disliked notes, compliance), per style and per language, with the misses."""
    from tools.perfumery.composition import (
        DEFAULT_COMPOSE_EVAL,
        Composer,
        evaluate_compose,
        format_compose_report,
        load_compose_eval,
    )
    from tools.search.lexicon import default_lexicon

    path = data or DEFAULT_COMPOSE_EVAL
    if data is None and not path.exists():
        raise fail(f"no evaluation set at {path}; give one with --data FILE.", 2)
    try:
        items = load_compose_eval(path)
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    report = evaluate_compose(Composer(_perfumery(), default_lexicon()), items)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_compose_report(report))


@eval_app.command("search")
def eval_search(
    queries: Annotated[
        Path | None, typer.Option("--queries", help="JSONL evaluation set: only this one is measured.")
    ] = None,
    heldout: Annotated[
        bool,
        typer.Option(
            "--heldout",
            help="Only the held-out set (tools/search/data/eval_queries_heldout.jsonl, written by someone "
            "who had not read the code). Without --queries or --heldout both bundled sets are measured.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    show_failures: Annotated[bool, typer.Option("--failures", help="List results that break a constraint.")] = False,
    search_type: Annotated[
        str, typer.Option("--type", help="hybrid (default) or similarity: the plain vector baseline on the same index.")
    ] = "hybrid",
) -> None:
    """Precision@5 of hybrid search: the share of top-5 results meeting every constraint of their query,
    per language, on the bundled set and the held-out set (or on --queries FILE / --heldout alone); also
    how many Korean content words the lexicon does not know and how many transliteration recovered."""
    from tools.search.evaluation import DEFAULT_QUERIES, HELDOUT_QUERIES, evaluate_search, load_eval_queries

    if queries is not None:
        sets = {"queries": queries}
    elif heldout:
        sets = {"heldout": HELDOUT_QUERIES}
    else:
        sets = {"bundled": DEFAULT_QUERIES, **({"heldout": HELDOUT_QUERIES} if HELDOUT_QUERIES.exists() else {})}
    if search_type not in ("hybrid", "similarity"):
        raise fail("--type must be hybrid or similarity.", 2)
    try:
        loaded = {name: load_eval_queries(path) for name, path in sets.items()}
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    engine = _load_engine()
    reports = {name: evaluate_search(engine, items, search_type) for name, items in loaded.items()}  # type: ignore[arg-type]
    if as_json:
        dicts = {name: report.to_dict() for name, report in reports.items()}
        typer.echo(json.dumps(next(iter(dicts.values())) if len(dicts) == 1 else dicts, ensure_ascii=False, indent=2))
        return
    for name, report in reports.items():
        typer.secho(f"{name} set ({sets[name]}): {len(loaded[name])} queries; catalog: {engine.index.size} perfumes.")
        for lang, value in report.by_language.items():
            typer.echo(f"  precision@5 [{lang}]: {value:.3f}  ({report.counts[lang]} queries)")
        typer.secho(f"  precision@5 [all]: {report.overall:.3f}", bold=True)
        hangul = report.hangul
        if hangul.get("unknown"):
            typer.echo(
                f"  Korean words the lexicon does not know: {hangul['unknown']}; "
                f"recovered by transliteration: {hangul['recovered']}"
            )
        if show_failures:
            for failure in report.failures:
                typer.echo(f"  - {failure}")
            if hangul.get("recovered_words"):
                typer.echo(f"  recovered: {', '.join(hangul['recovered_words'])}")
            if hangul.get("missed_words"):
                typer.echo(f"  not recovered: {', '.join(hangul['missed_words'])}")


@eval_app.command("chat")
def eval_chat(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="YAML conversations with checks (default: agents/data/eval_chat.yaml)."),
    ] = None,
    catalog: Annotated[
        Path | None,
        typer.Option(
            "--catalog", help="Run on the catalog ingested in this FRAGRANCE_HOME folder (default: the setting)."
        ),
    ] = None,
    models: Annotated[
        str,
        typer.Option(
            "--models",
            help="embedded (the default roles) or fake: scripted stand-ins in the model roles' places that answer "
            "only from what their prompts carry (the model path: history and focus must reach them).",
        ),
    ] = "embedded",
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only conversations with this id or id prefix; repeatable.")
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many conversations per language.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    show_failures: Annotated[bool, typer.Option("--failures", help="List every failing turn and why.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Whole conversations through the turn service (a fresh customer each, embedded stores in a scratch
    folder), every check run after each turn on the cards, formulas and reply the customer got; prints
    the share of turns passed overall, per language and per pattern."""
    import asyncio

    from agents.chat_eval import (
        DEFAULT_CHAT_EVAL,
        format_chat_report,
        load_chat_eval,
        run_chat_eval,
        select,
        stdout_to_stderr,
    )

    try:
        conversations = select(load_chat_eval(data or DEFAULT_CHAT_EVAL), only, limit)
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    if not conversations:
        raise fail("no conversation matches --only.", 2)
    if models not in ("embedded", "fake"):
        raise fail("--models must be embedded or fake.", 2)
    settings = get_settings()
    if catalog is not None:
        if not catalog.is_dir():
            raise fail(
                f"--catalog takes a FRAGRANCE_HOME folder holding an ingested catalog, and {catalog} is not a folder: "
                f"ingest a CSV first (FRAGRANCE_HOME=DIR fragrance-ai ingest --catalog FILE).",
                2,
            )
        settings = settings.model_copy(update={"fragrance_home": catalog})
    try:
        with stdout_to_stderr():
            report = asyncio.run(run_chat_eval(settings, conversations, models, progress=not quiet))
    except FragranceError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if as_json
        else format_chat_report(report, show_failures)
    )


@eval_app.command("validate")
def eval_validate(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="JSONL formulas with expected verdicts (default: the bundled set)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """The share of validation verdicts right (compliant, not_compliant, cannot_judge, refused) on a
    labelled set, listing each miss with the expected and the actual verdict."""
    from tools.perfumery.validation import (
        DEFAULT_VALIDATE_EVAL,
        evaluate_validate,
        format_validate_report,
        load_validate_eval,
    )

    path = data or DEFAULT_VALIDATE_EVAL
    if data is None and not path.exists():
        raise fail(f"no evaluation set at {path}; give one with --data FILE.", 2)
    try:
        cases = load_validate_eval(path)
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    report = evaluate_validate(_perfumery().validator, cases)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_validate_report(report))


# The options every benchmark shares.
BenchRequests = Annotated[int, typer.Option(help="Requests per measured load level.")]
BenchConcurrency = Annotated[
    list[int] | None, typer.Option(help="Requests in flight; repeat for several levels (default: 2 and 4).")
]
BenchOut = Annotated[Path, typer.Option(help="Folder for the JSON and PNG results.")]


@bench_app.command("search")
def bench_search(
    requests: BenchRequests = 3000,
    concurrency: BenchConcurrency = None,
    out: BenchOut = Path("bench/results"),
) -> None:
    """Latency and throughput of POST /api/v1/search/semantic next to the in-process floor."""
    from bench.search import run_search_benchmark

    try:
        run_search_benchmark(requests=requests, concurrency=concurrency or [2, 4], out_dir=out)
    except FragranceError as exc:
        raise fail(str(exc)) from None


@bench_app.command("recipe")
def bench_recipe(
    requests: BenchRequests = 3000,
    concurrency: BenchConcurrency = None,
    out: BenchOut = Path("bench/results"),
) -> None:
    """Latency and throughput of POST /api/v1/generate/recipe (compose + validate) next to the in-process floor."""
    from bench.recipe import run_recipe_benchmark

    try:
        run_recipe_benchmark(requests=requests, concurrency=concurrency or [2, 4], out_dir=out)
    except FragranceError as exc:
        raise fail(str(exc)) from None


@bench_app.command("chat")
def bench_chat(
    turns: Annotated[int, typer.Option(help="Turns on the embedded roles (a quarter of them with model roles).")] = 400,
    model_latency_ms: Annotated[float, typer.Option(help="Fixed latency of each fake model call.")] = 50.0,
    out: BenchOut = Path("bench/results"),
) -> None:
    """Embedded turn latency (p50, p95) and the graph's overhead per turn above model time."""
    from bench.chat import run_chat_benchmark

    try:
        run_chat_benchmark(turns=turns, model_latency_ms=model_latency_ms, out_dir=out)
    except FragranceError as exc:
        raise fail(str(exc)) from None


@bench_app.command("memory")
def bench_memory(
    turns: Annotated[
        int,
        typer.Option(
            min=8,
            help="Turns in each memory configuration (eight per conversation); as many again run in server mode "
            "through counting relays for the round trips.",
        ),
    ] = 240,
    out: BenchOut = Path("bench/results"),
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Measure server mode on this Postgres database instead of a throwaway one created and dropped on "
            "127.0.0.1:5432. It is migrated; the benchmark's customers and their threads are erased afterwards and "
            "the replica's API key (bench-memory) is revoked.",
        ),
    ] = None,
    redis_url: Annotated[
        str | None,
        typer.Option(
            "--redis-url",
            help="Measure server mode on this Redis instead of redis://127.0.0.1:6379/0. Keys go under a prefix of "
            "this run, deleted afterwards.",
        ),
    ] = None,
) -> None:
    """What the checkpoint, the stores and the lock add to a turn (p50, p95), embedded (SQLite) and in
    server mode (Postgres + Redis), over the cheapest in-memory baseline, on FRAGRANCE_HOME's catalog;
    Postgres and Redis round trips per turn by store; and a replica (`serve`, started three times in
    server mode): seconds to /ready and resident memory."""
    from bench.memory import run_memory_benchmark

    try:
        run_memory_benchmark(get_settings(), turns=turns, out_dir=out, database_url=database_url, redis_url=redis_url)
    except FragranceError as exc:
        raise fail(str(exc)) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
