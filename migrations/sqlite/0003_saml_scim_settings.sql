-- Step 4 (IdP signing certificates) and step 5 (SCIM bearer tokens) of the configurator (SQLite).

CREATE TABLE idp_certificates (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    der_base64  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    subject     TEXT NOT NULL,
    issuer      TEXT NOT NULL,
    not_before  BIGINT NOT NULL,
    not_after   BIGINT NOT NULL,
    added_at    BIGINT NOT NULL,
    UNIQUE (business_id, fingerprint)
);

-- Only a keyed hash of each token is kept, plus its last characters to recognise it.
CREATE TABLE scim_tokens (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    hint        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    -- set when a newer token replaces this one: valid until then (grace period)
    expires_at  BIGINT
);
CREATE INDEX scim_tokens_business ON scim_tokens(business_id);
