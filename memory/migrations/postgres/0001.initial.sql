-- The product's tables, in schema fragrance (the migration connection's search_path).
-- Ids are opaque text (uuid4 hex), timestamps timestamptz, structured parts jsonb.

CREATE TABLE customers (
    id          text PRIMARY KEY,
    created_at  timestamptz NOT NULL
);

CREATE TABLE api_keys (
    id            text PRIMARY KEY,
    name          text NOT NULL,
    prefix        text NOT NULL UNIQUE,
    key_hash      text NOT NULL,
    scopes        text[] NOT NULL DEFAULT '{}',
    rate_limit    text,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

CREATE TABLE identities (
    channel      text NOT NULL,
    external_id  text NOT NULL,
    customer_id  text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    api_key_id   text REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (channel, external_id)
);
CREATE INDEX identities_customer ON identities (customer_id);
CREATE INDEX identities_api_key ON identities (api_key_id) WHERE api_key_id IS NOT NULL;

CREATE TABLE preferences (
    customer_id  text PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    data         jsonb NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE conversations (
    id           text PRIMARY KEY,
    customer_id  text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel      text NOT NULL,
    title        text,
    last_seq     integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);
CREATE INDEX conversations_customer ON conversations (customer_id, updated_at DESC);

-- seq comes from conversations.last_seq, bumped under the conversation's row lock:
-- dense and unique with any number of writers.
CREATE TABLE messages (
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              integer NOT NULL,
    role             text NOT NULL CHECK (role IN ('user', 'assistant', 'staff')),
    content          text NOT NULL,
    message_id       text,
    payload          jsonb NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
-- One client message id gives one user line and one answer.
CREATE UNIQUE INDEX messages_turn ON messages (conversation_id, message_id, role) WHERE message_id IS NOT NULL;
CREATE INDEX messages_created ON messages (created_at);

CREATE TABLE formulas (
    id               text PRIMARY KEY,
    customer_id      text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    conversation_id  text REFERENCES conversations (id) ON DELETE SET NULL,
    name             text NOT NULL,
    formula          jsonb NOT NULL,
    created_at       timestamptz NOT NULL
);
CREATE INDEX formulas_customer ON formulas (customer_id, created_at DESC);

CREATE TABLE tickets (
    id               text PRIMARY KEY,
    conversation_id  text NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    customer_id      text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    status           text NOT NULL
        CHECK (status IN ('requested', 'taken', 'returned', 'resolved', 'timed_out', 'cancelled')),
    reason           text NOT NULL,
    staff            text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- At most one open ticket per conversation.
CREATE UNIQUE INDEX tickets_open ON tickets (conversation_id) WHERE status IN ('requested', 'taken');
CREATE INDEX tickets_customer ON tickets (customer_id);

-- Audit rows outlive the customer they mention (no foreign keys).
CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL,
    actor    text NOT NULL,
    action   text NOT NULL,
    subject  text,
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_subject ON audit_log (subject, id DESC);
