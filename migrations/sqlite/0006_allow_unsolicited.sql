-- The admin may accept IdP-initiated (unsolicited) SAML responses for sign-in; off by default.
ALTER TABLE idp_integrations ADD COLUMN allow_unsolicited BOOLEAN NOT NULL DEFAULT FALSE;
