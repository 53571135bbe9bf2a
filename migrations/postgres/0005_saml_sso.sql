-- SAML sign-in: pending AuthnRequests, the assertion replay cache, and every ACS attempt.

-- An AuthnRequest we sent, bound to the browser that asked (hash of a cookie nonce); usable
-- once, for a few minutes.
CREATE TABLE saml_requests (
    id           TEXT PRIMARY KEY,
    business_id  TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    binding_hash TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    user_id      TEXT,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
CREATE INDEX saml_requests_expiry ON saml_requests(expires_at);

-- Assertion IDs seen, until the assertion expires: a second use is a replay.
CREATE TABLE saml_replay (
    business_id  TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    assertion_id TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (business_id, assertion_id)
);
CREATE INDEX saml_replay_expiry ON saml_replay(expires_at);

-- Every ACS attempt, for the admin. raw_xml is sealed (encrypted) with the server key.
CREATE TABLE saml_attempts (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    purpose     TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    category    TEXT,
    detail      TEXT,
    name_id     TEXT,
    attributes  TEXT,
    raw_xml     TEXT,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX saml_attempts_business ON saml_attempts(business_id, at);
CREATE INDEX saml_attempts_expiry ON saml_attempts(expires_at);
