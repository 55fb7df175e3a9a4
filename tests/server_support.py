"""The product as deployed, for tests/test_server_mode.py: `fragrance-ai serve` processes, the
admin CLI, a private redis-server, a TCP proxy in front of Postgres that a test can cut, and
scanners that read back everything a deployment stored (database rows, Redis values, logs, files).

Every process started here is owned by the object that started it and is killed by its `stop()`;
the fixtures call it in `finally`, so a failing test leaves nothing running. Servers are reached
over loopback only (127.0.0.1).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import CLI, PROJECT_ROOT, cli_env

READY_TIMEOUT_S = 120.0
"""A replica loads the embedding model and the catalog: ~10 s alone, ~16 s for two at once on 2 cores."""
STOP_TIMEOUT_S = 15.0
HTTP_TIMEOUT_S = 60.0

# Settings a test server must never inherit from the shell that runs the tests.
_PRODUCT_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_KEY_PREFIX",
    "OLLAMA_BASE_URL",
    "MEMORY_DIR",
    "HOST",
    "PORT",
    "TURN_LOCK_WAIT_S",
    "TURN_LOCK_LEASE_S",
    "DATABASE_TIMEOUT_S",
    "MAX_MESSAGE_CHARS",
    "API_RATE_LIMIT",
    "MIGRATE_ON_START",
)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def product_env(home: Path, **settings: str | None) -> dict[str, str]:
    """The environment of a product process: `cli_env(home)` without any product setting of the
    caller's shell, plus `settings` (upper-cased names; None leaves a setting unset)."""
    env = cli_env(home)
    for name in _PRODUCT_SETTINGS:
        env.pop(name, None)
        env.pop(name.lower(), None)
    env["LOG_LEVEL"] = "info"
    env.update({name.upper(): value for name, value in settings.items() if value is not None})
    return env


def http_client() -> httpx.AsyncClient:
    """A client that talks to loopback directly: proxy variables of the environment are ignored."""
    return httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(HTTP_TIMEOUT_S))


# -- the admin CLI -------------------------------------------------------------------------------
def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
    )


_SECRET = re.compile(r"^(fai_\S+)$", re.MULTILINE)


def create_api_key(env: dict[str, str], name: str = "tests", rate_limit: str | None = "100000/minute") -> str:
    """`fragrance-ai apikey create NAME`, as an operator runs it; the secret it printed."""
    args = ["apikey", "create", name] + (["--rate-limit", rate_limit] if rate_limit else [])
    done = run_cli(args, env)
    assert done.returncode == 0, f"apikey create exited {done.returncode}: {done.stdout}\n{done.stderr[-3000:]}"
    found = _SECRET.findall(done.stdout)
    assert len(found) == 1, f"apikey create did not print one key on its own line: {done.stdout!r}"
    return found[0]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


# -- API server processes ----------------------------------------------------------------------------
@dataclass
class Server:
    """One `fragrance-ai serve --port P` process; its stdout and stderr go to files under `logs`
    (appended across restarts, so everything it ever logged can be read back)."""

    name: str
    env: dict[str, str]
    logs: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    _files: list[BinaryIO] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stdout_path(self) -> Path:
        return self.logs / f"{self.name}.stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.logs / f"{self.name}.stderr.log"

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def start(self) -> None:
        assert self.process is None or self.process.poll() is not None, f"{self.name} is already running"
        self.logs.mkdir(parents=True, exist_ok=True)
        out, err = self.stdout_path.open("ab"), self.stderr_path.open("ab")
        self._files += [out, err]
        self.process = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=PROJECT_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
        )

    def stderr_tail(self, chars: int = 4000) -> str:
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no stderr captured)"

    async def wait_ready(self, within: float = READY_TIMEOUT_S) -> dict[str, Any]:
        """Poll /ready until it answers 200 (its JSON); fail with the server's stderr tail when the
        process exits or `within` seconds pass."""
        assert self.process is not None, f"{self.name} was never started"
        deadline = time.monotonic() + within
        last = "no answer yet"
        async with http_client() as client:
            while time.monotonic() < deadline:
                code = self.process.poll()
                if code is not None:
                    pytest.fail(
                        f"server {self.name} (port {self.port}) exited with {code} before it was ready; "
                        f"stderr:\n{self.stderr_tail()}",
                        pytrace=False,
                    )
                try:
                    response = await client.get(f"{self.url}/ready", timeout=2.0)
                    if response.status_code == 200:
                        ready: dict[str, Any] = response.json()
                        return ready
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                await asyncio.sleep(0.25)
        pytest.fail(
            f"server {self.name} (port {self.port}) was not ready within {within:g} s (last: {last}); "
            f"stderr:\n{self.stderr_tail()}",
            pytrace=False,
        )

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down gracefully), SIGKILL if it does not exit in time."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_S)
        for handle in self._files:
            handle.close()
        self._files.clear()

    async def restart(self) -> dict[str, Any]:
        """Stop this process and start a fresh one on the same port."""
        self.stop()
        self.start()
        return await self.wait_ready()


@asynccontextmanager
async def running(*servers: Server) -> AsyncIterator[list[dict[str, Any]]]:
    """Start the servers at once, wait until all are ready (their /ready answers), and stop every
    one of them on exit, whatever happened."""
    try:
        for server in servers:
            server.start()
        yield list(await asyncio.gather(*(server.wait_ready() for server in servers)))
    finally:
        for server in servers:
            server.stop()


