"""The fitted intent model, applied without scikit-learn.

scikit-learn fits the model (`agents.intent`), but importing it costs a replica's start
more than half a second (it pulls in scipy.stats) only to apply two fitted transforms.
These classes apply them from their fitted arrays with the very operations scikit-learn
performs, in the same order, so the probabilities are equal to the last bit (tests compare
them with scikit-learn's own on the evaluation set):

- `CharNgramTfidf`: `TfidfVectorizer(analyzer="char_wb", sublinear_tf=True, norm="l2")`'s
  `transform`: character n-grams inside word boundaries, counts, 1 + log(count), times idf,
  each row scaled to unit length.
- `SoftmaxRegression`: `LogisticRegression.predict_proba`: softmax of X @ coef.T + b (the
  logistic of the one score with two classes).
"""

from __future__ import annotations

import math
import re

import numpy as np
from scipy.sparse import csr_matrix

_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's, for char_wb


class CharNgramTfidf:
    """TF-IDF of character n-grams inside word boundaries, from a fitted vocabulary and idf."""

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray, ngram_range: tuple[int, int]) -> None:
        if len(vocabulary) != len(idf):
            raise ValueError(f"{len(vocabulary)} n-grams but {len(idf)} idf weights")
        self.vocabulary_ = vocabulary
        self.idf_ = np.asarray(idf, dtype=np.float64)
        self.ngram_range = ngram_range

    def grams(self, text: str) -> list[str]:
        """scikit-learn's `_char_wb_ngrams` of the lower-cased text."""
        text = _WHITE_SPACES.sub(" ", text.lower())
        low, high = self.ngram_range
        out: list[str] = []
        for word in text.split():
            word = f" {word} "
            size = len(word)
            for n in range(low, high + 1):
                offset = 0
                out.append(word[offset : offset + n])
                while offset + n < size:
                    offset += 1
                    out.append(word[offset : offset + n])
                if offset == 0:  # a word shorter than n is counted once
                    break
        return out

    def transform(self, texts: list[str]) -> csr_matrix:
        vocabulary = self.vocabulary_
        indices: list[int] = []
        counts: list[int] = []
        indptr = [0]
        for text in texts:
            counter: dict[int, int] = {}
            for gram in self.grams(text):
                column = vocabulary.get(gram)
                if column is not None:
                    counter[column] = counter.get(column, 0) + 1
            for column in sorted(counter):  # scikit-learn sorts each row's columns
                indices.append(column)
                counts.append(counter[column])
            indptr.append(len(indices))
        data = np.asarray(counts, dtype=np.float64)
        columns = np.asarray(indices, dtype=np.int32)
        # The same array operations as TfidfTransformer.transform, on the same array.
        np.log(data, data)
        data += 1.0
        data *= self.idf_[columns]
        for row in range(len(texts)):  # sklearn.utils.sparsefuncs_fast._inplace_csr_row_normalize_l2
            start, stop = indptr[row], indptr[row + 1]
            total = 0.0
            for value in data[start:stop].tolist():
                total += value * value
            if total != 0.0:
                data[start:stop] /= math.sqrt(total)
        shape = (len(texts), len(vocabulary))
        return csr_matrix((data, columns, np.asarray(indptr, dtype=np.int32)), shape=shape)


class SoftmaxRegression:
    """A fitted multinomial logistic regression: `classes_`, `coef_`, `intercept_`."""

    def __init__(self, classes: np.ndarray, coef: np.ndarray, intercept: np.ndarray) -> None:
        rows = 1 if len(classes) == 2 else len(classes)  # two classes: one weight row, for the second
        if len(classes) < 2 or coef.ndim != 2 or coef.shape[0] != rows or intercept.shape != (rows,):
            raise ValueError(f"coef {coef.shape} and intercept {intercept.shape} do not fit {len(classes)} classes")
        self.classes_ = classes
        self.coef_ = coef
        self.intercept_ = intercept

    def predict_proba(self, features: csr_matrix) -> np.ndarray:
        scores = np.asarray(features @ self.coef_.T) + self.intercept_
        if len(self.classes_) == 2:  # LogisticRegression._predict_proba_lr: the logistic of one score
            from scipy.special import expit

            second = expit(scores.reshape((-1,)))
            return np.stack([1 - second, second], axis=1)
        # sklearn.utils.extmath.softmax, in place.
        scores -= np.max(scores, axis=1).reshape((-1, 1))
        np.exp(scores, out=scores)
        scores /= np.sum(scores, axis=1).reshape((-1, 1))
        return scores
