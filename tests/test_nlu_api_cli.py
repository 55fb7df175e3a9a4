"""The NLU layer from outside: POST /api/v1/nlu/parse through httpx's ASGI transport with the
app's real lifespan (as in test_rest_api.py), and `fragrance-ai nlu` / `eval nlu` in
subprocesses with FRAGRANCE_HOME at the starter home.

The CLI runs that load the model are started together, before the app is built (or earlier,
by test_nlu.py, see `start_nlu_cli_runs`), so that they and the NLU builds in this process
share the CPUs; each test then waits for the run it reads.
"""

from __future__ import annotations

import atexit
import json
import re
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from agents.intent import CLARIFY, INTENTS
from channels.rest.app import create_app
from tests.conftest import CLI, FIXTURES, PROJECT_ROOT, StarterIndex, cli_env, run_cli
from tools.search.engine import SearchEngine

PARSE = "/api/v1/nlu/parse"
NLU_FIXTURES = FIXTURES / "nlu"
BATCH = NLU_FIXTURES / "batch.jsonl"
EVAL_SMALL = NLU_FIXTURES / "eval_small.jsonl"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
API_FIELDS = {"intent", "confidence", "slots", "language", "clarify"}
BATCH_FIELDS = {"text", "intent", "confidence", "slots", "language"}
# The runs share two or so cores with each other and with the app being built here.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _aventus(starter_rows: dict[str, dict[str, str]]) -> str:
    ids = [i for i, row in starter_rows.items() if (row["brand"], row["perfume"]) == ("Creed", "Aventus")]
    assert len(ids) == 1
    return ids[0]


# -- the CLI runs that load the model, started at once ------------------------------------
class SlowRuns:
    def __init__(self, jobs: dict[str, list[str]], home: Path) -> None:
        self.procs = {
            name: subprocess.Popen(
                [*CLI, *args],
                cwd=PROJECT_ROOT,
                env={**cli_env(home), **ONE_THREAD},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            for name, args in jobs.items()
        }
        self.done: dict[str, subprocess.CompletedProcess[str]] = {}

    def __getitem__(self, name: str) -> subprocess.CompletedProcess[str]:
        if name not in self.done:
            proc = self.procs[name]
            out, err = proc.communicate(timeout=240)
            self.done[name] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        return self.done[name]

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


_STARTED: dict[Path, SlowRuns] = {}


def start_nlu_cli_runs(home: Path) -> SlowRuns:
    """Start the slow CLI runs once per home. test_nlu.py calls this before building its own
    NLU when a selected test will read them, so that they use the core its build leaves idle."""
    if home not in _STARTED:
        _STARTED[home] = SlowRuns(
            {
                "nlu_json": ["nlu", "직원 불러 주세요", "--json"],
                "nlu_batch": ["nlu", "--batch", str(BATCH)],
                "eval_json": ["eval", "nlu", "--data", str(EVAL_SMALL), "--json"],
            },
            home,
        )
        atexit.register(_STARTED[home].close)  # should the session stop before the fixture's teardown
    return _STARTED[home]


@pytest.fixture(scope="session")
def nlu_cli_runs(starter_index: StarterIndex) -> Iterator[SlowRuns]:
    runs = start_nlu_cli_runs(starter_index.home)
    try:
        yield runs
    finally:
        runs.close()
        _STARTED.pop(starter_index.home, None)


# -- the app ------------------------------------------------------------------------------
@pytest.fixture(scope="session")
async def nlu_app(nlu_cli_runs: SlowRuns, starter_index: StarterIndex, engine: SearchEngine) -> AsyncIterator[FastAPI]:
    app = create_app(starter_index.settings, engine=engine)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(scope="session")
async def nlu_client(nlu_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=nlu_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def parse(client: httpx.AsyncClient, text: str) -> dict[str, Any]:
    response = await client.post(PARSE, json={"text": text})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    data: dict[str, Any] = response.json()
    return data


def _check_shape(data: dict[str, Any], threshold: float) -> None:
    assert set(data) == API_FIELDS
    assert data["intent"] in INTENTS
    assert isinstance(data["confidence"], float) and 0.0 <= data["confidence"] <= 1.0
    assert data["language"] in ("en", "ko")
    assert data["slots"]["language"] == data["language"]
    if data["confidence"] < threshold:
        assert data["clarify"] == CLARIFY[data["language"]]
    else:
        assert data["clarify"] is None


# -- REST ---------------------------------------------------------------------------------
async def test_parse_returns_the_contract(
    nlu_client: httpx.AsyncClient, nlu_app: FastAPI, starter_rows: dict[str, dict[str, str]]
) -> None:
    text = "How long does Aventus last?"
    data = await parse(nlu_client, text)
    _check_shape(data, nlu_app.state.runtime.nlu.classifier.threshold)
    assert data["language"] == "en"
    assert data["intent"] == "product_info"
    assert [p["id"] for p in data["slots"]["perfumes"]] == [_aventus(starter_rows)]
    direct = nlu_app.state.runtime.nlu.parse(text)
    assert data == {k: v for k, v in direct.items() if k != "text"}


async def test_korean_text_is_ko(nlu_client: httpx.AsyncClient, nlu_app: FastAPI) -> None:
    data = await parse(nlu_client, "직원 불러 주세요")
    _check_shape(data, nlu_app.state.runtime.nlu.classifier.threshold)
    assert data["language"] == "ko"
    assert data["intent"] == "handoff"
    data = await parse(nlu_client, "장미는 좋은데 바닐라는 싫어요")
    assert data["language"] == "ko"
    assert data["slots"]["liked_notes"] == ["Rose"]
    assert data["slots"]["disliked_notes"] == ["Vanilla"]


async def test_clarify_follows_the_threshold(nlu_client: httpx.AsyncClient, nlu_app: FastAPI) -> None:
    threshold = nlu_app.state.runtime.nlu.classifier.threshold
    for text in ["asdf qwer", "ㅋㅋㅋ", "under $150", "Hello there, nice to meet you!", "a" * 2000]:
        _check_shape(await parse(nlu_client, text), threshold)


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"text": ""}, ["text"]),
        ({"text": "   \n\t "}, ["text", "blank"]),
        ({"text": "a" * 2001}, ["text", "2000"]),
        ({"text": "직원 불러 주세요", "lang": "ko"}, ["lang"]),
        ({}, ["text"]),
        ({"text": ["hi"]}, ["text"]),
    ],
    ids=["empty", "blank", "2001-chars", "unknown-key", "missing", "not-a-string"],
)
async def test_bad_bodies_are_422_with_a_message(
    nlu_client: httpx.AsyncClient, body: dict[str, Any], names: list[str]
) -> None:
    response = await nlu_client.post(PARSE, json=body)
    assert response.status_code == 422, response.text
    message = response.json().get("message")
    assert isinstance(message, str) and message.strip()
    for name in names:
        assert name in message, message


