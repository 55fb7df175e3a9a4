"""A loopback HTTP server that answers Ollama's /api/chat with recorded replies.

Each scenario is a list of NDJSON lines (Ollama streams one JSON object per line), an
HTTP error, or a stall longer than the client's timeout. Requests are recorded so a test
can check what the real ChatOllama client sent.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDINGS = Path(__file__).resolve().parent / "fixtures" / "ollama"


def recording(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (RECORDINGS / f"{name}.ndjson").read_text().splitlines() if line.strip()]


class OllamaStub:
    def __init__(self) -> None:
        self.queue: list[Any] = []  # per request: a list of lines, ("error", status, body) or ("stall", seconds)
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                stub.requests.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"{}")})
                step = stub.queue.pop(0) if stub.queue else ("error", 500, {"error": "no scripted reply"})
                if isinstance(step, tuple) and step[0] == "stall":
                    time.sleep(step[1])
                    step = recording("reply_stream")
                if isinstance(step, tuple) and step[0] == "error":
                    body = json.dumps(step[2]).encode()
                    self.send_response(step[1])
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_response(200)
                self.send_header("content-type", "application/x-ndjson")
                self.end_headers()
                for line in step:
                    self.wfile.write((json.dumps(line) + "\n").encode())
                    self.wfile.flush()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OllamaStub:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
