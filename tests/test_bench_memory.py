"""The memory benchmark's measuring function, on a handful of turns of the starter catalog, in the
three memories (server mode on a throwaway database and a key prefix of its own). Shapes and
counts only: timings on a shared machine are not asserted."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from bench.memory import (
    CONFIGURATIONS,
    STORES,
    PostgresStream,
    RedisStream,
    assemble,
    conversation_scripts,
    measure_turns,
    plot,
    server_stores,
    summary,
)
from memory.backends import redis_client
from tests.conftest import StarterIndex
from tests.memory_support import POSTGRES_ADMIN_DSN, REDIS_URL
from tools.search.engine import SearchEngine

TURNS = 8


async def test_memory_benchmark_measures_every_memory(
    starter_index: StarterIndex, engine: SearchEngine, tmp_path: Path
) -> None:
    async with server_stores(redis_url=REDIS_URL, admin_dsn=POSTGRES_ADMIN_DSN) as stores:
        result = await measure_turns(
            starter_index.settings, TURNS, stores=stores, engine=engine, count_turns=TURNS, progress=False
        )
        database = stores.database_url.rsplit("/", 1)[1]
        assert stores.throwaway

    # The throwaway database and the run's Redis keys are gone.
    admin = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        assert await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", database) == 0
    finally:
        await admin.close()
    redis = redis_client(REDIS_URL)
    try:
        assert [key async for key in redis.scan_iter(match=f"{stores.prefix}*")] == []
    finally:
        await redis.aclose()

    assert result["catalog_perfumes"] == engine.index.size > 0
    assert set(result["configurations"]) == set(CONFIGURATIONS)
    for name, config in result["configurations"].items():
        assert config["turns"] == TURNS == len(config["samples_ms"]) == len(config["memory_call_samples_ms"])
        assert all(sample > 0 for sample in config["samples_ms"])
        assert set(config["latency_ms"]) >= {"p50", "p95"}
        assert set(config["memory_call_ms_by_store"]) == set(STORES)
        for call in ("repository.record_turn", "checkpointer.aput", "locks.acquire", "sessions.append"):
            assert config["calls_per_turn"][call] > 0, (name, call)
        assert ("adds_ms" in config) == (name != "baseline")
        if name != "baseline":
            assert len(config["adds_samples_ms"]) == TURNS

    counted = result["round_trips"]
    assert counted["turns"] == TURNS
    assert counted["postgres"]["round_trips_per_turn"] > 0
    for store in ("repository", "checkpointer"):
        assert counted["postgres"]["by_store"][store]["round_trips_per_turn"] > 0
        assert counted["postgres"]["by_store"][store]["sql_runs_per_turn"]
        assert counted["postgres"]["by_store"][store]["write_commits_per_turn"] > 0
    for store in ("locks", "sessions", "bus"):
        assert counted["redis"]["by_store"][store]["round_trips_per_turn"] > 0
    assert counted["redis"]["round_trips_per_turn"] >= 3
    for probe in counted["calibration"].values():
        assert probe["postgres_select_1_ms"] > 0 and probe["redis_ping_ms"] > 0

    # What the command writes: JSON, a plot and a summary, without a replica measured.
    whole = assemble(result, None, {"turns_per_configuration": TURNS})
    json.dumps(whole)
    assert "server_adds_holds" in whole["verdict"]
    assert set(summary(whole)) >= {"baseline", "embedded", "server", "round_trips_per_turn", "verdict"}
    plot(whole, tmp_path / "memory.png")
    assert (tmp_path / "memory.png").stat().st_size > 10_000


def test_conversations_are_single_language_scripts_of_eight_turns() -> None:
    scripts = conversation_scripts(20)
    assert [len(s) for s in scripts] == [8, 8, 4]
    assert sum(len(s) for s in scripts) == 20


def test_relay_parsers_read_split_messages() -> None:
    redis = RedisStream("p:")
    command = b"*3\r\n$3\r\nSET\r\n$9\r\np:lock:c1\r\n$1\r\nx\r\n"
    assert redis.feed(command[:11]) == []
    assert redis.feed(command[11:] + b"*3\r\n$7\r\nPUBLISH\r\n$7\r\np:bus:1\r\n$2\r\n{}\r\n") == [
        ("locks", "SET", None),
        ("bus", "PUBLISH", None),
    ]

    postgres = PostgresStream()
    params = b"user\0postgres\0options\0-csearch_path=langgraph\0\0"
    startup = (8 + len(params)).to_bytes(4, "big") + (196608).to_bytes(4, "big") + params
    parse_body = b"s1\0SELECT  1\0\0\0"
    parse = b"P" + (4 + len(parse_body)).to_bytes(4, "big") + parse_body
    bind_body = b"\0s1\0\0\0\0\0\0\0"
    bind = b"B" + (4 + len(bind_body)).to_bytes(4, "big") + bind_body
    sync = b"S" + (4).to_bytes(4, "big")
    assert postgres.feed(startup + parse[:3]) == [("connect", "connect", None)]
    assert postgres.feed(parse[3:] + bind + sync) == [
        ("checkpointer", "P", None),
        ("checkpointer", "B", "SELECT 1"),
        ("checkpointer", "S", None),
    ]

    def query(sql: bytes) -> bytes:
        return b"Q" + (4 + len(sql) + 1).to_bytes(4, "big") + sql + b"\0"

    # A write commits at its Sync outside BEGIN, at COMMIT inside; reads commit nothing to flush.
    insert_body = b"s2\0INSERT INTO t VALUES (1)\0\0\0"
    insert = b"P" + (4 + len(insert_body)).to_bytes(4, "big") + insert_body
    run_insert = b"B" + (4 + len(bind_body)).to_bytes(4, "big") + bind_body.replace(b"s1", b"s2")
    kinds = [kind for _, kind, _ in postgres.feed(insert + run_insert + sync + bind + sync)]
    assert kinds == ["P", "B", "S", "commit", "B", "S"]
    kinds = [kind for _, kind, _ in postgres.feed(query(b"BEGIN;") + run_insert + sync + query(b"COMMIT;"))]
    assert kinds == ["Q", "B", "S", "Q", "commit"]
