"""Staff and admin accounts from the shell: add, list, disable (each change audited as "cli").

A password is never an argument (it would sit in the shell history and the process list): it is
typed twice at a hidden prompt, or read from standard input with --password-stdin for scripts.
"""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from channels.cli.admin import ACTOR, _with_memory
from channels.cli.common import fail
from memory.records import User

user_app = typer.Typer(help="Staff and admin accounts that sign in to the REST API.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin was given but standard input is empty.", 2)
        return line.rstrip("\r\n")
    try:
        password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    except typer.Abort:
        raise fail("no password was given.", 2) from None
    return password


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Lowercase letters, digits, '.', '_' or '-' (2 to 64).")],
    role: Annotated[str, typer.Option("--role", help="staff or admin.")] = "staff",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
) -> None:
    """Create an account; its password is hashed with argon2id, never stored."""
    from memory.accounts import AccountError, add_user, check_password, check_role, check_username

    try:
        check_username(username)
        check_role(role)
        password = check_password(_read_password(password_stdin))
    except AccountError as exc:
        raise fail(f"{exc}.", 2) from None
    user: User = _with_memory(lambda memory: add_user(memory.repository, username, password, role, ACTOR))
    typer.echo(f"Added {user.role} {user.username} ({user.id}); they sign in at POST /api/v1/auth/login.")


@user_app.command("list")
def user_list() -> None:
    """Every account: username, role, created, disabled."""
    users: list[User] = _with_memory(lambda memory: memory.repository.users())
    if not users:
        typer.echo("No accounts yet; add one with `fragrance-ai user add USERNAME --role admin`.")
    for user in users:
        state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active"
        typer.echo(f"{user.username:<24} {user.role:<6} created {user.created_at:%Y-%m-%d}  {state}")


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The account's username.")]) -> None:
    """Disable an account: it cannot sign in, its sessions end now and its access tokens are
    refused at their next request. The username stays taken."""
    from memory.accounts import disable_user

    def work(memory: Any) -> Any:
        return disable_user(memory.repository, username, ACTOR)

    user: User | None = _with_memory(work)
    if user is None:
        raise fail(f"there is no account {username}.")
    typer.echo(f"Disabled {user.role} {user.username}; their sessions are ended.")
