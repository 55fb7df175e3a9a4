"""Files built once from their inputs and loaded after: written atomically, keyed by a digest.

A replica must not rebuild at every start what is deterministic given its inputs (the
catalog's embedding matrix, the trained intent classifier). Such a file carries the
digest of everything it was built from; a reader that finds another digest, or a file it
cannot read (half-written by a process that died, corrupt), rebuilds it. Writes go to a
temporary file in the same folder and are renamed into place, so two replicas starting at
once never read a half-written file: each sees the old file, the new one, or none.
Arrays are stored as `.npz` (no pickles: `allow_pickle=False` on every load), the rest as JSON.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import orjson

log = logging.getLogger(__name__)


def digest(parts: Iterable[str | bytes]) -> str:
    """sha256 of the parts, each length-prefixed (so ("ab", "c") and ("a", "bc") differ)."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def source_digest(paths: Iterable[Path]) -> str:
    """Digest of source files: what a derived artifact's code version is."""
    return digest(p.read_bytes() for p in paths)


def _write_atomically(path: Path, write: Callable[[BinaryIO], object]) -> bool:
    """Write through `write` to a temporary file beside `path`, then rename it into place; False
    (logged) when the folder is not writable: a replica on a read-only volume still works, only
    without the saved start-up."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        log.warning("cannot write %s (%s); it will be built again at the next start", path, exc)
        return False
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from replicas run as another user
        os.replace(temporary, path)
        return True
    except OSError as exc:
        log.warning("cannot write %s (%s); it will be built again at the next start", path, exc)
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def save_arrays(path: Path, arrays: dict[str, np.ndarray], key: str) -> bool:
    """Write `arrays` and `key` to `path` (`.npz`) atomically."""
    payload: dict[str, Any] = {"__key__": np.asarray(key), **arrays}
    return _write_atomically(path, lambda handle: np.savez(handle, allow_pickle=False, **payload))


def load_arrays(path: Path, key: str) -> dict[str, np.ndarray] | None:
    """The arrays saved at `path` under `key`; None when absent, built from other inputs, or unreadable."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["__key__"]) != key:
                return None
            return {name: data[name] for name in data.files if name != "__key__"}
    except Exception as exc:  # a truncated or corrupt file of any kind is rebuilt, never fatal
        log.warning("ignoring unreadable %s (%s: %s); building it again", path, type(exc).__name__, exc)
        return None


def save_json(path: Path, data: Any, key: str) -> bool:
    """Write `data` and `key` to `path` as JSON, atomically."""
    payload = orjson.dumps({"key": key, "data": data})
    return _write_atomically(path, lambda handle: handle.write(payload))


def load_json(path: Path, key: str) -> Any | None:
    """The data `save_json` wrote at `path` under `key`; None when absent, stale or unreadable."""
    if not path.exists():
        return None
    try:
        saved = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        log.warning("ignoring unreadable %s (%s); building it again", path, exc)
        return None
    if not isinstance(saved, dict) or saved.get("key") != key:
        return None
    return saved.get("data")
