"""The embedded service role: replies rendered from templates, using only tool results."""

from __future__ import annotations

import re
from typing import Any

from agents import answers, formula_edits, regulatory
from agents.answers import accords as _accords
from agents.answers import label as _label
from agents.answers import notes as _notes
from prompts import render
from tools.search.lexicon import default_lexicon

LAYER_KO = {"top": "탑", "heart": "미들", "base": "베이스"}


def _t(language: str, template: str, /, **values: Any) -> str:
    return render("service", language, template, **values)


def _price(card: dict[str, Any], language: str) -> str:
    if card.get("price") is None:
        return ""
    amount = answers.price(card["price"], card.get("currency"), language)
    size = f", {card['size_ml']:g} ml" if card.get("size_ml") else ""
    stock = card.get("stock")
    if language == "ko":
        return f" ({amount}{size.replace(' ml', 'ml')}" + (", 품절" if stock == 0 else "") + ")"
    return f" ({amount}{size}" + (", out of stock" if stock == 0 else "") + ")"


def _year(card: dict[str, Any]) -> str:
    return f" ({card['year']})" if card.get("year") else ""


def _search(result: dict[str, Any], language: str) -> str:
    cards = result.get("results") or []
    if not cards:
        return _t(language, "recommend_none")
    lines = [_t(language, "recommend_intro", count=len(cards))]
    if result.get("budget"):  # "under $80" converted, or a catalog without prices
        lines.insert(0, answers_budget(result["budget"], language))
    for rank, card in enumerate(cards, 1):
        lines.append(
            _t(
                language,
                "recommend_item",
                rank=rank,
                brand=card["brand"],
                name=card["name"],
                year=_year(card),
                accords=_accords(card["accords"], language, 3),
                reason=card.get("reason", ""),
                price=_price(card, language),
            )
        )
    lines.append(_t(language, "recommend_refine"))
    return "\n".join(lines)


_CURRENCY_KO = {"USD": "달러", "EUR": "유로", "GBP": "파운드", "JPY": "엔", "KRW": "원"}


def answers_budget(budget: dict[str, Any], language: str) -> str:
    """What became of the customer's budget: converted to the catalog's currency (at which rate), or
    not applied because the catalog has no prices or no rate is known for the currency."""
    if budget.get("no_prices"):
        return _t(language, "budget_no_prices")
    if budget.get("cannot_convert"):
        return _t(language, "budget_cannot_convert", currency=budget["cannot_convert"], catalog=budget["currency"])
    currency = str(budget["asked_currency"])
    return _t(
        language,
        "budget_converted",
        asked=f"{budget['asked']:,.0f}",
        asked_currency=_CURRENCY_KO.get(currency, currency) if language == "ko" else currency,
        price_max=answers.price(budget["price_max"], budget["currency"], language),
        rate=f"{budget['rate']:,.0f}",
    )


def _product(card: dict[str, Any], language: str) -> str:
    if "error" in card:
        return _t(language, "product_missing")
    values: dict[str, Any] = {
        "brand": card["brand"],
        "name": card["name"],
        "year": _year(card),
        "accords": _accords(card["accords"], language, 6),
        "longevity": _label(language, "longevity", card.get("longevity")),
        "sillage": _label(language, "sillage", card.get("sillage")),
        "price": _price(card, language),
    }
    top, heart, base = (card.get(layer) or [] for layer in ("top_notes", "heart_notes", "base_notes"))
    if not (top or heart or base):
        # No pyramid in the catalog: the notes are listed as they are, never passed off as top notes.
        return _t(language, "product_notes", notes=_notes(card.get("notes") or [], language), **values)
    return _t(
        language,
        "product",
        top=_notes(top, language),
        heart=_notes(heart, language),
        base=_notes(base, language),
        **values,
    )


def _compare(result: dict[str, Any], language: str) -> str:
    if "error" in result:
        return _t(language, "compare_missing")
    cards = result["perfumes"]
    lines = [_t(language, "compare_intro", names=" / ".join(f"{c['brand']} {c['name']}" for c in cards))]
    for card in cards:
        only = _notes(card["only_notes"], language, 6)
        lines.append(
            _t(
                language,
                "compare_item",
                brand=card["brand"],
                name=card["name"],
                accords=_accords(card["accords"], language, 4),
                only=only,
            )
        )
    shared = result.get("shared_notes") or []
    lines.append(
        _t(language, "compare_shared", shared=_notes(shared, language)) if shared else _t(language, "compare_none")
    )
    return "\n".join(lines)


def _formula_lines(ingredients: list[dict[str, Any]], language: str) -> str:
    return "\n".join(
        _t(
            language,
            "compose_line",
            pct=i["pct"],
            material=(i.get("korean_name") if language == "ko" else None) or i["name"],
            layer=(LAYER_KO.get(i.get("layer") or "", "") if language == "ko" else i.get("layer")) or "-",
        )
        for i in ingredients
    )


