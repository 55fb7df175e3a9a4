"""The buttons under an answer with perfumes (lighter, cheaper, without a note, compose something
like this, talk to a person) and the follow-up message each one sends through the turn service.

A pressed button's payload comes back from the browser, so it is client input: it is validated
again here, and anything it names (a note, a perfume) must be among what this conversation was
last shown, kept on the server; the follow-up text is written from the server's copy of the card,
never from the payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from channels.web.render import words
from graphs.events import PerfumeCard
from graphs.inbound import Language
from tools.search.lexicon import Lexicon

ActionName = Literal["lighter", "cheaper", "without", "compose_like", "person"]
ACTION_NAMES: tuple[ActionName, ...] = ("lighter", "cheaper", "without", "compose_like", "person")
_ICONS = {
    "lighter": "feather",
    "cheaper": "tag",
    "without": "circle-minus",
    "compose_like": "flask-conical",
    "person": "user-round",
}
_COMPOSABLE_NOTES = 3


class ActionPayload(BaseModel):
    """What a button carries; bounded, with nothing extra."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str | None = Field(default=None, min_length=1, max_length=80)
    perfume_id: str | None = Field(default=None, min_length=1, max_length=64)


@dataclass(frozen=True, slots=True)
class Button:
    name: ActionName
    label: str
    payload: dict[str, Any]
    icon: str


def _common_note(cards: list[PerfumeCard]) -> str | None:
    """The note most of the shown perfumes share (the likeliest one to leave out), if any is shared."""
    counts: dict[str, int] = {}
    for card in cards:
        for note in dict.fromkeys(card.top_notes + card.heart_notes + card.base_notes + card.notes):
            counts[note] = counts.get(note, 0) + 1
    best = max(counts.items(), key=lambda item: (item[1], item[0]), default=None)
    return best[0] if best is not None and best[1] >= 2 else None


def buttons(cards: list[PerfumeCard], language: Language, lexicon: Lexicon) -> list[Button]:
    """The buttons for an answer that showed `cards` (none for an answer without perfumes but the
    one to reach a person)."""
    out: list[Button] = []
    if cards:
        out.append(Button("lighter", words(language, "action_lighter"), {}, _ICONS["lighter"]))
        if any(card.price is not None for card in cards):
            out.append(Button("cheaper", words(language, "action_cheaper"), {}, _ICONS["cheaper"]))
        note = _common_note(cards)
        if note is not None:
            label = words(language, "action_without", note=_name(lexicon, language, note))
            out.append(Button("without", label, {"note": note}, _ICONS["without"]))
        out.append(
            Button(
                "compose_like",
                words(language, "action_compose_like"),
                {"perfume_id": cards[0].id},
                _ICONS["compose_like"],
            )
        )
    out.append(Button("person", words(language, "action_person"), {}, _ICONS["person"]))
    return out


def _name(lexicon: Lexicon, language: Language, note: str) -> str:
    return lexicon.korean("note", note) if language == "ko" else note.lower()


def _signature(card: PerfumeCard) -> list[str]:
    """The notes that say what a perfume is: the first of each layer of its pyramid, else its first notes."""
    layered = [layer[0] for layer in (card.top_notes, card.heart_notes, card.base_notes) if layer]
    return layered if len(layered) >= 2 else list(dict.fromkeys(card.notes))[:_COMPOSABLE_NOTES]


def follow_up(name: str, payload: Any, shown: list[PerfumeCard], language: Language, lexicon: Lexicon) -> str | None:
    """The message a pressed button sends, or None when the button is not one of ours or names
    something this conversation was not shown (a forged or stale payload)."""
    if name not in ACTION_NAMES:
        return None
    try:
        checked = ActionPayload.model_validate(payload if isinstance(payload, dict) else {})
    except ValidationError:
        return None
    if name == "person":
        return words(language, "say_person")
    if not shown:
        return None
    if name == "lighter":
        return words(language, "say_lighter")
    if name == "cheaper":
        return words(language, "say_cheaper")
    if name == "without":
        offered = {n for card in shown for n in card.top_notes + card.heart_notes + card.base_notes + card.notes}
        if checked.note is None or checked.note not in offered:
            return None
        return words(language, "say_without", note=_name(lexicon, language, checked.note))
    card = next((c for c in shown if c.id == checked.perfume_id), None)
    if card is None:
        return None
    notes = ", ".join(_name(lexicon, language, n) for n in _signature(card))
    if card.accords:
        accord = lexicon.korean("accord", card.accords[0]) if language == "ko" else card.accords[0]
        return words(language, "say_compose_like", accord=accord, notes=notes, brand=card.brand, name=card.name)
    return words(language, "say_compose_like_plain", notes=notes, brand=card.brand, name=card.name)
