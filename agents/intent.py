"""The embedded intent role: an intent classifier built at start-up from labelled examples.

Two views of an utterance feed one logistic regression: its sentence embedding (the
bundled MiniLM, which knows English) and its character n-grams (which carry Korean,
where an English-only model is nearly blind). The examples are data
(`agents/data/intent_examples.yaml`); the evaluation set is held out from them.
Below `threshold` confidence the result carries a clarifying question instead of a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tools.search.embeddings import Embedder
from tools.search.text import fold, is_korean

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


def load_examples(path: Path = EXAMPLES) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    unknown = set(data) - set(INTENTS)
    if unknown:
        raise ValueError(f"{path}: unknown intents {sorted(unknown)}; the set is {', '.join(INTENTS)}")
    return [
        (str(text), intent) for intent, entry in data.items() for lang in ("en", "ko") for text in entry.get(lang) or []
    ]


class IntentClassifier:
    def __init__(
        self,
        embedder: Embedder,
        examples: list[tuple[str, str]] | None = None,
        threshold: float = 0.4,
        signals: Callable[[str], list[float]] | None = None,
    ):
        """`signals`: domain facts about a text (a catalog perfume named, a material named, a
        percentage, any perfume word at all) that separate intents the wording alone blurs."""
        examples = examples or load_examples()
        self.embedder = embedder
        self.threshold = threshold
        self.signals = signals
        # Settings chosen by 5-fold cross-validation on the training examples only.
        self.ngrams = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1)
        features = self._features([t for t, _ in examples], fit=True)
        self.model = LogisticRegression(max_iter=3000, C=64.0)
        self.model.fit(features, [intent for _, intent in examples])

    def _features(self, texts: list[str], fit: bool = False) -> csr_matrix:
        """Words are seen folded; the signals see the text as written ("Wanted" is a perfume,
        "wanted" a verb)."""
        folded = [fold(t) for t in texts]
        grams = self.ngrams.fit_transform(folded) if fit else self.ngrams.transform(folded)
        parts = [grams, csr_matrix(self.embedder.encode(folded))]
        if self.signals is not None:
            parts.append(csr_matrix(np.asarray([self.signals(t) for t in texts], dtype=np.float32)))
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
