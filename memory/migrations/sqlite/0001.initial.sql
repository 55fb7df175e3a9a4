-- The product's tables in FRAGRANCE_HOME/memory.sqlite3, the twin of migrations/postgres.
-- Timestamps are UTC ISO 8601 text with a fixed width (they sort as text); JSON is text.

CREATE TABLE customers (
    id          TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    prefix        TEXT NOT NULL UNIQUE,
    key_hash      TEXT NOT NULL,
    scopes        TEXT NOT NULL DEFAULT '[]',
    rate_limit    TEXT,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
);

CREATE TABLE identities (
    channel      TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    api_key_id   TEXT REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX identities_customer ON identities (customer_id);
CREATE INDEX identities_api_key ON identities (api_key_id) WHERE api_key_id IS NOT NULL;

CREATE TABLE preferences (
    customer_id  TEXT PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    data         TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);

CREATE TABLE conversations (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL,
    title        TEXT,
    last_seq     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX conversations_customer ON conversations (customer_id, updated_at DESC);

CREATE TABLE messages (
    conversation_id  TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'staff')),
    content          TEXT NOT NULL,
    message_id       TEXT,
    payload          TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_turn ON messages (conversation_id, message_id, role) WHERE message_id IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE formulas (
    id               TEXT PRIMARY KEY,
    customer_id      TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    conversation_id  TEXT REFERENCES conversations (id) ON DELETE SET NULL,
    name             TEXT NOT NULL,
    formula          TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
CREATE INDEX formulas_customer ON formulas (customer_id, created_at DESC);

CREATE TABLE tickets (
    id               TEXT PRIMARY KEY,
    conversation_id  TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    customer_id      TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status           TEXT NOT NULL
        CHECK (status IN ('requested', 'taken', 'returned', 'resolved', 'timed_out', 'cancelled')),
    reason           TEXT NOT NULL,
    staff            TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE UNIQUE INDEX tickets_open ON tickets (conversation_id) WHERE status IN ('requested', 'taken');
CREATE INDEX tickets_customer ON tickets (customer_id);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    subject  TEXT,
    detail   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject, id DESC);
