-- Live handoff: the language a ticket's notices are written in, open tickets found by status and age
-- (the timeout sweeper, staff lists), and the ticket's place in each staff tool (a Slack thread).

ALTER TABLE tickets ADD COLUMN language text NOT NULL DEFAULT 'en' CHECK (language IN ('ko', 'en'));
CREATE INDEX tickets_status ON tickets (status, created_at);

CREATE TABLE ticket_links (
    ticket_id    text NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    external_id  text NOT NULL,
    PRIMARY KEY (ticket_id, kind)
);
CREATE UNIQUE INDEX ticket_links_external ON ticket_links (kind, external_id);
