"""`fragrance-ai` as a user runs it: subprocesses with FRAGRANCE_HOME in a tmp folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, CliRuns, StarterIndex, run_cli
from tools.search.engine import SearchEngine


def _batch_inputs() -> list[dict[str, object]]:
    lines = (FIXTURES / "batch_queries.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# -- search -------------------------------------------------------------------------------
def test_search_json(slow_cli_runs: CliRuns, engine: SearchEngine) -> None:
    run = slow_cli_runs["search_json"]
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["parsed"]["text"] == "rose"
    assert data["parsed"]["notes"] == ["Rose"]
    assert data["search_type"] == "hybrid"
    assert len(data["results"]) == 10  # the default top_k
    for r in data["results"]:
        assert isinstance(r["id"], str)
        perfume = engine.get(r["id"])
        assert perfume is not None and perfume.name == r["name"]
        assert "Rose" in r["notes"]
        assert r["misses"] == []


def test_search_batch_prints_one_json_line_per_query(slow_cli_runs: CliRuns, engine: SearchEngine) -> None:
    run = slow_cli_runs["search_batch"]
    assert run.returncode == 0, run.stderr
    inputs = _batch_inputs()
    lines = run.stdout.splitlines()
    assert len(lines) == len(inputs) == 3  # the blank input line is skipped
    for item, line in zip(inputs, lines, strict=True):
        out = json.loads(line)
        assert set(out) == {"query", "results"}
        assert out["query"] == item["query"]
        assert len(out["results"]) == item.get("top_k", 10)
        for r in out["results"]:
            assert set(r) == {"id", "brand", "name", "score"}
            assert isinstance(r["id"], str)
            assert isinstance(r["score"], float)
            perfume = engine.get(r["id"])
            assert perfume is not None and (perfume.brand, perfume.name) == (r["brand"], r["name"])
    rose, woody, _ = (json.loads(line)["results"] for line in lines)
    assert all("Rose" in engine.get(r["id"]).notes for r in rose)  # type: ignore[union-attr]
    for r in woody:
        perfume = engine.get(r["id"])
        assert perfume is not None and "Vanilla" not in perfume.notes and "woody" in perfume.accords


@pytest.mark.parametrize(
    ("content", "bad_line"),
    [
        ('{"query": "rose"}\nthis is not json\n', 2),
        ('{"query": "rose"}\n{"query": "   "}\n', 2),
        ('{"query": "rose"}\n\n{"query": "rose", "top_k": 0}\n', 3),
        ('{"query": "rose", "top_k": 101}\n', 1),
        ('{"query": "rose", "top_k": "5"}\n', 1),
        ('["rose"]\n', 1),
    ],
)
def test_bad_batch_line_exits_2_naming_the_line(
    tmp_path: Path, starter_index: StarterIndex, content: str, bad_line: int
) -> None:
    batch = tmp_path / "in.jsonl"
    batch.write_text(content, encoding="utf-8")
    run = run_cli(["search", "--batch", str(batch)], starter_index.home)
    assert run.returncode == 2, run.stderr
    assert f"{batch}: line {bad_line}:" in run.stderr
    assert run.stdout == ""  # checked before any search runs
    assert "Traceback" not in run.stderr


def test_missing_batch_file_exits_2(tmp_path: Path, starter_index: StarterIndex) -> None:
    run = run_cli(["search", "--batch", str(tmp_path / "absent.jsonl")], starter_index.home)
    assert run.returncode == 2
    assert "absent.jsonl" in run.stderr


@pytest.mark.parametrize("args", [["search", ""], ["search", "   "], ["search"], ["search", "rose", "--type", "bm25"]])
def test_bad_search_usage_exits_2(starter_index: StarterIndex, args: list[str]) -> None:
    run = run_cli(args, starter_index.home)
    assert run.returncode == 2, run.stderr
    assert "error" in run.stderr.lower()
    assert "Traceback" not in run.stderr


def test_search_without_an_index_fails_with_advice(tmp_path: Path) -> None:
    run = run_cli(["search", "--batch", str(FIXTURES / "batch_queries.jsonl")], tmp_path / "empty_home")
    assert run.returncode == 1
    assert "ingest" in run.stderr
    assert "Traceback" not in run.stderr


# -- help ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        [],
        ["ingest"],
        ["search"],
        ["serve"],
        ["eval"],
        ["eval", "search"],
        ["bench"],
        ["bench", "search"],
    ],
)
def test_help_exits_0(tmp_path: Path, args: list[str]) -> None:
    run = run_cli([*args, "--help"], tmp_path / "home")
    assert run.returncode == 0, run.stderr
    assert "Usage" in run.stdout
    assert "--help" in run.stdout
