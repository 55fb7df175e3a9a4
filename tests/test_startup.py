"""Start-up: what a replica would rebuild at every start is built once, saved, and loaded after.

The trained intent classifier, the perfume names, the catalog index and the catalog's
vectors are saved under FRAGRANCE_HOME, keyed by their inputs. These tests prove that a
second build loads instead of training (by a training counter and the file's mtime, never
by timing), that the loaded classifier answers exactly as a freshly trained one, that a
change of input or a broken file means a rebuild, not a crash, and that the replacements
made for speed (the perfume-name matcher, the tokenizer) find what the originals found.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix, hstack

from agents.evaluation import DEFAULT_EVAL, load_eval
from agents.intent import CLASSIFIER_FILE, IntentClassifier, _regression, _vectorizer, load_examples
from agents.nlu import NAMES_FILE, NLU, DomainSignals, perfume_names
from core.settings import Settings
from tests.conftest import PROJECT_ROOT, StarterIndex, cli_env
from tools.perfumery.database import perfumery_for
from tools.perfumery.materials import MaterialDB
from tools.search import artifacts
from tools.search.artifacts import load_arrays, save_arrays
from tools.search.embeddings import Embedder
from tools.search.engine import INDEX_FILE, CatalogIndex, SearchEngine
from tools.search.matcher import WordMatcher
from tools.search.store import EMBEDDINGS_FILE
from tools.search.text import fold, key_offsets, trie_pattern


@pytest.fixture(scope="module")
def materials(starter_index: StarterIndex) -> MaterialDB:
    return perfumery_for(starter_index.home).materials


@pytest.fixture(scope="module")
def eval_texts() -> list[str]:
    return [item["text"] for item in load_eval(DEFAULT_EVAL)]


def _build(engine: SearchEngine, materials: MaterialDB, models_dir: Path) -> tuple[NLU, int]:
    """An NLU over the starter engine with its artifacts in `models_dir`, and how many
    classifiers were trained to build it."""
    before = IntentClassifier.trainings
    nlu = NLU.build(engine.embedder, engine, materials, models_dir=models_dir)
    return nlu, IntentClassifier.trainings - before


def _probabilities(classifier: IntentClassifier, texts: list[str]) -> np.ndarray:
    return np.asarray(classifier.model.predict_proba(classifier._features(texts)))


# -- the intent classifier: built once, loaded after -----------------------------------------
def test_the_classifier_is_trained_once_then_loaded(
    engine: SearchEngine, materials: MaterialDB, tmp_path: Path
) -> None:
    _, trained = _build(engine, materials, tmp_path)
    path = tmp_path / CLASSIFIER_FILE
    assert trained == 1 and path.is_file()
    written = path.stat().st_mtime_ns

    _, trained_again = _build(engine, materials, tmp_path)
    assert trained_again == 0
    assert path.stat().st_mtime_ns == written
    assert (tmp_path / NAMES_FILE).is_file()


def test_a_loaded_classifier_answers_exactly_as_a_freshly_trained_one(
    engine: SearchEngine, materials: MaterialDB, eval_texts: list[str], tmp_path: Path
) -> None:
    """The reference is the scikit-learn pipeline itself, fitted now: the loaded classifier applies
    its saved state without scikit-learn, to the last bit of every probability."""
    _build(engine, materials, tmp_path)
    loaded, trained = _build(engine, materials, tmp_path)
    assert trained == 0
    classifier = loaded.classifier
    signals = classifier.signals
    assert signals is not None

    def features(grams: object, texts: list[str]) -> object:
        vectors = engine.embedder.encode([fold(t) for t in texts])
        rows = np.asarray([signals(t) for t in texts], dtype=np.float32)
        return hstack([grams, csr_matrix(vectors), csr_matrix(rows)]).tocsr()

    examples = load_examples()
    folded = [fold(t) for t, _ in examples]
    vectorizer, regression = _vectorizer(), _regression()
    regression.fit(features(vectorizer.fit_transform(folded), [t for t, _ in examples]), [i for _, i in examples])
    expected = regression.predict_proba(features(vectorizer.transform([fold(t) for t in eval_texts]), eval_texts))

    assert list(classifier.model.classes_) == list(regression.classes_)
    assert np.array_equal(_probabilities(classifier, eval_texts), expected)
    assert [r.intent for r in classifier.classify_many(eval_texts)] == list(regression.classes_[expected.argmax(1)])
    fresh = IntentClassifier(engine.embedder, signals=signals)  # trained in memory, never saved or loaded
    assert [r.to_dict() for r in classifier.classify_many(eval_texts)] == [
        r.to_dict() for r in fresh.classify_many(eval_texts)
    ]


def test_the_ingested_home_holds_every_start_up_artifact(starter_index: StarterIndex) -> None:
    """`ingest` builds them, so the first start after an ingest loads as the next ones do."""
    home = starter_index.home
    for path in (home / EMBEDDINGS_FILE, home / INDEX_FILE, home / "models" / CLASSIFIER_FILE):
        assert path.is_file(), path
    assert (home / "models" / NAMES_FILE).is_file()


def test_changed_examples_train_again(engine: SearchEngine, materials: MaterialDB, tmp_path: Path) -> None:
    nlu, _ = _build(engine, materials, tmp_path)
    signals = nlu.classifier.signals
    examples = load_examples()
    changed = [*examples, ("Can you gift-wrap the bottle for me?", "smalltalk")]
    path = tmp_path / CLASSIFIER_FILE

    before = IntentClassifier.trainings
    IntentClassifier.load_or_train(engine.embedder, tmp_path, examples=changed, signals=signals, signals_key="k")
    assert IntentClassifier.trainings == before + 1
    IntentClassifier.load_or_train(engine.embedder, tmp_path, examples=changed, signals=signals, signals_key="k")
    assert IntentClassifier.trainings == before + 1  # the changed set's classifier is saved in turn
    changed_file = path.read_bytes()

    IntentClassifier.load_or_train(engine.embedder, tmp_path, examples=examples, signals=signals, signals_key="k")
    assert IntentClassifier.trainings == before + 2
    assert path.read_bytes() != changed_file


def test_changed_signal_inputs_train_again(engine: SearchEngine, materials: MaterialDB, tmp_path: Path) -> None:
    """The signals read the catalog's names and the materials: another key, another classifier."""
    nlu, _ = _build(engine, materials, tmp_path)
    before = IntentClassifier.trainings
    signals = nlu.classifier.signals
    IntentClassifier.load_or_train(engine.embedder, tmp_path, signals=signals, signals_key="catalog A")
    IntentClassifier.load_or_train(engine.embedder, tmp_path, signals=signals, signals_key="catalog B")
    assert IntentClassifier.trainings == before + 2


