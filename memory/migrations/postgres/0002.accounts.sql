-- Staff and admin accounts (people who sign in), and their refresh tokens.
-- Customers never have a password: they are identities of the customers table.

CREATE TABLE users (
    id             text PRIMARY KEY,
    username       text NOT NULL UNIQUE,
    password_hash  text NOT NULL,
    role           text NOT NULL CHECK (role IN ('staff', 'admin')),
    created_at     timestamptz NOT NULL,
    disabled_at    timestamptz
);

-- One row per refresh token ever issued, keyed by its JWT id. A sign-in starts a family; each
-- refresh marks the presented token replaced (replaced_by) and adds its successor to the family,
-- so a replaced token presented again is a reuse and the whole family is revoked.
CREATE TABLE refresh_tokens (
    jti          text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family       text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    replaced_by  text
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
