-- Accounts, sessions, emailed tokens, business accounts, license keys (SQLite).
-- Times are i64 epoch seconds; ids are TEXT UUIDs made in Rust; booleans 0/1.

CREATE TABLE users (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    email_lc          TEXT NOT NULL UNIQUE,
    password_hash     TEXT NOT NULL,
    email_verified_at BIGINT,
    created_at        BIGINT NOT NULL,
    last_sign_in_at   BIGINT
);

CREATE TABLE sessions (
    token_hash   TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace    TEXT NOT NULL DEFAULT 'personal',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE email_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens(user_id, purpose);

CREATE TABLE signin_failures (
    id     TEXT PRIMARY KEY,
    key    TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX signin_failures_key ON signin_failures(key, at);

CREATE TABLE business_accounts (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    country    TEXT NOT NULL DEFAULT '',
    address    TEXT NOT NULL DEFAULT '',
    phone      TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- A user belongs to at most one business account.
CREATE TABLE memberships (
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    user_id     TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'active',
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (business_id, user_id)
);

CREATE TABLE invitations (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    email_lc    TEXT NOT NULL,
    role        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    invited_by  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    accepted_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invitations_business ON invitations(business_id);

-- A license key is a per-user subscription; only its SHA-256 is kept.
CREATE TABLE license_keys (
    id            TEXT PRIMARY KEY,
    key_hash      TEXT NOT NULL UNIQUE,
    key_hint      TEXT NOT NULL,
    product       TEXT NOT NULL,
    seats         BIGINT NOT NULL,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    business_id   TEXT REFERENCES business_accounts(id) ON DELETE SET NULL,
    display_name  TEXT,
    registered_at BIGINT,
    registered_by TEXT REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX license_keys_business ON license_keys(business_id);

-- Which user holds a seat of which subscription (filled by desktop activation).
CREATE TABLE seat_assignments (
    license_key_id TEXT NOT NULL REFERENCES license_keys(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    assigned_at    BIGINT NOT NULL,
    PRIMARY KEY (license_key_id, user_id)
);
