-- The IdP Integration configurator: facts per business account, domains, events (SQLite).

CREATE TABLE idp_integrations (
    business_id           TEXT PRIMARY KEY REFERENCES business_accounts(id) ON DELETE CASCADE,
    started_at            BIGINT NOT NULL,
    app_registered        BOOLEAN NOT NULL DEFAULT FALSE,
    admins_group_name     TEXT NOT NULL DEFAULT '',
    admins_group_id       TEXT NOT NULL DEFAULT '',
    desktop_group_name    TEXT NOT NULL DEFAULT '',
    desktop_group_id      TEXT NOT NULL DEFAULT '',
    idp_entity_id         TEXT NOT NULL DEFAULT '',
    idp_sso_url           TEXT NOT NULL DEFAULT '',
    scim_enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    scim_confirmed        BOOLEAN NOT NULL DEFAULT FALSE,
    users_added           BOOLEAN NOT NULL DEFAULT FALSE,
    backup_login_user_id  TEXT REFERENCES users(id) ON DELETE SET NULL,
    active                BOOLEAN NOT NULL DEFAULT FALSE,
    activated_at          BIGINT,
    updated_at            BIGINT NOT NULL
);

-- Email domains an account claims; a name is unique among *verified* domains only, so a
-- pending claim cannot squat a domain.
CREATE TABLE domains (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    token          TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending',
    added_at       BIGINT NOT NULL,
    verified_at    BIGINT,
    last_check_at  BIGINT,
    last_outcome   TEXT,
    last_found     TEXT,
    attempts       BIGINT NOT NULL DEFAULT 0,
    next_check_at  BIGINT NOT NULL,
    UNIQUE (business_id, name)
);
CREATE UNIQUE INDEX domains_verified_name ON domains(name) WHERE status = 'verified';
CREATE INDEX domains_next_check ON domains(status, next_check_at);

-- Every configuration change: who, when, what.
CREATE TABLE integration_events (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    user_id     TEXT REFERENCES users(id) ON DELETE SET NULL,
    at          BIGINT NOT NULL,
    what        TEXT NOT NULL
);
CREATE INDEX integration_events_business ON integration_events(business_id, at);
