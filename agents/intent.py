"""The embedded intent role: an intent classifier trained from labelled examples.

Two views of an utterance feed one logistic regression: its sentence embedding (the
bundled MiniLM, which knows English) and its character n-grams (which carry Korean,
where an English-only model is nearly blind). The examples are data
(`agents/data/intent_examples.yaml`); the evaluation set is held out from them.
Below `threshold` confidence the result carries a clarifying question instead of a guess.

Training takes seconds (embedding a thousand examples), so it happens once per set of
inputs: `load_or_train` saves the fitted state (n-gram vocabulary, idf and regression
weights, as arrays) under FRAGRANCE_HOME/models and later starts load it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack

import agents.intent_model as intent_model
import tools.search.text as text_module
from agents.intent_model import CharNgramTfidf, SoftmaxRegression
from tools.search.artifacts import digest, load_arrays, save_arrays, source_digest
from tools.search.embeddings import Embedder
from tools.search.text import fold, is_korean

log = logging.getLogger(__name__)

Intent = Literal[
    "recommend", "product_info", "compare", "compose", "validate", "ingredient_info", "handoff", "smalltalk",
    "off_topic",
]  # fmt: skip
INTENTS: tuple[str, ...] = Intent.__args__  # type: ignore[attr-defined]
EXAMPLES = Path(__file__).resolve().parent / "data" / "intent_examples.yaml"
CLARIFY = {
    "en": "Sorry, I'm not sure what you'd like. Are you looking for a perfume recommendation, information about a "
    "perfume or ingredient, a custom formula, or to talk to a staff member?",
    "ko": "죄송해요, 어떤 도움이 필요하신지 잘 모르겠어요. 향수 추천, 향수나 원료 정보, 나만의 향 조합, "
    "직원 연결 중 어떤 걸 원하세요?",
}


@dataclass(slots=True)
class IntentResult:
    intent: str
    confidence: float
    language: str
    clarify: str | None = None  # a question to ask instead of acting, when confidence is low

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "language": self.language,
            "clarify": self.clarify,
        }


# libyaml's safe loader when PyYAML was built with it (10x faster; the same data), the pure-Python one otherwise.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_examples(path: Path = EXAMPLES) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=_YAML_LOADER) or {}
    unknown = set(data) - set(INTENTS)
    if unknown:
        raise ValueError(f"{path}: unknown intents {sorted(unknown)}; the set is {', '.join(INTENTS)}")
    return [
        (str(text), intent) for intent, entry in data.items() for lang in ("en", "ko") for text in entry.get(lang) or []
    ]


# Bump when what `_features` computes changes in a way this file's and text.py's sources do not
# show (they are part of every saved classifier's key already).
FEATURE_VERSION = "1"
_FEATURE_SOURCES = tuple(Path(m.__file__ or "").resolve() for m in (sys.modules[__name__], intent_model, text_module))
CLASSIFIER_FILE = "intent_classifier.npz"  # in FRAGRANCE_HOME/models
EXAMPLE_VECTORS_FILE = "intent_examples.npz"
_EXAMPLE_VECTORS: dict[str, np.ndarray] = {}  # the examples' embeddings, per examples and model, in this process


NGRAM_RANGE = (1, 3)


def _vectorizer() -> Any:
    """The n-gram TF-IDF to fit (scikit-learn is imported only to train)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Settings chosen by 5-fold cross-validation on the training examples only.
    return TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, sublinear_tf=True, min_df=1)


def _regression() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(max_iter=3000, C=64.0)


