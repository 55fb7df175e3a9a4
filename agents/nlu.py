"""Natural-language understanding of one utterance: intent, confidence, slots, language.

This is the embedded intent role; the Ollama-backed role (Qwen with structured output)
is to return the same shape.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import agents.slots as slots_module
import tools.search.lexicon as lexicon_module
import tools.search.matcher as matcher_module
import tools.search.query as query_module
import tools.search.text as text_module
import tools.search.transliterate as transliterate_module
from agents.intent import IntentClassifier
from agents.slots import SlotReader, name_key
from tools.perfumery.materials import MaterialDB
from tools.perfumery.usage import regulated_names
from tools.search.artifacts import digest, load_json, save_json, source_digest
from tools.search.embeddings import Embedder
from tools.search.engine import SearchEngine
from tools.search.lexicon import Lexicon, default_lexicon
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


NAMES_FILE = "perfume_names.json"  # in FRAGRANCE_HOME/models
# The code the slot reader and the domain signals run: artifacts saved by other code are rebuilt.
_SLOT_SOURCES = tuple(
    Path(module.__file__ or "").resolve()
    for module in (
        sys.modules[__name__],
        slots_module,
        query_module,
        text_module,
        lexicon_module,
        matcher_module,
        transliterate_module,
    )
)
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
    ("Wanted", "Absolute": a word of the embedding model's English vocabulary). Of two perfumes
    named by the same words, the better known one is taken.
    """
    names: dict[str, dict[str, str]] = {}
    lexicon = engine.lexicon
    common = set(lexicon.note_aliases) | set(lexicon.accord_aliases)
    for material in materials.materials if materials else []:
        common |= {name_key(n) for n in [material.name, *material.synonyms]}
        # The words of botanical and INCI names too: a reply's allergen list writes "Lavandula hybrida
        # ... oil", and "Lavandula" alone is a perfume's name as well.
        common |= {w for n in material.synonyms for w in name_key(n).split() if len(w) >= MIN_NAME_CHARS}
    english = engine.embedder.vocabulary()
    # Where two perfumes answer to the same words ("Baccarat Rouge 540": the house Baccarat's Rouge 540,
    # and Maison Francis Kurkdjian's Baccarat Rouge 540), the better known one is meant: one the lexicon
    # lists among well-known perfumes, else the more rated.
    perfumes = engine.index.perfumes

    def known(i: int) -> tuple[bool, float]:
        listed = lexicon.perfume_key(perfumes[i].brand, perfumes[i].name) in lexicon.perfume_aliases
        return (not listed, -float(engine.index.popularity[i]))

    for p in (perfumes[i] for i in sorted(range(len(perfumes)), key=known)):
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


def perfume_names_cached(
    engine: SearchEngine, materials: MaterialDB | None, models_dir: Path | None, key: str
) -> dict[str, dict[str, str]]:
    """`perfume_names`, saved in `models_dir` under `key` (a digest of its inputs) and loaded from
    there after: half a second of name folding on the 38k catalog."""
    path = models_dir / NAMES_FILE if models_dir is not None else None
    saved = load_json(path, key) if path is not None else None
    if isinstance(saved, dict):
        return saved
    names = perfume_names(engine, materials)
    if path is not None:
        save_json(path, names, key)
    return names


def lexicon_digest(lexicon: Lexicon) -> str:
    """Digest of the lexicon's content (what the parser and the perfume names read)."""
    return digest(
        repr(part)
        for part in (
            sorted(lexicon.note_aliases.items()),
            sorted(lexicon.accord_aliases.items()),
            sorted(lexicon.brand_aliases.items()),
            sorted((brand, sorted(keys)) for brand, keys in lexicon.brand_spellings.items()),
            sorted(lexicon.korean_names.items()),
            sorted(lexicon.perfume_aliases.items()),
            sorted((kind, sorted(rules.items())) for kind, rules in lexicon.rules.items()),
            sorted(lexicon.labels.items()),
            lexicon.terms,
            lexicon.negation_before,
            lexicon.negation_after,
        )
    )


def materials_digest(materials: MaterialDB | None) -> str:
    """Digest of the material names and synonyms the slot reader and the perfume names read."""
    listed = sorted(regulated_names().items()) if materials else []
    names = ("\t".join([m.name, *m.synonyms]) for m in (materials.materials if materials else []))
    return digest([*names, repr(listed)])


class NLU:
    def __init__(self, classifier: IntentClassifier, slots: SlotReader) -> None:
        self.classifier = classifier
        self.slots = slots

    @classmethod
    def build(
        cls,
        embedder: Embedder,
        engine: SearchEngine | None,
        materials: MaterialDB,
        *,
        models_dir: Path | None = None,
    ) -> NLU:
        """The NLU over `engine`'s catalog. The intent classifier is loaded from `models_dir`
        (default: the `models` folder of the engine's FRAGRANCE_HOME, else of the embedder's)
        when one was saved there for the same inputs, and trained and saved there otherwise."""
        parser = engine.parser if engine is not None else QueryParser(default_lexicon(), None)
        if models_dir is None:
            models_dir = engine.models_dir if engine is not None else None
            models_dir = models_dir or embedder.onnx_dir
        # What the slot reader reads with, as digests: what saved artifacts are keyed by.
        inputs = [source_digest(_SLOT_SOURCES), lexicon_digest(parser.lexicon), materials_digest(materials)]
        names = None
        if engine is not None:
            inputs.append(digest(["catalog", engine.catalog_digest, engine.embedder.identity()]))
            names = perfume_names_cached(engine, materials, models_dir, digest(["perfume-names/1", *inputs]))
        reader = SlotReader(parser, names, materials)
        signals = DomainSignals(reader)
        signals_key = digest(["signals/1", *inputs])
        return cls(
            IntentClassifier.load_or_train(embedder, models_dir, signals=signals, signals_key=signals_key), reader
        )

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
