"""What every command group of the CLI shares: how a failure is told."""

from __future__ import annotations

import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print the sentence on stderr and return the exit to raise (1: the work failed, 2: bad input)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)
