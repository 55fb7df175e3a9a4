"""Human handoff in Slack: the staff channel side of graphs/handoff.py.

`SlackHandoff` is the service's `HandoffNotifier`: a ticket that opens is posted to the handoff channel
(summary and buttons) and linked to that message; a status change rewrites the message; a customer's
line while the ticket is open goes into its thread. The other way round, a person's reply in that
thread becomes the staff member's message to the customer (`service.staff_message`), and the buttons
take the ticket, return the conversation to the assistant or close it. Every change goes through the
turn service, which then tells every notifier, so the message always shows what the database holds.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from channels.slack.blocks import fallback, say
from channels.slack.handoff_blocks import CLOSE, RETURN, TAKE, customer_line, status_line, ticket_blocks
from channels.slack.threads import plain_text
from core.errors import FragranceError
from graphs.events import Error
from graphs.handoff import HandoffSummary, summarize
from graphs.runtime import Runtime
from graphs.service import NoOpenTicket, TurnService
from memory.records import Ticket

log = logging.getLogger(__name__)

LINK_KIND = "slack"
STAFF_PREFIX = "slack:"
STAFF_NAMES_KEPT = 512


def staff_id(user: str) -> str:
    """How a Slack user is named on a ticket (`Ticket.staff`): stable, unlike a display name."""
    return f"{STAFF_PREFIX}{user}"


def split_link(external_id: str) -> tuple[str, str]:
    """ "CHANNEL:TS" -> (channel, ts) of the ticket's message."""
    channel, _, ts = external_id.partition(":")
    return channel, ts


class SlackHandoff:
    """The handoff channel of one Slack workspace, over one runtime's turn service."""

    def __init__(self, runtime: Runtime, service: TurnService, client: AsyncWebClient, channel: str) -> None:
        self.runtime = runtime
        self.service = service
        self.client = client
        self.channel = channel
        self.language = runtime.settings.fragrance_slack_language
        self._names: dict[str, str] = {}

    @property
    def _repository(self) -> Any:
        return self.runtime.memory.repository

    # -- HandoffNotifier ---------------------------------------------------------------------------
    async def ticket_opened(self, summary: HandoffSummary) -> None:
        """Post the summary with its buttons and link the ticket to the message: its thread is where
        staff answer."""
        blocks = ticket_blocks(summary, None, "requested", summary.ticket_id, self.language)
        text = fallback(say(self.language, "handoff_fallback", wants=summary.wants))
        posted = await self.client.chat_postMessage(channel=self.channel, text=text, blocks=blocks)
        await self._repository.link_ticket(summary.ticket_id, LINK_KIND, f"{posted['channel']}:{posted['ts']}")

    async def ticket_changed(self, ticket: Ticket) -> None:
        """Redraw the ticket's message with its new status and the conversation's latest lines (summarised
        again from the store, so any replica can redraw it); the buttons that no longer apply go."""
        link = (await self._repository.ticket_links(ticket.id)).get(LINK_KIND)
        if link is None:
            return  # opened before this channel was configured, or its post failed: nothing to redraw
        channel, ts = split_link(link)
        summary: HandoffSummary | None
        try:
            summary = await summarize(self._repository, ticket)
        except Exception as exc:  # the status matters more than the summary: redraw without it
            log.warning("could not summarise ticket %s again: %s", ticket.id, exc)
            summary = None
        blocks = ticket_blocks(summary, ticket, ticket.status, ticket.id, self.language)
        text = fallback(status_line(ticket, ticket.status, self.language))
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)

    async def customer_message(self, ticket: Ticket, text: str) -> None:
        """The customer's line, already redacted by the service, into the ticket's thread."""
        link = (await self._repository.ticket_links(ticket.id)).get(LINK_KIND)
        if link is None:
            return
        channel, ts = split_link(link)
        await self.client.chat_postMessage(
            channel=channel, thread_ts=ts, text=fallback(text), blocks=customer_line(text, self.language)
        )

    # -- staff, from Slack -----------------------------------------------------------------------------
    async def ticket_of_thread(self, channel: str, thread_ts: str | None) -> Ticket | None:
        if not thread_ts:
            return None
        ticket: Ticket | None = await self._repository.ticket_by_link(LINK_KIND, f"{channel}:{thread_ts}")
        return ticket

    async def staff_reply(self, event: dict[str, Any], ticket: Ticket) -> None:
        """A person's reply in a ticket's thread, to the customer. The first one takes the ticket."""
        channel, user = str(event["channel"]), str(event["user"])
        text = plain_text(str(event.get("text") or ""))
        if not text:
            return
        if not ticket.is_open:
            await self._tell(channel, user, event, say(self.language, "ticket_closed"))
            return
        try:
            name = await self.staff_name(user)
            stream = await self.service.staff_message(ticket.conversation_id, text, staff_id(user), display_name=name)
            failed = [e for e in await stream.collect() if isinstance(e, Error)]
        except NoOpenTicket:
            await self._tell(channel, user, event, say(self.language, "ticket_closed"))
            return
        except FragranceError as exc:
            log.warning("a staff reply could not reach conversation %s: %s", ticket.conversation_id, exc)
            await self._tell(channel, user, event, say(self.language, "staff_reply_failed", reason=str(exc)))
            return
        if failed:
            await self._tell(channel, user, event, say(self.language, "staff_reply_failed", reason=failed[0].text))

    async def press(self, action_id: str, ticket_id: str, user: str) -> str | None:
        """A button: take, return to the assistant, close. Returns a sentence for the presser when the
        ticket had moved on already (another colleague was faster) or does not exist."""
        ticket: Ticket | None = await self._repository.get_ticket(ticket_id[:64])
        if ticket is None:
            return say(self.language, "ticket_unknown")
        if not ticket.is_open:  # an old message's button must not act on the conversation's newer ticket
            return say(self.language, "ticket_closed")
        staff = staff_id(user)
        try:
            if action_id == TAKE:
                await self.service.take(ticket.conversation_id, staff, display_name=await self.staff_name(user))
            elif action_id == RETURN:
                await self.service.hand_back(ticket.conversation_id, staff)
            elif action_id == CLOSE:
                await self.service.hand_back(ticket.conversation_id, staff, resolved=True)
        except NoOpenTicket:
            return say(self.language, "ticket_closed")
        except FragranceError as exc:
            return str(exc)
        return None

    async def staff_name(self, user: str) -> str:
        """The name the customer sees with a staff reply: the Slack display name, else the user id."""
        if user in self._names:
            return self._names[user]
        name = user
        try:
            info = await self.client.users_info(user=user)
            profile = info["user"].get("profile") or {}
            name = str(profile.get("display_name") or info["user"].get("real_name") or user)[:80]
        except (SlackApiError, KeyError, TypeError) as exc:
            log.info("no Slack name for %s: %s", user, exc)
        if len(self._names) >= STAFF_NAMES_KEPT:
            self._names.clear()
        self._names[user] = name
        return name

    async def permalink(self, ticket: Ticket) -> str | None:
        """A link to the ticket's thread, for /fragrance handoffs."""
        link = (await self._repository.ticket_links(ticket.id)).get(LINK_KIND)
        if link is None:
            return None
        channel, ts = split_link(link)
        try:
            found = await self.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError:
            return f"<#{channel}>"
        return f"<{found['permalink']}|{say(self.language, 'open_thread')}>"

    async def _tell(self, channel: str, user: str, event: dict[str, Any], text: str) -> None:
        """A word only the staff member sees, in the thread they wrote in."""
        await self.client.chat_postEphemeral(
            channel=channel, user=user, thread_ts=event.get("thread_ts"), text=fallback(text)
        )
