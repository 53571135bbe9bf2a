-- Desktop activation by SSO: transactions from start to completion, one activation per user
-- and device, and the per-account device limit.

-- A started activation: the AuthnRequest it sent, the device, the PKCE challenge and, for the
-- loopback path, where the browser goes next. Usable once, for a few minutes.
CREATE TABLE activation_transactions (
    id              TEXT PRIMARY KEY,
    business_id     TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    request_id      TEXT NOT NULL UNIQUE,
    email_lc        TEXT NOT NULL,
    product         TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    device_name     TEXT NOT NULL,
    device_os       TEXT NOT NULL,
    code_challenge  TEXT NOT NULL,
    redirect_uri    TEXT,
    client_ip       TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    used_at         BIGINT,
    -- loopback path: the one-time code (hash) and the sealed identity the IdP vouched for,
    -- which the app redeems with its PKCE verifier for the seat and the licence
    code_hash       TEXT UNIQUE,
    code_expires_at BIGINT,
    result_sealed   TEXT,
    redeemed_at     BIGINT
);
CREATE INDEX activation_transactions_expiry ON activation_transactions(expires_at);

-- An activated device. The secret is kept as a keyed hash; revoked rows stay for the record.
CREATE TABLE activations (
    id             TEXT PRIMARY KEY,
    business_id    TEXT NOT NULL REFERENCES business_accounts(id) ON DELETE CASCADE,
    license_key_id TEXT NOT NULL REFERENCES license_keys(id) ON DELETE CASCADE,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    device_id      TEXT NOT NULL,
    device_name    TEXT NOT NULL,
    device_os      TEXT NOT NULL,
    secret_hash    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_check_at  BIGINT NOT NULL,
    revoked_at     BIGINT,
    revoked_reason TEXT
);
CREATE UNIQUE INDEX activations_device ON activations(license_key_id, user_id, device_id) WHERE revoked_at IS NULL;
CREATE INDEX activations_user ON activations(user_id, revoked_at);
CREATE INDEX activations_business ON activations(business_id, created_at);

-- How many devices one person may activate at a time (per subscription).
ALTER TABLE idp_integrations ADD COLUMN device_limit BIGINT NOT NULL DEFAULT 3;

-- Signed AuthnRequests: the admin's switch, and the account's SP key (PKCS#8, sealed with the
-- server key) with its self-signed certificate (base64 DER), published in our SP metadata.
ALTER TABLE idp_integrations ADD COLUMN sign_requests BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE idp_integrations ADD COLUMN sp_key_sealed TEXT;
ALTER TABLE idp_integrations ADD COLUMN sp_cert_der TEXT;

-- The IdP's stable id of a member (the `objectidentifier` claim): SAML sign-in matches people
-- by it first, so an email renamed at the IdP keeps its account.
ALTER TABLE memberships ADD COLUMN idp_object_id TEXT;
CREATE UNIQUE INDEX memberships_object_id ON memberships(business_id, idp_object_id) WHERE idp_object_id IS NOT NULL;
