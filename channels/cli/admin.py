"""Administration from the shell: migrations, API keys, customers' data rights, retention.

Each command opens only the memory stores (no catalog, no models), so it runs in a second.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from channels.cli.common import fail
from core.errors import FragranceError
from core.settings import get_settings

T = TypeVar("T")
apikey_app = typer.Typer(help="API keys for programs that call the chat API.", no_args_is_help=True)
customer_app = typer.Typer(help="A customer's data: export it, or erase it everywhere.", no_args_is_help=True)
ACTOR = "cli"


def _with_memory(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(memory)` with the stores of the settings (Postgres/Redis or the embedded files)."""
    from memory.backends import open_memory

    async def run() -> T:
        async with open_memory(get_settings()) as memory:
            return await work(memory)

    try:
        return asyncio.run(run())
    except FragranceError as exc:
        raise fail(str(exc)) from None


def migrate() -> None:
    """Create or upgrade the database: the product's tables (schema fragrance), LangGraph's
    checkpoint tables (schema langgraph). Safe to run from several replicas at once."""
    from memory.migrate import migrate as run_migrations

    try:
        report = asyncio.run(run_migrations(get_settings()))
    except FragranceError as exc:
        raise fail(str(exc)) from None
    where = "Postgres" if report.backend == "postgres" else "the embedded SQLite files"
    if report.applied:
        typer.echo(f"Applied {len(report.applied)} migration(s) to {where}: {', '.join(report.applied)}.")
    else:
        typer.echo(f"{where[0].upper()}{where[1:]} already up to date ({len(report.already)} migration(s)).")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help='Who the key is for ("shop website").')],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="chat (default) or admin; repeat for both.")
    ] = None,
    rate_limit: Annotated[
        str | None, typer.Option("--rate-limit", help='Requests allowed, e.g. "120/minute" (default from settings).')
    ] = None,
) -> None:
    """Create a key; it is printed once and only its hash is kept."""
    from limits import parse

    from memory.apikeys import check_scopes, mint

    if not 1 <= len(name.strip()) <= 100:
        raise fail("the name must be 1 to 100 characters.", 2)
    try:
        scopes = check_scopes(scope or ["chat"])
    except FragranceError as exc:
        raise fail(str(exc), 2) from None
    if rate_limit is not None:
        try:
            parse(rate_limit)
        except ValueError:
            raise fail(f'--rate-limit {rate_limit!r} is not a rate like "60/minute".', 2) from None

    async def work(memory: Any) -> Any:
        made = await mint(memory.repository, name.strip(), scopes, rate_limit)
        detail = {"name": made.record.name, "scopes": list(scopes), "rate_limit": rate_limit}
        await memory.repository.audit(ACTOR, "apikey.create", made.record.id, detail)
        return made

    minted = _with_memory(work)
    record = minted.record
    typer.echo(f"Created API key {record.id} ({record.name}; scopes {', '.join(record.scopes)}).")
    typer.secho(minted.secret, bold=True)
    typer.echo("Keep it now: it is not shown again.")


@apikey_app.command("list")
def apikey_list() -> None:
    """Every key: id, name, scopes, created, last used, revoked."""
    keys = _with_memory(lambda memory: memory.repository.api_keys())
    if not keys:
        typer.echo("No API keys yet; create one with `fragrance-ai apikey create NAME`.")
    for k in keys:
        state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
        used = f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "never"
        typer.echo(
            f"{k.id}  {k.name:<24} {','.join(k.scopes):<11} created {k.created_at:%Y-%m-%d}  used {used}  {state}"
        )


@apikey_app.command("revoke")
def apikey_revoke(key_id: Annotated[str, typer.Argument(help="The key's id from `apikey list`.")]) -> None:
    """Revoke a key at once; requests with it get 401."""

    async def work(memory: Any) -> Any:
        record = await memory.repository.revoke_api_key(key_id)
        if record is not None:
            await memory.repository.audit(ACTOR, "apikey.revoke", key_id)
        return record

    record = _with_memory(work)
    if record is None:
        raise fail(f"there is no API key {key_id}.")
    typer.echo(f"Revoked API key {record.id} ({record.name}).")


@customer_app.command("export")
def customer_export(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    out: Annotated[Path | None, typer.Option("--out", help="Write the JSON here instead of printing it.")] = None,
) -> None:
    """Everything held about a customer, as JSON (audited)."""
    from memory.rights import export_customer

    data = _with_memory(lambda memory: export_customer(memory, customer_id, ACTOR))
    if data is None:
        raise fail(f"there is no customer {customer_id}.")
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"Wrote {out}.")


@customer_app.command("delete")
def customer_delete(
    customer_id: Annotated[str, typer.Argument(help="The customer's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase a customer everywhere: rows, conversation checkpoints, session memory (audited)."""
    from memory.rights import erase_customer

    if not yes:
        typer.confirm(f"Erase customer {customer_id} and all their conversations?", abort=True)
    erased = _with_memory(lambda memory: erase_customer(memory, customer_id, ACTOR))
    if erased is None:
        raise fail(f"there is no customer {customer_id}.")
    typer.echo(f"Erased customer {customer_id} and {len(erased)} conversations.")


def purge(
    older_than_days: Annotated[
        int | None, typer.Option("--older-than-days", min=1, help="Default: TRANSCRIPT_RETENTION_DAYS (365).")
    ] = None,
) -> None:
    """Delete transcript lines older than the retention period, and the thread state of
    conversations idle that long (audited). Run it daily, e.g. from cron."""
    from memory.rights import purge_transcripts

    days = older_than_days or get_settings().transcript_retention_days
    count = _with_memory(lambda memory: purge_transcripts(memory, days, ACTOR))
    typer.echo(f"Deleted {count} transcript lines older than {days} days.")
