-- The web chat's history in the embedded mode: the tables Chainlit's data layer uses (the same
-- SQL as in Postgres through channels/web/history.py::SqliteHistory), beside the product's tables
-- in memory.sqlite3. Timestamps are ISO text, JSON is text. "User".identifier is the customer's
-- id and cascades from customers (the repository's connection has foreign_keys=ON), so erasing a
-- customer erases their chat history; everything below a user cascades from it.

CREATE TABLE "User" (
    "id"          TEXT PRIMARY KEY,
    "identifier"  TEXT NOT NULL UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    "metadata"    TEXT NOT NULL DEFAULT '{}',
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now'))
);

CREATE TABLE "Thread" (
    "id"          TEXT PRIMARY KEY,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "deletedAt"   TEXT,
    "name"        TEXT,
    "metadata"    TEXT NOT NULL DEFAULT '{}',
    "tags"        TEXT NOT NULL DEFAULT '[]',
    "userId"      TEXT REFERENCES "User" (id) ON DELETE CASCADE
);
CREATE INDEX thread_user ON "Thread" ("userId", "updatedAt");

CREATE TABLE "Step" (
    "id"          TEXT PRIMARY KEY,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "parentId"    TEXT,
    "threadId"    TEXT REFERENCES "Thread" (id) ON DELETE CASCADE,
    "input"       TEXT,
    "metadata"    TEXT NOT NULL DEFAULT '{}',
    "name"        TEXT,
    "output"      TEXT,
    "type"        TEXT NOT NULL,
    "showInput"   TEXT DEFAULT 'json',
    "isError"     INTEGER DEFAULT 0,
    "startTime"   TEXT NOT NULL,
    "endTime"     TEXT NOT NULL,
    "command"     TEXT,
    "defaultOpen" INTEGER DEFAULT 0,
    "modes"       TEXT
);
CREATE INDEX step_thread ON "Step" ("threadId", "startTime");
CREATE INDEX step_parent ON "Step" ("parentId");

CREATE TABLE "Element" (
    "id"           TEXT PRIMARY KEY,
    "createdAt"    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "updatedAt"    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "threadId"     TEXT REFERENCES "Thread" (id) ON DELETE CASCADE,
    "stepId"       TEXT NOT NULL REFERENCES "Step" (id) ON DELETE CASCADE,
    "metadata"     TEXT NOT NULL DEFAULT '{}',
    "mime"         TEXT,
    "name"         TEXT NOT NULL,
    "objectKey"    TEXT,
    "url"          TEXT,
    "chainlitKey"  TEXT,
    "display"      TEXT,
    "size"         TEXT,
    "language"     TEXT,
    "page"         INTEGER,
    "autoPlay"     INTEGER,
    "playerConfig" TEXT,
    "props"        TEXT
);
CREATE INDEX element_thread ON "Element" ("threadId");
CREATE INDEX element_step ON "Element" ("stepId");

CREATE TABLE "Feedback" (
    "id"          TEXT PRIMARY KEY,
    "createdAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "updatedAt"   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f', 'now')),
    "stepId"      TEXT NOT NULL REFERENCES "Step" (id) ON DELETE CASCADE,
    "name"        TEXT NOT NULL,
    "value"       REAL NOT NULL,
    "comment"     TEXT
);
CREATE INDEX feedback_step ON "Feedback" ("stepId");