async def test_openapi_lists_the_parse_path(nlu_client: httpx.AsyncClient) -> None:
    response = await nlu_client.get("/openapi.json")
    assert response.status_code == 200
    assert "post" in response.json()["paths"][PARSE]


# -- CLI ----------------------------------------------------------------------------------
def test_nlu_json(nlu_cli_runs: SlowRuns) -> None:
    run = nlu_cli_runs["nlu_json"]
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert {"intent", "confidence", "slots", "language"} <= set(data)
    assert data["intent"] == "handoff"
    assert data["language"] == "ko"
    assert data["slots"]["language"] == "ko"
    assert 0.0 <= data["confidence"] <= 1.0


def test_nlu_batch_prints_one_json_line_per_input(
    nlu_cli_runs: SlowRuns, nlu_app: FastAPI, starter_rows: dict[str, dict[str, str]]
) -> None:
    run = nlu_cli_runs["nlu_batch"]
    assert run.returncode == 0, run.stderr
    inputs = [json.loads(line)["text"] for line in BATCH.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines = run.stdout.splitlines()
    assert len(lines) == len(inputs) == 4  # the blank input line is skipped
    out = [json.loads(line) for line in lines]
    for text, item in zip(inputs, out, strict=True):
        assert set(item) == BATCH_FIELDS
        assert item["text"] == text
        assert item["intent"] in INTENTS
        assert 0.0 <= item["confidence"] <= 1.0
        assert item["language"] == ("ko" if HANGUL.search(text) else "en")
        assert item["slots"] == nlu_app.state.runtime.nlu.parse(text)["slots"]  # the same reader as the API's
    handoff, aventus, notes, budget = out
    assert handoff["intent"] == "handoff"
    assert [p["id"] for p in aventus["slots"]["perfumes"]] == [_aventus(starter_rows)]
    assert (notes["slots"]["liked_notes"], notes["slots"]["disliked_notes"]) == (["Rose"], ["Vanilla"])
    assert budget["slots"]["budget"] == {"max": 150.0, "currency": "USD"}
    assert budget["slots"]["gender"] == "men"


@pytest.mark.parametrize(
    ("content", "bad_line"),
    [
        ('{"text": "hi"}\nnot json\n', 2),
        ('{"text": "hi"}\n\n{"text": "   "}\n', 3),
        ('{"query": "rose"}\n', 1),
        ('{"text": "hi"}\n["hi"]\n', 2),
        ('{"text": "' + "a" * 2001 + '"}\n', 1),
    ],
    ids=["not-json", "blank-text", "no-text", "not-an-object", "2001-chars"],
)
def test_nlu_batch_with_a_bad_line_exits_2_naming_it(
    tmp_path: Path, starter_index: StarterIndex, content: str, bad_line: int
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(content, encoding="utf-8")
    run = run_cli(["nlu", "--batch", str(batch)], starter_index.home)
    assert run.returncode == 2, run.stderr
    assert f"{batch}: line {bad_line}:" in run.stderr
    assert run.stdout == ""
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("args", [["nlu", ""], ["nlu", "   "], ["nlu"]])
def test_nlu_without_text_exits_2(starter_index: StarterIndex, args: list[str]) -> None:
    run = run_cli(args, starter_index.home)
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "error:" in run.stderr or "Usage" in run.stderr + run.stdout
    assert "Traceback" not in run.stderr


def test_eval_nlu_json(nlu_cli_runs: SlowRuns) -> None:
    run = nlu_cli_runs["eval_json"]
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert {"accuracy", "by_language", "per_intent", "confusion", "errors"} <= set(report)
    assert 0.0 <= report["accuracy"] <= 1.0
    assert sum(entry["n"] for entry in report["by_language"].values()) == 10
    assert set(report["per_intent"]) == set(INTENTS)
    wrong = {e["text"] for e in report["errors"]}
    assert {"Hello there, nice to meet you!", "오늘 서울 날씨 어때?"} <= wrong  # the two deliberately wrong labels
    correct = sum(report["confusion"][i][i] for i in INTENTS)
    assert report["accuracy"] == pytest.approx(correct / 10)


async def test_a_served_app_reads_perfume_names_from_the_catalog_it_loads(
    starter_index: StarterIndex, starter_rows: dict[str, dict[str, str]]
) -> None:
    """As `fragrance-ai serve` runs it: the app loads the engine itself, and the NLU knows its names."""
    app = create_app(starter_index.settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            data = await parse(http, "어벤투스 지속력 어때요?")
    assert [p["id"] for p in data["slots"]["perfumes"]] == [_aventus(starter_rows)]
