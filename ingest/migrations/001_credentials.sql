-- One credential per robot (and per operator): only the SHA-256 of a token is kept; a
-- token is 32 random bytes, so a plain hash is as strong as the token itself.
CREATE TABLE fleet_credentials (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    role text NOT NULL CHECK (role IN ('robot', 'operator')),
    subject bytea NOT NULL CHECK (length(subject) BETWEEN 1 AND 128),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
-- at most one live token per robot or operator: `add` twice at once leaves one
CREATE UNIQUE INDEX fleet_credentials_live ON fleet_credentials (role, subject)
    WHERE revoked_at IS NULL;
