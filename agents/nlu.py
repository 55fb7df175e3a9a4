"""Natural-language understanding of one utterance: intent, confidence, slots, language.

This is the embedded intent role; the Ollama-backed role (Qwen with structured output)
is to return the same shape.
"""

from __future__ import annotations

import re
from typing import Any

from agents.intent import IntentClassifier
from agents.slots import SlotReader, name_key
from tools.perfumery.materials import MaterialDB
from tools.search.embeddings import Embedder
from tools.search.engine import SearchEngine
from tools.search.lexicon import default_lexicon
from tools.search.query import QueryParser


class DomainSignals:
    """Facts the classifier weighs next to the words: what the text names from the domain."""

    def __init__(self, reader: SlotReader) -> None:
        self.reader = reader

    def __call__(self, text: str) -> list[float]:
        slots = self.reader.read(text)
        perfume_words = bool(
            slots.liked_notes or slots.disliked_notes or slots.accords or slots.brands or slots.season
            or slots.mood or slots.occasion or slots.gender
        )  # fmt: skip
        return [
            min(len(slots.perfumes), 2) / 2,
            1.0 if slots.materials else 0.0,
            1.0 if slots.formula_lines or "%" in text else 0.0,
            1.0 if perfume_words or slots.perfumes else 0.0,
            1.0 if slots.brands else 0.0,
        ]


MIN_NAME_CHARS = 6  # shorter perfume names ("Joy", "Opium") are too often ordinary words
_TRAILING_NUMBER = re.compile(r"\s+\d+$")


def perfume_names(engine: SearchEngine, materials: MaterialDB | None = None) -> dict[str, dict[str, str]]:
    """Names a customer may use for catalog perfumes, keyed for the slot reader.

    "brand name" always counts, and so do the Korean names in the lexicon's perfumes.yaml
    (블루 드 샤넬, 소바쥬). The bare name counts when distinctive and written capitalised (marked
    "bare"), so "for her" in a sentence never reads as Narciso Rodriguez For Her; "Baccarat
    Rouge" names Baccarat Rouge 540. Replies list notes and materials capitalised, and the
    output guard reads them for perfume names, so a bare name never counts alone when it is a
    note, an accord or a material ("Vetiver", "Cananga"), or one everyday English word
    ("Wanted", "Absolute": a word of the embedding model's English vocabulary).
    """
    names: dict[str, dict[str, str]] = {}
    lexicon = engine.lexicon
    common = set(lexicon.note_aliases) | set(lexicon.accord_aliases)
    for material in materials.materials if materials else []:
        common |= {name_key(n) for n in [material.name, *material.synonyms]}
    english = engine.embedder.vocabulary()
    for p in engine.index.perfumes:
        entry = {"id": p.id, "brand": p.brand, "name": p.name}
        # "brand_chars": how many leading characters of the match name the brand, which stays a brand slot.
        names.setdefault(name_key(f"{p.brand} {p.name}"), {**entry, "brand_chars": str(len(name_key(p.brand)) + 1)})
        bare = name_key(p.name)
        shortened = _TRAILING_NUMBER.sub("", bare)
        for variant in dict.fromkeys([bare, shortened if " " in shortened else bare]):
            ordinary = variant in common or variant.isdigit() or (" " not in variant and variant in english)
            if len(variant) >= MIN_NAME_CHARS and not ordinary:
                names.setdefault(variant, {**entry, "bare": "1"})
        for alias in lexicon.perfume_aliases.get(lexicon.perfume_key(p.brand, p.name), []):
            names.setdefault(name_key(alias), entry)
    return names


class NLU:
    def __init__(self, classifier: IntentClassifier, slots: SlotReader) -> None:
        self.classifier = classifier
        self.slots = slots

    @classmethod
    def build(cls, embedder: Embedder, engine: SearchEngine | None, materials: MaterialDB) -> NLU:
        parser = engine.parser if engine is not None else QueryParser(default_lexicon(), None)
        names = perfume_names(engine, materials) if engine is not None else None
        reader = SlotReader(parser, names, materials)
        signals = DomainSignals(reader)
        return cls(IntentClassifier(embedder, signals=signals), reader)

    def parse(self, text: str) -> dict[str, Any]:
        return self.parse_many([text])[0]

    def parse_many(self, texts: list[str]) -> list[dict[str, Any]]:
        results = self.classifier.classify_many(texts)
        return [
            {
                "text": text,
                "intent": result.intent,
                "confidence": result.confidence,
                "slots": self.slots.read(text).to_dict(),
                "language": result.language,
                "clarify": result.clarify,
            }
            for text, result in zip(texts, results, strict=True)
        ]
