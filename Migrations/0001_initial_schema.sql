-- 0001: the first schema (DESIGN §4): cluster and journal, tenancy and secrets, canonical tables, links.
-- Applied files are never edited: later changes go into new numbered files.

-- ---------------------------------------------------------------------------------------------
-- Cluster and journal
-- ---------------------------------------------------------------------------------------------

-- Fencing tokens per virtual shard. Taking a shard bumps `epoch`; every journal write for the shard
-- checks the epoch in the same transaction (row lock FOR SHARE against the taker's UPDATE), so a
-- paused or partitioned former owner can never commit.
CREATE TABLE shard_fences (
    shard       integer     PRIMARY KEY CHECK (shard >= 0),
    epoch       bigint      NOT NULL DEFAULT 0 CHECK (epoch >= 0),
    owner       text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The leader's term: bumped by each new leadership, it fences the orchestrator's journal writes.
CREATE TABLE leader_terms (
    singleton   boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    term        bigint      NOT NULL DEFAULT 0,
    leader      text,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO leader_terms (singleton, term) VALUES (true, 0);

CREATE TABLE organizations (
    id            text        PRIMARY KEY,
    name          text        NOT NULL,
    adapter       text        NOT NULL,
    api_base_url  text        NOT NULL,
    -- External id of the tenant at the source (PCO's Organization id), when known.
    source_org_id text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE sync_strategy AS ENUM ('full', 'delta', 'reconcile', 'webhook');
CREATE TYPE run_state AS ENUM ('pending', 'running', 'completed', 'failed');

CREATE TABLE sync_runs (
    id              uuid          PRIMARY KEY,
    org_id          text          NOT NULL REFERENCES organizations (id),
    strategy        sync_strategy NOT NULL,
    state           run_state     NOT NULL DEFAULT 'pending',
    failure_reason  text,
    -- A client-supplied key makes "start a sync" safe to retry.
    request_key     text          UNIQUE,
    leader_term     bigint,
    created_at      timestamptz   NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    CHECK ((state = 'failed') = (failure_reason IS NOT NULL))
);
CREATE INDEX sync_runs_active ON sync_runs (org_id) WHERE state IN ('pending', 'running');

-- Every step of every workflow. The primary key is deterministic (the workflow id names the run and
-- entity, the step number the page), so a retried step finds its own row instead of writing twice.
CREATE TABLE workflow_steps (
    workflow_id   text        NOT NULL,
    step          integer     NOT NULL CHECK (step >= 0),
    run_id        uuid        NOT NULL REFERENCES sync_runs (id),
    kind          text        NOT NULL,
    result        jsonb       NOT NULL DEFAULT '{}',
    shard         integer,
    fence_epoch   bigint,
    leader_term   bigint,
    committed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, step)
);
CREATE INDEX workflow_steps_run ON workflow_steps (run_id);

-- Per (org, entity): the delta watermark, moved forward only by a committed step, and the last
-- completed full pass (the only kind of pass that may be used for delete detection).
CREATE TABLE entity_cursors (
    org_id              text        NOT NULL REFERENCES organizations (id),
    entity              text        NOT NULL,
    watermark           timestamptz,
    last_full_pass_at   timestamptz,
    last_full_pass_run  uuid,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, entity)
);

-- ---------------------------------------------------------------------------------------------
-- Tenancy and secrets
-- ---------------------------------------------------------------------------------------------

-- Credentials encrypted at rest (AES-GCM, key from SYNC_TOKEN_KEY). `version` increases with each
-- rotation, so a refresh stores the new pair only if nobody else rotated first.
CREATE TABLE adapter_tokens (
    org_id            text        PRIMARY KEY REFERENCES organizations (id),
    kind              text        NOT NULL CHECK (kind IN ('pat', 'oauth')),
    sealed            bytea       NOT NULL,
    key_id            text        NOT NULL,
    access_expires_at timestamptz,
    version           bigint      NOT NULL DEFAULT 1,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE webhook_subscriptions (
    id              text        NOT NULL,
    org_id          text        NOT NULL REFERENCES organizations (id),
    event_name      text        NOT NULL,
    sealed_secret   bytea       NOT NULL,
    key_id          text        NOT NULL,
    active          boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, id)
);

-- Every webhook delivery seen, for de-duplication by delivery id.
CREATE TABLE webhook_deliveries (
    org_id        text        NOT NULL REFERENCES organizations (id),
    delivery_id   text        NOT NULL,
    event_name    text        NOT NULL,
    received_at   timestamptz NOT NULL DEFAULT now(),
    run_id        uuid,
    PRIMARY KEY (org_id, delivery_id)
);

-- ---------------------------------------------------------------------------------------------
-- Linking
-- ---------------------------------------------------------------------------------------------

-- (org, adapter, external type, external id) -> internal id. A referenced record that has not been
-- synced yet gets a placeholder row; when it arrives it keeps the same internal id.
CREATE TABLE external_links (
    org_id          text        NOT NULL,
    adapter         text        NOT NULL,
    external_type   text        NOT NULL,
    external_id     text        NOT NULL,
    internal_id     uuid        NOT NULL,
    entity          text        NOT NULL,
    is_placeholder  boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, adapter, external_type, external_id),
    UNIQUE (internal_id)
);

-- Relationships between internal ids (source points at target through `relationship`).
CREATE TABLE edges (
    org_id        text        NOT NULL,
    source_id     uuid        NOT NULL,
    relationship  text        NOT NULL,
    target_id     uuid        NOT NULL,
    source_entity text        NOT NULL,
    target_entity text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (org_id, source_id, relationship, target_id)
);
CREATE INDEX edges_target ON edges (org_id, target_id);

-- ---------------------------------------------------------------------------------------------
-- Canonical tables. Each row: org_id, internal id, typed columns, custom_fields, the raw source
-- document (schema drift is kept, not dropped), source_updated_at, deleted_at, and synced_at
-- (bookkeeping: the only column an idempotent re-apply of the same page changes).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE campuses (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    name              text,
    description       text,
    street            text,
    city              text,
    state             text,
    zip               text,
    country           text,
    latitude          double precision,
    longitude         double precision,
    phone_number      text,
    website           text,
    time_zone         text,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE households (
    id                   uuid        PRIMARY KEY,
    org_id               text        NOT NULL,
    name                 text,
    member_count         integer,
    primary_contact_name text,
    primary_contact_id   uuid,
    avatar               text,
    custom_fields        jsonb       NOT NULL DEFAULT '{}',
    raw                  jsonb       NOT NULL,
    source_created_at    timestamptz,
    source_updated_at    timestamptz,
    deleted_at           timestamptz,
    synced_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    name              text,
    first_name        text,
    middle_name       text,
    last_name         text,
    given_name        text,
    nickname          text,
    gender            text,
    birthdate         date,
    anniversary       date,
    status            text,
    membership        text,
    child             boolean,
    grade             integer,
    graduation_year   integer,
    avatar            text,
    inactivated_at    timestamptz,
    primary_campus_id uuid,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE household_memberships (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    household_id      uuid,
    person_id         uuid,
    person_name       text,
    pending           boolean,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE addresses (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    person_id         uuid,
    street_line_1     text,
    street_line_2     text,
    city              text,
    state             text,
    zip               text,
    country_code      text,
    location          text,
    is_primary        boolean,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE emails (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    person_id         uuid,
    address           text,
    location          text,
    is_primary        boolean,
    blocked           boolean,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE phone_numbers (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    person_id         uuid,
    number            text,
    e164              text,
    carrier           text,
    location          text,
    is_primary        boolean,
    country_code      text,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE group_types (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    name              text,
    description       text,
    color             text,
    position          double precision,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE groups (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    group_type_id     uuid,
    name              text,
    description       text,
    schedule          text,
    memberships_count integer,
    archived_at       timestamptz,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE events (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    group_id          uuid,
    name              text,
    description       text,
    starts_at         timestamptz,
    ends_at           timestamptz,
    canceled          boolean,
    canceled_at       timestamptz,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    id                uuid        PRIMARY KEY,
    org_id            text        NOT NULL,
    group_id          uuid,
    person_id         uuid,
    role              text,
    joined_at         timestamptz,
    custom_fields     jsonb       NOT NULL DEFAULT '{}',
    raw               jsonb       NOT NULL,
    source_created_at timestamptz,
    source_updated_at timestamptz,
    deleted_at        timestamptz,
    synced_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX campuses_org ON campuses (org_id);
CREATE INDEX households_org ON households (org_id);
CREATE INDEX people_org ON people (org_id);
CREATE INDEX household_memberships_org ON household_memberships (org_id);
CREATE INDEX addresses_org ON addresses (org_id);
CREATE INDEX emails_org ON emails (org_id);
CREATE INDEX phone_numbers_org ON phone_numbers (org_id);
CREATE INDEX group_types_org ON group_types (org_id);
CREATE INDEX groups_org ON groups (org_id);
CREATE INDEX events_org ON events (org_id);
CREATE INDEX memberships_org ON memberships (org_id);
