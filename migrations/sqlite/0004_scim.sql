-- SCIM 2.0 provisioning: users and groups pushed by the IdP, their memberships, and the
-- request log the admin reads (sqlite).

-- A deleted user is kept (deleted_at set) for the record; SCIM then answers 404 and the
-- userName is free again, so uniqueness holds among live users only.
CREATE TABLE scim_users (
    id            TEXT PRIMARY KEY,
    business_id   TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    user_name     TEXT NOT NULL,
    -- userName is caseExact false (RFC 7643 §4.1.1): lower case for lookups and uniqueness
    user_name_key TEXT NOT NULL,
    external_id   TEXT,
    active        BOOLEAN NOT NULL,
    doc           TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    version       BIGINT NOT NULL,
    deleted_at    BIGINT
);
CREATE UNIQUE INDEX scim_users_name ON scim_users(business_id, user_name_key) WHERE deleted_at IS NULL;
CREATE INDEX scim_users_external ON scim_users(business_id, external_id) WHERE deleted_at IS NULL;
CREATE INDEX scim_users_order ON scim_users(business_id, id) WHERE deleted_at IS NULL;

CREATE TABLE scim_groups (
    id               TEXT PRIMARY KEY,
    business_id      TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    display_name     TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id      TEXT,
    doc              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    version          BIGINT NOT NULL
);
-- Entra requires group names to be unique (a second one is 409 uniqueness)
CREATE UNIQUE INDEX scim_groups_name ON scim_groups(business_id, display_name_key);
CREATE INDEX scim_groups_external ON scim_groups(business_id, external_id);
CREATE INDEX scim_groups_order ON scim_groups(business_id, id);

CREATE TABLE scim_group_members (
    group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES scim_users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members(user_id);

CREATE TABLE scim_requests (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    method      TEXT NOT NULL,
    path        TEXT NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT,
    duration_us BIGINT NOT NULL
);
CREATE INDEX scim_requests_business ON scim_requests(business_id, at);