def test_without_a_signals_key_the_signal_values_key_the_file(
    engine: SearchEngine, materials: MaterialDB, tmp_path: Path
) -> None:
    nlu, _ = _build(engine, materials, tmp_path)
    signals = nlu.classifier.signals
    assert isinstance(signals, DomainSignals)
    before = IntentClassifier.trainings
    IntentClassifier.load_or_train(engine.embedder, tmp_path, signals=signals)
    IntentClassifier.load_or_train(engine.embedder, tmp_path, signals=signals)
    assert IntentClassifier.trainings == before + 1

    def other(text: str) -> list[float]:
        return [1.0 - value for value in signals(text)]

    IntentClassifier.load_or_train(engine.embedder, tmp_path, signals=other)
    assert IntentClassifier.trainings == before + 2


@pytest.mark.parametrize("damage", ["garbage", "half", "empty", "foreign arrays"])
def test_a_broken_classifier_file_is_rebuilt_not_fatal(
    engine: SearchEngine, materials: MaterialDB, eval_texts: list[str], tmp_path: Path, damage: str
) -> None:
    good, _ = _build(engine, materials, tmp_path)
    path = tmp_path / CLASSIFIER_FILE
    whole = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"not a zip file at all" * 100)
    elif damage == "half":  # what a writer killed half-way would have left, were writes not atomic
        path.write_bytes(whole[: len(whole) // 2])
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # a readable file under the right key whose arrays do not fit together
        key = str(np.load(path, allow_pickle=False)["__key__"])
        save_arrays(path, {"terms": np.asarray(["a", "a"]), "idf": np.ones(3)}, key)

    rebuilt, trained = _build(engine, materials, tmp_path)
    assert trained == 1
    assert [r["intent"] for r in rebuilt.parse_many(eval_texts)] == [r["intent"] for r in good.parse_many(eval_texts)]
    _, trained_again = _build(engine, materials, tmp_path)
    assert trained_again == 0  # the rebuilt file is whole


# -- atomic writes ---------------------------------------------------------------------------
def test_a_write_that_fails_half_way_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "thing.npz"
    save_arrays(path, {"x": np.arange(3)}, "old")

    def dies(handle: object, **_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(artifacts.np, "savez", dies)
    assert save_arrays(path, {"x": np.arange(5)}, "new") is False
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["thing.npz"]  # no temporary file left behind
    old = load_arrays(path, "old")
    assert old is not None and old["x"].tolist() == [0, 1, 2]
    assert load_arrays(path, "new") is None


# -- the engine's artifacts ------------------------------------------------------------------
@pytest.fixture
def home_copy(starter_index: StarterIndex, tmp_path: Path) -> Settings:
    """A copy of the ingested starter home, to break and rebuild its files."""
    home = tmp_path / "home"
    shutil.copytree(starter_index.home, home, ignore=shutil.ignore_patterns("conversations*"))
    return Settings(fragrance_home=home)


def test_the_catalog_index_loaded_is_the_one_derived(home_copy: Settings, embedder: Embedder) -> None:
    loaded = SearchEngine.load(home_copy, embedder=embedder).index
    derived = CatalogIndex(list(loaded.perfumes), loaded.embeddings)
    for name in ("year", "gender", "longevity", "sillage", "price", "stock", "popularity"):
        assert np.array_equal(getattr(loaded, name), getattr(derived, name), equal_nan=True), name
    for name in ("brands", "notes", "accord_weight"):
        ours, theirs = getattr(loaded, name), getattr(derived, name)
        assert list(ours) == list(theirs), name
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours), name
    assert loaded.by_id == derived.by_id
    for tokens in (["note:vanilla"], ["accord:woody", "note:rose"], ["chanel"], ["nothing-like-this"]):
        assert np.array_equal(loaded.bm25.get_scores(tokens), derived.bm25.get_scores(tokens)), tokens


def test_broken_engine_files_are_rebuilt_and_search_is_unchanged(
    home_copy: Settings, embedder: Embedder, engine: SearchEngine
) -> None:
    home = home_copy.fragrance_home
    (home / EMBEDDINGS_FILE).write_bytes(b"PK\x03\x04 truncated")
    (home / INDEX_FILE).write_bytes((home / INDEX_FILE).read_bytes()[:1000])

    rebuilt = SearchEngine.load(home_copy, embedder=embedder)
    assert rebuilt.vectorstore is not None  # the vectors came from Chroma again
    assert load_arrays(home / EMBEDDINGS_FILE, "not the key") is None
    assert np.array_equal(rebuilt.index.embeddings, engine.index.embeddings)
    for query in ("fresh citrus for summer without vanilla", "장미 향 여성 향수", "woody oud from Tom Ford"):
        ours = [(r.id, r.score) for r in rebuilt.search_sync(query, 10).results]
        assert ours == [(r.id, r.score) for r in engine.search_sync(query, 10).results], query

    again = SearchEngine.load(home_copy, embedder=embedder)
    assert again._vectorstore is None  # loaded from the saved copies: Chroma is not even opened


def test_a_start_imports_neither_torch_nor_chroma_nor_sklearn(starter_index: StarterIndex) -> None:
    """ONNX serves the queries, the vectors come from the saved copy and the saved classifier is
    applied without scikit-learn: those imports would only cost a replica seconds and hundreds of MB."""
    script = (
        "import sys\n"
        "from core.settings import Settings\n"
        "from tools.search.engine import SearchEngine\n"
        "from tools.perfumery.database import perfumery_for\n"
        "from agents.nlu import NLU\n"
        "from agents.intent import IntentClassifier\n"
        "s = Settings()\n"
        "e = SearchEngine.load(s)\n"
        "NLU.build(e.embedder, e, perfumery_for(s.fragrance_home).materials)\n"
        "heavy = ('torch', 'chromadb', 'transformers', 'sklearn')\n"
        "print(IntentClassifier.trainings, sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT_ROOT,
        env=cli_env(starter_index.home),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["0", "[]"]


# -- the replacements made for speed find what the originals found ----------------------------
def test_the_word_matcher_finds_what_the_trie_regex_finds(engine: SearchEngine, eval_texts: list[str]) -> None:
    names = [*perfume_names(engine), "장미", "a", "x1", "-x", "é"]
    pattern = re.compile(trie_pattern(names))
    matcher = WordMatcher(names)
    texts = eval_texts + [t for t, _ in load_examples()]
    texts += [f"I like {p.brand} {p.name}s and {p.name}, or {p.name}1" for p in engine.index.perfumes]
    texts += ["장미향이 좋아", "a x1 ax1 x1a -x a-x", "Ab cA", ""]
    for text in texts:
        for candidate in (text, key_offsets(text.replace("&", " "))[0]):
            assert list(matcher.finditer(candidate)) == [(m.start(), m.end()) for m in pattern.finditer(candidate)]


def test_saved_perfume_names_are_the_names_built(engine: SearchEngine, materials: MaterialDB, tmp_path: Path) -> None:
    nlu, _ = _build(engine, materials, tmp_path)
    built = perfume_names(engine, materials)
    assert nlu.slots.perfume_names == built
    loaded, _ = _build(engine, materials, tmp_path)
    assert loaded.slots.perfume_names == built


def test_the_tokenizer_gives_the_ids_transformers_gives(embedder: Embedder, eval_texts: list[str]) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(embedder.model_path), local_files_only=True)
    texts = [*eval_texts, "x " * 400, "Ünïcödé café crème 香水", ""]
    for start in range(0, len(texts), 64):
        batch = texts[start : start + 64]
        expected = reference(batch, padding=True, truncation=True, max_length=embedder.max_length, return_tensors="np")
        encodings = embedder._tokenizer.encode_batch(batch)
        assert np.array_equal(np.asarray([e.ids for e in encodings]), expected["input_ids"])
        assert np.array_equal(np.asarray([e.attention_mask for e in encodings]), expected["attention_mask"])
        assert np.array_equal(np.asarray([e.type_ids for e in encodings]), expected["token_type_ids"])
