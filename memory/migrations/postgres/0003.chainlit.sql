-- The web chat's history: the tables Chainlit's asyncpg data layer (ChainlitDataLayer) reads and
-- writes, in their own schema `chainlit` (the layer connects with search_path=chainlit; see
-- channels/web/history.py). Column names and types are Chainlit's (its Prisma schema, plus the
-- Step columns command, defaultOpen and modes that chainlit 2.x sends).
-- A Chainlit user is a product customer: "User".identifier is the customer's id and cascades from
-- fragrance.customers, so erasing a customer erases their chat history; everything below a user
-- cascades from it (threads, their steps, elements and feedback).

CREATE SCHEMA IF NOT EXISTS chainlit;

CREATE TABLE chainlit."User" (
    "id"          text PRIMARY KEY,
    "identifier"  text NOT NULL UNIQUE REFERENCES fragrance.customers (id) ON DELETE CASCADE,
    "metadata"    jsonb NOT NULL DEFAULT '{}',
    "createdAt"   timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt"   timestamp(3) NOT NULL DEFAULT now()
);

CREATE TABLE chainlit."Thread" (
    "id"          text PRIMARY KEY,
    "createdAt"   timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt"   timestamp(3) NOT NULL DEFAULT now(),
    "deletedAt"   timestamp(3),
    "name"        text,
    "metadata"    jsonb NOT NULL DEFAULT '{}',
    "tags"        text[] NOT NULL DEFAULT '{}',
    "userId"      text REFERENCES chainlit."User" (id) ON DELETE CASCADE
);
CREATE INDEX thread_user ON chainlit."Thread" ("userId", "updatedAt" DESC);

CREATE TABLE chainlit."Step" (
    "id"          text PRIMARY KEY,
    "createdAt"   timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt"   timestamp(3) NOT NULL DEFAULT now(),
    "parentId"    text,
    "threadId"    text REFERENCES chainlit."Thread" (id) ON DELETE CASCADE,
    "input"       text,
    "metadata"    jsonb NOT NULL DEFAULT '{}',
    "name"        text,
    "output"      text,
    "type"        text NOT NULL,
    "showInput"   text DEFAULT 'json',
    "isError"     boolean DEFAULT false,
    "startTime"   timestamp(3) NOT NULL,
    "endTime"     timestamp(3) NOT NULL,
    "command"     text,
    "defaultOpen" boolean DEFAULT false,
    "modes"       jsonb
);
CREATE INDEX step_thread ON chainlit."Step" ("threadId", "startTime");
CREATE INDEX step_parent ON chainlit."Step" ("parentId");

CREATE TABLE chainlit."Element" (
    "id"           text PRIMARY KEY,
    "createdAt"    timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt"    timestamp(3) NOT NULL DEFAULT now(),
    "threadId"     text REFERENCES chainlit."Thread" (id) ON DELETE CASCADE,
    "stepId"       text NOT NULL REFERENCES chainlit."Step" (id) ON DELETE CASCADE,
    "metadata"     jsonb NOT NULL DEFAULT '{}',
    "mime"         text,
    "name"         text NOT NULL,
    "objectKey"    text,
    "url"          text,
    "chainlitKey"  text,
    "display"      text,
    "size"         text,
    "language"     text,
    "page"         integer,
    "autoPlay"     boolean,
    "playerConfig" jsonb,
    "props"        jsonb
);
CREATE INDEX element_thread ON chainlit."Element" ("threadId");
CREATE INDEX element_step ON chainlit."Element" ("stepId");

CREATE TABLE chainlit."Feedback" (
    "id"          text PRIMARY KEY,
    "createdAt"   timestamp(3) NOT NULL DEFAULT now(),
    "updatedAt"   timestamp(3) NOT NULL DEFAULT now(),
    "stepId"      text NOT NULL REFERENCES chainlit."Step" (id) ON DELETE CASCADE,
    "name"        text NOT NULL,
    "value"       double precision NOT NULL,
    "comment"     text
);
CREATE INDEX feedback_step ON chainlit."Feedback" ("stepId");
