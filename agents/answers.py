"""Answers about perfumes in focus, written from the ask_about_perfumes tool's data in the customer's
language: how long it lasts, how far it projects, whether it suits a season, an occasion, a mood or
a person, its price, size and stock, its notes; and, asked "which one", the pick with its reason.

Every sentence is a template of prompts/service (keys about_*, when_*, label_*); the values are the
catalog's, translated where the customer reads Korean (accords and notes through the lexicon,
labels through the templates). Brand and perfume names stay as written.
"""

from __future__ import annotations

import re
from typing import Any

from prompts import render, templates
from tools.search.lexicon import default_lexicon


def _t(language: str, key: str, /, **values: Any) -> str:
    return render("service", language, key, **values)


def label(language: str, kind: str, value: str | None) -> str:
    """A catalog label (longevity, sillage) or a situation (season, occasion, mood) in the language."""
    key = f"{kind}_{(value or '').replace(' ', '_')}"
    return templates("service", language).get(key, value or "-")


def korean_accord(accord: str) -> str:
    """An accord's Korean name; an accord named for a note (lavender, violet, iris) takes the note's."""
    lexicon = default_lexicon()
    korean = lexicon.korean("accord", accord)
    if korean == accord:
        korean = lexicon.korean("note", lexicon.canonical_note(accord))
    return korean if korean != lexicon.canonical_note(accord) else accord


def accords(values: list[str], language: str, limit: int = 4) -> str:
    shown = values[:limit]
    return ", ".join(korean_accord(a) if language == "ko" else a for a in shown) or "-"


def korean_note(note: str) -> str:
    """A note's Korean name; the catalog's group notes ("Woody Notes", "Floral Notes") as their accord's."""
    lexicon = default_lexicon()
    korean = lexicon.korean("note", note)
    group = re.fullmatch(r"(.+?)\s+notes?", note, re.IGNORECASE)
    if korean == note and group:
        head = group.group(1)
        named = korean_accord(head.lower())
        if named == head.lower():
            named = lexicon.korean("note", head)
        if named == head:
            named = label("ko", "family", head.lower())
        if named not in (head, head.lower()):
            return f"{named} 노트"
    return korean


def notes(values: list[str], language: str, limit: int | None = None) -> str:
    shown = values[:limit] if limit else values
    return ", ".join(korean_note(n) if language == "ko" else n for n in shown) or "-"


def price(amount: float | None, currency: str | None, language: str) -> str:
    if amount is None:
        return ""
    if language == "ko" and (currency or "KRW") == "KRW":
        return f"{amount:,.0f}원"
    return f"{amount:,.0f} {currency or ''}".strip()


def _name(card: dict[str, Any]) -> str:
    return f"{card['brand']} {card['name']}"


def _when(language: str, kind: str, value: str) -> str:
    """ "for summer" / "여름에는", "for the office" / "회사에서는", "if you want something cozy" / ..."""
    known = templates("service", language).get(f"when_{kind}_{value}")
    if known:
        return known
    return _t(language, f"when_{kind}", name=label(language, kind, value))


def _fit_sentence(card: dict[str, Any], fit: dict[str, Any], what: str, language: str) -> str:
    reasons = []
    if fit.get("matching"):
        reasons.append(_t(language, "reason_suits", accords=accords(fit["matching"], language)))
    against = [a for a in fit.get("against") or [] if not a.startswith("sillage:")]
    if against:
        reasons.append(_t(language, "reason_against", accords=accords(against, language)))
    for item in fit.get("against") or []:
        if item.startswith("sillage:"):
            value = item.split(":", 1)[1]
            key = "reason_quiet" if value == "intimate" else "reason_loud"
            reasons.append(_t(language, key, label=label(language, "sillage", value)))
    if not fit.get("matching"):
        reasons.append(_t(language, "reason_main", accords=accords(card.get("accords") or [], language)))
    joiner = " " if language == "ko" else "; "
    return _t(language, f"about_fit_{fit['verdict']}", name=_name(card), what=what, reasons=joiner.join(reasons))


def _unknown(card: dict[str, Any], what: str, language: str) -> str:
    return _t(language, "about_unknown", name=_name(card), what=_t(language, f"unknown_{what}"))


