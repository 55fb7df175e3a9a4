"""API keys for programs that call the chat API: minted once, stored only as a hash, checked on
every request.

A key is `fai_<prefix>_<secret>`: the prefix finds the row, the hash of the whole key proves it.
The secret is 256 random bits, so a plain SHA-256 is the right hash here (what GitHub and
Stripe do for tokens): nobody can guess such a key from its hash, and checking it costs
microseconds on every request. A slow password hash (argon2) is for what people choose and
remember: staff passwords.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from core.errors import FragranceError
from memory.records import ApiKey
from memory.repository import Repository

SCOPES = ("chat", "admin")
"""chat: talk and read the key's own threads; admin: export and delete customers' data, purge."""
_KEY = re.compile(r"^fai_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class KeyRejected(FragranceError):
    """The key is missing, malformed, unknown or revoked (HTTP 401)."""


@dataclass(frozen=True, slots=True)
class MintedKey:
    record: ApiKey
    secret: str
    """The whole key, shown once at creation; only its hash is kept."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise FragranceError(f"scopes must be some of {', '.join(SCOPES)}; got {', '.join(unknown) or 'none'}")
    return tuple(sorted(set(scopes)))


async def mint(repository: Repository, name: str, scopes: tuple[str, ...], rate_limit: str | None = None) -> MintedKey:
    prefix = secrets.token_hex(6)
    key = f"fai_{prefix}_{secrets.token_urlsafe(32)}"
    record = await repository.create_api_key(name, prefix, _digest(key), check_scopes(scopes), rate_limit)
    return MintedKey(record=record, secret=key)


async def authenticate(repository: Repository, presented: str) -> ApiKey:
    match = _KEY.match(presented.strip())
    if match is None:
        raise KeyRejected("the API key is malformed: it looks like fai_<12 hex>_<43 characters>")
    record = await repository.api_key_by_prefix(match.group(1))
    if record is None or not hmac.compare_digest(record.key_hash, _digest(presented.strip())):
        raise KeyRejected("the API key is not valid")
    if record.revoked_at is not None:
        raise KeyRejected(f"the API key {record.name!r} was revoked on {record.revoked_at:%Y-%m-%d}")
    return record