def _compose_notes(result: dict[str, Any], language: str) -> str:
    """What makes the formula its style (the signature materials and the role each plays) and the
    liked notes it could not keep, with the reason, in the composition's own words."""
    shown = {
        i["name"]: ((i.get("korean_name") if language == "ko" else None) or i["name"])
        for i in result.get("ingredients") or []
    }
    style = result.get("style") or {}
    items = [
        f"{', '.join(shown.get(n, n) for n in group['materials'])} ({group['role']})"
        for group in style.get("signature") or []
        if group.get("materials")
    ]
    out = ""
    if items:
        out += "\n" + _t(language, "compose_signature", style=style.get("label", ""), items="; ".join(items))
    omitted = [o["reason"] for o in result.get("omitted_notes") or [] if isinstance(o, dict) and o.get("reason")]
    if omitted:
        out += "\n" + _t(language, "compose_omitted", notes="; ".join(omitted))
    return out


def _compose(result: dict[str, Any], language: str) -> str:
    if "error" in result:
        return _t(language, "compose_error", error=result["error"])
    if result.get("changes"):  # a change asked of the formula before: say what changed, then show it
        changed = formula_edits.render_changes(result["changes"], language)
        return changed + "\n" + _compose({**result, "changes": None}, language)
    validation = result["validation"]
    allergens = validation.get("allergens_to_declare") or []
    verdict = (
        _t(language, "validate_ok", amendment=validation["amendment"], category=validation["ifra_category"])
        if validation["compliant"]
        else _t(
            language,
            "validate_bad",
            amendment=validation["amendment"],
            category=validation["ifra_category"],
            problems="",
        )
    )
    allergen_text = (
        " " + _t(language, "validate_allergens", allergens=", ".join(a["name"] for a in allergens[:8]))
        if allergens
        else ""
    )
    return _t(
        language,
        "compose",
        name=result["name"],
        description=result["description"],
        lines=_formula_lines(result["ingredients"], language) + _compose_notes(result, language),
        verdict=verdict,
        allergens=allergen_text,
        amendment=validation["amendment"],
    )


def _assumptions(report: dict[str, Any], language: str) -> list[str]:
    """What the check took for granted, in the customer's language (the report's sentences are English)."""
    out = []
    for text in report.get("assumed") or []:
        rest = re.search(r"the other ([\d.]+) %", text)
        if text.startswith("neither concentration"):
            out.append(_t(language, "validate_assumed_concentration", dilution=f"{report['dilution_pct']:g}"))
        elif rest:
            out.append(_t(language, "validate_assumed_solvent", rest=rest.group(1)))
        else:
            out.append(_t(language, "validate_assumed", text=text))
    return out


def _validate(report: dict[str, Any], language: str) -> str:
    if "error" in report:
        return _t(language, "validate_error", error=report["error"])
    parts = _assumptions(report, language)
    judgeable = report.get("judgeable", True)
    if report["compliant"]:
        parts.append(_t(language, "validate_ok", amendment=report["amendment"], category=report["ifra_category"]))
    elif report["violations"]:
        problems = "\n".join(f"- {_violation(v, language, report)}" for v in report["violations"])
        parts.append(
            _t(
                language,
                "validate_bad",
                amendment=report["amendment"],
                category=report["ifra_category"],
                problems=problems,
            )
        )
    if not judgeable:
        parts.append(_t(language, "validate_cannot_judge", total=f"{report['concentrate_sum_pct']:g}"))
    for material, options in (report.get("substitutes") or {}).items():
        names = ", ".join(
            o["substitute"] if language == "ko" else f"{o['substitute']} ({o['role']})" for o in options[:4]
        )
        parts.append(_t(language, "validate_substitutes", material=material, options=names))
    if report.get("corrected"):
        lines = _formula_lines(report["corrected"]["ingredients"], language)
        parts.append(_t(language, "validate_corrected", lines=lines))
        if "solvent" in (report.get("correction_note") or ""):
            parts.append(_t(language, "validate_corrected_diluted"))
    elif "nothing but solvent" in (report.get("correction_note") or ""):
        parts.append(_t(language, "validate_no_correction"))
    if any("IFRA standard specifies" in n for n in report.get("notes") or []):
        parts.append(_t(language, "validate_specified_grade"))
    if report.get("allergens_to_declare"):
        names = ", ".join(a["name"] for a in report["allergens_to_declare"][:10])
        parts.append(_t(language, "validate_allergens", allergens=names))
    return "\n".join(parts)


def _violation(violation: dict[str, Any], language: str, report: dict[str, Any]) -> str:
    """One violation line; the validator's sentence is English, so a Korean reply writes it from its fields."""
    if language != "ko":
        return str(violation.get("message") or violation.get("name"))
    kind = violation.get("kind")
    values = {
        "name": violation.get("name") or "-",
        "standard": violation.get("standard") or "",
        "actual": f"{float(violation.get('actual_pct') or 0):.4g}",
        "limit": f"{float(violation.get('limit_pct') or 0):g}",
        "category": report.get("ifra_category") or "4",
    }
    key = {
        "prohibited": "violation_prohibited",
        "ifra_limit": "violation_limit",
        "unknown_material": "violation_unknown",
    }
    return _t(language, key.get(str(kind), "violation_other"), **values)


