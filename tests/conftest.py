"""Shared fixtures: one real embedding model, one real index of the starter catalog.

Everything the suite writes lives under pytest's tmp folders: the product's own
`./var` and the user's FRAGRANCE_HOME are never read or written. The CLI is run in
subprocesses with FRAGRANCE_HOME pointing at a tmp folder; the slow ones (each loads
the model) run concurrently from one session fixture so they share the CPUs.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from core.settings import STARTER_CATALOG, Settings
from graphs.runtime import Runtime, open_runtime
from graphs.state import Context
from tools.search.embeddings import Embedder, embedder_for
from tools.search.engine import SearchEngine
from tools.search.ingest import IngestReport, ingest_catalog
from tools.search.lexicon import Lexicon, default_lexicon

TESTS_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = TESTS_DIR.parent
FIXTURES = TESTS_DIR / "fixtures"
CLI = [sys.executable, "-m", "channels.cli.main"]


# -- the lexicon and the raw starter catalog ----------------------------------------------
@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return default_lexicon()


@pytest.fixture(scope="session")
def starter_rows() -> dict[str, dict[str, str]]:
    """The starter catalog as the CSV module reads it, by id: the ground truth for hand checks."""
    assert STARTER_CATALOG.is_file(), STARTER_CATALOG
    with STARTER_CATALOG.open(encoding="utf-8", newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle)}


@pytest.fixture(scope="session")
def catalog_brands(starter_rows: dict[str, dict[str, str]]) -> set[str]:
    return {row["brand"] for row in starter_rows.values()}


# -- the model and the ingested starter catalog ------------------------------------------
@pytest.fixture(scope="session")
def starter_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(fragrance_home=tmp_path_factory.mktemp("starter_home"))


@pytest.fixture(scope="session")
def embedder(starter_settings: Settings) -> Embedder:
    """The bundled all-MiniLM-L6-v2, built the way the product builds it, once per session.

    Its model cache lands in the starter home, where the CLI runs below find it.
    """
    return embedder_for(starter_settings)


@dataclass
class StarterIndex:
    home: Path
    settings: Settings
    report: IngestReport


@pytest.fixture(scope="session")
def starter_index(starter_settings: Settings, embedder: Embedder) -> StarterIndex:
    report = ingest_catalog(STARTER_CATALOG, starter_settings, embedder=embedder, progress=False)
    return StarterIndex(home=starter_settings.fragrance_home, settings=starter_settings, report=report)


@pytest.fixture(scope="session")
def engine(starter_index: StarterIndex, embedder: Embedder) -> SearchEngine:
    return SearchEngine.load(starter_index.settings, embedder=embedder)


@pytest_asyncio.fixture(scope="session")
async def runtime(
    starter_settings: Settings, engine: SearchEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Runtime]:
    """The product's composition root over the session's starter catalog, with the embedded roles
    (a model server in the environment is ignored) and embedded stores in a tmp folder."""
    settings = starter_settings.model_copy(
        update={
            "ollama_base_url": None,
            "database_url": None,
            "redis_url": None,
            "memory_dir": tmp_path_factory.mktemp("memory"),
        }
    )
    async with open_runtime(settings, engine=engine, models=None) as opened:
        yield opened


@pytest.fixture(scope="session")
def context(runtime: Runtime) -> Context:
    """The embedded roles' context the runtime built."""
    assert runtime.context is not None and runtime.context.models is None
    return runtime.context


# -- the CLI in subprocesses --------------------------------------------------------------
def cli_env(home: Path) -> dict[str, str]:
    # The product's own settings come from the test, never from the developer's shell.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith("FRAGRANCE_") and k.upper() not in ("DATABASE_URL", "REDIS_URL", "OLLAMA_BASE_URL")
    }
    env.update(
        FRAGRANCE_HOME=str(home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PYTHONIOENCODING="utf-8",
        NO_COLOR="1",
    )
    return env


def run_cli(args: list[str], home: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=PROJECT_ROOT,
        env=cli_env(home),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


def run_cli_concurrently(
    jobs: dict[str, tuple[list[str], Path]], timeout: float = 240
) -> dict[str, subprocess.CompletedProcess[str]]:
    procs = {
        name: subprocess.Popen(
            [*CLI, *args],
            cwd=PROJECT_ROOT,
            env=cli_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
        for name, (args, home) in jobs.items()
    }
    done: dict[str, subprocess.CompletedProcess[str]] = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=timeout)
            done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return done


@dataclass
class CliRuns:
    runs: dict[str, subprocess.CompletedProcess[str]]
    strict_home: Path

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[str]:
        return self.runs[name]


def seeded_home(tmp_path_factory: pytest.TempPathFactory, name: str, starter: StarterIndex) -> Path:
    """A fresh FRAGRANCE_HOME holding only the model cache the starter home already built,
    so that concurrent runs never build it at the same time."""
    home = tmp_path_factory.mktemp(name)
    models = starter.home / "models"
    if models.is_dir():
        shutil.copytree(models, home / "models")
    return home


@pytest.fixture(scope="session")
def slow_cli_runs(tmp_path_factory: pytest.TempPathFactory, starter_index: StarterIndex) -> CliRuns:
    """The CLI runs that load the model, all at once (read by test_catalog_ingest.py and
    test_cli.py). Both searches only read the starter home."""
    strict_home = seeded_home(tmp_path_factory, "strict_home", starter_index)
    home = starter_index.home
    jobs = {
        "search_json": (["search", "rose", "--json"], home),
        "search_batch": (["search", "--batch", str(FIXTURES / "batch_queries.jsonl")], home),
        "ingest_strict": (["ingest", "--catalog", str(FIXTURES / "bad_rows.csv"), "--strict", "--quiet"], strict_home),
        "ingest_missing_brand": (
            ["ingest", "--catalog", str(FIXTURES / "missing_brand.csv"), "--quiet"],
            seeded_home(tmp_path_factory, "missing_brand_home", starter_index),
        ),
        "ingest_too_many_cells": (
            ["ingest", "--catalog", str(FIXTURES / "too_many_cells.csv"), "--quiet"],
            seeded_home(tmp_path_factory, "too_many_cells_home", starter_index),
        ),
    }
    return CliRuns(runs=run_cli_concurrently(jobs), strict_home=strict_home)
