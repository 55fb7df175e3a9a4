"""`fragrance-ai chat`: the terminal channel, a thin adapter over the turn service.

It reads a line, hands it to the service as an `Inbound` message and prints the events that come
back; everything else (locks, memory, redaction, handoff) is the service's.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import sys
import uuid
from typing import TYPE_CHECKING, Annotated

import typer

from channels.cli.common import fail
from core.errors import FragranceError
from core.settings import get_settings
from graphs.events import Error, HandoffRequested, Notice, Refused, Reply, StaffMessage, Token, TurnEvent
from graphs.inbound import Inbound

if TYPE_CHECKING:  # the runtime pulls in the models and the catalog: loaded when a chat starts, not for --help
    from graphs.service import TurnService


class _Printer:
    """Prints one turn's events: model tokens as they come, then what stands."""

    def __init__(self) -> None:
        self.streamed = False

    def __call__(self, event: TurnEvent) -> None:
        if isinstance(event, Token):
            if not self.streamed:
                typer.echo("ai> ", nl=False)
                self.streamed = True
            typer.echo(event.text, nl=False)
        elif isinstance(event, Reply):
            if self.streamed and not event.corrected:
                typer.echo("\n")
            elif self.streamed:  # the output guard replaced what the model wrote
                typer.echo(f"\nai> (corrected) {event.text}\n")
            else:
                typer.echo(f"ai> {event.text}\n")
        elif isinstance(event, StaffMessage):
            typer.echo(f"staff> {event.text}\n")
        elif isinstance(event, HandoffRequested):
            typer.echo(f"ai> {event.text}")
            typer.secho("(a staff member has been asked to join; answer as staff with /staff TEXT)", dim=True)
        elif isinstance(event, Notice | Refused | Error):
            typer.echo(f"ai> {event.text}\n")


async def _loop(thread_id: str, customer: str) -> None:
    from graphs.runtime import open_runtime

    try:
        async with open_runtime(get_settings()) as runtime:
            await _converse(runtime.require_service(), thread_id, customer)
    except FragranceError as exc:  # no catalog ingested, a store that does not answer
        raise fail(str(exc)) from None


async def _converse(service: TurnService, thread_id: str, customer: str) -> None:
    person = await service.memory.repository.customer_for("cli", customer)
    typer.secho("Fragrance AI - 향수 상담 (/quit to leave)", bold=True)
    while True:
        text = (await asyncio.to_thread(input, "you> ")).strip()
        if not text:
            continue
        if text in ("/quit", "/exit"):
            return
        try:
            await _one(service, text, thread_id, person.id)
        except FragranceError as exc:  # a busy conversation, another customer's thread, a bad staff line
            typer.echo(f"ai> {exc}\n")


async def _one(service: TurnService, text: str, thread_id: str, customer_id: str) -> None:
    printer = _Printer()
    if text.startswith("/staff "):
        stream = await service.staff_message(thread_id, text[len("/staff ") :], staff="terminal")
    elif text == "/back":
        await service.hand_back(thread_id, staff="terminal")
        typer.echo("(handed back to the assistant)\n")
        return
    else:
        inbound = Inbound(text=text, customer_id=customer_id, channel="cli", conversation_id=thread_id)
        stream = await service.start(inbound)
    async for event in stream:
        printer(event)


def chat(
    thread: Annotated[
        str | None, typer.Option("--thread", help="Continue this conversation (default: a new one).")
    ] = None,
    customer: Annotated[
        str | None,
        typer.Option("--customer", help="Who is talking (default: your login name); preferences follow the customer."),
    ] = None,
) -> None:
    """Talk to the consultant in the terminal, in Korean or English.

    Type /quit to leave. After a request for a person, /staff TEXT answers as the staff member and
    /back hands the conversation back to the assistant.
    """
    # Bytes that are not UTF-8 become lone surrogates, which the service cleans away, instead of a crash.
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdin.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
    thread_id = thread or uuid.uuid4().hex[:12]
    with contextlib.suppress(KeyboardInterrupt, EOFError):
        asyncio.run(_loop(thread_id, customer or getpass.getuser()))
    typer.echo(f"\n(conversation {thread_id}; continue it with --thread {thread_id})")
