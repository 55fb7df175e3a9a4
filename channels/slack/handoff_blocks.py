"""Block Kit of a handoff ticket in the staff channel: what the customer wants, their preferences, the
last messages, the ticket's status and the buttons that still apply to it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from channels.slack.blocks import Block, context, cut, escape, fields_section, header, preferences_text, say, section
from memory.records import Ticket

if TYPE_CHECKING:
    from graphs.handoff import HandoffSummary

TAKE, RETURN, CLOSE = "handoff_take", "handoff_return", "handoff_close"
ACTIONS = (TAKE, RETURN, CLOSE)
LINE_CHARS = 300
"""Each of the last messages is cut here: the thread below carries the conversation from now on."""


def _button(action_id: str, ticket_id: str, language: str, style: str | None = None) -> Block:
    button: Block = {
        "type": "button",
        "action_id": action_id,
        "value": ticket_id,
        "text": {"type": "plain_text", "text": say(language, f"button_{action_id}"), "emoji": True},
    }
    if style:
        button["style"] = style
    return button


def buttons(ticket_id: str, status: str, language: str) -> Block | None:
    """Take while nobody has it; return to the assistant or close while it is open; none once closed."""
    if status not in ("requested", "taken"):
        return None
    elements = [_button(TAKE, ticket_id, language, "primary")] if status == "requested" else []
    elements += [_button(RETURN, ticket_id, language), _button(CLOSE, ticket_id, language, "danger")]
    return {"type": "actions", "block_id": f"handoff:{ticket_id}", "elements": elements}


def staff_shown(staff: str) -> str:
    """A Slack staff member as a mention (Slack shows their current name); anyone else by their id."""
    return f"<@{staff.removeprefix('slack:')}>" if staff.startswith("slack:") else escape(staff)


def status_line(ticket: Ticket | None, status: str, language: str) -> str:
    staff = staff_shown(ticket.staff) if ticket is not None and ticket.staff else None
    words = say(language, f"status_{status}")
    return say(language, "status_by", status=words, staff=staff) if staff else say(language, "status", status=words)


def ticket_blocks(
    summary: HandoffSummary | None, ticket: Ticket | None, status: str, ticket_id: str, language: str
) -> list[Block]:
    """The whole message; `summary` None (it was not kept) shows the ticket alone."""
    blocks: list[Block] = [header(say(language, "handoff_header"))]
    if summary is not None:
        blocks.append(
            fields_section(
                [
                    f"*{say(language, 'customer_language')}*\n{summary.language}",
                    f"*{say(language, 'customer_channel')}*\n{escape(summary.channel)}",
                    f"*{say(language, 'customer')}*\n`{escape(summary.customer_id)}`",
                    f"*{say(language, 'ticket')}*\n`{escape(summary.ticket_id)}`",
                ]
            )
        )
        blocks.append(section(f"*{say(language, 'wants')}*\n>{escape(summary.wants) or '-'}"))
        stated = preferences_text(summary.preferences, language)
        blocks.append(context(say(language, "stated_preferences", preferences=stated or say(language, "none"))))
        if summary.last_messages:
            lines = [
                f"*{say(language, f'role_{line.role}')}*: {escape(cut(' '.join(line.text.split()), LINE_CHARS))}"
                for line in summary.last_messages
            ]
            blocks.append(section(f"*{say(language, 'last_messages')}*\n" + "\n".join(lines)))
        blocks.append(context(say(language, "conversation", id=escape(summary.conversation_id))))
    elif ticket is not None:
        blocks.append(
            section(say(language, "handoff_ids", ticket=escape(ticket.id), conversation=escape(ticket.conversation_id)))
        )
    blocks.append(section(status_line(ticket, status, language)))
    actions = buttons(ticket_id, status, language)
    if actions is not None:
        blocks.append(actions)
        blocks.append(context(say(language, "reply_in_thread")))
    return blocks


def customer_line(text: str, language: str) -> list[Block]:
    return [section(f"*{say(language, 'role_user')}*: {escape(text)}")]
