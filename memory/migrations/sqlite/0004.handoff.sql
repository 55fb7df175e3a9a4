-- Live handoff (the twin of migrations/postgres/0004.handoff.sql).

-- No CHECK here: SQLite verifies one added with ALTER TABLE by a query whose header yoyo prints to stdout.
ALTER TABLE tickets ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
CREATE INDEX tickets_status ON tickets (status, created_at);

CREATE TABLE ticket_links (
    ticket_id    TEXT NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    external_id  TEXT NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);
CREATE UNIQUE INDEX ticket_links_external ON ticket_links (kind, external_id);