class IntentClassifier:
    trainings = 0  # classifiers trained in this process; one loaded from its saved file is not counted

    def __init__(
        self,
        embedder: Embedder,
        examples: list[tuple[str, str]] | None = None,
        threshold: float = 0.4,
        signals: Callable[[str], list[float]] | None = None,
        *,
        models_dir: Path | None = None,
        signal_rows: np.ndarray | None = None,
    ):
        """Train on `examples` (the bundled ones by default).

        `signals`: domain facts about a text (a catalog perfume named, a material named, a
        percentage, any perfume word at all) that separate intents the wording alone blurs.
        `models_dir`: where the examples' embeddings are kept between processes.
        `signal_rows`: the signals of the examples, when the caller has them already.

        scikit-learn fits; the fitted state is then applied by `intent_model`, whether the
        classifier was trained here or loaded from its file."""
        examples = examples or load_examples()
        self.embedder = embedder
        self.threshold = threshold
        self.signals = signals
        texts = [t for t, _ in examples]
        folded = [fold(t) for t in texts]
        vectorizer = _vectorizer()
        grams = vectorizer.fit_transform(folded)
        vectors = _example_vectors(embedder, folded, models_dir)
        features = self._features(texts, grams=grams, vectors=vectors, signal_rows=signal_rows)
        regression = _regression()
        regression.fit(features, [intent for _, intent in examples])
        self.ngrams = CharNgramTfidf(vectorizer.vocabulary_, vectorizer.idf_, NGRAM_RANGE)
        self.model = SoftmaxRegression(regression.classes_, regression.coef_, regression.intercept_)
        IntentClassifier.trainings += 1

    @classmethod
    def load_or_train(
        cls,
        embedder: Embedder,
        models_dir: Path | None,
        examples: list[tuple[str, str]] | None = None,
        threshold: float = 0.4,
        signals: Callable[[str], list[float]] | None = None,
        signals_key: str | None = None,
    ) -> IntentClassifier:
        """The classifier saved in `models_dir` for these inputs, or one trained now and saved there.

        Training is deterministic given the examples, the embedding model, the domain signals and
        the feature code, so the saved file is keyed by all of them and trained again when any
        changes. `signals_key` is a digest of everything `signals` depends on (for the NLU: the
        catalog's perfume names, the materials, the lexicon and the slot-reading code); without
        it the signals of every example are computed to key the file by their values.
        """
        examples = examples or load_examples()
        signal_rows = None
        if signals is not None and signals_key is None:
            signal_rows = np.asarray([signals(t) for t, _ in examples], dtype=np.float32)
            signals_key = digest(["signal values", repr(signal_rows.shape), signal_rows.tobytes()])
        key = _training_key(embedder, examples, signals_key if signals is not None else None)
        path = models_dir / CLASSIFIER_FILE if models_dir is not None else None
        if path is not None:
            saved = load_arrays(path, key)
            if saved is not None:
                loaded = cls._from_arrays(saved, embedder, threshold, signals)
                if loaded is not None:
                    return loaded
        trained = cls(embedder, examples, threshold, signals, models_dir=models_dir, signal_rows=signal_rows)
        if path is not None:
            save_arrays(path, trained._to_arrays(), key)
        return trained

    def _to_arrays(self) -> dict[str, np.ndarray]:
        """The fitted state: the n-gram vocabulary and idf, the regression's weights; no pickles."""
        terms = sorted(self.ngrams.vocabulary_, key=self.ngrams.vocabulary_.__getitem__)
        return {
            "terms": np.asarray(terms, dtype=str),
            "idf": np.asarray(self.ngrams.idf_),
            "classes": np.asarray(self.model.classes_, dtype=str),
            "coef": np.asarray(self.model.coef_),
            "intercept": np.asarray(self.model.intercept_),
        }

    @classmethod
    def _from_arrays(
        cls,
        arrays: dict[str, np.ndarray],
        embedder: Embedder,
        threshold: float,
        signals: Callable[[str], list[float]] | None,
    ) -> IntentClassifier | None:
        """A classifier from `_to_arrays`' state, or None when the state does not fit together."""
        try:
            terms = arrays["terms"].tolist()
            vocabulary = {term: i for i, term in enumerate(terms)}
            if len(vocabulary) != len(terms):
                raise ValueError("repeated n-grams")
            ngrams = CharNgramTfidf(vocabulary, arrays["idf"], NGRAM_RANGE)
            model = SoftmaxRegression(arrays["classes"], arrays["coef"], arrays["intercept"])
            width = len(terms) + embedder.dimension + (len(signals("")) if signals is not None else 0)
            if model.coef_.shape[1] != width:
                raise ValueError(f"{model.coef_.shape[1]} weights per class for {width} features")
        except Exception as exc:  # a file of another shape is rebuilt, never fatal
            log.warning("ignoring a saved intent classifier that does not fit together (%s)", exc)
            return None
        classifier = cls.__new__(cls)
        classifier.embedder = embedder
        classifier.threshold = threshold
        classifier.signals = signals
        classifier.ngrams = ngrams
        classifier.model = model
        return classifier

    def _features(
        self,
        texts: list[str],
        grams: csr_matrix | None = None,
        vectors: np.ndarray | None = None,
        signal_rows: np.ndarray | None = None,
    ) -> csr_matrix:
        """Words are seen folded; the signals see the text as written ("Wanted" is a perfume,
        "wanted" a verb). `grams`, `vectors`, `signal_rows`: parts already computed."""
        folded = [fold(t) for t in texts]
        if grams is None:
            grams = self.ngrams.transform(folded)
        parts = [grams, csr_matrix(self.embedder.encode(folded) if vectors is None else vectors)]
        if self.signals is not None:
            if signal_rows is None:
                signal_rows = np.asarray([self.signals(t) for t in texts], dtype=np.float32)
            parts.append(csr_matrix(signal_rows))
        return hstack(parts).tocsr()

    def classify_many(self, texts: list[str]) -> list[IntentResult]:
        if not texts:
            return []
        probabilities = self.model.predict_proba(self._features(texts))
        out = []
        for text, row in zip(texts, probabilities, strict=True):
            best = int(np.argmax(row))
            language = "ko" if is_korean(text) else "en"
            confidence = round(float(row[best]), 4)
            clarify = CLARIFY[language] if confidence < self.threshold else None
            out.append(IntentResult(str(self.model.classes_[best]), confidence, language, clarify))
        return out

    def classify(self, text: str) -> IntentResult:
        return self.classify_many([text])[0]


def _training_key(embedder: Embedder, examples: list[tuple[str, str]], signals_key: str | None) -> str:
    """Everything a trained classifier depends on, as one digest."""
    return digest(
        [
            f"intent/{FEATURE_VERSION}",
            source_digest(_FEATURE_SOURCES),
            f"scikit-learn={version('scikit-learn')} numpy={np.__version__}",
            embedder.identity(),
            digest(f"{intent}\t{text}" for text, intent in examples),
            signals_key or "no signals",
        ]
    )


def _example_vectors(embedder: Embedder, folded: list[str], models_dir: Path | None) -> np.ndarray:
    """The embeddings of the (folded) training examples: the slow part of training (seconds), kept
    in this process and in `models_dir`, keyed by the texts and the embedding model."""
    key = digest(["intent-examples/1", embedder.identity(), *folded])
    vectors = _EXAMPLE_VECTORS.get(key)
    path = models_dir / EXAMPLE_VECTORS_FILE if models_dir is not None else None
    if vectors is None and path is not None:
        saved = load_arrays(path, key)
        if saved is not None and saved["vectors"].shape == (len(folded), embedder.dimension):
            vectors = saved["vectors"]
    if vectors is None:
        vectors = embedder.encode(folded)
        if path is not None:
            save_arrays(path, {"vectors": vectors}, key)
    _EXAMPLE_VECTORS[key] = vectors
    return vectors