def aspect_sentences(card: dict[str, Any], aspect: str, answer: dict[str, Any], language: str) -> list[str]:
    """What one perfume's data says about one aspect, as sentences."""
    name = _name(card)
    if aspect == "longevity":
        if not answer.get("label"):
            return [_unknown(card, "longevity", language)]
        said = _t(
            language,
            "about_longevity",
            name=name,
            label=label(language, "longevity", answer["label"]),
            hours=answer.get("hours") or "-",
        )
        if answer.get("lasts") and answer.get("asked_hours"):  # "from 9 to 6?": the span it must cover
            span = f"{answer['asked_hours']:g}"
            return [said, _t(language, f"about_lasts_{answer['lasts']}", asked=span)]
        return [said]
    if aspect == "sillage":
        if not answer.get("label"):
            return [_unknown(card, "sillage", language)]
        value = answer["label"]
        return [
            _t(
                language,
                "about_sillage",
                name=name,
                label=label(language, "sillage", value),
                meaning=label(language, "sillage_meaning", value),
            )
        ]
    if aspect in ("season", "occasion", "mood"):
        return [_fit_sentence(card, fit, _when(language, aspect, key), language) for key, fit in answer.items()]
    if aspect == "gender":
        made_for = answer.get("made_for")
        key = f"about_gender_{made_for}" if made_for in ("women", "men", "unisex") else "about_gender_unknown"
        return [_t(language, key, name=name, accords=accords(card.get("accords") or [], language))]
    if aspect == "character":
        named = [*answer.get("accords", []), *answer.get("notes", [])]
        what = accords(answer.get("accords", []), language, 3) if answer.get("accords") else notes(named, language, 3)
        return [
            _t(
                language,
                f"about_character_{answer.get('verdict', 'poor')}",
                name=name,
                asked=what,
                matching=accords(answer.get("matching") or [], language),
                main=accords(card.get("accords") or [], language),
            )
        ]
    if aspect == "price":
        if answer.get("price") is None:
            return [_unknown(card, "price", language)]
        amount = price(answer["price"], answer.get("currency"), language)
        bottle = answer.get("size_ml")
        key = "about_price_size" if bottle else "about_price"
        return [_t(language, key, name=name, price=amount, size=f"{bottle:g}" if bottle else "")]
    if aspect == "size":
        size: float | None = answer.get("size_ml")
        asked: float | None = answer.get("asked_ml")
        if size is None:
            return [_unknown(card, "size", language)]
        if asked and abs(float(asked) - float(size)) > 0.5:
            return [_t(language, "about_size_other", name=name, size=f"{size:g}", asked=f"{asked:g}")]
        return [_t(language, "about_size", name=name, size=f"{size:g}")]
    if aspect == "stock":
        stock = answer.get("stock")
        if stock is None:
            return [_unknown(card, "stock", language)]
        return [_t(language, "about_stock_none" if stock == 0 else "about_stock", name=name, stock=stock)]
    if aspect == "notes":
        layer = answer.get("layer")
        if layer and card.get(f"{layer}_notes"):  # "what's in the drydown?": that part of the pyramid
            return [_t(language, f"about_layer_{layer}", name=name, notes=notes(card[f"{layer}_notes"], language))]
        return [describe(card, language)]
    return []


def describe(card: dict[str, Any], language: str) -> str:
    """The perfume's accords and notes (its pyramid when the catalog has one)."""
    layers = [(k, card.get(k) or []) for k in ("top_notes", "heart_notes", "base_notes")]
    if any(values for _, values in layers):
        parts = [_t(language, f"about_{k}", notes=notes(v, language)) for k, v in layers if v]
        listed = " ".join(parts)
    else:
        listed = _t(language, "about_notes_flat", notes=notes(card.get("notes") or [], language, 12))
    return _t(
        language, "about_notes", name=_name(card), accords=accords(card.get("accords") or [], language), notes=listed
    )


def _choice_what(output: dict[str, Any], language: str) -> str:
    """What the pick was made on, from the first aspect asked that is not a description."""
    condition = output.get("condition") or {}
    for aspect in output.get("aspects") or []:
        if aspect in ("season", "occasion", "mood") and condition.get(aspect):
            return _when(language, aspect, condition[aspect])
        if aspect in ("longevity", "sillage", "price", "gender", "character"):
            low = "_low" if aspect == "sillage" and output.get("direction") == "low" else ""
            return _t(language, f"choice_{aspect}{low}")
    return _t(language, "choice_overall")


def answer(output: dict[str, Any], language: str) -> str:
    """The reply to ask_about_perfumes: the pick first when one was asked for, then what each perfume's
    data says about what was asked."""
    if "error" in output:
        return _t(language, "product_missing")
    cards = output.get("perfumes") or []
    aspects = output.get("aspects") or ["notes"]
    chosen = output.get("chosen_id")
    lines: list[str] = []
    if output.get("choose") and len(cards) >= 2:
        names = ", ".join(_name(c) for c in cards)
        if chosen and output["choose"] in ("cheapest", "priciest"):
            top = cards[0]
            many = "_many" if len(cards) >= 3 else ""  # "the cheapest of the five", not "the cheaper one"
            lines.append(
                _t(
                    language,
                    f"about_{output['choose']}{many}",
                    name=_name(top),
                    price=price(top.get("price"), top.get("currency"), language),
                    count=len(cards),
                )
            )
            # The one chosen by price is what the rest of the question is about ("the cheaper one - does it last?").
            cards = [top]
            aspects = [a for a in aspects if a != "price"]
        elif chosen:
            lines.append(
                _t(language, "about_choice", names=names, name=_name(cards[0]), what=_choice_what(output, language))
            )
        else:
            lines.append(_t(language, "about_no_choice", names=names))
    for card in cards:
        for aspect in aspects:
            lines += aspect_sentences(card, aspect, (card.get("answers") or {}).get(aspect) or {}, language)
    return "\n".join(lines)


def similar(output: dict[str, Any], language: str, search_renderer: Any) -> str:
    """The reply to find_similar_perfumes: the list, introduced by what it is like (the reference's
    accords; its name stays out: it is not one of the perfumes offered)."""
    if "error" in output:
        return _t(language, "product_missing")
    return search_renderer(output, language)