# -- a private redis-server ------------------------------------------------------------------------
@dataclass
class RedisServer:
    """A redis-server of this test alone (no persistence), so it can be killed and started again."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: install Redis 7 (see .ci/run)", pytrace=False)
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "redis.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
                    *("--daemonize", "no", "--dir", str(self.workdir)),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"redis-server on port {self.port} exited with {self.process.returncode}", pytrace=False)
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        pytest.fail(f"redis-server on port {self.port} did not answer within {timeout:g} s", pytrace=False)

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT_S)


# -- a TCP proxy that can be cut ---------------------------------------------------------------------
class TcpProxy:
    """Forwards 127.0.0.1:port to an upstream address, in threads of its own (so it keeps working
    while the test's event loop waits). `stop()` closes the listener and cuts every open connection,
    as a server that went away; `start()` listens on the same port again."""

    def __init__(self, upstream: tuple[str, int], port: int | None = None) -> None:
        self.upstream = upstream
        self.port = port or free_port()
        self._listener: socket.socket | None = None
        self._accepter: threading.Thread | None = None
        self._open: set[socket.socket] = set()
        self._guard = threading.Lock()
        self.connections = 0

    def start(self) -> None:
        assert self._listener is None, "the proxy is already listening"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._accepter = threading.Thread(target=self._accept, args=(listener,), name="proxy-accept", daemon=True)
        self._accepter.start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        if self._accepter is not None:
            self._accepter.join(timeout=5)
            self._accepter = None
        with self._guard:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def listening(self) -> bool:
        return self._listener is not None

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._guard:
                if self._listener is not listener:  # stopped meanwhile
                    client.close()
                    server.close()
                    return
                self._open |= {client, server}
                self.connections += 1
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), name="proxy-pump", daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            with self._guard:
                self._open.discard(source)
                self._open.discard(sink)
            source.close()


# -- server-sent events ----------------------------------------------------------------------------
@dataclass
class Sse:
    id: int | None
    event: str
    data: dict[str, Any]


async def sse_stream(response: httpx.Response) -> AsyncGenerator[Sse]:
    """The events of a text/event-stream response as they arrive (comments and pings skipped)."""
    fields: dict[str, str] = {}
    async for line in response.aiter_lines():
        if line == "":
            if "data" in fields:
                yield Sse(
                    id=int(fields["id"]) if fields.get("id") else None,
                    event=fields.get("event", "message"),
                    data=json.loads(fields["data"]),
                )
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


# -- reading back everything a deployment stored ------------------------------------------------------
def _as_bytes(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass")


async def database_values(dsn: str) -> list[tuple[str, bytes]]:
    """Every non-null value of every column of every table outside Postgres' own schemas (the
    product's `fragrance`, LangGraph's `langgraph` with its binary checkpoint blobs, yoyo's
    bookkeeping), as (schema.table.column, bytes). Text as UTF-8, bytea as its raw bytes, jsonb as
    its text, arrays and other types as JSON."""
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        )
        found: list[tuple[str, bytes]] = []
        for table in tables:
            schema, name = table["table_schema"], table["table_name"]
            for row in await conn.fetch(f'SELECT * FROM "{schema}"."{name}"'):
                for column, value in row.items():
                    data = _as_bytes(value)
                    if data is not None:
                        found.append((f"{schema}.{name}.{column}", data))
        return found
    finally:
        await conn.close()


def _raw(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


async def redis_values(url: str, prefix: str) -> list[tuple[str, bytes]]:
    """Every key under `prefix` with each of its values, whatever the key's type, as raw bytes."""
    client: Any = Redis.from_url(url, decode_responses=False, socket_timeout=10)
    found: list[tuple[str, bytes]] = []
    try:
        async for key in client.scan_iter(match=f"{prefix}*".encode(), count=500):
            kind = _raw(await client.type(key)).decode()
            values: list[Any] = [key]
            if kind == "string":
                values.append(await client.get(key))
            elif kind == "list":
                values += await client.lrange(key, 0, -1)
            elif kind == "set":
                values += list(await client.smembers(key))
            elif kind == "zset":
                values += await client.zrange(key, 0, -1)
            elif kind == "hash":
                for field_name, value in (await client.hgetall(key)).items():
                    values += [field_name, value]
            elif kind == "stream":
                for entry_id, entry in await client.xrange(key):
                    values += [entry_id, *(part for pair in entry.items() for part in pair)]
            elif kind != "none":  # expired between SCAN and TYPE: nothing to read
                values.append(await client.dump(key))
            name = _raw(key).decode("utf-8", "replace")
            found += [(f"{name} ({kind})", _raw(value)) for value in values if value is not None]
        return found
    finally:
        await client.aclose()


def file_values(*folders: Path) -> Iterator[tuple[str, bytes]]:
    """Every regular file under the folders (symbolic links not followed), with its bytes."""
    for folder in folders:
        for root, _dirs, files in os.walk(folder, followlinks=False):
            for name in files:
                path = Path(root) / name
                if path.is_file() and not path.is_symlink():
                    yield str(path), path.read_bytes()


def holding(values: Iterable[tuple[str, bytes]], needles: list[str]) -> list[str]:
    """'needle in place' for every value holding one of the needles (matched as UTF-8 bytes)."""
    encoded = [(needle, needle.encode()) for needle in needles]
    return [f"{needle!r} in {place}" for place, data in values for needle, raw in encoded if raw in data]


def places_of(values: Iterable[tuple[str, bytes]], needle: str) -> set[str]:
    """Where `needle` occurs (the places' names)."""
    raw = needle.encode()
    return {place for place, data in values if raw in data}