def _material(info: dict[str, Any], language: str) -> str:
    if "error" in info:
        return _t(language, "material_missing")
    if info.get("use") or info.get("regulated_only"):  # "is 5% coumarin OK?", methyl eugenol
        return regulatory.render_rules(info, language)
    ifra = (
        _t(
            language,
            "material_ifra",
            standards="; ".join(f"{s['name']} ({s['type']}, cat. 4: {s['cat4_limit_pct']} %)" for s in info["ifra"]),
        )
        if info["ifra"]
        else ""
    )
    low, high = info["usual_pct_of_concentrate"]
    name = info["korean_name"] if language == "ko" and info.get("korean_name") else info["name"]
    text = _t(
        language,
        "material",
        name=name,
        family=_family_name(info["family"], language),
        layer=LAYER_KO.get(info["layer"], info["layer"]) if language == "ko" else info["layer"],
        descriptors=_accords(info["descriptors"], language, 6),
        low=f"{low:g}",
        high=f"{high:g}",
        ifra=ifra,
        allergen=_t(language, "material_allergen") if info["eu_allergen"] else "",
    )
    # A banned material is never offered as usable: say so, and name what can take its place.
    if info.get("usable") is False:
        text += " " + _t(language, "material_not_usable", name=name)
    options = info.get("substitutes") or []
    if options:
        names = ", ".join(
            o["substitute"] if language == "ko" else f"{o['substitute']} ({o['role']})" for o in options[:4]
        )
        text += "\n" + _t(language, "validate_substitutes", material=name, options=names)
    return text


def _family_name(family: str, language: str) -> str:
    """A material's odour family in the language (the lexicon's accord names, "musk" as musky)."""
    if language != "ko":
        return family
    lexicon = default_lexicon()
    for candidate in (family, f"{family}y", f"{family}ic"):
        korean = lexicon.korean("accord", candidate)
        if korean != candidate:
            return korean
    return _label(language, "family", family)


def _remembered(output: dict[str, Any], language: str) -> str:
    if "remembered" not in output:
        return ""
    lines = []
    remembered = output["remembered"]
    # A disliked family ("sweet", "citrus") is remembered with the notes: one sentence for both.
    disliked = [("note", n) for n in remembered.get("disliked_notes") or []]
    disliked += [("accord", a) for a in remembered.get("disliked_accords") or []]
    liked = [("note", n) for n in remembered.get("liked_notes") or []]
    for kind, items in (("disliked_notes", disliked), ("liked_notes", liked)):
        if not items:
            continue
        # "citrus", never "citrus notes, citrus": a family remembered as a note and as an accord is one word.
        names = list(
            dict.fromkeys(
                _korean_term(k, n) if language == "ko" else re.sub(r"\s+notes?$", "", n, flags=re.IGNORECASE).lower()
                for k, n in items
            )
        )
        template = "remembered_dislikes" if kind == "disliked_notes" else "remembered_likes"
        lines.append(_t(language, template, notes=", ".join(names), particle=_object_particle(names[-1])))
    return " ".join(lines)


def _korean_term(kind: str, name: str) -> str:
    """A remembered note or family in Korean: a family taken out of a formula is remembered as a note
    ("citrus" -> "Citrus Notes"), so the other kind and the name without "Notes" are tried too."""
    lexicon = default_lexicon()
    stem = re.sub(r"\s+notes?$", "", name, flags=re.IGNORECASE)
    other = "accord" if kind == "note" else "note"
    for k, n in ((kind, name), (other, name), ("note", stem), ("accord", stem.lower())):
        korean = lexicon.korean(k, n)
        if korean != n:
            return korean
    return name


def _object_particle(word: str) -> str:
    """은 after a final consonant, 는 after a vowel (바닐라는, 머스크는, 오크모스는)."""
    last = word[-1] if word else ""
    if "\uac00" <= last <= "\ud7a3":
        return "은" if (ord(last) - 0xAC00) % 28 else "는"
    return "는"


RENDERERS = {
    "search_perfumes": _search,
    "find_similar_perfumes": lambda output, language: answers.similar(output, language, _search),
    "ask_about_perfumes": answers.answer,
    "get_perfume": _product,
    "compare_perfumes": _compare,
    "compose_formula": _compose,
    "validate_formula": _validate,
    "lookup_material": _material,
    "remember_preference": _remembered,
}


def reply(intent: str, language: str, results: list[dict[str, Any]], clarify: str | None = None) -> str:
    """The reply of one turn from what the tools returned (`results`: {"tool", "output"} each)."""
    if clarify:
        return _t(language, "clarify", question=clarify)
    rendered = [RENDERERS[r["tool"]](r["output"], language) for r in results if r["tool"] in RENDERERS]
    rendered = [text for text in rendered if text]
    if rendered:
        return "\n\n".join(rendered)
    if intent == "handoff":
        return _t(language, "handoff")
    if intent == "off_topic":
        return _t(language, "off_topic")
    if intent == "validate":
        return _t(language, "validate_missing")
    if intent == "compare":
        return _t(language, "compare_missing")
    return _t(language, "greeting")
